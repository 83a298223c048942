/**
 * Reassembly of IPv4 (RFC 791) and IPv6 (RFC 8200 4.5) datagrams, with RFC 5722's rule (which Windows also
 * applies to IPv4): a fragment that overlaps another discards the whole datagram. Fragments wait here, keyed by source, destination, identification and
 * protocol, each still the list it arrived in; when the last piece arrives the caller builds the datagram from
 * them and gives the fragments back. Datagrams are few and rare next to the packet rate, so this queue may use
 * ordinary objects (decided: it is not on the hot path).
 */
import type { NET_BUFFER_LIST } from '../ndis/structures.js';

/** One fragment held: its list, where its payload starts (simulated address) and what part it carries. */
export interface HeldFragment {
  nbl: NET_BUFFER_LIST;
  /** Simulated address of the fragment's payload (just after its IP header). */
  payloadVa: number;
  /** Byte offset of the payload in the datagram. */
  offset: number;
  length: number;
  /** Simulated address and length of this fragment's IP header (the first fragment's is the datagram's). */
  headerVa: number;
  headerLength: number;
  /** IPv6: offset in the header part of the byte that names the Fragment header, and the value to put there. */
  nextHeaderAt: number;
  nextHeader: number;
}

/** A datagram being put back together. */
export interface Datagram {
  fragments: HeldFragment[];
  /** Total payload length, known once the last fragment (MF clear) has arrived; -1 before. */
  total: number;
  /** Payload bytes held. */
  held: number;
}

/** What adding a fragment did. */
export const Reassembled = {
  /** Held, the datagram is not complete yet. */
  Held: 0,
  /** The datagram is complete: take it with {@link ReassemblyQueue.take}. */
  Complete: 1,
  /** It overlaps a fragment already held (or contradicts the known length): the datagram is discarded. */
  Overlap: 2,
} as const;

/** The host's reassembly queue (both families; the keys differ). */
export class ReassemblyQueue {
  private readonly datagrams = new Map<string, Datagram>();

  /** Adds a fragment of datagram `key`. On Overlap the caller drops the datagram's fragments ({@link take}) and this one. */
  add(key: string, fragment: HeldFragment, more: boolean): number {
    let d = this.datagrams.get(key);
    if (d === undefined) {
      d = { fragments: [], total: -1, held: 0 };
      this.datagrams.set(key, d);
    }
    const end = fragment.offset + fragment.length;
    for (const f of d.fragments) {
      if (fragment.offset < f.offset + f.length && f.offset < end) return Reassembled.Overlap;
    }
    if ((d.total >= 0 && (end > d.total || !more)) || (!more && end < maxEnd(d))) return Reassembled.Overlap;
    d.fragments.push(fragment);
    d.held += fragment.length;
    if (!more) d.total = end;
    return d.total >= 0 && d.held === d.total ? Reassembled.Complete : Reassembled.Held;
  }

  /** Removes datagram `key` and returns its fragments sorted by offset (none: an empty list). */
  take(key: string): HeldFragment[] {
    const d = this.datagrams.get(key);
    this.datagrams.delete(key);
    return d === undefined ? [] : d.fragments.sort((a, b) => a.offset - b.offset);
  }

  /** Fragments held now. */
  heldCount(): number {
    let n = 0;
    for (const d of this.datagrams.values()) n += d.fragments.length;
    return n;
  }

  /** Removes every datagram and returns all their fragments (end of run: they never completed). */
  drain(): NET_BUFFER_LIST[] {
    const out: NET_BUFFER_LIST[] = [];
    for (const d of this.datagrams.values()) for (const f of d.fragments) out.push(f.nbl);
    this.datagrams.clear();
    return out;
  }
}

function maxEnd(d: Datagram): number {
  let m = 0;
  for (const f of d.fragments) m = Math.max(m, f.offset + f.length);
  return m;
}
