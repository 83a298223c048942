/**
 * Reaching the data: NdisGetDataBuffer and NdisCopyFromNetBufferToNetBuffer. Both start at the NET_BUFFER's
 * current position (CurrentMdl + CurrentMdlOffset) and skip empty and exhausted MDLs.
 */
import { ARENA_BASE, moveWithinArena } from '../kernel/arena.js';
import { checkAccess } from '../kernel/memory.js';
import { NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { checkDataInChain, copyOut, mdlVa } from './chain.js';
import type { NET_BUFFER } from './structures.js';
import { requireNetBufferIrql } from './violations.js';

/**
 * NdisGetDataBuffer: a pointer to `BytesNeeded` contiguous bytes at the start of the NET_BUFFER's data.
 * - NULL when DataLength < BytesNeeded.
 * - A pointer into the MDL's buffer when the bytes are contiguous there and the address satisfies the alignment
 *   (a multiple of `AlignMultiple`, a power of two, plus `AlignOffset`; 1 means none) - even when Storage is NULL.
 * - Otherwise, when `Storage` is not NULL, exactly BytesNeeded bytes are copied there and Storage is returned.
 * - Otherwise NULL.
 */
export function NdisGetDataBuffer(
  NetBuffer: NET_BUFFER,
  BytesNeeded: number,
  Storage: number,
  AlignMultiple: number,
  AlignOffset: number,
): number {
  requireNetBufferIrql('NdisGetDataBuffer');
  const nb = NetBuffer;
  if (verifierLevel >= VERIFIER_STANDARD) checkDataInChain(nb, 'NdisGetDataBuffer');
  if (BytesNeeded > nb.DataLength) return 0;
  let m = nb.CurrentMdl;
  let off = nb.CurrentMdlOffset;
  while (m !== null && off >= m.ByteCount && m.Next !== null) {
    off -= m.ByteCount;
    m = m.Next;
  }
  if (m === null) return 0;
  const va = mdlVa(m) + off;
  const mask = AlignMultiple > 1 ? AlignMultiple - 1 : 0;
  if (m.ByteCount - off >= BytesNeeded && (va & mask) === (AlignOffset & mask)) return va;
  if (Storage === 0) return 0;
  copyOut(nb, 0, Storage, BytesNeeded);
  return Storage;
}

/**
 * NdisCopyFromNetBufferToNetBuffer: copies up to `BytesToCopy` bytes of `Source`'s data (from `SourceOffset`
 * bytes past its current position) into the memory `Destination`'s MDLs describe (from `DestinationOffset`
 * bytes past its current position). The copy stops when the source runs out of data (its DataLength) or the
 * destination's MDL chain runs out of space; `BytesCopied.value` says how many bytes were copied. NDIS changes
 * no member of the destination NET_BUFFER: the caller updates DataLength and the offsets. Returns
 * NDIS_STATUS_SUCCESS.
 */
export function NdisCopyFromNetBufferToNetBuffer(
  Destination: NET_BUFFER,
  DestinationOffset: number,
  BytesToCopy: number,
  Source: NET_BUFFER,
  SourceOffset: number,
  BytesCopied: { value: number },
): number {
  requireNetBufferIrql('NdisCopyFromNetBufferToNetBuffer');
  const want = Math.min(BytesToCopy >>> 0, Math.max(0, Source.DataLength - SourceOffset));
  let dm = Destination.CurrentMdl;
  let doff = Destination.CurrentMdlOffset + DestinationOffset;
  let sm = Source.CurrentMdl;
  let soff = Source.CurrentMdlOffset + SourceOffset;
  let left = want;
  while (left > 0 && dm !== null && sm !== null) {
    if (doff >= dm.ByteCount) {
      doff -= dm.ByteCount;
      dm = dm.Next;
      continue;
    }
    if (soff >= sm.ByteCount) {
      soff -= sm.ByteCount;
      sm = sm.Next;
      continue;
    }
    const n = Math.min(left, dm.ByteCount - doff, sm.ByteCount - soff);
    const src = mdlVa(sm) + soff;
    const dst = mdlVa(dm) + doff;
    checkAccess(src, n, false);
    checkAccess(dst, n, true);
    moveWithinArena(dst - ARENA_BASE, src - ARENA_BASE, n);
    left -= n;
    doff += n;
    soff += n;
  }
  BytesCopied.value = want - left;
  return NDIS_STATUS_SUCCESS;
}

/** Copies the data of `nb` (from its data start) into simulated memory at `dest`; for layers above. */
export { copyOut as copyNetBufferData };
