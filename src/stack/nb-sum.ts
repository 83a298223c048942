/**
 * Reading and writing header bytes that may straddle two MDLs, for packets a callout hands the host (an injected
 * list can be any MDL chain), where the host's own packets are one contiguous buffer. Nothing here allocates; the
 * checksum over such data is NDIS's sumNetBufferData (ndis/nbData.ts).
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { mdlVa } from '../ndis/chain.js';
import { putNetBufferByte } from '../ndis/nbData.js';
import type { NET_BUFFER } from '../ndis/structures.js';

/** Writes `value` big-endian at `skip` bytes past `nb`'s data start; false when the data is shorter. */
export function put16Data(nb: NET_BUFFER, skip: number, value: number): boolean {
  if (skip + 2 > nb.DataLength) return false;
  return putNetBufferByte(nb, skip, (value >>> 8) & 0xff) && putNetBufferByte(nb, skip + 1, value & 0xff);
}

/** The data byte `skip` bytes past `nb`'s data start, or -1 past the data. */
export function byteAt(nb: NET_BUFFER, skip: number): number {
  if (skip >= nb.DataLength) return -1;
  let off = nb.CurrentMdlOffset + skip;
  for (let m = nb.CurrentMdl; m !== null; m = m.Next) {
    if (off < m.ByteCount) return memory[mdlVa(m) + off - ARENA_BASE]!;
    off -= m.ByteCount;
  }
  return -1;
}
