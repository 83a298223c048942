/**
 * The per-sublayer filter index that keeps classify cost nearly flat as filters are added. Each filter is filed
 * under one field whose conditions can all be looked up (EQUAL on an integer, EQUAL on an IPv4 address/mask,
 * RANGE of integers): exact values in a hash map, address prefixes in one hash map per prefix length, ranges in
 * a sorted interval list. Filters with no such field are evaluated linearly. A lookup yields candidates; each is
 * still checked against all its conditions, and candidates are taken in weight order.
 *
 * Rebuilt lazily after a change, so adding 10,000 filters costs one sort, not 10,000.
 */

import type { FilterEntry } from './filterEntry.js';
import { addKey, hasKey, newKeyBits } from './keyBits.js';
import type { FWPS_INCOMING_VALUES0 } from './structures.js';
import {
  FWP_INT16,
  FWP_INT32,
  FWP_MATCH_EQUAL,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_UINT16,
  FWP_UINT32,
  FWP_V4_ADDR_MASK,
  isSmallInteger,
  smallIntegerOf,
} from './values.js';

interface RangeEntry {
  lo: number;
  hi: number;
  filter: FilterEntry;
}

/**
 * The lookups for one field of one sublayer. Map keys are the values as 32-bit signed integers (`| 0`): V8 keeps
 * those unboxed, where an unsigned value above 2^31 (most IPv4 addresses) would be a boxed number whose hash is a
 * call into the runtime. Two types' values that share 32 bits (UINT32 0xffffffff, INT32 -1) share a key; that
 * only adds a candidate, which its conditions then reject.
 */
class FieldIndex {
  readonly field: number;
  readonly exact = new Map<number, FilterEntry[]>();
  /** `exact` is not empty (a field read per packet, where Map.size is a call). */
  hasExact = false;
  /** prefix[len] maps (address & mask) to filters, for IPv4 prefixes shorter than 32 bits. */
  readonly prefix: (Map<number, FilterEntry[]> | undefined)[] = [];
  prefixLengths: number[] = [];
  /** Membership sets of the keys (exact, and per prefix length; see keyBits.ts). */
  exactBits: Uint32Array = new Uint32Array(0);
  readonly prefixBits: (Uint32Array | undefined)[] = [];
  ranges: RangeEntry[] = [];
  /** The ranges sorted by `lo`, as flat arrays (binary search touches no objects): lo, hi, and maxHi[i] = the largest hi among 0..i. */
  lo = new Float64Array(0);
  hi = new Float64Array(0);
  maxHi = new Float64Array(0);
  rangeFilters: FilterEntry[] = [];
  /**
   * For 16-bit values (ports...): coarse[x >>> 4] = the last range whose lo <= (x & ~15), or -1; a lookup then
   * steps over the few ranges starting inside that 16-value block instead of binary-searching the whole list.
   */
  coarse: Int32Array | null = null;

  constructor(field: number) {
    this.field = field;
  }
}

function push(map: Map<number, FilterEntry[]>, key: number, f: FilterEntry): void {
  const list = map.get(key);
  if (list) list.push(f);
  else map.set(key, [f]);
}

