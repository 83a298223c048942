/**
 * Filter conditions: checking one against the layer's field type when a filter is added, and testing it against
 * an incoming value at classify time. Matching allocates nothing for the integer and address types.
 */
import {
  STATUS_FWP_INVALID_NET_MASK,
  STATUS_FWP_INVALID_RANGE,
  STATUS_FWP_MATCH_TYPE_MISMATCH,
  STATUS_FWP_TYPE_MISMATCH,
} from './constants.js';
import {
  FWP_BYTE_ARRAY16_TYPE,
  FWP_BYTE_BLOB_TYPE,
  type FWP_CONDITION_VALUE0,
  type FWP_DATA_TYPE,
  FWP_EMPTY,
  FWP_INT64,
  FWP_MATCH_EQUAL,
  FWP_MATCH_EQUAL_CASE_INSENSITIVE,
  FWP_MATCH_FLAGS_ALL_SET,
  FWP_MATCH_FLAGS_ANY_SET,
  FWP_MATCH_FLAGS_NONE_SET,
  FWP_MATCH_GREATER,
  FWP_MATCH_GREATER_OR_EQUAL,
  FWP_MATCH_LESS,
  FWP_MATCH_LESS_OR_EQUAL,
  FWP_MATCH_NOT_EQUAL,
  FWP_MATCH_NOT_PREFIX,
  FWP_MATCH_PREFIX,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_UINT32,
  FWP_UINT64,
  FWP_UNICODE_STRING_TYPE,
  FWP_V4_ADDR_MASK,
  FWP_V6_ADDR_MASK,
  type FWP_VALUE0,
  isSmallInteger,
  isUnsigned,
  smallIntegerOf,
} from './values.js';

/** Orders of comparison results. */
const LT = -1;
const EQ = 0;
const GT = 1;
/** A comparison that does not apply (different types, missing data). */
const NONE = 2;

/**
 * Validates a condition for a field of type `fieldType` (FwpmFilterAdd0). Returns STATUS_SUCCESS (0) or the
 * STATUS_FWP_* error the engine reports: TYPE_MISMATCH when the value's type does not fit the field,
 * MATCH_TYPE_MISMATCH when the match type does not fit the value, INVALID_RANGE / INVALID_NET_MASK for bad
 * ranges and masks.
 */
export function validateCondition(fieldType: FWP_DATA_TYPE, matchType: number, value: FWP_CONDITION_VALUE0): number {
  const t = value.type;
  if (t === FWP_RANGE_TYPE) {
    if (matchType !== FWP_MATCH_RANGE) return STATUS_FWP_MATCH_TYPE_MISMATCH;
    const r = value.rangeValue;
    if (!r || r.valueLow.type !== fieldType || r.valueHigh.type !== fieldType) return STATUS_FWP_TYPE_MISMATCH;
    const c = compareValues(r.valueLow, r.valueHigh);
    if (c === NONE || c === GT) return STATUS_FWP_INVALID_RANGE;
    return 0;
  }
  if (matchType === FWP_MATCH_RANGE) return STATUS_FWP_MATCH_TYPE_MISMATCH;
  if (t === FWP_V4_ADDR_MASK) {
    if (fieldType !== FWP_UINT32) return STATUS_FWP_TYPE_MISMATCH;
    if (matchType !== FWP_MATCH_EQUAL && matchType !== FWP_MATCH_NOT_EQUAL) return STATUS_FWP_MATCH_TYPE_MISMATCH;
    const m = value.v4AddrMask;
    if (!m) return STATUS_FWP_TYPE_MISMATCH;
    // A mask must be contiguous ones from the top: ~mask + 1 is then a power of two (or 0 for /32).
    const inv = ~m.mask >>> 0;
    if ((inv & (inv + 1)) !== 0) return STATUS_FWP_INVALID_NET_MASK;
    return 0;
  }
  if (t === FWP_V6_ADDR_MASK) {
    if (fieldType !== FWP_BYTE_ARRAY16_TYPE) return STATUS_FWP_TYPE_MISMATCH;
    if (matchType !== FWP_MATCH_EQUAL && matchType !== FWP_MATCH_NOT_EQUAL) return STATUS_FWP_MATCH_TYPE_MISMATCH;
    const m = value.v6AddrMask;
    if (m?.addr.length !== 16) return STATUS_FWP_TYPE_MISMATCH;
    if (!Number.isInteger(m.prefixLength) || m.prefixLength < 0 || m.prefixLength > 128) {
      return STATUS_FWP_INVALID_NET_MASK;
    }
    return 0;
  }
  if (t !== fieldType) return STATUS_FWP_TYPE_MISMATCH;
  switch (matchType) {
    case FWP_MATCH_EQUAL:
    case FWP_MATCH_NOT_EQUAL:
      return 0;
    case FWP_MATCH_GREATER:
    case FWP_MATCH_LESS:
    case FWP_MATCH_GREATER_OR_EQUAL:
    case FWP_MATCH_LESS_OR_EQUAL:
      return isSmallInteger(t) || t === FWP_UINT64 || t === FWP_INT64 || t === FWP_BYTE_ARRAY16_TYPE
        ? 0
        : STATUS_FWP_MATCH_TYPE_MISMATCH;
    case FWP_MATCH_FLAGS_ALL_SET:
    case FWP_MATCH_FLAGS_ANY_SET:
    case FWP_MATCH_FLAGS_NONE_SET:
      return isUnsigned(t) ? 0 : STATUS_FWP_MATCH_TYPE_MISMATCH;
    case FWP_MATCH_EQUAL_CASE_INSENSITIVE:
    case FWP_MATCH_PREFIX:
    case FWP_MATCH_NOT_PREFIX:
      return t === FWP_BYTE_BLOB_TYPE || t === FWP_UNICODE_STRING_TYPE ? 0 : STATUS_FWP_MATCH_TYPE_MISMATCH;
    default:
      return STATUS_FWP_MATCH_TYPE_MISMATCH;
  }
}

