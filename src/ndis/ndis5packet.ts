/**
 * NDIS 5 packet descriptors and packet pools: NDIS_PACKET with its Private part, the reserved areas, the
 * out-of-band data block and the per-packet information that follow it, and the pools they come from.
 *
 * A packet is a JavaScript object whose fields carry the ndis.h names. Windows lays the OOB block and the
 * per-packet extension out after ProtocolReserved; here they are objects of their own, and
 * `Private.NdisPacketOobOffset` still holds the offset Windows would use (x64 layout) so code that reads it sees
 * the same number. Each packet is charged to the pool under "NDpp" while it is allocated (Windows grew its packet
 * pools a page at a time; wdknet charges per packet, decided here, so exhaustion fails NdisAllocatePacket with
 * NDIS_STATUS_RESOURCES as a full pool would).
 *
 * A pool holds exactly NumberOfDescriptors (+ overflow) packets. Packet objects are made the first time they are
 * needed and reused through a free stack, so allocate/free in steady state make no JavaScript objects.
 */
import { BAD_POOL_CALLER, bugCheck } from '../kernel/bugcheck.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import type { MDL } from '../kernel/mdl.js';
import { poisonFreed } from '../kernel/poison.js';
import { poolCharge, poolRelease } from '../kernel/pool.js';
import { NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import {
  IRQL_NDIS5_FUNCTION_RULE,
  isLiveDescriptor,
  Ndis5DriverRole,
  type Ndis5DriverRoleValue,
  Ndis5Violation,
  ndis5Violation,
  reportFreedInChain,
  SIZEOF_NDIS5_POOL_HEADER,
  TAG_NDIS_PACKET_POOL,
} from './ndis5rules.js';

// --- constants (ndis.h, ntddndis.h) ------------------------------------------------------------------------

/** Private.Flags bits. The low four bits are the protocol id. */
export const NDIS_FLAGS_PROTOCOL_ID_MASK = 0x0000000f;
export const NDIS_FLAGS_MULTICAST_PACKET = 0x00000010;
export const NDIS_FLAGS_RESERVED2 = 0x00000020;
export const NDIS_FLAGS_RESERVED3 = 0x00000040;
export const NDIS_FLAGS_DONT_LOOPBACK = 0x00000080;
export const NDIS_FLAGS_IS_LOOPBACK_PACKET = 0x00000100;
export const NDIS_FLAGS_LOOPBACK_ONLY = 0x00000200;
export const NDIS_FLAGS_RESERVED4 = 0x00000400;
export const NDIS_FLAGS_DOUBLE_BUFFERED = 0x00000800;
export const NDIS_FLAGS_SENT_AT_DPC = 0x00001000;
export const NDIS_FLAGS_USES_SG_BUFFER_LIST = 0x00002000;
export const NDIS_FLAGS_USES_ORIGINAL_PACKET = 0x00004000;
export const NDIS_FLAGS_PADDED = 0x00010000;
export const NDIS_FLAGS_XLATE_AT_TOP = 0x00020000;

/** Protocol ids kept in the low bits of Private.Flags (ntddndis.h). */
export const NDIS_PROTOCOL_ID_DEFAULT = 0x00;
export const NDIS_PROTOCOL_ID_TCP_IP = 0x02;
export const NDIS_PROTOCOL_ID_IPX = 0x06;
export const NDIS_PROTOCOL_ID_NBF = 0x07;
export const NDIS_PROTOCOL_ID_MAX = 0x0f;
export const NDIS_PROTOCOL_ID_MASK = 0x0f;

/** Private.NdisPacketFlags bits. */
export const fPACKET_WRAPPER_RESERVED = 0x3f;
export const fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO = 0x40;
export const fPACKET_ALLOCATED_BY_NDIS = 0x80;

/** ProtocolReservedLength a miniport uses for packets it indicates: 4 * sizeof(PVOID), 32 bytes on x64. */
export const PROTOCOL_RESERVED_SIZE_IN_PACKET = 32;

/** NDIS_PER_PACKET_INFO: indexes into NDIS_PACKET_EXTENSION.NdisPacketInfo. */
export const TcpIpChecksumPacketInfo = 0;
export const IpSecPacketInfo = 1;
export const TcpLargeSendPacketInfo = 2;
export const ClassificationHandlePacketInfo = 3;
export const NdisReserved = 4;
export const ScatterGatherListPacketInfo = 5;
export const Ieee8021QInfo = 6;
export const OriginalPacketInfo = 7;
export const PacketCancelId = 8;
export const OriginalNetBufferList = 9;
export const CachedNetBufferList = 10;
export const ShortPacketPaddingInfo = 11;
export const MaxPerPacketInfo = 12;
/** The old name of Ieee8021QInfo. */
export const Ieee8021pPriority = Ieee8021QInfo;

/** The most descriptors a packet pool may have (NdisAllocatePacketPoolEx). */
const MAX_PACKET_POOL_DESCRIPTORS = 0xffff;
/** x64 offset of NDIS_PACKET.ProtocolReserved: Private (48) + the reserved union (32) + Reserved[2] (16). */
const OFFSET_PROTOCOL_RESERVED = 96;
/** sizeof(NDIS_PACKET_OOB_DATA) on x64. */
export const SIZEOF_NDIS_PACKET_OOB_DATA = 40;
/** sizeof(NDIS_PACKET_EXTENSION) on x64: MaxPerPacketInfo pointers. */
const SIZEOF_NDIS_PACKET_EXTENSION = MaxPerPacketInfo * 8;

// --- structures --------------------------------------------------------------------------------------------

/** NDIS_PACKET_PRIVATE: the wrapper's part of a packet. If Head is NULL the chain is empty (Tail may be stale). */
export class NDIS_PACKET_PRIVATE {
  /** Physical pages the chained buffers span (valid while ValidCounts). */
  PhysicalCount = 0;
  /** Bytes in the chained buffers (valid while ValidCounts). */
  TotalLength = 0;
  Head: MDL | null = null;
  Tail: MDL | null = null;
  /** The pool the packet goes back to. */
  Pool: NDIS_PACKET_POOL | null = null;
  /** Buffers in the chain (valid while ValidCounts). */
  Count = 0;
  Flags = 0;
  ValidCounts = false;
  NdisPacketFlags = 0;
  NdisPacketOobOffset = 0;
}

/** NDIS_PACKET_OOB_DATA. TimeToSend and TimeSent share storage (a union in C). Times are ULONGLONG: bigint. */
export class NDIS_PACKET_OOB_DATA {
  private time = 0n;
  TimeReceived = 0n;
  HeaderSize = 0;
  SizeMediaSpecificInfo = 0;
  /** PVOID: an address. */
  MediaSpecificInformation = 0;
  Status = 0;

  get TimeToSend(): bigint {
    return this.time;
  }
  set TimeToSend(value: bigint) {
    this.time = value;
  }
  get TimeSent(): bigint {
    return this.time;
  }
  set TimeSent(value: bigint) {
    this.time = value;
  }

  /** wdknet: zeroes every field (NdisAllocatePacket hands out a clean block). */
  clear(): void {
    this.time = 0n;
    this.TimeReceived = 0n;
    this.HeaderSize = 0;
    this.SizeMediaSpecificInfo = 0;
    this.MediaSpecificInformation = 0;
    this.Status = 0;
  }
}

/** A per-packet information value: a PVOID (an address or a ULONG cast to one), or a packet (OriginalPacketInfo). */
export type PerPacketInfoValue = number | object;

/** NDIS_PACKET_EXTENSION: the per-packet information slots, indexed by NDIS_PER_PACKET_INFO. */
export class NDIS_PACKET_EXTENSION {
  readonly NdisPacketInfo: PerPacketInfoValue[] = new Array<PerPacketInfoValue>(MaxPerPacketInfo).fill(0);
}

const PACKET_LIVE = 1;
const PACKET_FREE = 2;

/**
 * NDIS_PACKET. The reserved union (MiniportReserved / WrapperReserved, MiniportReservedEx / WrapperReservedEx,
 * MacReserved) is one 32-byte area seen through five views, as in C; ProtocolReserved has the length the pool
 * was created with. Fields after the WDK ones are wdknet's bookkeeping.
 */
export class NDIS_PACKET {
  readonly Private = new NDIS_PACKET_PRIVATE();
  readonly MiniportReserved: Uint8Array;
  readonly WrapperReserved: Uint8Array;
  readonly MiniportReservedEx: Uint8Array;
  readonly WrapperReservedEx: Uint8Array;
  readonly MacReserved: Uint8Array;
  /** ULONG_PTR Reserved[2]. */
  readonly Reserved: number[] = [0, 0];
  readonly ProtocolReserved: Uint8Array;
  /** wdknet: the reserved union and ProtocolReserved as one view (zeroed in one call on allocation). */
  readonly reservedArea: Uint8Array;
  /** wdknet: the OOB block at Private.NdisPacketOobOffset. */
  readonly oob = new NDIS_PACKET_OOB_DATA();
  /** wdknet: the per-packet extension that follows the OOB block. */
  readonly extension = new NDIS_PACKET_EXTENSION();
  /** wdknet: the pool that owns it (Private.Pool may be overwritten by a careless driver; this is not). */
  readonly pool: NDIS_PACKET_POOL;
  /** wdknet: live or free. */
  state = PACKET_FREE;
  /** wdknet (verifier): bumped on every allocate, free and reinitialise, so stale chaining records are seen. */
  generation = 0;
  /** wdknet (verifier): chain index of the first buffer NdisFreeBuffer freed while chained here, or -1. */
  freedInChain = -1;

  constructor(pool: NDIS_PACKET_POOL) {
    this.pool = pool;
    const area = new ArrayBuffer(32 + pool.ProtocolReservedLength);
    this.reservedArea = new Uint8Array(area);
    this.MacReserved = new Uint8Array(area, 0, 32);
    this.MiniportReserved = new Uint8Array(area, 0, 16);
    this.WrapperReserved = new Uint8Array(area, 16, 16);
    this.MiniportReservedEx = new Uint8Array(area, 0, 24);
    this.WrapperReservedEx = new Uint8Array(area, 24, 8);
    this.ProtocolReserved = new Uint8Array(area, 32, pool.ProtocolReservedLength);
  }
}

const POOL_LIVE = 1;
const POOL_FREED = 2;

/** The handle NdisAllocatePacketPool(Ex) returns (PNDIS_PACKET_POOL in ndis.h). */
export class NDIS_PACKET_POOL {
  /** Packets the pool holds in all (NumberOfDescriptors + NumberOfOverflowDescriptors, at most 0xFFFF). */
  readonly NumberOfDescriptors: number;
  readonly ProtocolReservedLength: number;
  /** Offset of the OOB block from the start of a packet (x64 layout). */
  readonly oobOffset: number;
  /** Bytes charged per allocated packet: the packet, its ProtocolReserved, OOB block and extension. */
  readonly PacketLength: number;
  /** wdknet: which driver role owns the pool (N5-4). */
  role: Ndis5DriverRoleValue = Ndis5DriverRole.LowerLevel;
  /** wdknet: packets currently allocated. */
  inUse = 0;
  /** wdknet: live or freed. */
  state = POOL_LIVE;
  private readonly free: NDIS_PACKET[] = [];
  private freeTop = 0;

  constructor(numberOfDescriptors: number, protocolReservedLength: number) {
    this.NumberOfDescriptors = numberOfDescriptors;
    this.ProtocolReservedLength = protocolReservedLength;
    this.oobOffset = (OFFSET_PROTOCOL_RESERVED + protocolReservedLength + 7) & ~7;
    this.PacketLength = this.oobOffset + SIZEOF_NDIS_PACKET_OOB_DATA + SIZEOF_NDIS_PACKET_EXTENSION;
  }

  /** Takes a packet, or null when every descriptor is in use. */
  take(): NDIS_PACKET | null {
    if (this.inUse >= this.NumberOfDescriptors) return null;
    this.inUse++;
    return this.freeTop > 0 ? this.free[--this.freeTop]! : new NDIS_PACKET(this);
  }

  /** Returns a packet; in full verifier mode it is poisoned instead and never reused. */
  give(packet: NDIS_PACKET): void {
    this.inUse--;
    if (verifierLevel >= VERIFIER_FULL) poisonFreed(packet, 'NDIS_PACKET');
    else this.free[this.freeTop++] = packet;
  }
}

const livePools = new Set<NDIS_PACKET_POOL>();

/** Packet pools not yet freed (for leak reports). */
export function livePacketPools(): ReadonlySet<NDIS_PACKET_POOL> {
  return livePools;
}

/** Forgets every packet pool (part of resetSystem). */
export function resetNdis5Packets(): void {
  for (const pool of livePools) pool.state = POOL_FREED;
  livePools.clear();
}

/**
 * wdknet: declares the role of the driver that owns `PoolHandle` (N5-4). Packets from a pool of a highest-level
 * protocol may carry OS MDLs; a lower-level driver's (the default) may carry only buffer-pool descriptors.
 */
export function setPacketPoolDriverRole(PoolHandle: NDIS_PACKET_POOL, role: Ndis5DriverRoleValue): void {
  checkPool(PoolHandle, 'setPacketPoolDriverRole');
  PoolHandle.role = role;
}

function checkPool(PoolHandle: NDIS_PACKET_POOL, ddi: string): void {
  if (!(PoolHandle instanceof NDIS_PACKET_POOL) || PoolHandle.state !== POOL_LIVE) {
    ndis5Violation(
      Ndis5Violation.BadPoolHandle,
      1,
      0,
      0,
      `${ddi}: the PoolHandle is not a live packet pool from NdisAllocatePacketPool (freed already, or not a pool)`,
    );
  }
}

/** Checks that `Packet` is a packet allocated from a pool and not yet freed. */
export function checkPacket(Packet: NDIS_PACKET, ddi: string): void {
  if (!(Packet instanceof NDIS_PACKET)) {
    ndis5Violation(Ndis5Violation.BadPacket, 0, 0, 0, `${ddi}: the argument is not an NDIS_PACKET`);
  }
  if (Packet.state !== PACKET_LIVE) {
    ndis5Violation(Ndis5Violation.BadPacket, 1, 0, 0, `${ddi}: this NDIS_PACKET is not allocated (already freed)`);
  }
  reportFreedInChain(Packet, ddi);
}

// --- pools -------------------------------------------------------------------------------------------------

/**
 * NdisAllocatePacketPoolEx: a pool of NumberOfDescriptors + NumberOfOverflowDescriptors packets, each with
 * ProtocolReservedLength bytes of ProtocolReserved. More than 0xFFFF NumberOfDescriptors gives
 * NDIS_STATUS_RESOURCES; the overflow is reduced so the total is at most 0xFFFF, as documented. Status is
 * NDIS_STATUS_RESOURCES too when the pool header cannot be allocated. IRQL <= DISPATCH_LEVEL.
 */
export function NdisAllocatePacketPoolEx(
  Status: { value: number },
  PoolHandle: { value: NDIS_PACKET_POOL | null },
  NumberOfDescriptors: number,
  NumberOfOverflowDescriptors: number,
  ProtocolReservedLength: number,
): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisAllocatePacketPoolEx', IRQL_NDIS5_FUNCTION_RULE);
  const count = NumberOfDescriptors >>> 0;
  const reserved = ProtocolReservedLength >>> 0;
  // NdisPacketOobOffset is a USHORT: a ProtocolReserved that pushes the OOB block past 64 KiB cannot be laid out.
  if (
    count > MAX_PACKET_POOL_DESCRIPTORS ||
    OFFSET_PROTOCOL_RESERVED + reserved > 0xffff - 7 ||
    !poolCharge(TAG_NDIS_PACKET_POOL, SIZEOF_NDIS5_POOL_HEADER, 'NdisAllocatePacketPoolEx')
  ) {
    PoolHandle.value = null;
    Status.value = NDIS_STATUS_RESOURCES;
    return;
  }
  const total = Math.min(count + (NumberOfOverflowDescriptors >>> 0), MAX_PACKET_POOL_DESCRIPTORS);
  const pool = new NDIS_PACKET_POOL(total, reserved);
  livePools.add(pool);
  PoolHandle.value = pool;
  Status.value = NDIS_STATUS_SUCCESS;
}

