/**
 * The wire: one Ethernet segment. Every frame one port transmits reaches every other port attached to the same
 * wire, in the order frames were put on it, ports in the order they attached. Frames wait in a FIFO until the
 * wire is drained: explicitly ({@link Wire.drain}, what a host loop does between packets) or as kernel deferred
 * work (a DPC, so receive indications run at DISPATCH_LEVEL as a NIC's do), so runs are deterministic.
 *
 * Taps see every frame as it goes on the wire (capture output); {@link Wire.inject} puts a frame on the wire
 * from outside (a capture feeding one end). Frame bytes are copied once onto the wire into a byte ring that
 * grows only when a burst outgrows it: the steady state allocates nothing.
 */
import { queueDeferredWork } from '../kernel/deferred.js';

/** A station on the wire (a NIC's receive side). */
export interface WirePort {
  /**
   * A frame arrives: `length` bytes at `offset` in `data`. The bytes are valid only during the call (the wire
   * reuses its ring); the port copies what it keeps.
   */
  receiveFrame(data: Uint8Array, offset: number, length: number): void;
}

/** Called with every frame put on the wire: its bytes (valid during the call) and the sending port's id. */
export type WireTap = (frame: Uint8Array, fromPort: number) => void;

/** The id {@link Wire.inject} frames carry: they come from outside, so every attached port receives them. */
export const OUTSIDE = -1;

const INITIAL_BYTES = 1 << 16;
const INITIAL_FRAMES = 256;

/** An Ethernet segment connecting ports. */
export class Wire {
  readonly name: string;
  private ports: (WirePort | null)[] = [];
  private taps: WireTap[] = [];
  private data = new Uint8Array(INITIAL_BYTES);
  /** Per queued frame: byte offset, length, sending port, as rings indexed modulo their capacity. */
  private offs = new Int32Array(INITIAL_FRAMES);
  private lens = new Int32Array(INITIAL_FRAMES);
  private srcs = new Int32Array(INITIAL_FRAMES);
  private head = 0;
  private count = 0;
  /** Byte ring: frames are stored contiguously; a frame that does not fit before the end starts at 0. */
  private byteHead = 0;
  private byteTail = 0;
  private byteUsed = 0;
  private scheduled = false;
  private autoDrain: boolean;
  /** Frames put on the wire, delivered, and (per receiving port) copies handed out. */
  framesQueued = 0;
  framesDelivered = 0;
  deliveries = 0;

  /**
   * @param name for messages and captures.
   * @param autoDrain deliver queued frames as kernel deferred work (default true); false leaves it to
   *   {@link Wire.drain}.
   */
  constructor(name = 'wire', autoDrain = true) {
    this.name = name;
    this.autoDrain = autoDrain;
  }

  /** Attaches a port; returns its id on this wire. */
  attach(port: WirePort): number {
    this.ports.push(port);
    return this.ports.length - 1;
  }

  /** Detaches a port: it receives nothing more (frames it sent that are still queued are still delivered). */
  detach(id: number): void {
    if (id >= 0 && id < this.ports.length) this.ports[id] = null;
  }

  /** Adds a tap; returns a function that removes it. */
  tap(fn: WireTap): () => void {
    this.taps.push(fn);
    return () => {
      const i = this.taps.indexOf(fn);
      if (i >= 0) this.taps.splice(i, 1);
    };
  }

  /** Frames queued and not yet delivered. */
  get pending(): number {
    return this.count;
  }