/** Compares two values of the same scalar type: LT, EQ, GT, or NONE when they cannot be compared. */
function compareValues(a: FWP_VALUE0, b: FWP_VALUE0): number {
  if (a.type !== b.type) return NONE;
  if (isSmallInteger(a.type)) {
    const x = smallIntegerOf(a);
    const y = smallIntegerOf(b);
    return x < y ? LT : x > y ? GT : EQ;
  }
  switch (a.type) {
    case FWP_UINT64:
      return a.uint64 < b.uint64 ? LT : a.uint64 > b.uint64 ? GT : EQ;
    case FWP_INT64:
      return a.int64 < b.int64 ? LT : a.int64 > b.int64 ? GT : EQ;
    case FWP_BYTE_ARRAY16_TYPE:
      return compareBytes(a.byteArray16?.byteArray16 ?? null, b.byteArray16?.byteArray16 ?? null);
    case FWP_BYTE_BLOB_TYPE:
      return compareBytes(a.byteBlob?.data ?? null, b.byteBlob?.data ?? null);
    case FWP_UNICODE_STRING_TYPE: {
      const x = a.unicodeString;
      const y = b.unicodeString;
      if (x === null || y === null) return NONE;
      return x < y ? LT : x > y ? GT : EQ;
    }
    default:
      return NONE;
  }
}

function compareBytes(x: Uint8Array | null, y: Uint8Array | null): number {
  if (!x || !y) return NONE;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    if (x[i]! !== y[i]!) return x[i]! < y[i]! ? LT : GT;
  }
  return x.length < y.length ? LT : x.length > y.length ? GT : EQ;
}

/** ASCII case folding of one byte (the blobs hold UTF-16LE app ids; letters beyond ASCII compare exactly). */
function fold(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Length of a blob's meaningful bytes: a UTF-16 string blob ends with a NUL character that a prefix ignores. */
function withoutTerminator(data: Uint8Array): number {
  let n = data.length;
  if (n >= 2 && data[n - 1] === 0 && data[n - 2] === 0) n -= 2;
  return n;
}

function bytesPrefix(value: Uint8Array, prefix: Uint8Array): boolean {
  const n = withoutTerminator(prefix);
  if (value.length < n) return false;
  for (let i = 0; i < n; i++) if (value[i]! !== prefix[i]!) return false;
  return true;
}

function bytesEqualFolded(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (fold(x[i]!) !== fold(y[i]!)) return false;
  return true;
}

function v6PrefixEqual(addr: Uint8Array, prefix: Uint8Array, prefixLength: number): boolean {
  let bits = prefixLength;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (prefix[i]! & mask)) return false;
  }
  return true;
}

/**
 * Tests one condition against an incoming value. A field the layer left FWP_EMPTY matches no condition
 * (decided: Windows does not document it; an unknown value cannot satisfy a test).
 */