/** NdisAllocatePacketPool: NdisAllocatePacketPoolEx with no overflow descriptors. */
export function NdisAllocatePacketPool(
  Status: { value: number },
  PoolHandle: { value: NDIS_PACKET_POOL | null },
  NumberOfDescriptors: number,
  ProtocolReservedLength: number,
): void {
  NdisAllocatePacketPoolEx(Status, PoolHandle, NumberOfDescriptors, 0, ProtocolReservedLength);
}

/**
 * NdisFreePacketPool: frees a packet pool. Every packet from it must have been freed first: a pool freed with
 * packets out is reported (0xC4, Ndis5Violation.PacketPoolFreedWithPacketsOut), as is a second free.
 */
export function NdisFreePacketPool(PoolHandle: NDIS_PACKET_POOL): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisFreePacketPool', IRQL_NDIS5_FUNCTION_RULE);
  checkPool(PoolHandle, 'NdisFreePacketPool');
  if (PoolHandle.inUse !== 0) {
    ndis5Violation(
      Ndis5Violation.PacketPoolFreedWithPacketsOut,
      PoolHandle.inUse,
      PoolHandle.NumberOfDescriptors,
      0,
      `NdisFreePacketPool: ${PoolHandle.inUse} packet(s) from this pool are still allocated; free them with NdisFreePacket first`,
    );
  }
  PoolHandle.state = POOL_FREED;
  livePools.delete(PoolHandle);
  poolRelease(TAG_NDIS_PACKET_POOL, SIZEOF_NDIS5_POOL_HEADER);
}

