/**
 * `wdknet run`: loads the drivers, plays a capture into the host, writes what leaves, unloads the drivers and
 * reports: packets in, out, dropped by reason, absorbed, injected; the pool by tag; anything still held or
 * leaked. The exit status is 0 for a clean run, 1 when something leaked or a packet is unaccounted for, 2 when
 * the run bug-checked.
 */
import { statSync } from 'node:fs';
import type { CaptureFormatError } from '../capture/errors.js';
import { BugCheck } from '../kernel/bugcheck.js';
import { drainDeferredWork } from '../kernel/deferred.js';
import { type LoadedDriver, unloadDriver } from '../kernel/driver.js';
import { disableFaultInjection, enableFaultInjection, type FaultPlan, faultInjectionStats } from '../kernel/faults.js';
import { collectLeaks, formatLeaks, type Leak } from '../kernel/leaks.js';
import { poolmon } from '../kernel/pool.js';
import * as statuses from '../kernel/status.js';
import { resetSystem } from '../kernel/system.js';
import { poolTag } from '../kernel/tags.js';
import type { VerifierMode } from '../kernel/verifier.js';
import { setFilterPassageObserver } from '../ndis/filter-observer.js';
import { HostCounters } from '../stack/counters.js';
import type { IpLayer } from '../stack/ip.js';
import { type ReplayResult, replay } from '../stack/replay.js';
import { driverNameOf, loadDriverModule } from './drivers.js';
import { checkParameterDrivers, type DriverParameter, describeParameter, writeParameters } from './params.js';
import { formatPoolmon } from './poolmon.js';
import { TraceWriter } from './trace.js';

/** Options of {@link runCapture}. */
export interface RunOptions {
  capture: string;
  drivers: string[];
  out?: string;
  verifier: VerifierMode;
  trace?: string;
  faults?: string;
  hosts: number;
  /** NIC interrupt moderation in microseconds (0: off; default: replay's DEFAULT_INTERRUPT_MODERATION_US). */
  interruptModerationUs?: number;
  /** Values written under the drivers' Parameters keys before they load (`--param`). */
  params?: readonly DriverParameter[];
  /** Progress callback: bytes of the capture read, of `total`. */
  progress?: (done: number, total: number) => void;
}

/** What a run produced: its report text, its exit status, and the numbers behind them (for tests). */
export interface RunOutcome {
  exitCode: number;
  report: string;
  summary: RunSummary;
}

/** The numbers of a run, as `--json` prints them. */
export interface RunSummary {
  capture: string;
  /**
   * The malformed record that ended the capture early (exit status 3), or null. Everything before it was played,
   * written and is reported.
   */
  captureError: { message: string; offset: number; field: string; packetsRead: number } | null;
  /** Hosts the capture played into (host 1 and its peers). */
  hosts: number;
  framesRead: number;
  notAttached: Record<string, number>;
  cutShort: number;
  /** Frames the NICs did not pass up: filtered (not for them), or dropped (no receive buffer, bad length, paused). */
  nicFiltered: number;
  nicDropped: Record<string, number>;
  received: number;
  injected: number;
  originated: number;
  delivered: number;
  transmitted: number;
  forwarded: number;
  absorbed: number;
  absorbedBy: Record<string, number>;
  replaced: number;
  /** IPv4 fragments merged into reassembled datagrams, and the datagrams. */
  fragmentsMerged: number;
  reassembled: number;
  /** Forwarded packets split into fragments for a smaller MTU (their fragments count as originated). */
  fragmented: number;
  dropped: Record<string, number>;
  held: { owner: string; count: number }[];
  balance: number;
  framesWritten: number;
  pool: { tag: string; type: string; allocs: number; frees: number; bytes: number }[];
  leaks: Leak[];
  bugCheck: { code: number; name: string; parameters: number[]; reason: string } | null;
  drivers: { name: string; status: number }[];
}

/**
 * Parses a `--faults` spec: comma-separated `key=value` with keys `probability` (or `p`), `seed`, `every`,
 * `calls` (colon-separated call numbers), `tags` (colon-separated four-character tags as written in C, e.g.
 * `fPCT`), `ddis` (colon-separated DDI names), `skip`.
 */
