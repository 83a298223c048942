/**
 * Reading a capture straight into kernel pool memory: the window is a nonpaged pool allocation, so every frame
 * the reader returns already lies in simulated kernel memory at `address + record.offset`, ready to be described
 * by an MDL and a NET_BUFFER with no further copy.
 */
import { bytesAt } from '../kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../kernel/pool.js';
import { STATUS_INSUFFICIENT_RESOURCES, StatusError } from '../kernel/status.js';
import { poolTag } from '../kernel/tags.js';
import type { PcapngReaderOptions } from './pcapng-reader.js';
import { type CaptureInput, type CaptureReader, openCapture } from './reader.js';
import type { CaptureRecord } from './record.js';

/** Pool tag of capture windows: poolmon shows it as `Capt`. */
export const CAPTURE_POOL_TAG = poolTag('tpaC');

/** Default size of a pool window: 1 MiB (it must hold the largest record). */
export const DEFAULT_POOL_WINDOW = 1 << 20;

/** A capture reader whose window is a pool allocation. */
export class PoolCapture {
  /** Kernel address of the window. */
  readonly address: number;
  /** Size of the window in bytes. */
  readonly size: number;
  /** The reader (its records index the window). */
  readonly reader: CaptureReader;
  private closed = false;

  /**
   * Allocates the window from nonpaged pool (throws StatusError STATUS_INSUFFICIENT_RESOURCES when the pool is
   * exhausted) and opens `input` through it.
   */
  constructor(input: CaptureInput, size = DEFAULT_POOL_WINDOW, options: Omit<PcapngReaderOptions, 'chunk'> = {}) {
    const address = ExAllocatePoolWithTag(NonPagedPoolNx, size, CAPTURE_POOL_TAG);
    if (address === 0) {
      throw new StatusError(STATUS_INSUFFICIENT_RESOURCES, `cannot allocate a ${size}-byte capture window`);
    }
    this.address = address;
    this.size = size;
    try {
      this.reader = openCapture(input, { ...options, chunk: bytesAt(address, size) });
    } catch (e) {
      ExFreePoolWithTag(address, CAPTURE_POOL_TAG);
      throw e;
    }
  }

  /** The next packet (valid until the next call), or null at the end. */
  next(): CaptureRecord | null {
    return this.reader.next();
  }

  /** Kernel address of the first byte of `record`'s frame. */
  frameAddress(record: CaptureRecord): number {
    return this.address + record.offset;
  }

  /** Closes the file and frees the window (once). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
    ExFreePoolWithTag(this.address, CAPTURE_POOL_TAG);
  }
}
