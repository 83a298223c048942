/**
 * How the host reads and marks a NET_BUFFER_LIST it holds: where its data is contiguous, what the adapter said
 * about its checksums, the DISCARD layer that applies where its processing is, and putting its data back as it
 * came. Small functions over the NDIS structures; none allocates.
 */

import { mdlVa } from '../ndis/chain.js';
import { TcpIpChecksumNetBufferListInfo } from '../ndis/info.js';
import { NdisAdvanceNetBufferDataStart, NdisRetreatNetBufferDataStart } from '../ndis/retreat.js';
import type { NET_BUFFER, NET_BUFFER_LIST } from '../ndis/structures.js';

/**
 * The address of the NET_BUFFER's first `length` data bytes when they are contiguous in its current MDL, else 0.
 * (What NdisGetDataBuffer returns with no storage.)
 */
export function contiguous(nb: NET_BUFFER, length: number): number {
  const m = nb.CurrentMdl;
  if (m === null || nb.DataLength < length) return 0;
  if (m.ByteCount - nb.CurrentMdlOffset < length) return 0;
  return mdlVa(m) + nb.CurrentMdlOffset;
}

/**
 * What the adapter said about a checksum in TcpIpChecksumNetBufferListInfo (the Receive view of
 * NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO): 1 it checked and it succeeded, -1 it checked and it failed, 0 it did
 * not check (the host verifies it itself). Windows trusts the NIC's verdict either way; so does the host.
 */
export function nicChecksumVerdict(nbl: NET_BUFFER_LIST, failed: number, succeeded: number): number {
  const info = nbl.NetBufferListInfo[TcpIpChecksumNetBufferListInfo];
  if (typeof info !== 'number' || info === 0) return 0;
  if ((info & failed) !== 0) return -1;
  return (info & succeeded) !== 0 ? 1 : 0;
}

/**
 * The DISCARD layer that applies where a packet's processing is, kept in the list's Scratch: the field NDIS leaves
 * to the list's current owner (NET_BUFFER_LIST), which the host is while it processes a list. Set to none where a
 * list enters the host (whatever its last owner left there) and cleared before the list goes back. null or -1:
 * none. (A plain field of the list: marking it is one store, where the NET_BUFFER's ProtocolReserved took a load
 * of the NET_BUFFER, its area through the accessor and the array's checks, three times per forwarded packet.)
 */
export function discardLayerOf(nbl: NET_BUFFER_LIST): number {
  const v = nbl.Scratch;
  return typeof v === 'number' ? v : -1;
}

/** Marks the DISCARD layer for where `nbl`'s processing is (-1: none). */
export function setDiscardLayer(nbl: NET_BUFFER_LIST, layer: number): void {
  nbl.Scratch = layer < 0 ? null : layer;
}

/**
 * Puts a list's data back as it was when the host got it: start (ProtocolReserved[2]) and end
 * (ProtocolReserved[3]). A driver returns what it was given unchanged.
 */
export function restoreOffset(nbl: NET_BUFFER_LIST): void {
  const nb = nbl.FirstNetBuffer!;
  const original = nbl.ProtocolReserved[2] as number;
  if (nb.DataOffset > original) NdisRetreatNetBufferDataStart(nb, nb.DataOffset - original, 0, null);
  // FreeMdl TRUE: if moving the start back for a layer had to allocate an MDL (a list injected without
  // backfill), the advance gives it back; within backfill it frees nothing.
  else if (nb.DataOffset < original) NdisAdvanceNetBufferDataStart(nb, original - nb.DataOffset, true, null);
  nb.DataLength = (nbl.ProtocolReserved[3] as number) - nb.DataOffset;
  nbl.ProtocolReserved[3] = null;
}