export function parseFaults(spec: string): FaultPlan {
  const plan: {
    seed?: number;
    probability?: number;
    everyNth?: number;
    failCalls?: number[];
    tags?: number[];
    ddis?: string[];
    skipFirst?: number;
  } = {};
  for (const part of spec.split(',')) {
    const [key, value] = part.split('=') as [string, string | undefined];
    if (value === undefined || value === '') throw new Error(`--faults: "${part}" is not key=value`);
    const n = Number(value);
    switch (key.trim()) {
      case 'p':
      case 'probability':
        if (!(n >= 0 && n <= 1)) throw new Error(`--faults: probability ${value} is not in [0, 1]`);
        plan.probability = n;
        break;
      case 'seed':
        plan.seed = n;
        break;
      case 'every':
        if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--faults: every=${value} is not a positive integer`);
        plan.everyNth = n;
        break;
      case 'calls':
        plan.failCalls = value.split(':').map(Number);
        break;
      case 'tags':
        plan.tags = value.split(':').map((t) => poolTag(t));
        break;
      case 'ddis':
        plan.ddis = value.split(':');
        break;
      case 'skip':
        plan.skipFirst = n;
        break;
      default:
        throw new Error(`--faults: unknown key "${key}" (probability, seed, every, calls, tags, ddis, skip)`);
    }
  }
  return plan;
}

/** Runs a capture through the host with the given drivers and returns the outcome. */
export async function runCapture(options: RunOptions): Promise<RunOutcome> {
  if (!Number.isInteger(options.hosts) || options.hosts < 1) throw new Error(`--hosts ${options.hosts}: at least 1`);
  const params = options.params ?? [];
  checkParameterDrivers(params, options.drivers.map(driverNameOf));
  resetSystem({ verifier: options.verifier });
  // The service keys' Parameters, as an administrator would have set them before starting the drivers.
  writeParameters(params);
  const drivers: LoadedDriver[] = [];
  /** Every driver that loaded, for the report (the list above empties as they unload). */
  const loaded: LoadedDriver[] = [];
  let trace: TraceWriter | null = null;
  let result: (ReplayResult & { finish(): void }) | null = null;
  let bug: BugCheck | null = null;
  const total = statSync(options.capture).size;
  try {
    for (const path of options.drivers) {
      const d = await loadDriverModule(path);
      if (d.status >= 0) {
        drivers.push(d);
        loaded.push(d);
      } else throw new Error(`DriverEntry of ${path} failed with ${statusName(d.status)}`);
    }
    // Faults start with the traffic, once the host and its first adapter are up (as Driver Verifier waits for
    // boot to finish before it starts failing allocations).
    const faults = options.faults === undefined ? undefined : parseFaults(options.faults);
    if (options.trace !== undefined) {
      const writer = new TraceWriter(options.trace);
      trace = writer;
      setFilterPassageObserver((nbl, module, receive) => writer.filtered(nbl, module, receive));
    }
    const onHost = (host: IpLayer) => {
      if (trace !== null) host.onEvent = (kind, nbl, detail) => trace!.event(kind, nbl, detail);
    };
    result = replay({
      input: options.capture,
      output: options.out,
      onHost,
      hosts: options.hosts,
      interruptModerationUs: options.interruptModerationUs,
      onFirstFrame: faults === undefined ? undefined : () => enableFaultInjection(faults),
      progressEvery: 1000,
      onProgress: options.progress === undefined ? undefined : (_frames, offset) => options.progress!(offset, total),
    });
    drainDeferredWork();
    result.finish();
    disableFaultInjection();
    for (const d of drivers.splice(0).reverse()) unloadDriver(d);
    drainDeferredWork();
  } catch (e) {
    if (!(e instanceof BugCheck)) throw e;
    bug = e;
  } finally {
    disableFaultInjection();
    setFilterPassageObserver(null);
    trace?.close();
  }
  options.progress?.(total, total);
  return outcome(options, result, loaded, bug);
}

/** `STATUS_OBJECT_TYPE_MISMATCH (0xC0000024)`, or the bare number for a status wdknet has no name for. */
export function statusName(status: number): string {
  const hex = `0x${(status >>> 0).toString(16).toUpperCase()}`;
  const name = Object.entries(statuses).find(([k, v]) => k.startsWith('STATUS_') && v === status)?.[0];
  return name === undefined ? `status ${hex}` : `${name} (${hex})`;
}

function outcome(
  options: RunOptions,
  result: (ReplayResult & { finish(): void }) | null,
  drivers: LoadedDriver[],
  bug: BugCheck | null,
): RunOutcome {
  // Every host's ledger together: host 1 and its peers (--hosts).
  const hosts = result === null ? [] : [result.host, ...result.peers.map((p) => p.ip)];
  const c = hosts.length === 0 ? undefined : new HostCounters();
  for (const h of hosts) c!.add(h.counters);
  const held = hosts.flatMap((h, i) => h.held().map((x) => ({ owner: `host ${i + 1}: ${x.owner}`, count: x.count })));
  const heldCount = held.reduce((n, h) => n + h.count, 0);
  const leaks = bug === null ? collectLeaks() : [];
  const summary: RunSummary = {
    capture: options.capture,
    captureError: result?.captureError == null ? null : captureErrorOf(result.captureError),
    hosts: hosts.length,
    framesRead: result?.framesRead ?? 0,
    notAttached: Object.fromEntries([...(result?.notAttached ?? new Map())].map(([k, v]) => [`linktype ${k}`, v])),
    cutShort: result?.cutShort ?? 0,
    nicFiltered: result?.nics.filtered ?? 0,
    nicDropped: nicDrops(result),
    received: c?.received ?? 0,
    injected: c?.injected ?? 0,
    originated: c?.originated ?? 0,
    delivered: c?.delivered ?? 0,
    transmitted: c?.transmitted ?? 0,
    forwarded: c?.forwarded ?? 0,
    absorbed: c?.absorbed ?? 0,
    absorbedBy: Object.fromEntries(c?.absorbedBy ?? []),
    replaced: c?.replaced ?? 0,
    fragmentsMerged: c?.fragmentsMerged ?? 0,
    reassembled: c?.reassembled ?? 0,
    fragmented: c?.fragmented ?? 0,
    dropped: c?.dropsByReason() ?? {},
    held,
    balance: c?.balance(heldCount) ?? 0,
    framesWritten: result?.framesWritten ?? 0,
    pool: poolmon().map((r) => ({ tag: r.name, type: r.type, allocs: r.allocs, frees: r.frees, bytes: r.bytes })),
    leaks,
    bugCheck:
      bug === null
        ? null
        : { code: bug.code, name: bug.checkName, parameters: [...bug.parameters], reason: bug.reason },
    drivers: drivers.map((d) => ({ name: d.name, status: d.status })),
  };
  const failed = leaks.length > 0 || summary.balance !== 0 || heldCount > 0;
  const exitCode = bug !== null ? 2 : summary.captureError !== null ? 3 : failed ? 1 : 0;
  return { exitCode, report: formatReport(summary, options, faultInjectionStats().injected), summary };
}

function captureErrorOf(e: CaptureFormatError): NonNullable<RunSummary['captureError']> {
  return { message: e.message, offset: e.offset, field: e.field, packetsRead: e.packetsRead };
}

function nicDrops(result: ReplayResult | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (result === null) return out;
  const c = result.nics;
  if (c.dropNoReceiveBuffers > 0) out['no receive buffer'] = c.dropNoReceiveBuffers;
  if (c.dropBadLength > 0) out['bad length'] = c.dropBadLength;
  if (c.dropPaused > 0) out['paused'] = c.dropPaused;
  if (c.dropOtherVlan > 0) out['other VLAN'] = c.dropOtherVlan;
  return out;
}

function formatReport(s: RunSummary, options: RunOptions, faultsInjected: number): string {
  const n = (v: number) => String(v).padStart(9);
  const lines: string[] = [];
  lines.push(`wdknet run ${s.capture}`);
  lines.push(`  verifier ${options.verifier}; drivers: ${s.drivers.map((d) => d.name).join(', ') || 'none'}`);
  if (s.hosts > 1)
    lines.push(
      `  ${s.hosts} hosts: host 1 and ${s.hosts - 1} peer(s) answering as the capture's endpoints, every one bound to the filter engine`,
    );
  if (s.captureError !== null) {
    const e = s.captureError;
    lines.push(`  bad capture: ${e.message} (after ${e.packetsRead} packets): the run played the packets before it`);
  }
  if (options.out !== undefined) lines.push(`  output ${options.out} (${s.framesWritten} frames)`);
  for (const p of options.params ?? []) lines.push(`  parameter ${describeParameter(p)}`);
  if (options.faults !== undefined) lines.push(`  fault injection: ${faultsInjected} allocations failed on purpose`);
  lines.push('');
  lines.push('Packets');
  lines.push(`  frames in the capture       ${n(s.framesRead)}`);
  for (const [k, v] of Object.entries(s.notAttached))
    lines.push(`    not Ethernet (${k})${' '.repeat(Math.max(0, 13 - k.length))}${n(v)}  (no adapter for that link)`);
  if (s.cutShort > 0) lines.push(`    cut short by the capture  ${n(s.cutShort)}  (snap length: not played)`);
  if (s.nicFiltered > 0) lines.push(`    not for the NIC (filter)  ${n(s.nicFiltered)}`);
  for (const [k, v] of Object.entries(s.nicDropped)) lines.push(`    NIC dropped: ${k.padEnd(13)}${n(v)}`);
  lines.push(`  in (received by the host)   ${n(s.received)}`);
  lines.push(`  injected by callouts        ${n(s.injected)}`);
  lines.push(`  originated by the host      ${n(s.originated)}  (replies, ICMP errors, ARP / ND)`);
  lines.push(`  delivered locally           ${n(s.delivered)}`);
  lines.push(`  out (transmitted)           ${n(s.transmitted)}  (${s.forwarded} forwarded)`);
  lines.push(`  absorbed by callouts        ${n(s.absorbed)}`);
  for (const [k, v] of Object.entries(s.absorbedBy)) lines.push(`    ${k.padEnd(26)}${n(v)}`);
  if (s.replaced > 0) lines.push(`  replaced by the hook        ${n(s.replaced)}`);
  if (s.fragmented > 0)
    lines.push(`  fragmented for the MTU      ${n(s.fragmented)}  (fragments counted as originated)`);
  if (s.fragmentsMerged > 0) {
    lines.push(`  IPv4 fragments reassembled  ${n(s.fragmentsMerged)}  (into ${s.reassembled} datagrams)`);
  }
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  lines.push(`  dropped                     ${n(dropped)}`);
  for (const [k, v] of Object.entries(s.dropped)) lines.push(`    ${k.padEnd(26)}${n(v)}`);
  const heldCount = s.held.reduce((a, h) => a + h.count, 0);
  lines.push(`  still held                  ${n(heldCount)}`);
  for (const h of s.held) lines.push(`    ${h.owner}: ${h.count}`);
  lines.push(
    s.balance === 0
      ? '  conservation: in + injected + originated (+ reassembled) = delivered + out + dropped + absorbed + replaced (+ fragments merged, fragmented) + held'
      : `  CONSERVATION BROKEN: ${s.balance} packet(s) unaccounted for`,
  );
  lines.push('');
  lines.push('Pool (poolmon)');
  lines.push(formatPoolmon(poolmon()));
  lines.push('');
  if (s.bugCheck !== null) {
    const p = s.bugCheck.parameters.map((x) => `0x${(x >>> 0).toString(16).toUpperCase()}`).join(', ');
    lines.push(`BUG CHECK ${s.bugCheck.name} (0x${s.bugCheck.code.toString(16).toUpperCase()}; ${p})`);
    lines.push(`  ${s.bugCheck.reason}`);
  } else {
    lines.push(s.leaks.length === 0 ? 'Leaks: none' : `Leaks: ${formatLeaks(s.leaks)}`);
  }
  return lines.join('\n');
}