/** NdisPacketPoolUsage: how many packets from the pool are allocated now. */
export function NdisPacketPoolUsage(PoolHandle: NDIS_PACKET_POOL): number {
  checkPool(PoolHandle, 'NdisPacketPoolUsage');
  return PoolHandle.inUse;
}

// --- packets -----------------------------------------------------------------------------------------------

/**
 * NdisAllocatePacket: a packet descriptor from `PoolHandle`, fully initialised: empty chain, no flags,
 * fPACKET_ALLOCATED_BY_NDIS, zeroed reserved areas, OOB block and per-packet information. Status is
 * NDIS_STATUS_SUCCESS, or NDIS_STATUS_RESOURCES (Packet NULL) when every descriptor is in use or pool memory is
 * exhausted. IRQL <= DISPATCH_LEVEL.
 */
export function NdisAllocatePacket(
  Status: { value: number },
  Packet: { value: NDIS_PACKET | null },
  PoolHandle: NDIS_PACKET_POOL,
): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisAllocatePacket', IRQL_NDIS5_FUNCTION_RULE);
  checkPool(PoolHandle, 'NdisAllocatePacket');
  if (
    PoolHandle.inUse >= PoolHandle.NumberOfDescriptors ||
    !poolCharge(TAG_NDIS_PACKET_POOL, PoolHandle.PacketLength, 'NdisAllocatePacket')
  ) {
    Packet.value = null;
    Status.value = NDIS_STATUS_RESOURCES;
    return;
  }
  const packet = PoolHandle.take()!;
  const p = packet.Private;
  p.PhysicalCount = 0;
  p.TotalLength = 0;
  p.Head = null;
  p.Tail = null;
  p.Pool = PoolHandle;
  p.Count = 0;
  p.Flags = 0;
  p.ValidCounts = false;
  p.NdisPacketFlags = fPACKET_ALLOCATED_BY_NDIS;
  p.NdisPacketOobOffset = PoolHandle.oobOffset;
  packet.reservedArea.fill(0);
  packet.Reserved[0] = 0;
  packet.Reserved[1] = 0;
  packet.oob.clear();
  const info = packet.extension.NdisPacketInfo;
  for (let i = 0; i < MaxPerPacketInfo; i++) info[i] = 0;
  packet.generation++;
  packet.freedInChain = -1;
  packet.state = PACKET_LIVE;
  Packet.value = packet;
  Status.value = NDIS_STATUS_SUCCESS;
}

