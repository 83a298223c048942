/**
 * Reassembly of IPv4 (RFC 791) and IPv6 (RFC 8200 4.5) datagrams, with RFC 5722's rule (which Windows also
 * applies to IPv4): a fragment that overlaps another discards the whole datagram. Fragments wait here, keyed by
 * source, destination, identification and (IPv4) protocol, each still the list it arrived in, kept in offset
 * order; when the last piece arrives the caller builds the datagram from them and gives the fragments back.
 *
 * Two bounds, as tcpip has them:
 * - time: a datagram not complete 60 seconds after its first-arriving fragment is abandoned (RFC 8200 4.5; since
 *   Vista tcpip uses 60 seconds for IPv4 too, fixed, not configurable). The caller's clock drives it.
 * - memory: the bytes of the fragments held, all datagrams together, stay under a limit (tcpip's
 *   ReassemblyLimit, Set-NetIPv4Protocol -ReassemblyLimitBytes). A fragment that would pass it is refused.
 *
 * The bookkeeping is typed arrays and free lists of slot numbers: adding, completing and expiring allocate
 * nothing once the tables have grown to the traffic's high-water mark.
 */
import type { NET_BUFFER_LIST } from '../ndis/structures.js';

/** What adding a fragment did. */
export const Reassembled = {
  /** Held, the datagram is not complete yet. */
  Held: 0,
  /** The datagram is complete: walk its fragments from {@link ReassemblyQueue.first}, then remove it. */
  Complete: 1,
  /**
   * It overlaps a fragment already held (or contradicts the known length): the caller drops the datagram's
   * fragments and this one, then removes the datagram.
   */
  Overlap: 2,
  /** Holding it would pass the memory limit: the caller drops it (the datagram's other fragments stay). */
  OverLimit: 3,
} as const;

/** Seconds a datagram may wait for its missing fragments, from its first-arriving one (RFC 8200 4.5). */
export const REASSEMBLY_TIMEOUT_SECONDS = 60;

/**
 * Default bound on the bytes held for reassembly. Windows sizes its ReassemblyLimit from the machine's memory;
 * this host uses a fixed 16 MiB (decided: room for 256 maximal datagrams, deterministic on every machine).
 */
export const DEFAULT_REASSEMBLY_LIMIT_BYTES = 16 * 1024 * 1024;

/** Words in a datagram key: version and protocol, source (4), destination (4), identification. */
export const KEY_WORDS = 10;

/** The host's reassembly queue (both families; IPv4 addresses fill one word of each four). */
export class ReassemblyQueue {
  /** Seconds from a datagram's first fragment to its abandonment. */
  timeoutSeconds = REASSEMBLY_TIMEOUT_SECONDS;
  /** Bound on the bytes of fragments held (each fragment counts its IP header and payload). */
  limitBytes = DEFAULT_REASSEMBLY_LIMIT_BYTES;
  /** Bytes of fragments held now. */
  bytesHeld = 0;
  /** The key of the datagram the next {@link add} is for: the caller fills it first. */
  readonly key = new Uint32Array(KEY_WORDS);
  /** The datagram the last {@link add} concerned (-1: none). */
  datagram = -1;
  /** The earliest deadline of any datagram held (Infinity: none); {@link expired} is cheap before it. */
  nextDeadline = Number.POSITIVE_INFINITY;

  // Datagram slots.
  private dCapacity = 0;
  private dKeys = new Uint32Array(0);
  private dFirst = new Int32Array(0);
  private dTotal = new Int32Array(0);
  private dHeld = new Int32Array(0);
  private dBytes = new Int32Array(0);
  private dCount = new Int32Array(0);
  private dDeadline = new Float64Array(0);
  private dIfIndex = new Int32Array(0);
  /** Live datagram slots, densely packed; dPos gives each live slot's place in it. */
  private live = new Int32Array(0);
  private liveCount = 0;
  private dPos = new Int32Array(0);
  private dFree = new Int32Array(0);
  private dFreeCount = 0;

  // Fragment slots (public for the reader: the caller walks a datagram's fragments and reads their fields).
  private fCapacity = 0;
  /** Each fragment's list. */
  readonly nbl: (NET_BUFFER_LIST | null)[] = [];
  /** Simulated address of each fragment's payload (just after its IP header, or its Fragment header). */
  payloadVa = new Float64Array(0);
  /** Byte offset of each fragment's payload in the datagram. */
  offset = new Int32Array(0);
  /** Payload bytes of each fragment. */
  length = new Int32Array(0);
  /** Simulated address and length of each fragment's IP header part (the first fragment's is the datagram's). */
  headerVa = new Float64Array(0);
  headerLength = new Int32Array(0);
  /** IPv6: offset in the header part of the byte that names the Fragment header, and the value to put there. */
  nextHeaderAt = new Int32Array(0);
  nextHeader = new Int32Array(0);
  /** The next fragment of the same datagram in offset order (-1: the last). */
  next = new Int32Array(0);
  private fBytes = new Int32Array(0);
  private fFree = new Int32Array(0);
  private fFreeCount = 0;

