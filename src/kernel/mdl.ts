/**
 * Memory descriptor lists. An MDL describes a virtually contiguous buffer: StartVa is the page it starts in,
 * ByteOffset the offset within that page, ByteCount its length. MDLs chain through Next (NDIS_MDL_LINKAGE).
 *
 * The MDL is a JavaScript object whose fields carry the WDK names; its storage is charged to the pool under the
 * tag Windows uses for MDLs ("Mdl " in poolmon), sizeof(MDL) plus one PFN_NUMBER per page, so poolmon, the pool
 * limit and the leak report see MDLs as Windows does. Freed MDLs go back to a free list and are reused.
 */
import { ADDRESS_AND_SIZE_TO_SPAN_PAGES, ARENA_BASE, BYTE_OFFSET, inArena, PAGE_ALIGN, PAGE_SIZE } from './arena.js';
import {
  BAD_POOL_CALLER,
  bugCheck,
  DdiRule,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  INVALID_MDL_RANGE,
  TARGET_MDL_TOO_SMALL,
} from './bugcheck.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from './irql.js';
import { poisonFreed } from './poison.js';
import { findPoolBlock, poolCharge, poolRelease } from './pool.js';
import { poolTag } from './tags.js';
import { callSite, VERIFIER_FULL, verifierLevel } from './verifier.js';

export const MDL_MAPPED_TO_SYSTEM_VA = 0x0001;
export const MDL_PAGES_LOCKED = 0x0002;
export const MDL_SOURCE_IS_NONPAGED_POOL = 0x0004;
export const MDL_ALLOCATED_FIXED_SIZE = 0x0008;
export const MDL_PARTIAL = 0x0010;
export const MDL_PARTIAL_HAS_BEEN_MAPPED = 0x0020;
export const MDL_IO_PAGE_READ = 0x0040;
export const MDL_WRITE_OPERATION = 0x0080;
export const MDL_LOCKED_PAGE_TABLES = 0x0100;
export const MDL_PARENT_MAPPED_SYSTEM_VA = 0x0100;
export const MDL_FREE_EXTRA_PTES = 0x0200;
export const MDL_DESCRIBES_AWE = 0x0400;
export const MDL_IO_SPACE = 0x0800;
export const MDL_NETWORK_HEADER = 0x1000;
export const MDL_MAPPING_CAN_FAIL = 0x2000;
export const MDL_ALLOCATED_MUST_SUCCEED = 0x4000;
export const MDL_INTERNAL = 0x8000;
export const MDL_MAPPING_FLAGS =
  MDL_MAPPED_TO_SYSTEM_VA |
  MDL_PAGES_LOCKED |
  MDL_SOURCE_IS_NONPAGED_POOL |
  MDL_PARTIAL_HAS_BEEN_MAPPED |
  MDL_PARENT_MAPPED_SYSTEM_VA |
  MDL_IO_SPACE;

/** sizeof(MDL) on x64. */
export const SIZEOF_MDL = 48;
/** The tag Windows charges MDLs to: the constant ' ldM', shown as "Mdl " by poolmon. */
export const TAG_MDL = poolTag(' ldM');
/** Windows 7 and later: an MDL describes at most 4 GiB - PAGE_SIZE (IoAllocateMdl remarks). */
export const MAX_MDL_BYTE_COUNT = 0x1_0000_0000 - PAGE_SIZE;

/** MmGetSystemAddressForMdlSafe priorities (MM_PAGE_PRIORITY), and the no-execute flag that may be OR-ed in. */
export const LowPagePriority = 0;
export const NormalPagePriority = 16;
export const HighPagePriority = 32;
export const MdlMappingNoExecute = 0x40000000;