  /**
   * Reserves room for a frame of `length` bytes and returns the offset in {@link Wire.buffer} to write it at;
   * {@link Wire.commit} then queues it. (The way a NIC copies a NET_BUFFER straight onto the wire.)
   */
  reserve(length: number): number {
    if (this.count === this.offs.length) this.growFrames();
    let at = this.byteTail;
    if (this.byteUsed === 0) {
      at = 0;
      this.byteHead = 0;
      this.byteTail = 0;
    }
    const size = this.data.length;
    if (this.byteUsed > 0 && this.byteTail >= this.byteHead) {
      // Free space is [tail, size) and [0, head).
      if (size - this.byteTail < length) {
        if (this.byteHead > length) at = 0;
        else return this.growBytes(length);
      }
    } else if (this.byteUsed > 0) {
      // Free space is [tail, head); it must not fill up exactly, or a full ring would look empty.
      if (this.byteHead - this.byteTail <= length) return this.growBytes(length);
    } else if (size < length) {
      return this.growBytes(length);
    }
    return at;
  }

  /** The ring the offsets of {@link Wire.reserve} refer to (re-read after each reserve: it may grow). */
  get buffer(): Uint8Array {
    return this.data;
  }

  /** Queues the frame written at `offset` (from {@link Wire.reserve}) as sent by port `from`. */
  commit(offset: number, length: number, from: number): void {
    const slot = (this.head + this.count) % this.offs.length;
    this.offs[slot] = offset;
    this.lens[slot] = length;
    this.srcs[slot] = from;
    this.count++;
    this.byteTail = offset + length;
    this.byteUsed += length;
    this.framesQueued++;
    const frameView = this.taps.length > 0 ? this.data.subarray(offset, offset + length) : null;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]!(frameView!, from);
    if (this.autoDrain && !this.scheduled) {
      this.scheduled = true;
      queueDeferredWork(drainWire, this);
    }
  }

  /** Puts a copy of `frame` on the wire as sent by port `from`. */
  transmit(frame: Uint8Array, from: number): void {
    const at = this.reserve(frame.length);
    this.data.set(frame, at);
    this.commit(at, frame.length, from);
  }

  /** Puts a frame on the wire from outside (a capture feeding this segment): every port receives it. */
  inject(frame: Uint8Array): void {
    this.transmit(frame, OUTSIDE);
  }

  /** Delivers every queued frame (and frames queued meanwhile) in order. Returns how many were delivered. */
  drain(): number {
    this.scheduled = false;
    let delivered = 0;
    while (this.count > 0) {
      const slot = this.head;
      const off = this.offs[slot]!;
      const len = this.lens[slot]!;
      const from = this.srcs[slot]!;
      const ports = this.ports;
      for (let p = 0; p < ports.length; p++) {
        const port = ports[p];
        if (port === null || port === undefined || p === from) continue;
        port.receiveFrame(this.data, off, len);
        this.deliveries++;
      }
      // Release the frame only after every port had it (ports may transmit meanwhile: that appends).
      this.head = (this.head + 1) % this.offs.length;
      this.count--;
      this.byteUsed -= len;
      this.byteHead = this.count === 0 ? this.byteTail : this.offs[this.head]!;
      this.framesDelivered++;
      delivered++;
    }
    return delivered;
  }

  private growFrames(): void {
    const n = this.offs.length;
    const offs = new Int32Array(n * 2);
    const lens = new Int32Array(n * 2);
    const srcs = new Int32Array(n * 2);
    for (let i = 0; i < this.count; i++) {
      const s = (this.head + i) % n;
      offs[i] = this.offs[s]!;
      lens[i] = this.lens[s]!;
      srcs[i] = this.srcs[s]!;
    }
    this.offs = offs;
    this.lens = lens;
    this.srcs = srcs;
    this.head = 0;
  }

  /** Grows the byte ring (compacting queued frames to its start) and returns where a `length`-byte frame goes. */
  private growBytes(length: number): number {
    let size = this.data.length * 2;
    while (size < this.byteUsed + length) size *= 2;
    const data = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const s = (this.head + i) % this.offs.length;
      const off = this.offs[s]!;
      const len = this.lens[s]!;
      data.set(this.data.subarray(off, off + len), at);
      this.offs[s] = at;
      at += len;
    }
    this.data = data;
    this.byteHead = 0;
    this.byteTail = at;
    return at;
  }
}

function drainWire(wire: unknown): void {
  (wire as Wire).drain();
}
