/**
 * The wire: one Ethernet segment. Every frame one port transmits reaches every other port attached to the same
 * wire, in the order frames were put on it, ports in the order they attached. Frames wait in a FIFO until the
 * wire is drained: explicitly ({@link Wire.drain}, what a host loop does between packets) or as kernel deferred
 * work (a DPC, so NICs indicate what they receive at DISPATCH_LEVEL, as real ones do); either way runs are
 * deterministic.
 *
 * Taps see every frame as it goes on the wire (capture output); {@link Wire.inject} puts a frame on the wire
 * from outside (a capture feeding one end).
 *
 * The frames themselves sit in a byte ring in nonpaged pool (tag "Wire"), so a NIC copies a NET_BUFFER onto the
 * wire, and a frame off the wire into its receive buffer, with one memory-to-memory copy each and no JavaScript
 * allocation; the ring grows (a new pool block) only when a burst outgrows it.
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { queueDeferredWork } from '../kernel/deferred.js';
import { bytesAt } from '../kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPoolNx } from '../kernel/pool.js';
import { poolTag } from '../kernel/tags.js';

/** The wire's pool tag: "Wire" in poolmon (decided). */
export const TAG_WIRE = poolTag('eriW');

/** A station on the wire (a NIC's receive side). */
export interface WirePort {
  /**
   * A frame arrives: `length` bytes at `address` in simulated memory. They are valid only during the call (the
   * wire reuses its ring); the port copies what it keeps.
   */
  receiveFrame(address: number, length: number): void;
  /** Called once the wire has delivered every frame it had (a NIC indicates what it collected). */
  flush?(): void;
}

/** Called with every frame put on the wire: a view of its bytes (valid during the call) and the sender's id. */
export type WireTap = (frame: Uint8Array, fromPort: number) => void;

/**
 * Called with every frame put on the wire where it lies in simulated memory (`length` bytes at `address`, valid
 * during the call) and the sender's id: the allocation-free tap, for a capture writer that copies the bytes itself.
 */
export type WireAddressTap = (address: number, length: number, fromPort: number) => void;

/** The port id of frames put on the wire with {@link Wire.inject}: from outside, so every port receives them. */
export const OUTSIDE = -1;

const INITIAL_BYTES = 1 << 16;
const INITIAL_FRAMES = 256;

/** An Ethernet segment connecting ports. */
export class Wire {
  readonly name: string;
  private readonly ports: (WirePort | null)[] = [];
  private readonly taps: WireTap[] = [];
  private readonly addressTaps: WireAddressTap[] = [];
  /** The ring: a pool block of `size` bytes at `base`. */
  private base = 0;
  private size = 0;
  /** Per queued frame: address, length, sending port; rings indexed modulo their capacity. */
  private addrs = new Float64Array(INITIAL_FRAMES);
  private lens = new Int32Array(INITIAL_FRAMES);
  private srcs = new Int32Array(INITIAL_FRAMES);
  private head = 0;
  private count = 0;
  /** Byte offsets (from `base`) of the oldest frame's start and the newest frame's end. */
  private byteHead = 0;
  private byteTail = 0;
  private scheduled = false;
  /** True while a frame is being handed to the ports (its bytes must stay where they are). */
  private delivering = false;
  /** Ring blocks replaced while a frame was being delivered, freed once it has been. */
  private readonly retired: number[] = [];
  private readonly autoDrain: boolean;
  /** Frames put on the wire. */
  framesQueued = 0;
  /** Frames delivered to every port. */
  framesDelivered = 0;
  /** Copies handed to ports (a frame reaches every port but its sender). */
  deliveries = 0;
  /** Frames lost because the pool could not hold the ring. */
  framesDropped = 0;

  /**
   * @param name for messages and captures.
   * @param autoDrain deliver queued frames as kernel deferred work (default true); false leaves delivery to
   *   {@link Wire.drain}.
   */
  constructor(name = 'wire', autoDrain = true) {
    this.name = name;
    this.autoDrain = autoDrain;
    this.base = ExAllocatePoolWithTag(NonPagedPoolNx, INITIAL_BYTES, TAG_WIRE);
    if (this.base === 0) throw new Error(`wire ${name}: no pool for its ring`);
    this.size = INITIAL_BYTES;
  }

  /** Attaches a port; returns its id on this wire. */
  attach(port: WirePort): number {
    this.ports.push(port);
    this.attached++;
    this.noteLonePort();
    return this.ports.length - 1;
  }

