/**
 * The Internet checksum (RFC 1071) over simulated memory, and the pseudo-header sums TCP, UDP and ICMPv6 add
 * (RFC 768, RFC 793, RFC 8200 section 8.1). Sums are kept unfolded as plain numbers (no overflow below 2^53), so
 * pieces can be added and folded once. Allocation-free.
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';

/** The 16-bit big-endian word sum of `length` bytes at `va` (an odd last byte is padded with zero). */
export function sumBytes(va: number, length: number): number {
  let o = va - ARENA_BASE;
  const end = o + (length & ~1);
  let sum = 0;
  for (; o < end; o += 2) sum += (memory[o]! << 8) | memory[o + 1]!;
  if ((length & 1) !== 0) sum += memory[end]! << 8;
  return sum;
}

/** Folds a sum to 16 bits with end-around carry. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for a sum: the one's complement of the folded sum. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** Is the data that `sum` covers (checksum field included) intact? */
export function verifies(sum: number): boolean {
  return fold(sum) === 0xffff;
}

/** The IPv4 pseudo-header sum: source, destination, protocol, upper-layer length. */
export function pseudoSum4(source: number, destination: number, protocol: number, length: number): number {
  return (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length;
}

/** The IPv6 pseudo-header sum, with the addresses read from memory at `srcVa` and `dstVa`. */
export function pseudoSum6(srcVa: number, dstVa: number, protocol: number, length: number): number {
  return sumBytes(srcVa, 16) + sumBytes(dstVa, 16) + protocol + (length >>> 16) + (length & 0xffff);
}

/**
 * RFC 1624 incremental update: the new checksum after one 16-bit word of the covered data changed from `oldWord`
 * to `newWord` (used when forwarding decrements the TTL).
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  return ~fold((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;
}
