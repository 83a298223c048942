/**
 * Counting a callout driver's injections in flight, so DriverUnload can wait for the last completion: the
 * completion function is the driver's own code, and the driver must not go while the stack may still call it.
 * Written against `wdknet/ddi`, as a driver keeps it in its own sources. Counting is plain integer work on one
 * object made at load, so the per-packet calls allocate nothing.
 */
import {
  Executive,
  KEVENT,
  KeInitializeEvent,
  KernelMode,
  KeSetEvent,
  KeWaitForSingleObject,
  NotificationEvent,
} from 'wdknet/ddi';

/** Injections accepted and not yet completed, and the event DriverUnload waits on until none are left. */
export class PendingInjections {
  private count = 0;
  private unloadWaiting = false;
  private readonly allCompleted = new KEVENT();

  /** Starts from none in flight (DriverEntry calls it, so a reloaded driver starts afresh). */
  reset(): void {
    this.count = 0;
    this.unloadWaiting = false;
    KeInitializeEvent(this.allCompleted, NotificationEvent, false);
  }

  /** An injection was accepted: its completion function will be called. */
  started(): void {
    this.count++;
  }

  /** From the completion function: one fewer in flight; the last one wakes a waiting DriverUnload. */
  completed(): void {
    if (--this.count === 0 && this.unloadWaiting) KeSetEvent(this.allCompleted, 0, false);
  }

  /** From DriverUnload (PASSIVE_LEVEL): returns once every accepted injection has completed. */
  waitForAll(): void {
    if (this.count === 0) return;
    this.unloadWaiting = true;
    KeWaitForSingleObject(this.allCompleted, Executive, KernelMode, false, null);
  }
}
