/**
 * The Internet checksum (RFC 1071): the ones'-complement sum of 16-bit big-endian words, folded, and its
 * incremental update (RFC 1624). Sums are carried as plain numbers: a 32-bit accumulator is folded at the end,
 * so no allocation and no BigInt.
 */

/**
 * Adds the bytes `bytes[offset, offset+length)` as big-endian 16-bit words to `sum` (an odd last byte is the high
 * byte of a word padded with zero) and returns the new, unfolded, sum. Chain calls to sum scattered pieces; an
 * odd-length piece must be the last.
 */
export function sumWords(bytes: Uint8Array, offset: number, length: number, sum = 0): number {
  const end = offset + length - 1;
  let i = offset;
  for (; i < end; i += 2) {
    sum += (bytes[i]! << 8) | bytes[i + 1]!;
    // Fold now and then so the number stays an exact integer far below 2^53.
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i === end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for a sum: the ones' complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** The Internet checksum of a byte range (what goes in the checksum field when the field itself is zero). */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  return finishChecksum(sumWords(bytes, offset, length, initial));
}

/** IPv4 pseudo-header sum: source and destination (as uint32 numbers), protocol and upper-layer length. */
export function pseudoHeaderSumV4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/**
 * IPv6 pseudo-header sum (RFC 8200 section 8.1): the 16-byte source and destination at `srcOffset`/`dstOffset` of
 * `bytes`, the 32-bit upper-layer length and the next-header value.
 */
export function pseudoHeaderSumV6(
  bytes: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  nextHeader: number,
  length: number,
): number {
  let sum = sumWords(bytes, srcOffset, 16);
  sum = sumWords(bytes, dstOffset, 16, sum);
  return sum + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/**
 * Incremental update (RFC 1624, equation 3): the new checksum after one 16-bit word of the covered data changes
 * from `oldWord` to `newWord`: HC' = ~(~HC + ~m + m').
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  // Three 16-bit terms stay below 2^18: two integer folds suffice (this runs on every forwarded packet).
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Incremental update for a 32-bit field (an IPv4 address, a TCP sequence number) as two 16-bit words. */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const c = updateChecksum16(checksum, oldValue >>> 16, newValue >>> 16);
  return updateChecksum16(c, oldValue & 0xffff, newValue & 0xffff);
}

/** Reads a big-endian 16-bit word. */
export function read16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Reads a big-endian 32-bit word as an unsigned number. */
export function read32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Writes a big-endian 16-bit word. */
export function write16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

/** Writes a big-endian 32-bit word. */
export function write32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}