  constructor() {
    this.growDatagrams(8);
    this.growFragments(32);
  }

  /**
   * Adds a fragment to the datagram named by {@link key} (created with deadline `now` + timeout when new):
   * `payloadVa` / `offset` / `length` its payload, `headerVa` / `headerLength` its header part, `bytes` its size
   * for the memory bound, `more` its More Fragments flag. Sets {@link datagram} and returns a {@link Reassembled}.
   */
  add(
    now: number,
    ifIndex: number,
    nbl: NET_BUFFER_LIST,
    payloadVa: number,
    offset: number,
    length: number,
    headerVa: number,
    headerLength: number,
    nextHeaderAt: number,
    nextHeader: number,
    more: boolean,
    bytes: number,
  ): number {
    let d = this.find();
    this.datagram = d;
    if (this.bytesHeld + bytes > this.limitBytes) return Reassembled.OverLimit;
    if (d < 0) d = this.datagram = this.create(now, ifIndex);
    const end = offset + length;
    // Find the place in offset order; any overlap with a neighbour there discards the datagram.
    let prev = -1;
    let f = this.dFirst[d]!;
    while (f >= 0 && this.offset[f]! < offset) {
      prev = f;
      f = this.next[f]!;
    }
    if (prev >= 0 && this.offset[prev]! + this.length[prev]! > offset) return Reassembled.Overlap;
    if (f >= 0 && this.offset[f]! < end) return Reassembled.Overlap;
    if (f >= 0 && this.offset[f] === offset) return Reassembled.Overlap; // a duplicate (even an empty one)
    const total = this.dTotal[d]!;
    // The last fragment fixes the length: nothing may end past it, and there is only one last fragment.
    if ((total >= 0 && (end > total || !more)) || (!more && end < this.maxEnd(d))) return Reassembled.Overlap;
    const slot = this.takeFragment();
    this.nbl[slot] = nbl;
    this.payloadVa[slot] = payloadVa;
    this.offset[slot] = offset;
    this.length[slot] = length;
    this.headerVa[slot] = headerVa;
    this.headerLength[slot] = headerLength;
    this.nextHeaderAt[slot] = nextHeaderAt;
    this.nextHeader[slot] = nextHeader;
    this.fBytes[slot] = bytes;
    this.next[slot] = f;
    if (prev >= 0) this.next[prev] = slot;
    else this.dFirst[d] = slot;
    this.dHeld[d]! += length;
    this.dBytes[d]! += bytes;
    this.dCount[d]!++;
    this.bytesHeld += bytes;
    if (!more) this.dTotal[d] = end;
    return this.dTotal[d]! >= 0 && this.dHeld[d] === this.dTotal[d] ? Reassembled.Complete : Reassembled.Held;
  }

  /** The first fragment (lowest offset) of datagram `d`, -1 when it has none; then follow {@link next}. */
  first(d: number): number {
    return this.dFirst[d]!;
  }

  /** Fragments held for datagram `d`. */
  fragmentCount(d: number): number {
    return this.dCount[d]!;
  }

  /** Payload bytes of datagram `d` held (its length, once complete). */
  payloadBytes(d: number): number {
    return this.dHeld[d]!;
  }

  /** The interface datagram `d`'s first-arriving fragment came in on. */
  ifIndexOf(d: number): number {
    return this.dIfIndex[d]!;
  }

  /** The IP version of datagram `d` (4 or 6). */
  versionOf(d: number): number {
    return this.dKeys[KEY_WORDS * d]! >>> 8;
  }

  /** Forgets datagram `d` and frees its slots (the caller has taken its fragments' lists). */
  remove(d: number): void {
    for (let f = this.dFirst[d]!; f >= 0; ) {
      const n = this.next[f]!;
      this.nbl[f] = null;
      this.fFree[this.fFreeCount++] = f;
      f = n;
    }
    this.bytesHeld -= this.dBytes[d]!;
    const at = this.dPos[d]!;
    const last = this.live[--this.liveCount]!;
    this.live[at] = last;
    this.dPos[last] = at;
    this.dFree[this.dFreeCount++] = d;
    if (this.datagram === d) this.datagram = -1;
  }

