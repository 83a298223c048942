/**
 * WFP data values (fwptypes.h): FWP_VALUE0 for what a layer sees, FWP_CONDITION_VALUE0 for what a filter asks,
 * and the types they carry. A C union becomes an object with one field per union member; only the member named
 * by `type` is meaningful, as in C. 64-bit integers are bigints; 16-byte arrays and blobs are Uint8Arrays.
 */

/**
 * The integer types the classify path tests per packet. A const enum is inlined as a literal where it is used;
 * V8 loads an exported constant from its module cell (with a check that it is initialised) at every use.
 */
const enum Small {
  Uint8 = 1,
  Uint16 = 2,
  Uint32 = 3,
  Int8 = 5,
  Int16 = 6,
  Int32 = 7,
}

/** FWP_DATA_TYPE values. */
export type FWP_DATA_TYPE = number;
export const FWP_EMPTY = 0;
export const FWP_UINT8 = Small.Uint8;
export const FWP_UINT16 = Small.Uint16;
export const FWP_UINT32 = Small.Uint32;
export const FWP_UINT64 = 4;
export const FWP_INT8 = Small.Int8;
export const FWP_INT16 = Small.Int16;
export const FWP_INT32 = Small.Int32;
export const FWP_INT64 = 8;
export const FWP_FLOAT = 9;
export const FWP_DOUBLE = 10;
export const FWP_BYTE_ARRAY16_TYPE = 11;
export const FWP_BYTE_BLOB_TYPE = 12;
export const FWP_SID = 13;
export const FWP_SECURITY_DESCRIPTOR_TYPE = 14;
export const FWP_TOKEN_INFORMATION_TYPE = 15;
export const FWP_TOKEN_ACCESS_INFORMATION_TYPE = 16;
export const FWP_UNICODE_STRING_TYPE = 17;
export const FWP_BYTE_ARRAY6_TYPE = 18;
export const FWP_BITMAP_INDEX_TYPE = 19;
export const FWP_BITMAP_ARRAY64_TYPE = 20;
export const FWP_SINGLE_DATA_TYPE_MAX = 0xff;
export const FWP_V4_ADDR_MASK = 0x100;
export const FWP_V6_ADDR_MASK = 0x101;
export const FWP_RANGE_TYPE = 0x102;
export const FWP_DATA_TYPE_MAX = 0x103;

/** FWP_MATCH_TYPE values. */
export const FWP_MATCH_EQUAL = 0;
export const FWP_MATCH_GREATER = 1;
export const FWP_MATCH_LESS = 2;
export const FWP_MATCH_GREATER_OR_EQUAL = 3;
export const FWP_MATCH_LESS_OR_EQUAL = 4;
export const FWP_MATCH_RANGE = 5;
export const FWP_MATCH_FLAGS_ALL_SET = 6;
export const FWP_MATCH_FLAGS_ANY_SET = 7;
export const FWP_MATCH_FLAGS_NONE_SET = 8;
export const FWP_MATCH_EQUAL_CASE_INSENSITIVE = 9;
export const FWP_MATCH_NOT_EQUAL = 10;
export const FWP_MATCH_PREFIX = 11;
export const FWP_MATCH_NOT_PREFIX = 12;
export const FWP_MATCH_TYPE_MAX = 13;

/** FWP_BYTE_BLOB: a counted byte buffer. */
export class FWP_BYTE_BLOB {
  size: number;
  data: Uint8Array;
  constructor(data: Uint8Array = new Uint8Array(0)) {
    this.data = data;
    this.size = data.length;
  }
}

/** FWP_BYTE_ARRAY16: sixteen bytes, such as an IPv6 address. */
export class FWP_BYTE_ARRAY16 {
  byteArray16: Uint8Array;
  constructor(bytes: Uint8Array = new Uint8Array(16)) {
    this.byteArray16 = bytes;
  }
}

/** FWP_V4_ADDR_AND_MASK: an IPv4 address and mask, both in host order. */
export class FWP_V4_ADDR_AND_MASK {
  addr: number;
  mask: number;
  constructor(addr = 0, mask = 0) {
    this.addr = addr >>> 0;
    this.mask = mask >>> 0;
  }
}

/** FWP_V6_ADDR_AND_MASK: an IPv6 address and prefix length (0-128). */
export class FWP_V6_ADDR_AND_MASK {
  addr: Uint8Array;
  prefixLength: number;
  constructor(addr: Uint8Array = new Uint8Array(16), prefixLength = 0) {
    this.addr = addr;
    this.prefixLength = prefixLength;
  }
}

/** FWP_VALUE0: a typed value (the union members are separate fields; `type` says which one is in use). */
export class FWP_VALUE0 {
  type: FWP_DATA_TYPE = FWP_EMPTY;
  uint8 = 0;
  uint16 = 0;
  uint32 = 0;
  uint64: bigint = 0n;
  int8 = 0;
  int16 = 0;
  int32 = 0;
  int64: bigint = 0n;
  float32 = 0;
  double64 = 0;
  byteArray16: FWP_BYTE_ARRAY16 | null = null;
  byteBlob: FWP_BYTE_BLOB | null = null;
  sid: Uint8Array | null = null;
  sd: FWP_BYTE_BLOB | null = null;
  tokenInformation: unknown = null;
  tokenAccessInformation: FWP_BYTE_BLOB | null = null;
  unicodeString: string | null = null;
  byteArray6: Uint8Array | null = null;
}

