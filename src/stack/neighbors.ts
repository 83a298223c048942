/**
 * The neighbour cache of one host (ARP for IPv4, neighbour discovery for IPv6): which link-layer address a next
 * hop on an interface has. Both families share one open-addressing hash table over typed arrays; an IPv4 address
 * is kept in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so a lookup is five word compares and allocates nothing.
 *
 * An entry is REACHABLE (the MAC is known: learned from a reply, gleaned from a packet, or configured), or
 * INCOMPLETE (a solicitation went out, no answer yet). While an entry is incomplete it holds at most one packet,
 * the latest, as RFC 4861 section 7.2.2 allows and Windows does: the earlier one is dropped ("neighbour queue
 * full"). The held packet's owner is the neighbour cache until the answer comes or the entry is given up.
 *
 * Resolution is retried and then given up as RFC 4861 7.2.2 says (and Windows' ARP does, three tries): a
 * solicitation every RETRANS_TIMER (1 s) up to MAX_MULTICAST_SOLICIT (3); a second after the last one the entry
 * fails, and the host answers its held packet with ICMP destination unreachable ({@link NeighborCache.due}). Time
 * is the capture's, given by the caller.
 */

/** Entry states. */
export const NEIGHBOR_NONE = 0;
export const NEIGHBOR_INCOMPLETE = 1;
export const NEIGHBOR_REACHABLE = 2;
/** A configured entry that learning never overwrites. */
export const NEIGHBOR_PERMANENT = 3;

/** Seconds between solicitations of an incomplete entry (RFC 4861 RETRANS_TIMER). */
export const RETRANS_TIMER_SECONDS = 1;
/** Solicitations before resolution fails (RFC 4861 MAX_MULTICAST_SOLICIT; Windows' ARP tries three times). */
export const MAX_MULTICAST_SOLICIT = 3;

/** What {@link NeighborCache.due} asks its caller to do. */
export interface ResolutionActions<T> {
  /** Solicit the neighbour again (its address words, IPv4 mapped as ::ffff:a.b.c.d). */
  resolicit(ifIndex: number, words: Uint32Array): void;
  /** Resolution failed: `packet` was waiting for the neighbour and is now the caller's to answer and drop. */
  failed(packet: T, ifIndex: number, words: Uint32Array): void;
}

import { macEquals, readMac } from './addr.js';

const EMPTY = -1;
/** {@link NeighborCache}'s mappedIf for a slot whose address is not IPv4-mapped. */
const NOT_MAPPED = -2;

/** The neighbour cache. `T` is the type of a packet held while resolution is under way. */
export class NeighborCache<T> {
  private capacity = 64;
  private count = 0;
  private ifIndex = new Int32Array(this.capacity).fill(EMPTY);
  /**
   * Per slot: the interface index again when the slot holds an IPv4-mapped address (0, 0, 0xffff, a), else
   * NOT_MAPPED, or EMPTY: {@link find4} then tests one word where it would test the three constant words.
   */
  private mappedIf = new Int32Array(this.capacity).fill(EMPTY);
  private words = new Uint32Array(4 * this.capacity);
  private macs = new Float64Array(this.capacity);
  /** The same MACs as upper and lower 24-bit halves, for the data path (see {@link reachable4}). */
  private macHighs = new Int32Array(this.capacity);
  private macLows = new Int32Array(this.capacity);
  private states = new Uint8Array(this.capacity);
  private held: (T | null)[] = new Array<T | null>(this.capacity).fill(null);
  /** Per incomplete entry: when it was first solicited (capture seconds) and how many solicitations went out. */
  private since = new Float64Array(this.capacity);
  private tries = new Uint8Array(this.capacity);
  /** Scratch handed to {@link ResolutionActions} (valid during the call). */
  private readonly scratch = new Uint32Array(4);
  /** Scratch for IPv4 lookups (no allocation per call). */
  private readonly v4 = new Uint32Array([0, 0, 0xffff, 0]);