/** Who made an MDL, which decides who may free it. */
export const MdlOrigin = {
  /** IoAllocateMdl / NdisAllocateMdl: freed with IoFreeMdl / NdisFreeMdl. */
  Io: 1,
  /** Built into a NET_BUFFER by NdisAllocateNetBufferMdlAndData: freed only with its NET_BUFFER. */
  NetBufferEmbedded: 2,
  /** An NDIS 5 buffer descriptor from a buffer pool: freed with NdisFreeBuffer. */
  NdisBufferPool: 3,
  /** Allocated by NDIS through a retreat's allocate-MDL handler. */
  Retreat: 4,
  /** NDIS's own partial MDLs for clones and fragments: freed by NDIS with the list that uses them. */
  NdisInternal: 5,
} as const;

const STATE_LIVE = 1;
const STATE_FREE = 2;

/**
 * An MDL. Fields are as in wdm.h; `Process` is always null (every MDL here describes system memory). The
 * fields after the WDK ones are wdknet's own bookkeeping and are not part of the DDI.
 */
export class MDL {
  Next: MDL | null = null;
  Size = 0;
  MdlFlags = 0;
  Process: null = null;
  MappedSystemVa = 0;
  StartVa = 0;
  ByteCount = 0;
  ByteOffset = 0;
  /** wdknet: which allocator owns this MDL (MdlOrigin). */
  origin = 0;
  /** wdknet: live or free. */
  state = 0;
  /** wdknet: the owner object (a pool, a NET_BUFFER) or null. */
  owner: object | null = null;
  /** wdknet: where it was allocated (full verifier mode). */
  site: string | undefined = undefined;
  /** wdknet: pool bytes charged for it. */
  charged = 0;
}

const freeMdls: MDL[] = [];
const liveIoMdls = new Set<MDL>();

/** Initialises an MDL to describe `[va, va + length)`: MmInitializeMdl. */
export function MmInitializeMdl(MemoryDescriptorList: MDL, BaseVa: number, Length: number): void {
  const m = MemoryDescriptorList;
  m.Next = null;
  m.Size = MmSizeOfMdl(BaseVa, Length);
  m.MdlFlags = 0;
  m.Process = null;
  m.MappedSystemVa = 0;
  m.StartVa = PAGE_ALIGN(BaseVa);
  m.ByteOffset = BYTE_OFFSET(BaseVa);
  m.ByteCount = Length;
}

/** MmSizeOfMdl: bytes needed for an MDL describing `[Base, Base + Length)`. */
export function MmSizeOfMdl(Base: number, Length: number): number {
  return SIZEOF_MDL + 8 * ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length);
}

/**
 * Takes an MDL object from the free list and charges it to the pool; returns null when the pool is exhausted.
 * Shared by IoAllocateMdl and the NDIS allocators that make MDLs of their own.
 */
export function allocateMdlObject(
  va: number,
  length: number,
  origin: number,
  owner: object | null,
  tag: number,
  ddi: string,
): MDL | null {
  const bytes = MmSizeOfMdl(va, length);
  if (!poolCharge(tag, bytes, ddi)) return null;
  const m = verifierLevel >= VERIFIER_FULL ? new MDL() : (freeMdls.pop() ?? new MDL());
  MmInitializeMdl(m, va, length);
  m.origin = origin;
  m.state = STATE_LIVE;
  m.owner = owner;
  m.charged = bytes;
  m.site = verifierLevel >= VERIFIER_FULL ? callSite() : undefined;
  if (origin === MdlOrigin.Io) liveIoMdls.add(m);
  return m;
}

/** Returns an MDL object to the free list and releases its pool charge. */
export function releaseMdlObject(m: MDL, tag: number, what: string): void {
  poolRelease(tag, m.charged);
  if (m.origin === MdlOrigin.Io) liveIoMdls.delete(m);
  m.state = STATE_FREE;
  m.Next = null;
  m.owner = null;
  if (verifierLevel >= VERIFIER_FULL) poisonFreed(m, what);
  else freeMdls.push(m);
}

/** True while an MDL is allocated. */
export function isMdlLive(m: MDL): boolean {
  return m.state === STATE_LIVE;
}

/**
 * IoAllocateMdl: an MDL for `[VirtualAddress, VirtualAddress + Length)`, or NULL. Length above
 * 4 GiB - PAGE_SIZE, or a failed allocation, gives NULL. IRPs are not modelled: `Irp` must be null, and so
 * SecondaryBuffer must be FALSE. IRQL <= DISPATCH_LEVEL.
 */