/**
 * NdisFreePacket: returns a packet to its pool. Freeing it twice is BAD_POOL_CALLER 0x07. The driver must first
 * free or unchain every buffer descriptor (otherwise, the documentation says, their memory stays unusable until
 * reboot): under the verifier a packet freed with buffers still allocated in its chain is reported (0xC4,
 * Ndis5Violation.PacketFreedWithBuffersChained) instead of silently leaking them. Buffers the driver freed with
 * NdisFreeBuffer while they were chained are not counted: that is the documented way to release them.
 */
export function NdisFreePacket(Packet: NDIS_PACKET): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisFreePacket', IRQL_NDIS5_FUNCTION_RULE);
  if (!(Packet instanceof NDIS_PACKET)) {
    ndis5Violation(Ndis5Violation.BadPacket, 0, 0, 0, 'NdisFreePacket: the argument is not an NDIS_PACKET');
  }
  if (Packet.state !== PACKET_LIVE) {
    bugCheck(BAD_POOL_CALLER, 0x07, 0, 0, 0, 'NdisFreePacket: this packet was already freed');
  }
  const pool = Packet.pool;
  if (verifierLevel >= VERIFIER_STANDARD) {
    const count = allocatedBuffersInChain(Packet);
    if (count > 0) {
      ndis5Violation(
        Ndis5Violation.PacketFreedWithBuffersChained,
        count,
        0,
        0,
        `NdisFreePacket: ${count} buffer descriptor(s) are still chained; free or unchain them first, or their memory is lost`,
      );
    }
    if (Packet.Private.Pool !== pool) {
      ndis5Violation(
        Ndis5Violation.WrongPool,
        1,
        0,
        0,
        'NdisFreePacket: Private.Pool no longer names the pool this packet came from',
      );
    }
  }
  if (pool.state !== POOL_LIVE) {
    bugCheck(BAD_POOL_CALLER, 0x46, 0, 0, 0, 'NdisFreePacket: the packet belongs to a packet pool already freed');
  }
  Packet.generation++;
  Packet.freedInChain = -1;
  Packet.state = PACKET_FREE;
  poolRelease(TAG_NDIS_PACKET_POOL, pool.PacketLength);
  pool.give(Packet);
}

