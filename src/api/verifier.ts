/**
 * The verifier, idiomatically: choose a mode, inject faults, and ask what is still outstanding.
 *
 * ```ts
 * import { resetSystem, verifier } from 'wdknet';
 * resetSystem({ verifier: 'full' });
 * verifier.injectFaults({ probability: 0.05, seed: 42 });
 * // ... run driver code ...
 * verifier.assertNoLeaks();
 * ```
 */
import {
  disableFaultInjection,
  enableFaultInjection,
  type FaultPlan,
  type FaultStats,
  faultInjectionStats,
} from '../kernel/faults.js';
import { collectLeaks, formatLeaks, type Leak } from '../kernel/leaks.js';
import { getVerifierMode, setVerifierMode, type VerifierMode } from '../kernel/verifier.js';

export type { FaultPlan, FaultStats };

/** Thrown by {@link verifier.assertNoLeaks}: `leaks` lists everything still outstanding. */
export class LeakError extends Error {
  readonly leaks: readonly Leak[];
  constructor(leaks: readonly Leak[]) {
    super(formatLeaks(leaks));
    this.name = 'LeakError';
    this.leaks = leaks;
  }
}

/** The verifier's controls. */
export const verifier = {
  /** The current mode: 'off', 'standard' or 'full'. */
  get mode(): VerifierMode {
    return getVerifierMode();
  },
  /** Switches mode for everything allocated from now on (resetSystem({ verifier }) is the clean way). */
  setMode(mode: VerifierMode): void {
    setVerifierMode(mode);
  },
  /** Low-resources simulation: fail pool allocations on a seeded, deterministic schedule. */
  injectFaults(plan: FaultPlan): void {
    enableFaultInjection(plan);
  },
  /** Stops failing allocations. */
  stopFaults(): void {
    disableFaultInjection();
  },
  /** What fault injection has failed so far. */
  faultStats(): Readonly<FaultStats> {
    return faultInjectionStats();
  },
  /** Everything still outstanding, in every layer. */
  leaks(): Leak[] {
    return collectLeaks();
  },
  /** Throws a {@link LeakError} naming every outstanding object, if there is one. */
  assertNoLeaks(): void {
    const leaks = collectLeaks();
    if (leaks.length > 0) throw new LeakError(leaks);
  },
};
