/**
 * 65,536-bit membership sets of integer keys (values and IPv4 addresses), by a 16-bit hash: a set bit means "some
 * key may be this one", a clear bit "none is". Most packets miss every filter, and a bit test is cheaper than a
 * Map lookup into a large table; a hit is then confirmed by the exact lookup or the conditions themselves.
 */

/** A 16-bit hash of a key (integers and IPv4 addresses). */
function hash16(key: number): number {
  return (Math.imul(key ^ (key >>> 16), 0x45d9f3b) >>> 16) & 0xffff;
}

/** An empty set. */
export function newKeyBits(): Uint32Array {
  return new Uint32Array(2048);
}

/** Adds `key` to `bits`. */
export function addKey(bits: Uint32Array, key: number): void {
  const h = hash16(key);
  bits[h >>> 5]! |= 1 << (h & 31);
}

/** False when `key` is certainly not in `bits`. */
export function hasKey(bits: Uint32Array, key: number): boolean {
  const h = hash16(key);
  return (bits[h >>> 5]! & (1 << (h & 31))) !== 0;
}
