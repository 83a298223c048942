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
import type { FWPS_INCOMING_VALUES0 } from './structures.js';
import {
  FWP_MATCH_EQUAL,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_V4_ADDR_MASK,
  isSmallInteger,
  smallIntegerOf,
} from './values.js';

interface RangeEntry {
  lo: number;
  hi: number;
  filter: FilterEntry;
}

/** The lookups for one field of one sublayer. */
class FieldIndex {
  readonly field: number;
  readonly exact = new Map<number, FilterEntry[]>();
  /** prefix[len] maps (address & mask) to filters, for IPv4 prefixes shorter than 32 bits. */
  readonly prefix: (Map<number, FilterEntry[]> | undefined)[] = [];
  prefixLengths: number[] = [];
  ranges: RangeEntry[] = [];
  /** maxHi[i] = the largest `hi` among ranges[0..i] (ranges sorted by `lo`). */
  maxHi: number[] = [];

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

/** How well a field's conditions index: 3 exact, 2 prefix, 1 range, 0 not indexable. */
function indexQuality(f: FilterEntry, group: number): number {
  const g = f.groups[group]!;
  let quality = 3;
  for (let i = 0; i < g.values.length; i++) {
    const v = g.values[i]!;
    const m = g.matchTypes[i]!;
    if (m === FWP_MATCH_EQUAL && isSmallInteger(v.type)) continue;
    if (m === FWP_MATCH_EQUAL && v.type === FWP_V4_ADDR_MASK) {
      if (v.v4AddrMask!.mask >>> 0 !== 0xffffffff) quality = Math.min(quality, 2);
      continue;
    }
    if (m === FWP_MATCH_RANGE && v.type === FWP_RANGE_TYPE && isSmallInteger(v.rangeValue!.valueLow.type)) {
      quality = Math.min(quality, 1);
      continue;
    }
    return 0;
  }
  return quality;
}

/** The filters of one sublayer at one layer, with their index. */
export class SublayerFilters {
  /** Every filter, in evaluation order after {@link rebuild}. */
  readonly filters: FilterEntry[] = [];
  private fieldIndexes: FieldIndex[] = [];
  private unindexed: FilterEntry[] = [];
  private dirty = false;
  /** Reused candidate buffer. */
  private readonly candidates: FilterEntry[] = [];
  private stamp = 0;

  add(f: FilterEntry): void {
    this.filters.push(f);
    this.dirty = true;
  }

  remove(f: FilterEntry): void {
    const i = this.filters.indexOf(f);
    if (i >= 0) this.filters.splice(i, 1);
    this.dirty = true;
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
          const key = (m.addr & m.mask) >>> 0;
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
          push(index.exact, smallIntegerOf(v), f);
        }
      }
    }
    for (const index of byField.values()) {
      index.ranges.sort((a, b) => a.lo - b.lo);
      let max = Number.NEGATIVE_INFINITY;
      index.maxHi = index.ranges.map((r) => {
        max = Math.max(max, r.hi);
        return max;
      });
    }
    this.fieldIndexes = [...byField.values()];
  }

  /**
   * The filters that may match `values`, in evaluation order (the caller still tests every condition). Fills and
   * returns `out` (by default a buffer reused by the next call; a nested classify passes its own).
   */
  candidatesFor(values: FWPS_INCOMING_VALUES0, out: FilterEntry[] = this.candidates): readonly FilterEntry[] {
    if (this.dirty) this.rebuild();
    out.length = 0;
    const stamp = ++this.stamp;
    for (let i = 0; i < this.unindexed.length; i++) {
      const f = this.unindexed[i]!;
      f.stamp = stamp;
      out.push(f);
    }
    const incoming = values.incomingValue;
    for (let i = 0; i < this.fieldIndexes.length; i++) {
      const index = this.fieldIndexes[i]!;
      const slot = incoming[index.field];
      if (!slot || !isSmallInteger(slot.value.type)) continue;
      const x = smallIntegerOf(slot.value);
      addAll(out, index.exact.get(x), stamp);
      for (let p = 0; p < index.prefixLengths.length; p++) {
        const len = index.prefixLengths[p]!;
        const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
        addAll(out, index.prefix[len]!.get((x & mask) >>> 0), stamp);
      }
      const ranges = index.ranges;
      if (ranges.length > 0) {
        // Last range starting at or before x, then back while some earlier range may still reach x.
        let lo = 0;
        let hi = ranges.length - 1;
        let last = -1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (ranges[mid]!.lo <= x) {
            last = mid;
            lo = mid + 1;
          } else hi = mid - 1;
        }
        for (let j = last; j >= 0 && index.maxHi[j]! >= x; j--) {
          const r = ranges[j]!;
          if (r.hi >= x && r.filter.stamp !== stamp) {
            r.filter.stamp = stamp;
            out.push(r.filter);
          }
        }
      }
    }
    // Insertion sort by rank: candidate lists are short, and this allocates nothing.
    for (let i = 1; i < out.length; i++) {
      const f = out[i]!;
      let j = i - 1;
      while (j >= 0 && out[j]!.rank > f.rank) {
        out[j + 1] = out[j]!;
        j--;
      }
      out[j + 1] = f;
    }
    return out;
  }
}

function addAll(out: FilterEntry[], list: FilterEntry[] | undefined, stamp: number): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    if (f.stamp !== stamp) {
      f.stamp = stamp;
      out.push(f);
    }
  }
}