export function IoAllocateMdl(
  VirtualAddress: number,
  Length: number,
  SecondaryBuffer: boolean,
  ChargeQuota: boolean,
  Irp: null,
): MDL | null {
  requireIrqlAtMost(DISPATCH_LEVEL, 'IoAllocateMdl', DdiRule.IrqlDocumentedLimit);
  if (Irp !== null || SecondaryBuffer) {
    throw new TypeError('IoAllocateMdl: IRPs are not modelled by wdknet; pass SecondaryBuffer=false and Irp=null');
  }
  void ChargeQuota;
  if (!(Length >= 0) || Length > MAX_MDL_BYTE_COUNT || !Number.isInteger(Length)) return null;
  return allocateMdlObject(VirtualAddress, Length, MdlOrigin.Io, null, TAG_MDL, 'IoAllocateMdl');
}

/**
 * IoFreeMdl: frees an MDL from IoAllocateMdl. Freeing one twice, or one that another allocator owns (an NDIS 5
 * buffer descriptor, the MDL built into a NET_BUFFER by NdisAllocateNetBufferMdlAndData), is a pool misuse:
 * BAD_POOL_CALLER as Windows reports freeing memory that was not (or no longer) allocated this way.
 */
export function IoFreeMdl(Mdl: MDL): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'IoFreeMdl', DdiRule.IrqlDocumentedLimit);
  checkFreeable(Mdl, MdlOrigin.Io, 'IoFreeMdl');
  releaseMdlObject(Mdl, TAG_MDL, 'MDL');
}

/** Bug-checks unless `m` is a live MDL of the given origin. */
export function checkFreeable(m: MDL, origin: number, ddi: string): void {
  if (m === null || typeof m !== 'object' || !(m instanceof MDL)) {
    bugCheck(BAD_POOL_CALLER, 0x46, 0, 0, 0, `${ddi} was passed something that is not an MDL`);
  }
  if (m.state === STATE_FREE) {
    bugCheck(BAD_POOL_CALLER, 0x07, 0, m.Size, 0, `${ddi}: this MDL was already freed`);
  }
  if (m.state !== STATE_LIVE) {
    bugCheck(BAD_POOL_CALLER, 0x46, 0, 0, 0, `${ddi}: this MDL was never allocated (built by hand?)`);
  }
  if (m.origin !== origin) {
    const owner =
      m.origin === MdlOrigin.NetBufferEmbedded
        ? 'it belongs to a NET_BUFFER from NdisAllocateNetBufferMdlAndData and is freed only with it (NdisFreeNetBuffer)'
        : m.origin === MdlOrigin.NdisBufferPool
          ? 'it is an NDIS buffer descriptor from a buffer pool; free it with NdisFreeBuffer'
          : m.origin === MdlOrigin.Retreat
            ? 'NDIS allocated it for a retreat and frees it on the matching advance'
            : m.origin === MdlOrigin.NdisInternal
              ? 'NDIS made it for a clone or fragment and frees it with that NET_BUFFER_LIST'
              : 'it was allocated with IoAllocateMdl or NdisAllocateMdl';
    bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1012, m.origin, origin, 0, `${ddi} may not free this MDL: ${owner}`);
  }
}

/**
 * MmBuildMdlForNonPagedPool: fills in an MDL that describes nonpaged pool, and sets MappedSystemVa (the memory
 * is already mapped). The range must be in nonpaged memory.
 */
export function MmBuildMdlForNonPagedPool(MemoryDescriptorList: MDL): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'MmBuildMdlForNonPagedPool', DdiRule.IrqlDocumentedLimit);
  const m = MemoryDescriptorList;
  const va = m.StartVa + m.ByteOffset;
  if (!inArena(va, m.ByteCount)) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      0x1013,
      va,
      m.ByteCount,
      0,
      `MmBuildMdlForNonPagedPool: 0x${va.toString(16)} is not nonpaged pool`,
    );
  }
  const block = findPoolBlock(va);
  if (block !== undefined && (block.poolType & 1) === 1) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      0x1013,
      va,
      m.ByteCount,
      0,
      `MmBuildMdlForNonPagedPool: 0x${va.toString(16)} is paged pool`,
    );
  }
  m.MappedSystemVa = va;
  m.MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