/** FWP_RANGE0: an inclusive range of two values of the same type. */
export class FWP_RANGE0 {
  valueLow: FWP_VALUE0;
  valueHigh: FWP_VALUE0;
  constructor(valueLow: FWP_VALUE0 = new FWP_VALUE0(), valueHigh: FWP_VALUE0 = new FWP_VALUE0()) {
    this.valueLow = valueLow;
    this.valueHigh = valueHigh;
  }
}

/** FWP_CONDITION_VALUE0: FWP_VALUE0 plus the condition-only types (address masks and ranges). */
export class FWP_CONDITION_VALUE0 extends FWP_VALUE0 {
  v4AddrMask: FWP_V4_ADDR_AND_MASK | null = null;
  v6AddrMask: FWP_V6_ADDR_AND_MASK | null = null;
  rangeValue: FWP_RANGE0 | null = null;
}

/** Sets `value` to a number of the given integer type (FWP_UINT8..FWP_UINT32, FWP_INT8..FWP_INT32). */
export function setNumber<T extends FWP_VALUE0>(value: T, type: FWP_DATA_TYPE, n: number): T {
  value.type = type;
  switch (type) {
    case FWP_UINT8:
      value.uint8 = n & 0xff;
      break;
    case FWP_UINT16:
      value.uint16 = n & 0xffff;
      break;
    case FWP_UINT32:
      value.uint32 = n >>> 0;
      break;
    case FWP_INT8:
      value.int8 = (n << 24) >> 24;
      break;
    case FWP_INT16:
      value.int16 = (n << 16) >> 16;
      break;
    case FWP_INT32:
      value.int32 = n | 0;
      break;
    case FWP_UINT64:
      value.uint64 = BigInt.asUintN(64, BigInt(n));
      break;
    case FWP_INT64:
      value.int64 = BigInt.asIntN(64, BigInt(n));
      break;
    default:
      throw new TypeError(`setNumber: ${type} is not an integer FWP_DATA_TYPE`);
  }
  return value;
}

/** True for the integer types whose value is a JS number (8, 16 and 32 bits). */
export function isSmallInteger(type: FWP_DATA_TYPE): boolean {
  return (type >= Small.Uint8 && type <= Small.Uint32) || (type >= Small.Int8 && type <= Small.Int32);
}

/** True for unsigned integer types (the ones FLAGS_* matches accept). */
export function isUnsigned(type: FWP_DATA_TYPE): boolean {
  return type === FWP_UINT8 || type === FWP_UINT16 || type === FWP_UINT32 || type === FWP_UINT64;
}

/** The number held by a value of a small integer type. */
export function smallIntegerOf(v: FWP_VALUE0): number {
  switch (v.type) {
    case Small.Uint8:
      return v.uint8;
    case Small.Uint16:
      return v.uint16;
    case Small.Uint32:
      return v.uint32;
    case Small.Int8:
      return v.int8;
    case Small.Int16:
      return v.int16;
    default:
      return v.int32;
  }
}

function copyValue<T extends FWP_VALUE0>(to: T, from: FWP_VALUE0): T {
  to.type = from.type;
  to.uint8 = from.uint8;
  to.uint16 = from.uint16;
  to.uint32 = from.uint32;
  to.uint64 = from.uint64;
  to.int8 = from.int8;
  to.int16 = from.int16;
  to.int32 = from.int32;
  to.int64 = from.int64;
  to.float32 = from.float32;
  to.double64 = from.double64;
  to.byteArray16 = from.byteArray16 ? new FWP_BYTE_ARRAY16(Uint8Array.from(from.byteArray16.byteArray16)) : null;
  to.byteBlob = from.byteBlob
    ? new FWP_BYTE_BLOB(Uint8Array.from(from.byteBlob.data.subarray(0, from.byteBlob.size)))
    : null;
  to.sid = from.sid ? Uint8Array.from(from.sid) : null;
  to.sd = from.sd ? new FWP_BYTE_BLOB(Uint8Array.from(from.sd.data)) : null;
  to.tokenInformation = from.tokenInformation;
  to.tokenAccessInformation = from.tokenAccessInformation;
  to.unicodeString = from.unicodeString;
  to.byteArray6 = from.byteArray6 ? Uint8Array.from(from.byteArray6) : null;
  return to;
}

/**
 * A deep copy of a condition value. The engine keeps copies, as BFE does: a driver may reuse or change its
 * FWPM_FILTER_CONDITION0 array after FwpmFilterAdd0 returns without changing the filter.
 */
export function copyConditionValue(v: FWP_CONDITION_VALUE0): FWP_CONDITION_VALUE0 {
  const c = copyValue(new FWP_CONDITION_VALUE0(), v);
  c.v4AddrMask = v.v4AddrMask ? new FWP_V4_ADDR_AND_MASK(v.v4AddrMask.addr, v.v4AddrMask.mask) : null;
  c.v6AddrMask = v.v6AddrMask
    ? new FWP_V6_ADDR_AND_MASK(Uint8Array.from(v.v6AddrMask.addr), v.v6AddrMask.prefixLength)
    : null;
  c.rangeValue = v.rangeValue
    ? new FWP_RANGE0(
        copyValue(new FWP_VALUE0(), v.rangeValue.valueLow),
        copyValue(new FWP_VALUE0(), v.rangeValue.valueHigh),
      )
    : null;
  return c;
}