  /** Detaches a port: it receives nothing more. */
  detach(id: number): void {
    if (id >= 0 && id < this.ports.length && this.ports[id] !== null) {
      this.ports[id] = null;
      this.attached--;
      this.noteLonePort();
    }
  }

  /** Ports attached and not detached (the non-null entries of `ports`). */
  private attached = 0;
  /** The id of the one port attached when exactly one is, else -1 (kept by attach, detach and close). */
  private lonePort = -1;

  private noteLonePort(): void {
    this.lonePort = -1;
    if (this.attached !== 1) return;
    for (let i = 0; i < this.ports.length; i++) if (this.ports[i] !== null) this.lonePort = i;
  }

  /** Adds a tap; returns a function that removes it. */
  tap(fn: WireTap): () => void {
    this.taps.push(fn);
    this.noteSoleTap();
    return () => {
      const i = this.taps.indexOf(fn);
      if (i >= 0) this.taps.splice(i, 1);
      this.noteSoleTap();
    };
  }

  /** Adds a tap that sees frames by address (no view made per frame); returns a function that removes it. */
  tapAddress(fn: WireAddressTap): () => void {
    this.addressTaps.push(fn);
    this.noteSoleTap();
    return () => {
      const i = this.addressTaps.indexOf(fn);
      if (i >= 0) this.addressTaps.splice(i, 1);
      this.noteSoleTap();
    };
  }

  /**
   * The one tap when the wire has exactly one, an address tap (a replay's output), else null: every frame is then
   * shown to it with one call, no walk of the tap lists (kept by tap, tapAddress and their removers).
   */
  private soleAddressTap: WireAddressTap | null = null;

  private noteSoleTap(): void {
    this.soleAddressTap = this.addressTaps.length === 1 && this.taps.length === 0 ? this.addressTaps[0]! : null;
  }

  /** Frames queued and not yet delivered. */
  get pending(): number {
    return this.count;
  }

  /**
   * Reserves room for a frame of `length` bytes and returns the address to write it at (0 when the pool cannot
   * grow the ring); {@link Wire.commit} then queues it. This is how a NIC copies a NET_BUFFER onto the wire.
   */
  reserve(length: number): number {
    if (this.count === this.lens.length) this.growFrames();
    if (this.count === 0) {
      this.byteHead = 0;
      this.byteTail = 0;
      return length <= this.size ? this.base : this.growBytes(length);
    }
    if (this.byteTail >= this.byteHead) {
      // Free space is [tail, size) and [0, head).
      if (this.size - this.byteTail >= length) return this.base + this.byteTail;
      if (this.byteHead > length) return this.base;
      return this.growBytes(length);
    }
    // Free space is [tail, head); it must not fill up exactly, or a full ring would look empty.
    if (this.byteHead - this.byteTail > length) return this.base + this.byteTail;
    return this.growBytes(length);
  }

  /** Queues the frame written at `address` (from {@link Wire.reserve}) as sent by port `from`. */
  commit(address: number, length: number, from: number): void {
    if (address === 0) {
      this.framesDropped++;
      return;
    }
    const slot = (this.head + this.count) % this.lens.length;
    this.addrs[slot] = address;
    this.lens[slot] = length;
    this.srcs[slot] = from;
    this.count++;
    this.byteTail = address - this.base + length;
    if (this.count === 1) this.byteHead = address - this.base;
    this.framesQueued++;
    this.showTaps(address, length, from);
    if (this.autoDrain && !this.scheduled) {
      this.scheduled = true;
      queueDeferredWork(drainWire, this);
    }
  }

  /**
   * True when a frame port `from` sends would reach no other port: it then only passes the taps, and a NIC may
   * hand it over with {@link Wire.observe} where it lies instead of copying it into the ring.
   */
  reachesNoPort(from: number): boolean {
    // Counted rather than searched (once per frame sent): no port at all, or one, the sender's own.
    return this.attached === 0 || (from >= 0 && from === this.lonePort);
  }

  /**
   * A frame sent by port `from` that no other port receives ({@link Wire.reachesNoPort}): the taps see it where it
   * lies (`length` bytes at `address`), and it is counted as queued and delivered, as one the ring carried would be.
   */
  observe(address: number, length: number, from: number): void {
    this.framesQueued++;
    this.showTaps(address, length, from);
    this.framesDelivered++;
  }