/** MmProbeAndLockPages: locks the pages (here they never move; the flag is what matters). */
export function MmProbeAndLockPages(MemoryDescriptorList: MDL, AccessMode: number, Operation: number): void {
  void AccessMode;
  void Operation;
  MemoryDescriptorList.MdlFlags |= MDL_PAGES_LOCKED;
}

/** MmUnlockPages */
export function MmUnlockPages(MemoryDescriptorList: MDL): void {
  MemoryDescriptorList.MdlFlags &= ~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA);
}

/**
 * MmGetSystemAddressForMdlSafe: the system address of the buffer, mapping it if needed. Every simulated page is
 * already mapped at its own address, so mapping only records MappedSystemVa and MDL_MAPPED_TO_SYSTEM_VA.
 */
export function MmGetSystemAddressForMdlSafe(Mdl: MDL, Priority: number): number {
  void Priority;
  if ((Mdl.MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) !== 0) return Mdl.MappedSystemVa;
  Mdl.MappedSystemVa = Mdl.StartVa + Mdl.ByteOffset;
  Mdl.MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
  return Mdl.MappedSystemVa;
}

/** MmGetMdlVirtualAddress: StartVa + ByteOffset. */
export function MmGetMdlVirtualAddress(Mdl: MDL): number {
  return Mdl.StartVa + Mdl.ByteOffset;
}

/** MmGetMdlByteCount */
export function MmGetMdlByteCount(Mdl: MDL): number {
  return Mdl.ByteCount;
}

/** MmGetMdlByteOffset */
export function MmGetMdlByteOffset(Mdl: MDL): number {
  return Mdl.ByteOffset;
}

/** MmGetMdlPfnArray: page frame numbers of the pages the MDL spans (identity-mapped: PFN = VA >> 12). */
export function MmGetMdlPfnArray(Mdl: MDL): number[] {
  const pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(Mdl.StartVa + Mdl.ByteOffset, Mdl.ByteCount);
  const first = Math.floor(Mdl.StartVa / PAGE_SIZE);
  return Array.from({ length: pages }, (_, i) => first + i);
}

/**
 * IoBuildPartialMdl: makes `TargetMdl` describe `[VirtualAddress, VirtualAddress + Length)` inside
 * `SourceMdl`'s buffer. Length 0 means "to the end of the source". As Windows does, always (not only under the
 * verifier): a range that is not inside the source MDL's is INVALID_MDL_RANGE (0x12E: SourceMdl, TargetMdl,
 * VirtualAddress, Length - the MDLs have no simulated address, so 0), and a target MDL whose Size cannot hold
 * the page array of the range (it was allocated or initialised for a smaller one) is TARGET_MDL_TOO_SMALL (0x40).
 * The target keeps its Size: that is the storage it has, which a later call is checked against again.
 */
