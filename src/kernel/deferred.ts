/**
 * Deferred work: what Windows runs later from a DPC or a work item, such as WFP injection completions and NDIS
 * send completions. Work runs in FIFO order at DISPATCH_LEVEL when the queue is drained: explicitly with
 * {@link drainDeferredWork} (the host does this between packets, so runs are deterministic), or on its own on the
 * next turn of the Node.js event loop, so `await settle()` in a test sees every completion.
 */
import { DISPATCH_LEVEL, KeGetCurrentIrql, KeLowerIrql, KeRaiseIrql } from './irql.js';

type Work = (context: unknown) => void;

// A queue over two arrays that are reused, never truncated: `length = 0` would make V8 drop their storage and
// grow it again on every drain.
const work: Work[] = [];
const contexts: unknown[] = [];
let head = 0;
let tail = 0;
let scheduled = false;
let draining = false;
/** KeRaiseIrql's out parameter (the old IRQL is taken before the raise, so the box is only written). */
const oldIrql = { value: 0 };

/** Queues `fn(context)` to run later at DISPATCH_LEVEL. Allocation-free in steady state. */
export function queueDeferredWork(fn: Work, context: unknown): void {
  work[tail] = fn;
  contexts[tail] = context;
  tail++;
  if (!scheduled) {
    scheduled = true;
    setImmediate(autoDrain);
  }
}

function autoDrain(): void {
  scheduled = false;
  drainDeferredWork();
}

/** Runs queued work until the queue is empty (work queued meanwhile runs too). Returns how many ran. */
export function drainDeferredWork(): number {
  if (draining) return 0;
  draining = true;
  let ran = 0;
  const box = oldIrql;
  try {
    while (head < tail) {
      const fn = work[head]!;
      const ctx = contexts[head];
      work[head] = noop;
      contexts[head] = undefined;
      head++;
      const before = KeGetCurrentIrql();
      if (before < DISPATCH_LEVEL) KeRaiseIrql(DISPATCH_LEVEL, box);
      try {
        fn(ctx);
      } finally {
        if (before < DISPATCH_LEVEL) KeLowerIrql(before);
      }
      ran++;
    }
    head = 0;
    tail = 0;
  } finally {
    draining = false;
  }
  return ran;
}

/** Work still queued. */
export function pendingDeferredWork(): number {
  return tail - head;
}

/** Resolves once every queued piece of work (and any it queues) has run. */
export async function settle(): Promise<void> {
  drainDeferredWork();
  await new Promise<void>((resolve) => setImmediate(resolve));
  drainDeferredWork();
}

/** Drops queued work (part of resetSystem). */
export function resetDeferredWork(): void {
  work.length = 0;
  contexts.length = 0;
  head = 0;
  tail = 0;
  draining = false;
}

function noop(): void {}