  /** Every tap sees the frame (`length` bytes at `address`) sent by port `from`. */
  private showTaps(address: number, length: number, from: number): void {
    const sole = this.soleAddressTap;
    if (sole !== null) {
      sole(address, length, from);
      return;
    }
    const addressTaps = this.addressTaps;
    for (let i = 0; i < addressTaps.length; i++) addressTaps[i]!(address, length, from);
    if (this.taps.length > 0) {
      const view = bytesAt(address, length);
      for (let i = 0; i < this.taps.length; i++) this.taps[i]!(view, from);
    }
  }

  /** Puts a copy of `frame` on the wire as sent by port `from`. Returns false if the ring could not hold it. */
  transmit(frame: Uint8Array, from: number): boolean {
    const at = this.reserve(frame.length);
    if (at !== 0) memory.set(frame, at - ARENA_BASE);
    this.commit(at, frame.length, from);
    return at !== 0;
  }

  /** Puts a frame on the wire from outside (a capture feeding this segment): every port receives it. */
  inject(frame: Uint8Array): boolean {
    return this.transmit(frame, OUTSIDE);
  }

  /** Delivers every queued frame (and frames queued meanwhile) in order. Returns how many were delivered. */
  drain(): number {
    this.scheduled = false;
    let delivered = 0;
    do {
      delivered += this.deliverQueued();
      // Ports that batch indicate now; what they send in reply is queued, and delivered in the next pass.
      const ports = this.ports;
      for (let p = 0; p < ports.length; p++) ports[p]?.flush?.();
    } while (this.count > 0);
    return delivered;
  }

  private deliverQueued(): number {
    let delivered = 0;
    while (this.count > 0) {
      const slot = this.head;
      const address = this.addrs[slot]!;
      const length = this.lens[slot]!;
      const from = this.srcs[slot]!;
      const ports = this.ports;
      this.delivering = true;
      try {
        for (let p = 0; p < ports.length; p++) {
          const port = ports[p];
          if (port === null || port === undefined || p === from) continue;
          port.receiveFrame(address, length);
          this.deliveries++;
        }
      } finally {
        this.delivering = false;
        while (this.retired.length > 0) ExFreePool(this.retired.pop()!);
      }
      // The frame is released only after every port had it (a port may transmit meanwhile: that appends).
      this.head = (this.head + 1) % this.lens.length;
      this.count--;
      if (this.count > 0) this.byteHead = this.addrs[this.head]! - this.base;
      this.framesDelivered++;
      delivered++;
    }
    return delivered;
  }

  /** Frees the ring (after which the wire carries nothing). */
  close(): void {
    if (this.base !== 0) ExFreePool(this.base);
    this.base = 0;
    this.size = 0;
    this.count = 0;
    this.ports.length = 0;
    this.attached = 0;
    this.lonePort = -1;
  }

  private growFrames(): void {
    const n = this.lens.length;
    const addrs = new Float64Array(n * 2);
    const lens = new Int32Array(n * 2);
    const srcs = new Int32Array(n * 2);
    for (let i = 0; i < this.count; i++) {
      const s = (this.head + i) % n;
      addrs[i] = this.addrs[s]!;
      lens[i] = this.lens[s]!;
      srcs[i] = this.srcs[s]!;
    }
    this.addrs = addrs;
    this.lens = lens;
    this.srcs = srcs;
    this.head = 0;
  }

  /** Moves the queued frames into a bigger ring and returns the address for a `length`-byte frame (0: no pool). */
  private growBytes(length: number): number {
    let used = 0;
    for (let i = 0; i < this.count; i++) used += this.lens[(this.head + i) % this.lens.length]!;
    let size = this.size * 2;
    while (size <= used + length) size *= 2;
    const base = ExAllocatePoolWithTag(NonPagedPoolNx, size, TAG_WIRE);
    if (base === 0) return 0;
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const s = (this.head + i) % this.lens.length;
      const from = this.addrs[s]! - ARENA_BASE;
      const len = this.lens[s]!;
      memory.copyWithin(base - ARENA_BASE + at, from, from + len);
      this.addrs[s] = base + at;
      at += len;
    }
    if (this.delivering) this.retired.push(this.base);
    else ExFreePool(this.base);
    this.base = base;
    this.size = size;
    this.byteHead = 0;
    this.byteTail = at;
    return base + at;
  }
}

function drainWire(wire: unknown): void {
  (wire as Wire).drain();
}