/**
 * Verifier: how many buffers of the packet's chain are still allocated, counted from Head up to the first buffer
 * freed while chained (past it the links are no longer the packet's: a freed MDL's Next is cleared or trapped).
 */
function allocatedBuffersInChain(Packet: NDIS_PACKET): number {
  const stop = Packet.freedInChain;
  let count = 0;
  for (let b: MDL | null = Packet.Private.Head; b !== null && count !== stop && count <= 0xffff; b = b.Next) {
    if (!isLiveDescriptor(b)) break;
    count++;
  }
  return count;
}

/** NdisDprAllocatePacket: NdisAllocatePacket for callers already at DISPATCH_LEVEL. */
export const NdisDprAllocatePacket = NdisAllocatePacket;
/** NdisDprAllocatePacketNonInterlocked: as NdisDprAllocatePacket (one simulated processor). */
export const NdisDprAllocatePacketNonInterlocked = NdisAllocatePacket;
/** NdisDprFreePacket: NdisFreePacket for callers already at DISPATCH_LEVEL. */
export const NdisDprFreePacket = NdisFreePacket;
/** NdisDprFreePacketNonInterlocked: as NdisDprFreePacket. */
export const NdisDprFreePacketNonInterlocked = NdisFreePacket;

/**
 * NdisReinitializePacket: makes the packet's chain empty (Head NULL, counts invalid) so it can be reused. The
 * driver must have saved its buffer pointers first.
 */
