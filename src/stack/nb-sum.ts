/**
 * The Internet checksum over a NET_BUFFER's data wherever its MDLs put it, and reading and writing header bytes
 * that may straddle two MDLs. For packets a callout hands the host (an injected list can be any MDL chain), where the
 * host's own packets are one contiguous buffer. Neither function allocates.
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { mdlVa } from '../ndis/chain.js';
import type { NET_BUFFER } from '../ndis/structures.js';
import { foldSum, sumWords } from '../packet/checksum.js';

/**
 * Adds `length` data bytes of `nb`, from `skip` bytes past its data start, to `sum` as big-endian 16-bit words
 * (RFC 1071), and returns the unfolded sum. A piece that starts at an odd position is summed byte-swapped, so
 * MDL boundaries may fall anywhere. Bytes past the data are not read.
 */
export function sumData(nb: NET_BUFFER, skip: number, length: number, sum: number): number {
  let done = 0;
  let off = nb.CurrentMdlOffset + skip;
  const want = Math.min(length, Math.max(0, nb.DataLength - skip));
  for (let m = nb.CurrentMdl; m !== null && done < want; m = m.Next) {
    if (off >= m.ByteCount) {
      off -= m.ByteCount;
      continue;
    }
    const take = Math.min(m.ByteCount - off, want - done);
    let piece = foldSum(sumWords(memory, mdlVa(m) + off - ARENA_BASE, take));
    if ((done & 1) !== 0) piece = ((piece & 0xff) << 8) | (piece >>> 8);
    sum += piece;
    done += take;
    off = 0;
  }
  return sum;
}

/** Writes `value` big-endian at `skip` bytes past `nb`'s data start; false when the data is shorter. */
export function put16Data(nb: NET_BUFFER, skip: number, value: number): boolean {
  if (skip + 2 > nb.DataLength) return false;
  let off = nb.CurrentMdlOffset + skip;
  let byte = 0;
  for (let m = nb.CurrentMdl; m !== null && byte < 2; m = m.Next) {
    while (off < m.ByteCount && byte < 2) {
      memory[mdlVa(m) + off - ARENA_BASE] = byte === 0 ? (value >>> 8) & 0xff : value & 0xff;
      off++;
      byte++;
    }
    off -= m.ByteCount;
  }
  return byte === 2;
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
