/**
 * The accessor macros of ndis.h for NET_BUFFER and NET_BUFFER_LIST, and the flag constants they test. In C the
 * field macros are also lvalues; here a driver assigns the field itself (`nb.DataLength = n`), and
 * NET_BUFFER_LIST_INFO takes an optional third argument to store a value.
 */
import type { MDL } from '../kernel/mdl.js';
import {
  Ieee8021QNetBufferListInfo,
  NetBufferListCancelId,
  NetBufferListHashInfo,
  NetBufferListHashValue,
} from './info.js';
import type { NET_BUFFER, NET_BUFFER_LIST } from './structures.js';

// NET_BUFFER_LIST.NblFlags (NDIS_NBL_FLAGS_*).
/** NblFlags: the send data may not be modified. */
export const NDIS_NBL_FLAGS_SEND_READ_ONLY = 0x00000001;
/** NblFlags: the received data may not be modified. */
export const NDIS_NBL_FLAGS_RECV_READ_ONLY = 0x00000002;
/** NblFlags: header-data split was done on this receive. */
export const NDIS_NBL_FLAGS_HD_SPLIT = 0x00000100;
/** NblFlags: the frames are IPv4. */
export const NDIS_NBL_FLAGS_IS_IPV4 = 0x00000200;
/** NblFlags: the frames are IPv6. */
export const NDIS_NBL_FLAGS_IS_IPV6 = 0x00000400;
/** NblFlags: the frames are TCP. */
export const NDIS_NBL_FLAGS_IS_TCP = 0x00000800;
/** NblFlags: the frames are UDP. */
export const NDIS_NBL_FLAGS_IS_UDP = 0x00001000;
/** NblFlags: header-data split at the upper-layer protocol header. */
export const NDIS_NBL_FLAGS_SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER = 0x00002000;
/** NblFlags: header-data split at the upper-layer protocol payload. */
export const NDIS_NBL_FLAGS_SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD = 0x00004000;
/** NblFlags: a loopback packet. */
export const NDIS_NBL_FLAGS_IS_LOOPBACK_PACKET = 0x00008000;

// NET_BUFFER_LIST.Flags: who owns which bits.
/** Flags bits a protocol driver may use. */
export const NBL_FLAGS_PROTOCOL_RESERVED = 0xfff00000 | 0;
/** Flags bits a miniport driver may use. */
export const NBL_FLAGS_MINIPORT_RESERVED = 0x0000f000;
/** Flags bits the current owner may use as scratch. */
export const NBL_FLAGS_SCRATCH = 0x000f0000;
/** Flags bits reserved for NDIS. */
export const NBL_FLAGS_NDIS_RESERVED = 0x00000fff;

// NdisAllocateCloneNetBufferList / NdisFreeCloneNetBufferList flags.
/** Clone flag reserved for NDIS. */
export const NDIS_CLONE_FLAGS_RESERVED = 0x00000001;
/** Clone over the original MDL chain instead of NDIS-allocated MDLs. */
export const NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS = 0x00000002;

/** NET_BUFFER_NEXT_NB */
export function NET_BUFFER_NEXT_NB(nb: NET_BUFFER): NET_BUFFER | null {
  return nb.Next;
}
/** NET_BUFFER_FIRST_MDL */
export function NET_BUFFER_FIRST_MDL(nb: NET_BUFFER): MDL | null {
  return nb.MdlChain;
}
/** NET_BUFFER_DATA_LENGTH */
export function NET_BUFFER_DATA_LENGTH(nb: NET_BUFFER): number {
  return nb.DataLength;
}
/** NET_BUFFER_DATA_OFFSET */
export function NET_BUFFER_DATA_OFFSET(nb: NET_BUFFER): number {
  return nb.DataOffset;
}
/** NET_BUFFER_CURRENT_MDL */
export function NET_BUFFER_CURRENT_MDL(nb: NET_BUFFER): MDL | null {
  return nb.CurrentMdl;
}
/** NET_BUFFER_CURRENT_MDL_OFFSET */
export function NET_BUFFER_CURRENT_MDL_OFFSET(nb: NET_BUFFER): number {
  return nb.CurrentMdlOffset;
}
/** NET_BUFFER_CHECKSUM_BIAS */
export function NET_BUFFER_CHECKSUM_BIAS(nb: NET_BUFFER): number {
  return nb.ChecksumBias;
}
/** NET_BUFFER_PROTOCOL_RESERVED: the ProtocolReserved array (index it as in C). */
export function NET_BUFFER_PROTOCOL_RESERVED(nb: NET_BUFFER): unknown[] {
  return nb.ProtocolReserved;
}
/** NET_BUFFER_MINIPORT_RESERVED */
export function NET_BUFFER_MINIPORT_RESERVED(nb: NET_BUFFER): unknown[] {
  return nb.MiniportReserved;
}