export function NdisReinitializePacket(Packet: NDIS_PACKET): void {
  Packet.Private.Head = null;
  Packet.Private.ValidCounts = false;
  Packet.generation++;
  Packet.freedInChain = -1;
}

// --- flags, OOB data and per-packet information ------------------------------------------------------------

/** NdisGetPacketFlags */
export function NdisGetPacketFlags(Packet: NDIS_PACKET): number {
  return Packet.Private.Flags;
}

/** NdisSetPacketFlags: ORs `Flags` into Private.Flags. */
export function NdisSetPacketFlags(Packet: NDIS_PACKET, Flags: number): void {
  Packet.Private.Flags = (Packet.Private.Flags | Flags) >>> 0;
}

/** NdisClearPacketFlags: clears `Flags` in Private.Flags. */
export function NdisClearPacketFlags(Packet: NDIS_PACKET, Flags: number): void {
  Packet.Private.Flags = (Packet.Private.Flags & ~Flags) >>> 0;
}

/** NDIS_GET_PACKET_PROTOCOL_TYPE: the protocol id in the low bits of Private.Flags. */
export function NDIS_GET_PACKET_PROTOCOL_TYPE(Packet: NDIS_PACKET): number {
  return Packet.Private.Flags & NDIS_PROTOCOL_ID_MASK;
}