export function IoBuildPartialMdl(SourceMdl: MDL, TargetMdl: MDL, VirtualAddress: number, Length: number): void {
  const srcVa = SourceMdl.StartVa + SourceMdl.ByteOffset;
  if (Length === 0) Length = srcVa + SourceMdl.ByteCount - VirtualAddress;
  if (!(Length >= 0) || VirtualAddress < srcVa || VirtualAddress + Length > srcVa + SourceMdl.ByteCount) {
    bugCheck(
      INVALID_MDL_RANGE,
      0,
      0,
      VirtualAddress,
      Length,
      `IoBuildPartialMdl: [0x${VirtualAddress.toString(16)}, +${Length}) is not inside the source MDL's [0x${srcVa.toString(16)}, +${SourceMdl.ByteCount})`,
    );
  }
  const needed = MmSizeOfMdl(VirtualAddress, Length);
  if (TargetMdl.Size < needed) {
    bugCheck(
      TARGET_MDL_TOO_SMALL,
      0,
      0,
      0,
      0,
      `IoBuildPartialMdl: the target MDL's Size is ${TargetMdl.Size} bytes, but describing ${Length} bytes at 0x${VirtualAddress.toString(16)} (${ADDRESS_AND_SIZE_TO_SPAN_PAGES(VirtualAddress, Length)} pages) needs ${needed}; allocate it for the subrange (IoAllocateMdl(VirtualAddress, Length, ...))`,
    );
  }
  TargetMdl.StartVa = PAGE_ALIGN(VirtualAddress);
  TargetMdl.ByteOffset = BYTE_OFFSET(VirtualAddress);
  TargetMdl.ByteCount = Length;
  TargetMdl.MdlFlags = (TargetMdl.MdlFlags & (MDL_ALLOCATED_FIXED_SIZE | MDL_ALLOCATED_MUST_SUCCEED)) | MDL_PARTIAL;
  if ((SourceMdl.MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) !== 0) {
    TargetMdl.MappedSystemVa = VirtualAddress;
    TargetMdl.MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
  }
}

/** NdisAllocateMdl: an MDL for a buffer in nonpaged memory, mapped. NdisHandle is the caller's NDIS handle. */
export function NdisAllocateMdl(NdisHandle: unknown, VirtualAddress: number, Length: number): MDL | null {
  void NdisHandle;
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisAllocateMdl', DdiRule.IrqlDocumentedLimit);
  if (!(Length >= 0) || Length > MAX_MDL_BYTE_COUNT) return null;
  const m = allocateMdlObject(VirtualAddress, Length, MdlOrigin.Io, null, TAG_MDL, 'NdisAllocateMdl');
  if (m !== null) {
    m.MappedSystemVa = VirtualAddress;
    m.MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
  }
  return m;
}

/** NdisFreeMdl: frees an MDL from NdisAllocateMdl. */
export function NdisFreeMdl(Mdl: MDL): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisFreeMdl', DdiRule.IrqlDocumentedLimit);
  checkFreeable(Mdl, MdlOrigin.Io, 'NdisFreeMdl');
  releaseMdlObject(Mdl, TAG_MDL, 'MDL');
}

/** NdisQueryMdl: the MDL's system address (NULL if it cannot be mapped) and length. */
export function NdisQueryMdl(
  Mdl: MDL,
  VirtualAddress: { value: number },
  Length: { value: number },
  Priority: number,
): void {
  VirtualAddress.value = MmGetSystemAddressForMdlSafe(Mdl, Priority);
  Length.value = Mdl.ByteCount;
}

/** NdisQueryMdlOffset: the offset of the data within its first page, and the length. */
export function NdisQueryMdlOffset(Mdl: MDL, Offset: { value: number }, Length: { value: number }): void {
  Offset.value = Mdl.ByteOffset;
  Length.value = Mdl.ByteCount;
}

/** NDIS_MDL_LINKAGE: the next MDL in a chain (read; assign `mdl.Next` to link). */
export function NDIS_MDL_LINKAGE(Mdl: MDL): MDL | null {
  return Mdl.Next;
}

/** NdisGetNextMdl: the next MDL in the chain, through an out box. */
export function NdisGetNextMdl(CurrentMdl: MDL, NextMdl: { value: MDL | null }): void {
  NextMdl.value = CurrentMdl.Next;
}

/** MDLs from IoAllocateMdl / NdisAllocateMdl still outstanding (for leak reports). */
export function outstandingIoMdls(): readonly MDL[] {
  return [...liveIoMdls];
}

/** Resets the MDL free list (part of resetSystem). */
export function resetMdls(): void {
  freeMdls.length = 0;
  liveIoMdls.clear();
}

/** Offset into simulated memory of an MDL's first byte (internal fast path). */
export function mdlMemoryOffset(m: MDL): number {
  return m.MappedSystemVa - ARENA_BASE;
}
