/**
 * The routing table of one host, for IPv4 and IPv6: longest prefix match, then the lowest metric (as Windows
 * chooses between routes of equal prefix length). Entries live in typed arrays kept sorted by prefix length
 * (longest first) and metric, so a lookup is a scan that stops at the first match and allocates nothing.
 * Routes are few on a host; a trie would buy nothing here.
 */
import { formatIpv4, formatIpv6 } from './addr.js';

/** What {@link RouteTable.lookup4} / {@link RouteTable.lookup6} found: the index of a route, or -1. */
export type RouteIndex = number;

/** One route, as added and as listed. */
export interface RouteSpec {
  /** 'ipv4' or 'ipv6'. */
  readonly family: 'ipv4' | 'ipv6';
  /** The destination prefix: a 32-bit number (IPv4) or four words (IPv6). */
  readonly prefix: number | ArrayLike<number>;
  /** Prefix length in bits. */
  readonly length: number;
  /** Interface index of the adapter the route leaves through. */
  readonly ifIndex: number;
  /** Next hop, or 0 / all zeros for an on-link route (the destination itself is the next hop). */
  readonly nextHop?: number | ArrayLike<number>;
  /** Route metric (lower is preferred). Default 0. */
  readonly metric?: number;
}

function mask32(length: number): number {
  return length <= 0 ? 0 : length >= 32 ? 0xffffffff : (0xffffffff << (32 - length)) >>> 0;
}

/** A host's routing table (both families). */
export class RouteTable {
  private n4 = 0;
  private prefix4 = new Uint32Array(8);
  private mask4 = new Uint32Array(8);
  private len4 = new Uint8Array(8);
  private if4 = new Int32Array(8);
  private next4 = new Uint32Array(8);
  private metric4 = new Uint32Array(8);

  private n6 = 0;
  private prefix6 = new Uint32Array(32);
  private mask6 = new Uint32Array(32);
  private len6 = new Uint8Array(8);
  private if6 = new Int32Array(8);
  private next6 = new Uint32Array(32);
  private metric6 = new Uint32Array(8);

  /** Adds a route (configuration time). The prefix is masked to its length. */
  add(route: RouteSpec): void {
    const metric = route.metric ?? 0;
    if (!Number.isInteger(route.length) || route.length < 0) throw new RangeError('a prefix length is >= 0');
    if (route.family === 'ipv4') {
      if (route.length > 32) throw new RangeError('an IPv4 prefix length is at most 32');
      this.grow4();
      const at = this.insertAt(this.len4, this.metric4, this.n4, route.length, metric);
      this.shift4(at);
      const mask = mask32(route.length);
      this.prefix4[at] = ((route.prefix as number) & mask) >>> 0;
      this.mask4[at] = mask;
      this.len4[at] = route.length;
      this.if4[at] = route.ifIndex;
      this.next4[at] = ((route.nextHop as number | undefined) ?? 0) >>> 0;
      this.metric4[at] = metric;
      this.n4++;
    } else {
      if (route.length > 128) throw new RangeError('an IPv6 prefix length is at most 128');
      this.grow6();
      const at = this.insertAt(this.len6, this.metric6, this.n6, route.length, metric);
      this.shift6(at);
      const prefix = route.prefix as ArrayLike<number>;
      const next = (route.nextHop as ArrayLike<number> | undefined) ?? [0, 0, 0, 0];
      for (let w = 0; w < 4; w++) {
        const m = mask32(route.length - 32 * w);
        this.mask6[4 * at + w] = m;
        this.prefix6[4 * at + w] = (prefix[w]! & m) >>> 0;
        this.next6[4 * at + w] = next[w]! >>> 0;
      }
      this.len6[at] = route.length;
      this.if6[at] = route.ifIndex;
      this.metric6[at] = metric;
      this.n6++;
    }
  }

  /** Removes every route through `ifIndex` (when an adapter goes away). */
  removeInterface(ifIndex: number): void {
    const keep = this.list().filter((r) => r.ifIndex !== ifIndex);
    this.n4 = 0;
    this.n6 = 0;
    for (const r of keep) this.add(r);
  }

  private insertAt(len: Uint8Array, metric: Uint32Array, n: number, length: number, m: number): number {
    let at = 0;
    while (at < n && (len[at]! > length || (len[at] === length && metric[at]! <= m))) at++;
    return at;
  }

  private shift4(at: number): void {
    for (const a of [this.prefix4, this.mask4, this.len4, this.if4, this.next4, this.metric4]) {
      a.copyWithin(at + 1, at, this.n4);
    }
  }

  private shift6(at: number): void {
    for (const a of [this.prefix6, this.mask6, this.next6]) a.copyWithin(4 * (at + 1), 4 * at, 4 * this.n6);
    for (const a of [this.len6, this.if6, this.metric6]) a.copyWithin(at + 1, at, this.n6);
  }