/** NDIS_OOB_DATA_FROM_PACKET: the packet's out-of-band data block. */
export function NDIS_OOB_DATA_FROM_PACKET(Packet: NDIS_PACKET): NDIS_PACKET_OOB_DATA {
  return Packet.oob;
}

/** NDIS_GET_PACKET_HEADER_SIZE */
export function NDIS_GET_PACKET_HEADER_SIZE(Packet: NDIS_PACKET): number {
  return Packet.oob.HeaderSize;
}

/** NDIS_SET_PACKET_HEADER_SIZE */
export function NDIS_SET_PACKET_HEADER_SIZE(Packet: NDIS_PACKET, HdrSize: number): void {
  Packet.oob.HeaderSize = HdrSize >>> 0;
}

/** NDIS_GET_PACKET_STATUS */
export function NDIS_GET_PACKET_STATUS(Packet: NDIS_PACKET): number {
  return Packet.oob.Status;
}

/** NDIS_SET_PACKET_STATUS */
export function NDIS_SET_PACKET_STATUS(Packet: NDIS_PACKET, Status: number): void {
  Packet.oob.Status = Status | 0;
}

/** NDIS_GET_PACKET_TIME_TO_SEND */
export function NDIS_GET_PACKET_TIME_TO_SEND(Packet: NDIS_PACKET): bigint {
  return Packet.oob.TimeToSend;
}

/** NDIS_SET_PACKET_TIME_TO_SEND */
export function NDIS_SET_PACKET_TIME_TO_SEND(Packet: NDIS_PACKET, TimeToSend: bigint): void {
  Packet.oob.TimeToSend = BigInt.asUintN(64, TimeToSend);
}

/** NDIS_GET_PACKET_TIME_SENT (the same storage as TimeToSend) */
export function NDIS_GET_PACKET_TIME_SENT(Packet: NDIS_PACKET): bigint {
  return Packet.oob.TimeSent;
}

/** NDIS_SET_PACKET_TIME_SENT */
export function NDIS_SET_PACKET_TIME_SENT(Packet: NDIS_PACKET, TimeSent: bigint): void {
  Packet.oob.TimeSent = BigInt.asUintN(64, TimeSent);
}

/** NDIS_GET_PACKET_TIME_RECEIVED */
export function NDIS_GET_PACKET_TIME_RECEIVED(Packet: NDIS_PACKET): bigint {
  return Packet.oob.TimeReceived;
}

/** NDIS_SET_PACKET_TIME_RECEIVED */
export function NDIS_SET_PACKET_TIME_RECEIVED(Packet: NDIS_PACKET, TimeReceived: bigint): void {
  Packet.oob.TimeReceived = BigInt.asUintN(64, TimeReceived);
}

/**
 * NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO: the media-specific information and its size, or NULL and 0 unless NDIS
 * allocated the packet and media-specific information was set on it.
 */