/** Number of leading ones of a contiguous IPv4 mask. */
function prefixLength(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

/**
 * How selective a lookup on one field's conditions is, 0 when they cannot be looked up. The wider the value
 * space, the fewer filters share a key: an exact 32-bit value or host address (5) beats a 16-bit value such as a
 * port (4), a long address prefix (4) or a narrow range (3), which beat an 8-bit value such as a protocol (1).
 */
function indexQuality(f: FilterEntry, group: number): number {
  const g = f.groups[group]!;
  let quality = 5;
  for (let i = 0; i < g.values.length; i++) {
    const v = g.values[i]!;
    const m = g.matchTypes[i]!;
    let q = 0;
    if (m === FWP_MATCH_EQUAL && isSmallInteger(v.type)) {
      q = v.type === FWP_UINT32 || v.type === FWP_INT32 ? 5 : v.type === FWP_UINT16 || v.type === FWP_INT16 ? 4 : 1;
    } else if (m === FWP_MATCH_EQUAL && v.type === FWP_V4_ADDR_MASK) {
      const len = prefixLength(v.v4AddrMask!.mask);
      q = len === 32 ? 5 : len >= 16 ? 4 : len >= 8 ? 2 : 1;
    } else if (m === FWP_MATCH_RANGE && v.type === FWP_RANGE_TYPE && isSmallInteger(v.rangeValue!.valueLow.type)) {
      const width = smallIntegerOf(v.rangeValue!.valueHigh) - smallIntegerOf(v.rangeValue!.valueLow);
      q = width <= 1024 ? 3 : 1;
    }
    if (q === 0) return 0;
    quality = Math.min(quality, q);
  }
  return quality;
}

/**
 * A reusable list of candidates. Its array is never truncated (setting an array's length to 0 makes V8 drop the
 * backing store, so refilling it would allocate): `count` says how many entries are current.
 */
export class CandidateList {
  readonly items: FilterEntry[] = [];
  count = 0;

  push(f: FilterEntry): void {
    if (this.count < this.items.length) this.items[this.count] = f;
    else this.items.push(f);
    this.count++;
  }
}

/** The filters of one sublayer at one layer, with their index. */
export class SublayerFilters {
  /** Every filter, in evaluation order after {@link rebuild}. */
  readonly filters: FilterEntry[] = [];
  private fieldIndexes: FieldIndex[] = [];
  private unindexed: FilterEntry[] = [];
  private dirty = false;
  private stamp = 0;

  add(f: FilterEntry): void {
    this.filters.push(f);
    this.dirty = true;
  }

  /** Removes `f`; false when it was not here. */
  remove(f: FilterEntry): boolean {
    const i = this.filters.indexOf(f);
    if (i < 0) return false;
    this.filters.splice(i, 1);
    this.dirty = true;
    return true;
  }

  get size(): number {
    return this.filters.length;
  }

  /** Sorts filters by weight (highest first; equal weights by filter id) and files each under its best field. */
  private rebuild(): void {
    this.dirty = false;
    this.filters.sort((a, b) =>
      a.effectiveWeight > b.effectiveWeight ? -1 : a.effectiveWeight < b.effectiveWeight ? 1 : a.id - b.id,
    );
    const byField = new Map<number, FieldIndex>();
    this.unindexed = [];
    for (let rank = 0; rank < this.filters.length; rank++) {
      const f = this.filters[rank]!;
      f.rank = rank;
      let best = -1;
      let bestQuality = 0;
      for (let g = 0; g < f.groups.length; g++) {
        const q = indexQuality(f, g);
        if (q > bestQuality) {
          bestQuality = q;
          best = g;
        }
      }
      if (best < 0) {
        this.unindexed.push(f);
        continue;
      }
      const group = f.groups[best]!;
      let index = byField.get(group.field);
      if (!index) {
        index = new FieldIndex(group.field);
        byField.set(group.field, index);
      }
      for (let i = 0; i < group.values.length; i++) {
        const v = group.values[i]!;
        if (v.type === FWP_V4_ADDR_MASK) {
          const m = v.v4AddrMask!;
          const len = prefixLength(m.mask);
          const key = m.addr & m.mask;
          if (len === 32) push(index.exact, key, f);
          else {
            let map = index.prefix[len];
            if (!map) {
              map = new Map();
              index.prefix[len] = map;
              index.prefixLengths.push(len);
            }
            push(map, key, f);
          }
        } else if (v.type === FWP_RANGE_TYPE) {
          index.ranges.push({
            lo: smallIntegerOf(v.rangeValue!.valueLow),
            hi: smallIntegerOf(v.rangeValue!.valueHigh),
            filter: f,
          });
        } else {
          push(index.exact, smallIntegerOf(v) | 0, f);
        }
      }
    }
    for (const index of byField.values()) {
      index.exactBits = membership(index.exact);
      index.hasExact = index.exact.size > 0;
      for (const len of index.prefixLengths) index.prefixBits[len] = membership(index.prefix[len]!);
      const ranges = index.ranges.sort((a, b) => a.lo - b.lo);
      const n = ranges.length;
      index.lo = new Float64Array(n);
      index.hi = new Float64Array(n);
      index.maxHi = new Float64Array(n);
      index.rangeFilters = ranges.map((r) => r.filter);
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        index.lo[i] = ranges[i]!.lo;
        index.hi[i] = ranges[i]!.hi;
        max = Math.max(max, ranges[i]!.hi);
        index.maxHi[i] = max;
      }
      index.coarse = null;
      if (n > 0 && index.lo[0]! >= 0 && max <= 0xffff) {
        const coarse = new Int32Array(4096);
        let last = -1;
        for (let b = 0; b < 4096; b++) {
          while (last + 1 < n && index.lo[last + 1]! <= b << 4) last++;
          coarse[b] = last;
        }
        index.coarse = coarse;
      }
      index.ranges = [];
    }
    this.fieldIndexes = [...byField.values()];
  }

  /**
   * Fills `out` with the filters that may match `values`, in evaluation order (the caller still tests every
   * condition); `out.count` is how many.
   */
  candidatesFor(values: FWPS_INCOMING_VALUES0, out: CandidateList): void {
    if (this.dirty) this.rebuild();
    out.count = 0;
    const stamp = ++this.stamp;
    for (let i = 0; i < this.unindexed.length; i++) {
      const f = this.unindexed[i]!;
      f.stamp = stamp;
      out.push(f);
    }
    const incoming = values.incomingValue;
    const fieldIndexes = this.fieldIndexes;
    for (let i = 0; i < fieldIndexes.length; i++) {
      const index = fieldIndexes[i]!;
      const slot = incoming[index.field];
      if (slot === undefined) continue;
      const value = slot.value;
      if (!isSmallInteger(value.type)) continue;
      const x = smallIntegerOf(value);
      if (index.hasExact && hasKey(index.exactBits, x)) addAll(out, index.exact.get(x | 0), stamp);
      for (let p = 0; p < index.prefixLengths.length; p++) {
        const len = index.prefixLengths[p]!;
        const key = x & (len === 0 ? 0 : 0xffffffff << (32 - len));
        if (hasKey(index.prefixBits[len]!, key)) addAll(out, index.prefix[len]!.get(key), stamp);
      }
      const n = index.lo.length;
      if (n > 0) {
        // Last range starting at or before x, then back while some earlier range may still reach x.
        const lo = index.lo;
        let last = -1;
        const coarse = index.coarse;
        if (coarse !== null && x >= 0 && x <= 0xffff) {
          last = coarse[x >>> 4]!;
          while (last + 1 < n && lo[last + 1]! <= x) last++;
        } else {
          let a = 0;
          let b = n - 1;
          while (a <= b) {
            const mid = (a + b) >> 1;
            if (lo[mid]! <= x) {
              last = mid;
              a = mid + 1;
            } else b = mid - 1;
          }
        }
        const hi = index.hi;
        const maxHi = index.maxHi;
        for (let j = last; j >= 0 && maxHi[j]! >= x; j--) {
          if (hi[j]! >= x) {
            const f = index.rangeFilters[j]!;
            if (f.stamp !== stamp) {
              f.stamp = stamp;
              out.push(f);
            }
          }
        }
      }
    }
    // Insertion sort by rank: candidate lists are short, and this allocates nothing.
    const count = out.count;
    if (count < 2) return;
    const items = out.items;
    for (let i = 1; i < count; i++) {
      const f = items[i]!;
      let j = i - 1;
      while (j >= 0 && items[j]!.rank > f.rank) {
        items[j + 1] = items[j]!;
        j--;
      }
      items[j + 1] = f;
    }
  }
}

function membership(map: Map<number, FilterEntry[]>): Uint32Array {
  const bits = newKeyBits();
  for (const key of map.keys()) addKey(bits, key);
  return bits;
}

function addAll(out: CandidateList, list: FilterEntry[] | undefined, stamp: number): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    if (f.stamp !== stamp) {
      f.stamp = stamp;
      out.push(f);
    }
  }
}