  /** The slot of (ifIndex, address words), or -1. */
  private find(ifIndex: number, w: ArrayLike<number>, at: number): number {
    const mask = this.capacity - 1;
    let i = hash(ifIndex, w, at) & mask;
    for (;;) {
      const k = this.ifIndex[i]!;
      if (k === EMPTY) return -1;
      const b = 4 * i;
      if (
        k === ifIndex &&
        this.words[b] === w[at] &&
        this.words[b + 1] === w[at + 1] &&
        this.words[b + 2] === w[at + 2] &&
        this.words[b + 3] === w[at + 3]
      ) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  private insert(ifIndex: number, w: ArrayLike<number>, at: number): number {
    const found = this.find(ifIndex, w, at);
    if (found >= 0) return found;
    if (2 * (this.count + 1) > this.capacity) this.rehash(this.capacity * 2);
    const mask = this.capacity - 1;
    let i = hash(ifIndex, w, at) & mask;
    while (this.ifIndex[i] !== EMPTY) i = (i + 1) & mask;
    this.ifIndex[i] = ifIndex;
    for (let k = 0; k < 4; k++) this.words[4 * i + k] = w[at + k]!;
    this.mappedIf[i] = w[at] === 0 && w[at + 1] === 0 && w[at + 2] === 0xffff ? ifIndex : NOT_MAPPED;
    this.states[i] = NEIGHBOR_NONE;
    this.macs[i] = 0;
    this.macHighs[i] = 0;
    this.macLows[i] = 0;
    this.held[i] = null;
    this.since[i] = 0;
    this.tries[i] = 0;
    this.count++;
    return i;
  }

  private rehash(capacity: number): void {
    const { ifIndex, words, macs, macHighs, macLows, states, held, since, tries } = this;
    this.capacity = capacity;
    this.count = 0;
    this.ifIndex = new Int32Array(capacity).fill(EMPTY);
    this.mappedIf = new Int32Array(capacity).fill(EMPTY);
    this.words = new Uint32Array(4 * capacity);
    this.macs = new Float64Array(capacity);
    this.macHighs = new Int32Array(capacity);
    this.macLows = new Int32Array(capacity);
    this.states = new Uint8Array(capacity);
    this.held = new Array<T | null>(capacity).fill(null);
    this.since = new Float64Array(capacity);
    this.tries = new Uint8Array(capacity);
    for (let i = 0; i < ifIndex.length; i++) {
      if (ifIndex[i] === EMPTY) continue;
      const j = this.insert(ifIndex[i]!, words, 4 * i);
      this.macs[j] = macs[i]!;
      this.macHighs[j] = macHighs[i]!;
      this.macLows[j] = macLows[i]!;
      this.states[j] = states[i]!;
      this.held[j] = held[i]!;
      this.since[j] = since[i]!;
      this.tries[j] = tries[i]!;
    }
  }

  /**
   * {@link find} for the IPv4-mapped words (0, 0, 0xffff, `address`), without going through them: the data path
   * looks up IPv4 neighbours twice per forwarded packet, and the mapped words' first three are constants.
   */
  private find4(ifIndex: number, address: number): number {
    const mask = this.capacity - 1;
    let i = hash4(ifIndex, address) & mask;
    const a = address >>> 0;
    for (;;) {
      // mappedIf is EMPTY exactly where ifIndex is, and ifIndex where the slot's first three words are the
      // mapped prefix: the same test as find's, one load instead of four.
      const k = this.mappedIf[i]!;
      if (k === EMPTY) return -1;
      if (k === ifIndex && this.words[4 * i + 3] === a) return i;
      i = (i + 1) & mask;
    }
  }

  private mapped(address: number): Uint32Array {
    this.v4[3] = address >>> 0;
    return this.v4;
  }

  /**
   * The slot of a reachable IPv4 neighbour, or -1: its MAC is then {@link macHigh} and {@link macLow}. The data
   * path uses this rather than {@link mac4}: a 48-bit MAC is above V8's small-integer range, so returning one as a
   * number allocates, where two 24-bit halves do not.
   */
  reachable4(ifIndex: number, address: number): number {
    const i = this.find4(ifIndex, address);
    return i >= 0 && this.states[i]! >= NEIGHBOR_REACHABLE ? i : -1;
  }

  /** As {@link reachable4}, for an IPv6 neighbour (words at `w[at..at+4)`). */
  reachable6(ifIndex: number, w: ArrayLike<number>, at = 0): number {
    const i = this.find(ifIndex, w, at);
    return i >= 0 && this.states[i]! >= NEIGHBOR_REACHABLE ? i : -1;
  }

  /** The upper 24 bits of the MAC in `slot` (from {@link reachable4} / {@link reachable6}). */
  macHigh(slot: number): number {
    return this.macHighs[slot]!;
  }

  /** The lower 24 bits of the MAC in `slot`. */
  macLow(slot: number): number {
    return this.macLows[slot]!;
  }

  /**
   * As {@link learn4}, with the MAC read from simulated memory at `macVa` (six bytes, a frame's source address), so
   * no MAC number crosses a call. Returns the packet that waited for it, if any.
   */
  learn4At(ifIndex: number, address: number, macVa: number): T | null {
    const i = this.find4(ifIndex, address);
    // The common case, a neighbour heard from again with the MAC already known, changes nothing. The MAC is
    // compared as its two 24-bit halves where it lies: as a 48-bit number it would be a heap number.
    if (i >= 0 && this.states[i] === NEIGHBOR_REACHABLE && macEquals(macVa, this.macHighs[i]!, this.macLows[i]!)) {
      return null;
    }
    return this.learnSlow(ifIndex, this.mapped(address), 0, macVa);
  }

  /** As {@link learn6}, with the MAC read from simulated memory at `macVa`. */
  learn6At(ifIndex: number, w: ArrayLike<number>, at: number, macVa: number): T | null {
    const i = this.find(ifIndex, w, at);
    if (i >= 0 && this.states[i] === NEIGHBOR_REACHABLE && macEquals(macVa, this.macHighs[i]!, this.macLows[i]!)) {
      return null;
    }
    return this.learnSlow(ifIndex, w, at, macVa);
  }

  private learnSlow(ifIndex: number, w: ArrayLike<number>, at: number, macVa: number): T | null {
    return this.learn6(ifIndex, w, at, readMac(macVa), false);
  }

  /** The MAC of an IPv4 neighbour, or -1 when it is not reachable. Allocation-free. */
  mac4(ifIndex: number, address: number): number {
    return this.mac6(ifIndex, this.mapped(address), 0);
  }

  /** The MAC of an IPv6 neighbour (words at `w[at..at+4)`), or -1 when it is not reachable. Allocation-free. */
  mac6(ifIndex: number, w: ArrayLike<number>, at = 0): number {
    const i = this.find(ifIndex, w, at);
    return i >= 0 && this.states[i]! >= NEIGHBOR_REACHABLE ? this.macs[i]! : -1;
  }

  /**
   * Records that an IPv4 neighbour has `mac` (from an ARP reply or request, or gleaned). Returns the packet that
   * was waiting for it, if any, now handed back to the caller to send.
   */
  learn4(ifIndex: number, address: number, mac: number, permanent = false): T | null {
    return this.learn6(ifIndex, this.mapped(address), 0, mac, permanent);
  }

  /** Records that an IPv6 neighbour has `mac`; returns the packet that waited for it, if any. */
  learn6(ifIndex: number, w: ArrayLike<number>, at: number, mac: number, permanent = false): T | null {
    let i = this.find(ifIndex, w, at);
    if (i >= 0 && this.states[i] === NEIGHBOR_REACHABLE && this.macs[i] === mac && !permanent) return null;
    if (i < 0) i = this.insert(ifIndex, w, at);
    if (this.states[i] === NEIGHBOR_PERMANENT && !permanent) return null;
    this.macs[i] = mac;
    const high = (mac / 0x1000000) | 0;
    this.macHighs[i] = high;
    this.macLows[i] = mac - high * 0x1000000;
    this.states[i] = permanent ? NEIGHBOR_PERMANENT : NEIGHBOR_REACHABLE;
    const waiting = this.held[i]!;
    this.held[i] = null;
    return waiting;
  }

  /**
   * Holds `packet` for an IPv4 neighbour whose MAC is not known, marking the entry INCOMPLETE. Returns the packet
   * it displaced (the caller drops it), or null. `solicit` tells the caller whether to send a request: only when
   * the entry was not already being resolved; resolution then starts at `now` (capture seconds).
   */
  hold4(ifIndex: number, address: number, packet: T, solicit: { value: boolean }, now = 0): T | null {
    return this.hold6(ifIndex, this.mapped(address), 0, packet, solicit, now);
  }

  /** As {@link hold4}, for IPv6. */
  hold6(ifIndex: number, w: ArrayLike<number>, at: number, packet: T, solicit: { value: boolean }, now = 0): T | null {
    const i = this.insert(ifIndex, w, at);
    solicit.value = this.states[i] !== NEIGHBOR_INCOMPLETE;
    if (solicit.value) {
      this.since[i] = now;
      this.tries[i] = 1;
    }
    this.states[i] = NEIGHBOR_INCOMPLETE;
    const displaced = this.held[i]!;
    this.held[i] = packet;
    return displaced;
  }

  /**
   * Runs the resolution timers up to `now`: an incomplete entry whose last solicitation is RETRANS_TIMER old is
   * solicited again, or, after MAX_MULTICAST_SOLICIT, fails (back to no entry) and hands its held packet to
   * `actions.failed`. Returns when the next timer is due (Infinity when nothing is being resolved).
   */
  due(now: number, actions: ResolutionActions<T>): number {
    let next = Number.POSITIVE_INFINITY;
    // Failed packets are handed over after the scan: answering them may add entries (and grow the table).
    const failed: { packet: T; ifIndex: number; words: Uint32Array }[] = [];
    for (let i = 0; i < this.capacity; i++) {
      if (this.ifIndex[i] === EMPTY || this.states[i] !== NEIGHBOR_INCOMPLETE) continue;
      let deadline = this.since[i]! + this.tries[i]! * RETRANS_TIMER_SECONDS;
      // Catch up with every timer that expired since the last call (frames can be far apart).
      while (now >= deadline && this.tries[i]! < MAX_MULTICAST_SOLICIT) {
        this.tries[i]!++;
        deadline += RETRANS_TIMER_SECONDS;
        this.scratch.set(this.words.subarray(4 * i, 4 * i + 4));
        actions.resolicit(this.ifIndex[i]!, this.scratch);
      }
      if (now >= deadline) {
        this.states[i] = NEIGHBOR_NONE;
        const packet = this.held[i]!;
        this.held[i] = null;
        const words = this.words.slice(4 * i, 4 * i + 4);
        if (packet !== null) failed.push({ packet, ifIndex: this.ifIndex[i]!, words });
        continue;
      }
      if (deadline < next) next = deadline;
    }
    for (const f of failed) actions.failed(f.packet, f.ifIndex, f.words);
    return next;
  }

  /** Every packet still held, with its neighbour, removed from the cache (end of run, adapter removal). */
  releaseHeld(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const p = this.held[i];
      if (p !== null && p !== undefined) {
        out.push(p);
        this.held[i] = null;
      }
    }
    return out;
  }

  /** Packets held now. */
  heldCount(): number {
    let n = 0;
    for (let i = 0; i < this.capacity; i++) if (this.held[i] !== null) n++;
    return n;
  }

  /** Entries, as text lines (`arp -a` style), for reports. */
  entries(): { ifIndex: number; words: number[]; mac: number; state: number }[] {
    const out: { ifIndex: number; words: number[]; mac: number; state: number }[] = [];
    for (let i = 0; i < this.capacity; i++) {
      if (this.ifIndex[i] === EMPTY) continue;
      out.push({
        ifIndex: this.ifIndex[i]!,
        words: Array.from(this.words.subarray(4 * i, 4 * i + 4)),
        mac: this.macs[i]!,
        state: this.states[i]!,
      });
    }
    return out;
  }
}

/** The hash's multiplier and seed (murmur3's constants). */
const MIX = 0xc2b2ae35;
const SEED = 0x9e3779b9;

/**
 * Hash of (ifIndex, four address words): the words are mixed first and the interface last, so that for an
 * IPv4-mapped address (0, 0, 0xffff, a) the state after the three constant words is a constant ({@link V4_PREFIX})
 * and {@link hash4} starts from it.
 */
function hash(ifIndex: number, w: ArrayLike<number>, at: number): number {
  let h = SEED;
  for (let k = 0; k < 4; k++) h = Math.imul(h ^ w[at + k]!, MIX) ^ (h >>> 15);
  h = Math.imul(h ^ ifIndex, MIX) ^ (h >>> 15);
  return (h ^ (h >>> 13)) >>> 0;
}

/** {@link hash}'s state after the IPv4-mapped prefix words 0, 0, 0xffff. */
const V4_PREFIX = (() => {
  let h = SEED;
  for (const word of [0, 0, 0xffff]) h = Math.imul(h ^ word, MIX) ^ (h >>> 15);
  return h;
})();

/**
 * {@link hash} of the IPv4-mapped words (0, 0, 0xffff, `address`): the same value, from the constant prefix's state
 * (two multiplies per IPv4 lookup instead of five; the data path makes two per forwarded packet).
 */
function hash4(ifIndex: number, address: number): number {
  let h = Math.imul(V4_PREFIX ^ address, MIX) ^ (V4_PREFIX >>> 15);
  h = Math.imul(h ^ ifIndex, MIX) ^ (h >>> 15);
  return (h ^ (h >>> 13)) >>> 0;
}
