/**
 * Summing and writing a NET_BUFFER's used data in place, wherever its MDLs put it: pieces may start at any byte
 * and MDL boundaries may fall anywhere (inside a 16-bit word too). Neither function allocates, so per-packet
 * DDIs (FwpsConstructIpHeaderForTransportPacket0) can use them in steady state.
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { checkAccess } from '../kernel/memory.js';
import { foldSum, sumWords } from '../packet/checksum.js';
import { mdlVa } from './chain.js';
import type { NET_BUFFER } from './structures.js';

/**
 * Adds `length` bytes of `nb`'s used data, from `skip` bytes past its data start, to `sum` as big-endian 16-bit
 * words (RFC 1071) and returns the unfolded sum. A piece that starts at an odd position in the run is summed
 * byte-swapped, which is the same as summing it shifted by one byte. Bytes past DataLength are never read.
 */
export function sumNetBufferData(nb: NET_BUFFER, skip: number, length: number, sum: number): number {
  const want = Math.min(length, Math.max(0, nb.DataLength - skip));
  let off = nb.CurrentMdlOffset + skip;
  let done = 0;
  for (let m = nb.CurrentMdl; m !== null && done < want; m = m.Next) {
    if (off >= m.ByteCount) {
      off -= m.ByteCount;
      continue;
    }
    const take = Math.min(m.ByteCount - off, want - done);
    const at = mdlVa(m) + off;
    checkAccess(at, take, false);
    let piece = foldSum(sumWords(memory, at - ARENA_BASE, take));
    if ((done & 1) !== 0) piece = ((piece & 0xff) << 8) | (piece >>> 8);
    sum += piece;
    done += take;
    off = 0;
  }
  return sum;
}

/**
 * Copies `length` bytes of `from` (starting at `fromOffset`) over `nb`'s used data, from `skip` bytes past its
 * data start. Returns the bytes written: fewer than `length` only when the data is shorter. Meant for header-sized
 * runs (it copies byte by byte rather than make a view).
 */
export function writeNetBufferData(
  nb: NET_BUFFER,
  skip: number,
  from: Uint8Array,
  fromOffset: number,
  length: number,
): number {
  const want = Math.min(length, Math.max(0, nb.DataLength - skip));
  let off = nb.CurrentMdlOffset + skip;
  let done = 0;
  for (let m = nb.CurrentMdl; m !== null && done < want; m = m.Next) {
    if (off >= m.ByteCount) {
      off -= m.ByteCount;
      continue;
    }
    const take = Math.min(m.ByteCount - off, want - done);
    const at = mdlVa(m) + off;
    checkAccess(at, take, true);
    // A byte loop, not set(subarray(...)): a subarray is a new object, and these runs are header-sized.
    const to = at - ARENA_BASE;
    const src = fromOffset + done;
    for (let i = 0; i < take; i++) memory[to + i] = from[src + i]!;
    done += take;
    off = 0;
  }
  return done;
}

/** Writes one byte of `nb`'s used data, `skip` bytes past its data start; false when the data is shorter. */
export function putNetBufferByte(nb: NET_BUFFER, skip: number, value: number): boolean {
  if (skip >= nb.DataLength) return false;
  let off = nb.CurrentMdlOffset + skip;
  for (let m = nb.CurrentMdl; m !== null; m = m.Next) {
    if (off < m.ByteCount) {
      const at = mdlVa(m) + off;
      checkAccess(at, 1, true);
      memory[at - ARENA_BASE] = value;
      return true;
    }
    off -= m.ByteCount;
  }
  return false;
}
