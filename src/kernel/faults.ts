/**
 * Low-resources simulation, as Driver Verifier does it: pool allocations (and every descriptor charged to the
 * pool) fail on a schedule, so a driver's failure paths run. The schedule is deterministic: a seeded probability,
 * every Nth call, or an explicit list of call numbers, optionally only for some tags or some DDIs.
 */
import { setPoolFaultHook } from './pool.js';
import { tagToString } from './tags.js';

/** A fault-injection schedule. */
export interface FaultPlan {
  /** Seed of the pseudo-random sequence (default 1). */
  seed?: number;
  /** Probability in [0, 1] that an eligible call fails. */
  probability?: number;
  /** Fail every Nth eligible call (1-based: 3 fails calls 3, 6, 9, ...). */
  everyNth?: number;
  /** Fail exactly these eligible calls (1-based call numbers). */
  failCalls?: readonly number[];
  /** Only calls for these tags are eligible (ULONG tag values). */
  tags?: readonly number[];
  /** Only calls made by these DDIs are eligible ('ExAllocatePoolWithTag', 'NdisAllocateNetBufferList', ...). */
  ddis?: readonly string[];
  /** The first N eligible calls never fail (Driver Verifier waits after boot before it starts failing). */
  skipFirst?: number;
}

/** What fault injection has done so far. */
export interface FaultStats {
  /** Eligible calls seen. */
  calls: number;
  /** Calls failed on purpose. */
  injected: number;
  /** Injected failures by tag name (poolmon order) and by DDI. */
  byTag: Record<string, number>;
  byDdi: Record<string, number>;
}

let stats: FaultStats = { calls: 0, injected: 0, byTag: {}, byDdi: {} };

/**
 * mulberry32: a small, fast, well-distributed 32-bit generator returning numbers in [0, 1); the same seed gives
 * the same sequence (fault schedules, and benchmarks that need repeatable inputs).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts failing allocations according to `plan` (replacing any earlier plan). */
export function enableFaultInjection(plan: FaultPlan): void {
  const random = seededRandom(plan.seed ?? 1);
  const tags = plan.tags ? new Set(plan.tags.map((t) => t >>> 0)) : null;
  const ddis = plan.ddis ? new Set(plan.ddis) : null;
  const failCalls = plan.failCalls ? new Set(plan.failCalls) : null;
  const skip = plan.skipFirst ?? 0;
  stats = { calls: 0, injected: 0, byTag: {}, byDdi: {} };
  setPoolFaultHook((tag, _size, ddi) => {
    if (tags !== null && !tags.has(tag >>> 0)) return false;
    if (ddis !== null && !ddis.has(ddi)) return false;
    const n = ++stats.calls;
    if (n <= skip) return false;
    let failNow = false;
    if (failCalls?.has(n)) failNow = true;
    if (plan.everyNth !== undefined && plan.everyNth > 0 && n % plan.everyNth === 0) failNow = true;
    if (plan.probability !== undefined && random() < plan.probability) failNow = true;
    if (failNow) {
      stats.injected++;
      const name = tagToString(tag);
      stats.byTag[name] = (stats.byTag[name] ?? 0) + 1;
      stats.byDdi[ddi] = (stats.byDdi[ddi] ?? 0) + 1;
    }
    return failNow;
  });
}

/** Stops fault injection. */
export function disableFaultInjection(): void {
  setPoolFaultHook(null);
}

/** Counters of the current (or last) plan. */
export function faultInjectionStats(): Readonly<FaultStats> {
  return stats;
}
