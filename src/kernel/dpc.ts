/**
 * Deferred procedure calls: KeInitializeDpc, KeInsertQueueDpc, KeRemoveQueueDpc, KeFlushQueuedDpcs. A driver
 * queues its own out-of-band work with them (the inspect sample's worker, a divert queue), and the routine runs
 * later at DISPATCH_LEVEL on the kernel's deferred work queue, in FIFO order with WFP and NDIS completions.
 * Queueing is allocation-free: the queue entry is the KDPC object itself.
 */
import { DdiRule } from './bugcheck.js';
import { drainDeferredWork, queueDeferredWork } from './deferred.js';
import { PASSIVE_LEVEL, requireIrqlAtMost } from './irql.js';

/** KDEFERRED_ROUTINE: what a DPC runs, at DISPATCH_LEVEL. */
export type KDEFERRED_ROUTINE = (
  Dpc: KDPC,
  DeferredContext: unknown,
  SystemArgument1: unknown,
  SystemArgument2: unknown,
) => void;

/** KOBJECTS.DpcObject. */
const DpcObject = 0x13;

/** KDPC: a deferred procedure call object, caller-allocated (in C it lives in the driver's own storage). */
export class KDPC {
  Type = DpcObject;
  Importance = 1; // MediumImportance
  DeferredRoutine: KDEFERRED_ROUTINE | null = null;
  DeferredContext: unknown = null;
  SystemArgument1: unknown = null;
  SystemArgument2: unknown = null;
  /** wdknet: the DPC is in the queue (Windows keeps DpcData non-NULL while it is). */
  inserted = false;
  /** wdknet: entries for this DPC still in the deferred work queue (a removed DPC may still have one). */
  entries = 0;
}

/** KeInitializeDpc: sets up `Dpc` to run `DeferredRoutine(Dpc, DeferredContext, ...)`. Any IRQL. */
export function KeInitializeDpc(Dpc: KDPC, DeferredRoutine: KDEFERRED_ROUTINE, DeferredContext: unknown): void {
  Dpc.DeferredRoutine = DeferredRoutine;
  Dpc.DeferredContext = DeferredContext;
  Dpc.SystemArgument1 = null;
  Dpc.SystemArgument2 = null;
  Dpc.inserted = false;
  Dpc.entries = 0;
}

/**
 * KeInsertQueueDpc: queues the DPC. Returns TRUE if it was queued, FALSE if it was already in the queue (then
 * nothing changes: the system arguments of the first insertion stay). Any IRQL.
 */
export function KeInsertQueueDpc(Dpc: KDPC, SystemArgument1: unknown, SystemArgument2: unknown): boolean {
  if (Dpc.inserted) return false;
  Dpc.inserted = true;
  Dpc.SystemArgument1 = SystemArgument1;
  Dpc.SystemArgument2 = SystemArgument2;
  // A DPC removed and queued again before its old entry ran reuses that entry: it must run once, not twice.
  if (Dpc.entries === 0) {
    Dpc.entries++;
    queueDeferredWork(runDpc, Dpc);
  }
  return true;
}

/** KeRemoveQueueDpc: takes the DPC out of the queue. TRUE if it was queued, FALSE if it was not. Any IRQL. */
export function KeRemoveQueueDpc(Dpc: KDPC): boolean {
  if (!Dpc.inserted) return false;
  Dpc.inserted = false;
  return true;
}

/** KeFlushQueuedDpcs: returns after every queued DPC has run. IRQL PASSIVE_LEVEL. */
export function KeFlushQueuedDpcs(): void {
  requireIrqlAtMost(PASSIVE_LEVEL, 'KeFlushQueuedDpcs', DdiRule.IrqlDocumentedLimit);
  drainDeferredWork();
}

function runDpc(context: unknown): void {
  const dpc = context as KDPC;
  // An entry left from before a re-initialisation (a reset system) may run after it: never count below zero.
  if (dpc.entries > 0) dpc.entries--;
  if (!dpc.inserted) return;
  dpc.inserted = false;
  dpc.DeferredRoutine!(dpc, dpc.DeferredContext, dpc.SystemArgument1, dpc.SystemArgument2);
}