  private grow4(): void {
    if (this.n4 < this.len4.length) return;
    const size = this.len4.length * 2;
    this.prefix4 = grow(this.prefix4, size);
    this.mask4 = grow(this.mask4, size);
    this.len4 = grow(this.len4, size);
    this.if4 = grow(this.if4, size);
    this.next4 = grow(this.next4, size);
    this.metric4 = grow(this.metric4, size);
  }

  private grow6(): void {
    if (this.n6 < this.len6.length) return;
    const size = this.len6.length * 2;
    this.prefix6 = grow(this.prefix6, 4 * size);
    this.mask6 = grow(this.mask6, 4 * size);
    this.next6 = grow(this.next6, 4 * size);
    this.len6 = grow(this.len6, size);
    this.if6 = grow(this.if6, size);
    this.metric6 = grow(this.metric6, size);
  }

  /** The best IPv4 route to `destination`, or -1 when none matches. Allocation-free. */
  lookup4(destination: number): RouteIndex {
    for (let i = 0; i < this.n4; i++) {
      if ((destination & this.mask4[i]!) >>> 0 === this.prefix4[i]) return i;
    }
    return -1;
  }

  /** The best IPv6 route to the address in `words[at..at+4)`, or -1. Allocation-free. */
  lookup6(words: ArrayLike<number>, at = 0): RouteIndex {
    for (let i = 0; i < this.n6; i++) {
      const b = 4 * i;
      if (
        (words[at]! & this.mask6[b]!) >>> 0 === this.prefix6[b] &&
        (words[at + 1]! & this.mask6[b + 1]!) >>> 0 === this.prefix6[b + 1] &&
        (words[at + 2]! & this.mask6[b + 2]!) >>> 0 === this.prefix6[b + 2] &&
        (words[at + 3]! & this.mask6[b + 3]!) >>> 0 === this.prefix6[b + 3]
      ) {
        return i;
      }
    }
    return -1;
  }

  /** The interface an IPv4 route leaves through. */
  interface4(route: RouteIndex): number {
    return this.if4[route]!;
  }

  /** The IPv4 next hop of a route: its gateway, or `destination` itself when the route is on-link. */
  nextHop4(route: RouteIndex, destination: number): number {
    const gateway = this.next4[route]!;
    return gateway === 0 ? destination >>> 0 : gateway;
  }

  /** The interface an IPv6 route leaves through. */
  interface6(route: RouteIndex): number {
    return this.if6[route]!;
  }

  /**
   * Writes the IPv6 next hop of `route` into `out[0..4)`: the gateway, or the destination in
   * `destination[at..at+4)` when the route is on-link. Allocation-free.
   */
  nextHop6(route: RouteIndex, destination: ArrayLike<number>, at: number, out: Uint32Array): void {
    const b = 4 * route;
    const onLink = (this.next6[b]! | this.next6[b + 1]! | this.next6[b + 2]! | this.next6[b + 3]!) === 0;
    for (let w = 0; w < 4; w++) out[w] = onLink ? destination[at + w]! : this.next6[b + w]!;
  }

  /** Every route, best first within each family (for `route print`-style listings and tests). */
  list(): RouteSpec[] {
    const out: RouteSpec[] = [];
    for (let i = 0; i < this.n4; i++) {
      out.push({
        family: 'ipv4',
        prefix: this.prefix4[i]!,
        length: this.len4[i]!,
        ifIndex: this.if4[i]!,
        nextHop: this.next4[i]!,
        metric: this.metric4[i]!,
      });
    }
    for (let i = 0; i < this.n6; i++) {
      out.push({
        family: 'ipv6',
        prefix: Array.from(this.prefix6.subarray(4 * i, 4 * i + 4)),
        length: this.len6[i]!,
        ifIndex: this.if6[i]!,
        nextHop: Array.from(this.next6.subarray(4 * i, 4 * i + 4)),
        metric: this.metric6[i]!,
      });
    }
    return out;
  }

  /** The table as text, one route a line. */
  format(): string {
    return this.list()
      .map((r) => {
        const dest =
          r.family === 'ipv4'
            ? `${formatIpv4(r.prefix as number)}/${r.length}`
            : `${formatIpv6(r.prefix as ArrayLike<number>)}/${r.length}`;
        const via =
          r.family === 'ipv4'
            ? (r.nextHop as number) === 0
              ? 'on-link'
              : formatIpv4(r.nextHop as number)
            : Array.from(r.nextHop as ArrayLike<number>).every((w) => w === 0)
              ? 'on-link'
              : formatIpv6(r.nextHop as ArrayLike<number>);
        return `${dest.padEnd(44)} ${via.padEnd(40)} if ${r.ifIndex} metric ${r.metric}`;
      })
      .join('\n');
  }
}

function grow<T extends Uint32Array | Int32Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}