/** NET_BUFFER_LIST_NEXT_NBL */
export function NET_BUFFER_LIST_NEXT_NBL(nbl: NET_BUFFER_LIST): NET_BUFFER_LIST | null {
  return nbl.Next;
}
/** NET_BUFFER_LIST_FIRST_NB */
export function NET_BUFFER_LIST_FIRST_NB(nbl: NET_BUFFER_LIST): NET_BUFFER | null {
  return nbl.FirstNetBuffer;
}
/** NET_BUFFER_LIST_FLAGS: the Flags member. */
export function NET_BUFFER_LIST_FLAGS(nbl: NET_BUFFER_LIST): number {
  return nbl.Flags;
}
/** NET_BUFFER_LIST_NBL_FLAGS: the NblFlags member. */
export function NET_BUFFER_LIST_NBL_FLAGS(nbl: NET_BUFFER_LIST): number {
  return nbl.NblFlags;
}
/** NET_BUFFER_LIST_STATUS */
export function NET_BUFFER_LIST_STATUS(nbl: NET_BUFFER_LIST): number {
  return nbl.Status;
}
/** NET_BUFFER_LIST_PROTOCOL_RESERVED: the ProtocolReserved array. */
export function NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl: NET_BUFFER_LIST): unknown[] {
  return nbl.ProtocolReserved;
}
/** NET_BUFFER_LIST_MINIPORT_RESERVED */
export function NET_BUFFER_LIST_MINIPORT_RESERVED(nbl: NET_BUFFER_LIST): unknown[] {
  return nbl.MiniportReserved;
}

/**
 * NET_BUFFER_LIST_INFO(nbl, id) reads slot `id` of NetBufferListInfo; NET_BUFFER_LIST_INFO(nbl, id, value)
 * stores `value` there (the C macro is an lvalue) and returns it. Passing undefined reads; NULL (null) clears.
 */
export function NET_BUFFER_LIST_INFO(nbl: NET_BUFFER_LIST, id: number, value?: unknown): unknown {
  // An optional parameter rather than a rest array (no allocation per call). Decided: undefined, like no value,
  // only reads; a slot is cleared with NULL, which is null here.
  if (value !== undefined) nbl.NetBufferListInfo[id] = value;
  return nbl.NetBufferListInfo[id];
}

/** NDIS_SET_NET_BUFFER_LIST_CANCEL_ID */
export function NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(nbl: NET_BUFFER_LIST, id: unknown): void {
  nbl.NetBufferListInfo[NetBufferListCancelId] = id;
}
/** NDIS_GET_NET_BUFFER_LIST_CANCEL_ID */
export function NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(nbl: NET_BUFFER_LIST): unknown {
  return nbl.NetBufferListInfo[NetBufferListCancelId];
}

/** NdisTestNblFlag: true when NblFlags has the flag. */
export function NdisTestNblFlag(nbl: NET_BUFFER_LIST, f: number): boolean {
  return (nbl.NblFlags & f) !== 0;
}
/** NdisTestNblFlags: true when NblFlags has every one of the flags. */
export function NdisTestNblFlags(nbl: NET_BUFFER_LIST, f: number): boolean {
  return (nbl.NblFlags & f) === f;
}
/** NdisSetNblFlag */
export function NdisSetNblFlag(nbl: NET_BUFFER_LIST, f: number): void {
  nbl.NblFlags |= f;
}
/** NdisClearNblFlag */
export function NdisClearNblFlag(nbl: NET_BUFFER_LIST, f: number): void {
  nbl.NblFlags &= ~f;
}
/** NBL_SET_PROTOCOL_RSVD_FLAG: sets protocol-reserved bits of Flags. */
export function NBL_SET_PROTOCOL_RSVD_FLAG(nbl: NET_BUFFER_LIST, f: number): void {
  nbl.Flags |= f & NBL_FLAGS_PROTOCOL_RESERVED;
}
/** NBL_CLEAR_PROTOCOL_RSVD_FLAG */
export function NBL_CLEAR_PROTOCOL_RSVD_FLAG(nbl: NET_BUFFER_LIST, f: number): void {
  nbl.Flags &= ~(f & NBL_FLAGS_PROTOCOL_RESERVED);
}
/** NBL_TEST_PROTOCOL_RSVD_FLAG */
export function NBL_TEST_PROTOCOL_RSVD_FLAG(nbl: NET_BUFFER_LIST, f: number): number {
  return nbl.Flags & f & NBL_FLAGS_PROTOCOL_RESERVED;
}
/** NBL_SET_FLAG: sets bits of Flags. */
export function NBL_SET_FLAG(nbl: NET_BUFFER_LIST, f: number): void {
  nbl.Flags |= f;
}
/** NBL_CLEAR_FLAG: clears bits of Flags. */
export function NBL_CLEAR_FLAG(nbl: NET_BUFFER_LIST, f: number): void {
  nbl.Flags &= ~f;
}
/** NBL_TEST_FLAG: the given bits of Flags that are set. */
export function NBL_TEST_FLAG(nbl: NET_BUFFER_LIST, f: number): number {
  return nbl.Flags & f;
}