export function conditionMatches(incoming: FWP_VALUE0, matchType: number, cond: FWP_CONDITION_VALUE0): boolean {
  const it = incoming.type;
  // The common condition first: EQUAL on an integer of the value's own type (what the general path below does).
  if (matchType === FWP_MATCH_EQUAL && cond.type === it && isSmallInteger(it)) {
    return smallIntegerOf(incoming) === smallIntegerOf(cond);
  }
  if (it === FWP_EMPTY) return false;
  switch (cond.type) {
    case FWP_V4_ADDR_MASK: {
      if (it !== FWP_UINT32) return false;
      const m = cond.v4AddrMask!;
      const eq = (incoming.uint32 & m.mask) >>> 0 === (m.addr & m.mask) >>> 0;
      return matchType === FWP_MATCH_NOT_EQUAL ? !eq : eq;
    }
    case FWP_V6_ADDR_MASK: {
      const a = incoming.byteArray16?.byteArray16;
      if (it !== FWP_BYTE_ARRAY16_TYPE || !a) return false;
      const m = cond.v6AddrMask!;
      const eq = v6PrefixEqual(a, m.addr, m.prefixLength);
      return matchType === FWP_MATCH_NOT_EQUAL ? !eq : eq;
    }
    case FWP_RANGE_TYPE: {
      const r = cond.rangeValue!;
      const lo = compareValues(incoming, r.valueLow);
      const hi = compareValues(incoming, r.valueHigh);
      return lo !== NONE && hi !== NONE && lo >= EQ && hi <= EQ;
    }
  }
  if (it !== cond.type) return false;
  if (isSmallInteger(it)) {
    const v = smallIntegerOf(incoming);
    const c = smallIntegerOf(cond);
    switch (matchType) {
      case FWP_MATCH_EQUAL:
        return v === c;
      case FWP_MATCH_NOT_EQUAL:
        return v !== c;
      case FWP_MATCH_GREATER:
        return v > c;
      case FWP_MATCH_LESS:
        return v < c;
      case FWP_MATCH_GREATER_OR_EQUAL:
        return v >= c;
      case FWP_MATCH_LESS_OR_EQUAL:
        return v <= c;
      case FWP_MATCH_FLAGS_ALL_SET:
        return (v & c) >>> 0 === c >>> 0;
      case FWP_MATCH_FLAGS_ANY_SET:
        return (v & c) !== 0;
      case FWP_MATCH_FLAGS_NONE_SET:
        return (v & c) === 0;
      default:
        return false;
    }
  }
  if (it === FWP_UINT64 && matchType >= FWP_MATCH_FLAGS_ALL_SET && matchType <= FWP_MATCH_FLAGS_NONE_SET) {
    const and = incoming.uint64 & cond.uint64;
    if (matchType === FWP_MATCH_FLAGS_ALL_SET) return and === cond.uint64;
    return matchType === FWP_MATCH_FLAGS_ANY_SET ? and !== 0n : and === 0n;
  }
  if (
    matchType === FWP_MATCH_EQUAL_CASE_INSENSITIVE ||
    matchType === FWP_MATCH_PREFIX ||
    matchType === FWP_MATCH_NOT_PREFIX
  ) {
    let hit: boolean;
    if (it === FWP_BYTE_BLOB_TYPE) {
      const x = incoming.byteBlob?.data;
      const y = cond.byteBlob?.data;
      if (!x || !y) return false;
      hit = matchType === FWP_MATCH_EQUAL_CASE_INSENSITIVE ? bytesEqualFolded(x, y) : bytesPrefix(x, y);
    } else {
      const x = incoming.unicodeString;
      const y = cond.unicodeString;
      if (x === null || y === null) return false;
      hit = matchType === FWP_MATCH_EQUAL_CASE_INSENSITIVE ? x.toLowerCase() === y.toLowerCase() : x.startsWith(y);
    }
    return matchType === FWP_MATCH_NOT_PREFIX ? !hit : hit;
  }
  const c = compareValues(incoming, cond);
  if (c === NONE) return false;
  switch (matchType) {
    case FWP_MATCH_EQUAL:
      return c === EQ;
    case FWP_MATCH_NOT_EQUAL:
      return c !== EQ;
    case FWP_MATCH_GREATER:
      return c === GT;
    case FWP_MATCH_LESS:
      return c === LT;
    case FWP_MATCH_GREATER_OR_EQUAL:
      return c !== LT;
    case FWP_MATCH_LESS_OR_EQUAL:
      return c !== GT;
    default:
      return false;
  }
}
