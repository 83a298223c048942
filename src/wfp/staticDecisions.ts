/**
 * The decisions of a layer whose filters are all static (PERMIT or BLOCK, no callout) and each test one and the
 * same field with EQUAL conditions on integers or /32 IPv4 addresses - a driver's block list, the host run's one
 * BLOCK filter. Such a layer's result depends on nothing but that field's value: for a value no condition names
 * (or of another type, which no such condition matches) it is the layer's default; for each value a condition
 * names it is what arbitration gives for it, which classify.ts computes once per value when the filters change
 * (by running the same arbitration) and keeps here. A classify then looks its value up instead of arbitrating.
 */

import { FWP_ACTION_FLAG_CALLOUT } from './constants.js';
import type { FilterEntry } from './filterEntry.js';
import type { FWPS_CLASSIFY_OUT0, FWPS_INCOMING_VALUES0 } from './structures.js';
import {
  type FWP_CONDITION_VALUE0,
  FWP_MATCH_EQUAL,
  FWP_V4_ADDR_MASK,
  isSmallInteger,
  smallIntegerOf,
} from './values.js';

/** True for a condition that only an integer value equal to its key matches: EQUAL on an integer or a /32 address. */
export function isExactCondition(matchType: number, v: FWP_CONDITION_VALUE0): boolean {
  if (matchType !== FWP_MATCH_EQUAL) return false;
  return isSmallInteger(v.type) || (v.type === FWP_V4_ADDR_MASK && v.v4AddrMask!.mask >>> 0 === 0xffffffff);
}

/** The key of an exact condition (the integer, or the address as an unsigned number). */
export function exactKeyOf(v: FWP_CONDITION_VALUE0): number {
  return v.type === FWP_V4_ADDR_MASK ? v.v4AddrMask!.addr >>> 0 : smallIntegerOf(v);
}

/**
 * The field every filter of `filters` tests as described above, or -1 when they do not all qualify (a callout
 * filter, no condition, several fields, a condition that is not exact). `keys` receives the keys named.
 */
export function staticExactField(filters: readonly FilterEntry[], keys: Set<number>): number {
  let field = -1;
  for (const f of filters) {
    if ((f.actionType & FWP_ACTION_FLAG_CALLOUT) !== 0 || f.groups.length !== 1) return -1;
    const g = f.groups[0]!;
    if (field >= 0 && g.field !== field) return -1;
    field = g.field;
    for (let i = 0; i < g.values.length; i++) {
      if (!isExactCondition(g.matchTypes[i]!, g.values[i]!)) return -1;
      keys.add(exactKeyOf(g.values[i]!));
    }
  }
  return field;
}

/** A qualifying layer's decisions by value (see the file comment); `field` is -1 for a layer that does not qualify. */
export class StaticDecisions {
  field = -1;
  /** The field's data type: a value of another type matches no condition. */
  fieldType = 0;
  /**
   * Value (as a 32-bit signed integer, unboxed; one type's values map one to one) -> index into the result
   * arrays.
   */
  readonly byValue = new Map<number, number>();
  /**
   * The same keys by index, for a table of at most {@link SCAN_LIMIT} keys: a driver's short block list (the host
   * run's has one address) is looked up by comparing the keys in turn, cheaper than hashing into the map.
   */
  keys: Int32Array = new Int32Array(0);
  actions: Int32Array = new Int32Array(0);
  rights: Int32Array = new Int32Array(0);
  filterIds: Float64Array = new Float64Array(0);

  /** The index of `key` (a value of {@link fieldType} as a 32-bit signed integer) in the result arrays, or -1. */
  indexOf(key: number): number {
    const keys = this.keys;
    if (keys.length <= SCAN_LIMIT) {
      for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
      return -1;
    }
    return this.byValue.get(key) ?? -1;
  }

  /**
   * Writes the decision for `values` into `out` and returns true; false when the layer does not qualify or the
   * values lack the field (the caller arbitrates).
   */
  decide(
    values: FWPS_INCOMING_VALUES0,
    out: FWPS_CLASSIFY_OUT0,
    defaultAction: number,
    defaultRights: number,
  ): boolean {
    const field = this.field;
    if (field < 0) return false;
    const slot = values.incomingValue[field];
    if (slot === undefined) return false;
    const v = slot.value;
    const i = v.type === this.fieldType ? this.indexOf(smallIntegerOf(v) | 0) : -1;
    out.actionType = i < 0 ? defaultAction : this.actions[i]!;
    out.rights = i < 0 ? defaultRights : this.rights[i]!;
    out.flags = 0;
    out.filterId = i < 0 ? 0 : this.filterIds[i]!;
    out.outContext = 0n;
    return true;
  }
}

/** Tables of up to this many keys are searched by comparison rather than hashed (see StaticDecisions.keys). */
const SCAN_LIMIT = 8;