/** The RSS hash function bits of NetBufferListHashInfo. */
export const NDIS_HASH_FUNCTION_MASK = 0x000000ff;
/** The RSS hash type bits of NetBufferListHashInfo. */
export const NDIS_HASH_TYPE_MASK = 0x00ffff00;

/** A PVOID-sized slot read as a ULONG (NULL reads as 0). */
function slotUlong(nbl: NET_BUFFER_LIST, id: number): number {
  const v = nbl.NetBufferListInfo[id];
  return typeof v === 'number' ? v >>> 0 : 0;
}

/** NET_BUFFER_LIST_GET_HASH_VALUE: the RSS hash value (NetBufferListHashValue as a ULONG). */
export function NET_BUFFER_LIST_GET_HASH_VALUE(nbl: NET_BUFFER_LIST): number {
  return slotUlong(nbl, NetBufferListHashValue);
}
/** NET_BUFFER_LIST_SET_HASH_VALUE */
export function NET_BUFFER_LIST_SET_HASH_VALUE(nbl: NET_BUFFER_LIST, HashValue: number): void {
  nbl.NetBufferListInfo[NetBufferListHashValue] = HashValue >>> 0;
}
/** NET_BUFFER_LIST_GET_HASH_TYPE: the NDIS_HASH_TYPE_MASK bits of NetBufferListHashInfo. */
export function NET_BUFFER_LIST_GET_HASH_TYPE(nbl: NET_BUFFER_LIST): number {
  return (slotUlong(nbl, NetBufferListHashInfo) & NDIS_HASH_TYPE_MASK) >>> 0;
}
/** NET_BUFFER_LIST_SET_HASH_TYPE: replaces the hash type bits, keeping the function bits. */
export function NET_BUFFER_LIST_SET_HASH_TYPE(nbl: NET_BUFFER_LIST, HashType: number): void {
  const info = slotUlong(nbl, NetBufferListHashInfo);
  nbl.NetBufferListInfo[NetBufferListHashInfo] =
    ((HashType & NDIS_HASH_TYPE_MASK) | (info & ~NDIS_HASH_TYPE_MASK)) >>> 0;
}
/** NET_BUFFER_LIST_GET_HASH_FUNCTION: the NDIS_HASH_FUNCTION_MASK bits of NetBufferListHashInfo. */
export function NET_BUFFER_LIST_GET_HASH_FUNCTION(nbl: NET_BUFFER_LIST): number {
  return slotUlong(nbl, NetBufferListHashInfo) & NDIS_HASH_FUNCTION_MASK;
}
/** NET_BUFFER_LIST_SET_HASH_FUNCTION: replaces the hash function bits, keeping the type bits. */
export function NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl: NET_BUFFER_LIST, HashFunction: number): void {
  const info = slotUlong(nbl, NetBufferListHashInfo);
  nbl.NetBufferListInfo[NetBufferListHashInfo] =
    ((HashFunction & NDIS_HASH_FUNCTION_MASK) | (info & ~NDIS_HASH_FUNCTION_MASK)) >>> 0;
}

// NDIS_NET_BUFFER_LIST_8021Q_INFO.TagHeader, read as its Value: UserPriority bits 0-2, CanonicalFormatId bit 3,
// VlanId bits 4-15 (MSVC allocates bit-fields from the least significant bit).

/** NDIS_GET_NET_BUFFER_LIST_VLAN_ID: TagHeader.VlanId of Ieee8021QNetBufferListInfo. */
export function NDIS_GET_NET_BUFFER_LIST_VLAN_ID(nbl: NET_BUFFER_LIST): number {
  return (slotUlong(nbl, Ieee8021QNetBufferListInfo) >>> 4) & 0xfff;
}
/** NDIS_SET_NET_BUFFER_LIST_VLAN_ID: sets TagHeader.VlanId, keeping the other bits. */
export function NDIS_SET_NET_BUFFER_LIST_VLAN_ID(nbl: NET_BUFFER_LIST, VlanId: number): void {
  const v = slotUlong(nbl, Ieee8021QNetBufferListInfo);
  nbl.NetBufferListInfo[Ieee8021QNetBufferListInfo] = ((v & ~0xfff0) | ((VlanId & 0xfff) << 4)) >>> 0;
}
/** NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY: TagHeader.UserPriority of Ieee8021QNetBufferListInfo. */
export function NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY(nbl: NET_BUFFER_LIST): number {
  return slotUlong(nbl, Ieee8021QNetBufferListInfo) & 0x7;
}
/** NDIS_SET_NET_BUFFER_LIST_USER_PRIORITY: sets TagHeader.UserPriority, keeping the other bits. */
export function NDIS_SET_NET_BUFFER_LIST_USER_PRIORITY(nbl: NET_BUFFER_LIST, UserPriority: number): void {
  const v = slotUlong(nbl, Ieee8021QNetBufferListInfo);
  nbl.NetBufferListInfo[Ieee8021QNetBufferListInfo] = ((v & ~0x7) | (UserPriority & 0x7)) >>> 0;
}