  /**
   * A datagram whose deadline has come by `now` (-1: none). The caller abandons it and {@link remove}s it, then
   * asks again.
   */
  expired(now: number): number {
    if (now < this.nextDeadline) return -1;
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.liveCount; i++) {
      const d = this.live[i]!;
      const deadline = this.dDeadline[d]!;
      if (deadline <= now) return d;
      if (deadline < earliest) earliest = deadline;
    }
    this.nextDeadline = earliest;
    return -1;
  }

  /** Fragments held now. */
  heldCount(): number {
    return this.fCapacity - this.fFreeCount;
  }

  /** Datagrams being reassembled now. */
  datagramCount(): number {
    return this.liveCount;
  }

  /** Removes every datagram and returns all their fragments (end of run: they never completed). */
  drain(): NET_BUFFER_LIST[] {
    const out: NET_BUFFER_LIST[] = [];
    while (this.liveCount > 0) {
      const d = this.live[0]!;
      for (let f = this.dFirst[d]!; f >= 0; f = this.next[f]!) out.push(this.nbl[f]!);
      this.remove(d);
    }
    this.nextDeadline = Number.POSITIVE_INFINITY;
    return out;
  }

  /** The live datagram whose key equals {@link key}, or -1. Datagrams in reassembly are few: a scan. */
  private find(): number {
    const k = this.key;
    const keys = this.dKeys;
    const k9 = k[9]!;
    for (let i = 0; i < this.liveCount; i++) {
      const d = this.live[i]!;
      const b = KEY_WORDS * d;
      if (keys[b + 9] !== k9) continue;
      let same = true;
      for (let w = 0; w < 9; w++) {
        if (keys[b + w] !== k[w]) {
          same = false;
          break;
        }
      }
      if (same) return d;
    }
    return -1;
  }

  private create(now: number, ifIndex: number): number {
    if (this.dFreeCount === 0) this.growDatagrams(2 * this.dCapacity);
    const d = this.dFree[--this.dFreeCount]!;
    this.dKeys.set(this.key, KEY_WORDS * d);
    this.dFirst[d] = -1;
    this.dTotal[d] = -1;
    this.dHeld[d] = 0;
    this.dBytes[d] = 0;
    this.dCount[d] = 0;
    const deadline = now + this.timeoutSeconds;
    this.dDeadline[d] = deadline;
    if (deadline < this.nextDeadline) this.nextDeadline = deadline;
    this.dIfIndex[d] = ifIndex;
    this.dPos[d] = this.liveCount;
    this.live[this.liveCount++] = d;
    return d;
  }

  private maxEnd(d: number): number {
    let m = 0;
    for (let f = this.dFirst[d]!; f >= 0; f = this.next[f]!) m = Math.max(m, this.offset[f]! + this.length[f]!);
    return m;
  }

  private takeFragment(): number {
    if (this.fFreeCount === 0) this.growFragments(2 * this.fCapacity);
    return this.fFree[--this.fFreeCount]!;
  }

  private growDatagrams(capacity: number): void {
    const old = this.dCapacity;
    this.dKeys = grown(this.dKeys, KEY_WORDS * capacity);
    this.dFirst = grown(this.dFirst, capacity);
    this.dTotal = grown(this.dTotal, capacity);
    this.dHeld = grown(this.dHeld, capacity);
    this.dBytes = grown(this.dBytes, capacity);
    this.dCount = grown(this.dCount, capacity);
    this.dDeadline = grown(this.dDeadline, capacity);
    this.dIfIndex = grown(this.dIfIndex, capacity);
    this.live = grown(this.live, capacity);
    this.dPos = grown(this.dPos, capacity);
    this.dFree = grown(this.dFree, capacity);
    // New slots go on the free list highest first, so the lowest is taken first.
    for (let d = capacity - 1; d >= old; d--) this.dFree[this.dFreeCount++] = d;
    this.dCapacity = capacity;
  }

  private growFragments(capacity: number): void {
    const old = this.fCapacity;
    this.payloadVa = grown(this.payloadVa, capacity);
    this.offset = grown(this.offset, capacity);
    this.length = grown(this.length, capacity);
    this.headerVa = grown(this.headerVa, capacity);
    this.headerLength = grown(this.headerLength, capacity);
    this.nextHeaderAt = grown(this.nextHeaderAt, capacity);
    this.nextHeader = grown(this.nextHeader, capacity);
    this.next = grown(this.next, capacity);
    this.fBytes = grown(this.fBytes, capacity);
    this.fFree = grown(this.fFree, capacity);
    for (let f = old; f < capacity; f++) this.nbl.push(null);
    for (let f = capacity - 1; f >= old; f--) this.fFree[this.fFreeCount++] = f;
    this.fCapacity = capacity;
  }
}

/** A copy of `a` with room for `length` elements. */
function grown<T extends Int32Array | Uint32Array | Float64Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