export function NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(
  Packet: NDIS_PACKET,
  pMediaSpecificInfo: { value: number },
  pSizeMediaSpecificInfo: { value: number },
): void {
  const flags = Packet.Private.NdisPacketFlags;
  if ((flags & fPACKET_ALLOCATED_BY_NDIS) === 0 || (flags & fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO) === 0) {
    pMediaSpecificInfo.value = 0;
    pSizeMediaSpecificInfo.value = 0;
  } else {
    pMediaSpecificInfo.value = Packet.oob.MediaSpecificInformation;
    pSizeMediaSpecificInfo.value = Packet.oob.SizeMediaSpecificInfo;
  }
}

/**
 * NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO: records media-specific information (an address and its size) and sets
 * fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO - only for packets NDIS allocated, as the macro does.
 */
export function NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(
  Packet: NDIS_PACKET,
  MediaSpecificInfo: number,
  SizeMediaSpecificInfo: number,
): void {
  if ((Packet.Private.NdisPacketFlags & fPACKET_ALLOCATED_BY_NDIS) === 0) return;
  Packet.Private.NdisPacketFlags |= fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO;
  Packet.oob.MediaSpecificInformation = MediaSpecificInfo;
  Packet.oob.SizeMediaSpecificInfo = SizeMediaSpecificInfo >>> 0;
}

/**
 * NDIS_PACKET_EXTENSION_FROM_PACKET: the per-packet information block. Write a slot as C code assigns
 * NDIS_PER_PACKET_INFO_FROM_PACKET: `NDIS_PACKET_EXTENSION_FROM_PACKET(p).NdisPacketInfo[Id] = value`.
 */
export function NDIS_PACKET_EXTENSION_FROM_PACKET(Packet: NDIS_PACKET): NDIS_PACKET_EXTENSION {
  return Packet.extension;
}

/** NDIS_PER_PACKET_INFO_FROM_PACKET: reads per-packet information slot `Id` (an NDIS_PER_PACKET_INFO value). */
export function NDIS_PER_PACKET_INFO_FROM_PACKET(Packet: NDIS_PACKET, Id: number): PerPacketInfoValue {
  if (!(Id >= 0 && Id < MaxPerPacketInfo)) {
    throw new RangeError(`NDIS_PER_PACKET_INFO_FROM_PACKET: ${Id} is not an NDIS_PER_PACKET_INFO value`);
  }
  return Packet.extension.NdisPacketInfo[Id]!;
}

/** NDIS_GET_ORIGINAL_PACKET: the packet this one was made from (OriginalPacketInfo), or NULL. */
export function NDIS_GET_ORIGINAL_PACKET(Packet: NDIS_PACKET): NDIS_PACKET | null {
  const value = Packet.extension.NdisPacketInfo[OriginalPacketInfo];
  return value instanceof NDIS_PACKET ? value : null;
}

/** NDIS_SET_ORIGINAL_PACKET */
export function NDIS_SET_ORIGINAL_PACKET(Packet: NDIS_PACKET, OriginalPacket: NDIS_PACKET | null): void {
  Packet.extension.NdisPacketInfo[OriginalPacketInfo] = OriginalPacket ?? 0;
}

/** NDIS_GET_PACKET_CANCEL_ID / NdisGetPacketCancelId */
export function NDIS_GET_PACKET_CANCEL_ID(Packet: NDIS_PACKET): PerPacketInfoValue {
  return Packet.extension.NdisPacketInfo[PacketCancelId]!;
}

/** NDIS_SET_PACKET_CANCEL_ID / NdisSetPacketCancelId */
export function NDIS_SET_PACKET_CANCEL_ID(Packet: NDIS_PACKET, CancelId: PerPacketInfoValue): void {
  Packet.extension.NdisPacketInfo[PacketCancelId] = CancelId;
}

/** NdisGetPacketCancelId */
export const NdisGetPacketCancelId = NDIS_GET_PACKET_CANCEL_ID;
/** NdisSetPacketCancelId */
export const NdisSetPacketCancelId = NDIS_SET_PACKET_CANCEL_ID;
