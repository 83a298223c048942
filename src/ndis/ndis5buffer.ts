/**
 * NDIS 5 buffer descriptors. An NDIS_BUFFER is an MDL, as on NT (`typedef MDL NDIS_BUFFER`): the kernel's MDL
 * object with origin MdlOrigin.NdisBufferPool, charged to the "Mdl " tag like every MDL.
 *
 * A buffer pool's NumberOfDescriptors is its exact capacity: that many NdisAllocateBuffer calls succeed, the
 * next fails with NDIS_STATUS_FAILURE, and a freed descriptor can be taken again (N5-3). Each pool keeps one
 * slot object per descriptor it has handed out at least once (made on first use, never more than the capacity)
 * and reuses them through a free stack, so allocate and free in steady state make no JavaScript objects. A slot
 * is the MDL's `owner`: it knows the pool the descriptor belongs to and the length it was allocated with.
 */
import { ADDRESS_AND_SIZE_TO_SPAN_PAGES } from '../kernel/arena.js';
import { BAD_POOL_CALLER, bugCheck } from '../kernel/bugcheck.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import {
  allocateMdlObject,
  checkFreeable,
  MAX_MDL_BYTE_COUNT,
  type MDL,
  MDL_MAPPED_TO_SYSTEM_VA,
  MDL_PARTIAL,
  MDL_PARTIAL_HAS_BEEN_MAPPED,
  MDL_SOURCE_IS_NONPAGED_POOL,
  MdlOrigin,
  MmGetSystemAddressForMdlSafe,
  NormalPagePriority,
  releaseMdlObject,
  TAG_MDL,
} from '../kernel/mdl.js';
import { isPoisoned } from '../kernel/poison.js';
import { findPoolBlockInto, PoolBlockRecord } from '../kernel/pool.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import {
  type ChainingPacket,
  IRQL_NDIS5_FUNCTION_RULE,
  isLiveDescriptor,
  Ndis5Violation,
  ndis5Violation,
} from './ndis5rules.js';

/** NDIS_BUFFER: an MDL (ndis.h: `typedef MDL NDIS_BUFFER, *PNDIS_BUFFER`). */
export type NDIS_BUFFER = MDL;

const POOL_LIVE = 1;
const POOL_FREED = 2;

/** One descriptor's bookkeeping in a buffer pool; it is the `owner` of the MDL while the MDL is allocated. */
export class NdisBufferSlot {
  /** The pool this slot belongs to. */
  readonly pool: NDIS_BUFFER_POOL;
  /** The Length the descriptor was allocated with (NdisAdjustBufferLength may not exceed it). */
  allocatedLength = 0;
  /** Verifier: the packet NdisChainBufferAt* last linked this descriptor into (null once unchained or freed). */
  packet: ChainingPacket | null = null;
  /** Verifier: that packet's generation when it was chained (a reallocated or reinitialised packet is stale). */
  generation = 0;
  constructor(pool: NDIS_BUFFER_POOL) {
    this.pool = pool;
  }
}

/** The handle NdisAllocateBufferPool returns: a pool of NumberOfDescriptors buffer descriptors. */
export class NDIS_BUFFER_POOL {
  /** The capacity the pool was created with. */
  readonly NumberOfDescriptors: number;
  /** wdknet: descriptors currently allocated from this pool. */
  inUse = 0;
  /** wdknet: live or freed. */
  state = POOL_LIVE;
  /** Slots not in use (a stack: `free[0..freeTop)`). */
  private readonly free: NdisBufferSlot[] = [];
  private freeTop = 0;

  constructor(numberOfDescriptors: number) {
    this.NumberOfDescriptors = numberOfDescriptors;
  }

  /** Takes a slot, or null when all NumberOfDescriptors are in use. */
  take(): NdisBufferSlot | null {
    if (this.inUse >= this.NumberOfDescriptors) return null;
    let slot: NdisBufferSlot;
    if (this.freeTop > 0) slot = this.free[--this.freeTop]!;
    else slot = new NdisBufferSlot(this);
    this.inUse++;
    return slot;
  }

  /** Returns a slot taken from this pool. */
  give(slot: NdisBufferSlot): void {
    this.free[this.freeTop++] = slot;
    this.inUse--;
  }
}

const livePools = new Set<NDIS_BUFFER_POOL>();

/** Buffer pools not yet freed (for leak reports). */
export function liveBufferPools(): ReadonlySet<NDIS_BUFFER_POOL> {
  return livePools;
}

/** Forgets every buffer pool (part of resetSystem; their MDLs and charges go with the kernel's reset). */
export function resetNdis5Buffers(): void {
  for (const pool of livePools) pool.state = POOL_FREED;
  livePools.clear();
  systemBufferPool = new NDIS_BUFFER_POOL(0xffffffff);
}

/** Descriptors allocated with a NULL PoolHandle and not yet freed (for leak reports). */
export function systemPoolBuffersInUse(): number {
  return systemBufferPool.inUse;
}

/**
 * The pool NdisAllocateBuffer and NdisCopyBuffer draw from when PoolHandle is NULL. The handle is documented as
 * optional, and NT's NdisAllocateBuffer ignored it (a descriptor was an IoAllocateMdl MDL); decided here: a NULL
 * handle draws from this unbounded system pool, so such a driver works as it did on Windows.
 */
let systemBufferPool = new NDIS_BUFFER_POOL(0xffffffff);

/** The pool a possibly-NULL PoolHandle names, checked. */
function poolFor(PoolHandle: NDIS_BUFFER_POOL | null, ddi: string): NDIS_BUFFER_POOL {
  if (PoolHandle === null) return systemBufferPool;
  checkPool(PoolHandle, ddi);
  return PoolHandle;
}

function checkPool(PoolHandle: NDIS_BUFFER_POOL, ddi: string): void {
  if (!(PoolHandle instanceof NDIS_BUFFER_POOL) || PoolHandle.state !== POOL_LIVE) {
    ndis5Violation(
      Ndis5Violation.BadPoolHandle,
      0,
      0,
      0,
      `${ddi}: the PoolHandle is not a live buffer pool from NdisAllocateBufferPool (freed already, or not a pool)`,
    );
  }
}

/**
 * NdisAllocateBufferPool: makes a pool of NumberOfDescriptors buffer descriptors. Status is always
 * NDIS_STATUS_SUCCESS, as documented: on NT the pool itself takes no memory (its descriptors are MDLs allocated
 * as they are needed), so nothing here can fail. IRQL <= DISPATCH_LEVEL.
 */
export function NdisAllocateBufferPool(
  Status: { value: number },
  PoolHandle: { value: NDIS_BUFFER_POOL | null },
  NumberOfDescriptors: number,
): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisAllocateBufferPool', IRQL_NDIS5_FUNCTION_RULE);
  const pool = new NDIS_BUFFER_POOL(NumberOfDescriptors >>> 0);
  livePools.add(pool);
  PoolHandle.value = pool;
  Status.value = NDIS_STATUS_SUCCESS;
}

/**
 * NdisFreeBufferPool: frees a buffer pool. Every descriptor allocated from it must have been freed first;
 * freeing a pool with descriptors out is reported (0xC4, Ndis5Violation.BufferPoolFreedWithBuffersOut), as is
 * freeing it twice (BadPoolHandle). IRQL <= DISPATCH_LEVEL.
 */
export function NdisFreeBufferPool(PoolHandle: NDIS_BUFFER_POOL): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisFreeBufferPool', IRQL_NDIS5_FUNCTION_RULE);
  checkPool(PoolHandle, 'NdisFreeBufferPool');
  if (PoolHandle.inUse !== 0) {
    ndis5Violation(
      Ndis5Violation.BufferPoolFreedWithBuffersOut,
      PoolHandle.inUse,
      PoolHandle.NumberOfDescriptors,
      0,
      `NdisFreeBufferPool: ${PoolHandle.inUse} buffer descriptor(s) from this pool are still allocated; free them with NdisFreeBuffer first`,
    );
  }
  PoolHandle.state = POOL_FREED;
  livePools.delete(PoolHandle);
}

const blockRecord = new PoolBlockRecord();

/**
 * Is `[va, va + length)` inside one allocated block of nonpaged pool (N5-2)? A zero-length range must still
 * start inside an allocated block.
 */
function inAllocatedNonPagedPool(va: number, length: number): boolean {
  if (!Number.isInteger(va) || !Number.isInteger(length) || length < 0 || length > MAX_MDL_BYTE_COUNT) return false;
  const block = blockRecord;
  if (!findPoolBlockInto(va, block) || !block.allocated || (block.poolType & 1) === 1) return false;
  return va >= block.base && va < block.base + block.size && va + length <= block.base + block.size;
}

/** Takes a slot and an MDL for `[va, va + length)`; null when the pool or the system pool is exhausted. */
function allocateDescriptor(pool: NDIS_BUFFER_POOL, va: number, length: number, ddi: string): MDL | null {
  const slot = pool.take();
  if (slot === null) return null;
  const mdl = allocateMdlObject(va, length, MdlOrigin.NdisBufferPool, slot, TAG_MDL, ddi);
  if (mdl === null) {
    pool.give(slot);
    return null;
  }
  slot.allocatedLength = length;
  // The memory is nonpaged pool and already mapped: what MmBuildMdlForNonPagedPool records.
  mdl.MappedSystemVa = va;
  mdl.MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
  return mdl;
}

/**
 * NdisAllocateBuffer: a buffer descriptor from `PoolHandle` mapping `[VirtualAddress, VirtualAddress + Length)`
 * (N5-1), which must lie inside one already-allocated block of nonpaged pool (N5-2). PoolHandle is optional:
 * NULL draws from an unbounded system pool, as NT ignored the handle. Status is
 * NDIS_STATUS_SUCCESS with the descriptor in `Buffer`, or NDIS_STATUS_FAILURE (Buffer NULL) when the range is
 * outside any allocation, crosses its end, is in paged pool, or the pool has no descriptor left (N5-3).
 * IRQL <= DISPATCH_LEVEL.
 */
export function NdisAllocateBuffer(
  Status: { value: number },
  Buffer: { value: NDIS_BUFFER | null },
  PoolHandle: NDIS_BUFFER_POOL | null,
  VirtualAddress: number,
  Length: number,
): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisAllocateBuffer', IRQL_NDIS5_FUNCTION_RULE);
  const pool = poolFor(PoolHandle, 'NdisAllocateBuffer');
  const mdl = inAllocatedNonPagedPool(VirtualAddress, Length)
    ? allocateDescriptor(pool, VirtualAddress, Length, 'NdisAllocateBuffer')
    : null;
  Buffer.value = mdl;
  Status.value = mdl === null ? NDIS_STATUS_FAILURE : NDIS_STATUS_SUCCESS;
}

/**
 * NdisCopyBuffer: new descriptors from `PoolHandle` that map `Length` bytes starting `Offset` bytes into the
 * memory `MemoryDescriptor` maps. When the source has chained descriptors (MDL.Next) and the range runs across
 * them, the result is a chain with one descriptor per source piece, as documented. Each is a partial MDL, as
 * IoBuildPartialMdl makes. Status NDIS_STATUS_FAILURE (Buffer NULL, nothing left allocated) when Offset and
 * Length run past the source chain or the pool runs out of descriptors.
 */
export function NdisCopyBuffer(
  Status: { value: number },
  Buffer: { value: NDIS_BUFFER | null },
  PoolHandle: NDIS_BUFFER_POOL | null,
  MemoryDescriptor: NDIS_BUFFER,
  Offset: number,
  Length: number,
): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisCopyBuffer', IRQL_NDIS5_FUNCTION_RULE);
  const pool = poolFor(PoolHandle, 'NdisCopyBuffer');
  Buffer.value = null;
  Status.value = NDIS_STATUS_FAILURE;
  if (!(Offset >= 0 && Length >= 0)) return;
  // Find the source descriptor that holds byte Offset.
  let source: MDL | null = MemoryDescriptor;
  let skip = Offset;
  while (source !== null && skip >= source.ByteCount && !(skip === source.ByteCount && Length === 0)) {
    skip -= source.ByteCount;
    source = source.Next;
  }
  let head: MDL | null = null;
  let tail: MDL | null = null;
  let left = Length;
  do {
    if (source === null) break;
    const n = Math.min(left, source.ByteCount - skip);
    const va = source.StartVa + source.ByteOffset + skip;
    const piece = inAllocatedNonPagedPool(va, n) ? allocateDescriptor(pool, va, n, 'NdisCopyBuffer') : null;
    if (piece === null) break;
    piece.MdlFlags |= MDL_PARTIAL;
    if ((source.MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) !== 0) {
      piece.MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
    }
    if (tail === null) head = piece;
    else tail.Next = piece;
    tail = piece;
    left -= n;
    skip = 0;
    source = source.Next;
  } while (left > 0);
  if (head === null || left > 0) {
    // Out of range or out of descriptors: give back what was made.
    for (let m = head; m !== null; ) {
      const next: MDL | null = m.Next;
      const slot = m.owner as NdisBufferSlot;
      releaseMdlObject(m, TAG_MDL, 'NDIS_BUFFER');
      slot.pool.give(slot);
      m = next;
    }
    return;
  }
  Buffer.value = head;
  Status.value = NDIS_STATUS_SUCCESS;
}

/**
 * NdisFreeBuffer: returns a descriptor to the pool it came from. Its length must have been restored after any
 * NdisAdjustBufferLength (documented; reported under the verifier). Freeing it twice is BAD_POOL_CALLER 0x07; an
 * MDL that is not an NDIS buffer descriptor (IoAllocateMdl's, a NET_BUFFER's) is refused (0xC4, 0x1012), as the
 * kernel refuses IoFreeMdl on a buffer descriptor. IRQL <= DISPATCH_LEVEL.
 */
export function NdisFreeBuffer(Buffer: NDIS_BUFFER): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'NdisFreeBuffer', IRQL_NDIS5_FUNCTION_RULE);
  checkFreeable(Buffer, MdlOrigin.NdisBufferPool, 'NdisFreeBuffer');
  const slot = Buffer.owner as NdisBufferSlot;
  const pool = slot.pool;
  if (verifierLevel >= VERIFIER_STANDARD && Buffer.ByteCount !== slot.allocatedLength) {
    ndis5Violation(
      Ndis5Violation.FreedWithAdjustedLength,
      Buffer.ByteCount,
      slot.allocatedLength,
      0,
      `NdisFreeBuffer: the length is ${Buffer.ByteCount}; restore it to the ${slot.allocatedLength} bytes it was allocated with (NdisAdjustBufferLength) before freeing`,
    );
  }
  if (pool.state !== POOL_LIVE) {
    bugCheck(BAD_POOL_CALLER, 0x46, 0, 0, 0, 'NdisFreeBuffer: the descriptor belongs to a buffer pool already freed');
  }
  if (slot.packet !== null) noteFreedWhileChained(Buffer, slot);
  releaseMdlObject(Buffer, TAG_MDL, 'NDIS_BUFFER');
  pool.give(slot);
}

/**
 * Verifier: `m` is being freed and its slot says it was chained to a packet. The documentation allows freeing the
 * buffers still chained to a packet as the step before NdisFreePacket ("call NdisFreeBuffer as many times as
 * necessary to release all buffer descriptors chained to the packet"), so this is not reported now; the packet
 * is marked, and any later use of its chain other than NdisFreePacket or NdisReinitializePacket is (0xC4,
 * Ndis5Violation.PacketChainHoldsFreedBuffer), where Windows would walk freed memory.
 */
function noteFreedWhileChained(m: MDL, slot: NdisBufferSlot): void {
  const packet = slot.packet!;
  slot.packet = null;
  // A packet freed since (poisoned in full mode), reallocated or reinitialised no longer holds this buffer.
  if (!livePacketGeneration(packet, slot.generation)) return;
  const stop = packet.freedInChain;
  let index = 0;
  for (let b = packet.Private.Head; b !== null && index !== stop && index <= 0xffff; index++) {
    if (b === m) {
      packet.freedInChain = index;
      return;
    }
    // Past a freed buffer the links are not the packet's any more (a freed MDL's Next is cleared or trapped).
    if (!isLiveDescriptor(b)) return;
    b = b.Next;
  }
  // Not found before the first buffer already freed: it lies after it (the driver saved the links and is freeing
  // the whole chain), so the packet is marked already. Not found anywhere else: unlinked by hand, not chained.
}

/** Is `packet` still the same allocation it was when a buffer was chained to it (generation `generation`)? */
function livePacketGeneration(packet: ChainingPacket, generation: number): boolean {
  return !isPoisoned(packet) && packet.generation === generation;
}

/** NdisQueryBuffer: the descriptor's system address (if `VirtualAddress` is given) and its length. */
export function NdisQueryBuffer(
  Buffer: NDIS_BUFFER,
  VirtualAddress: { value: number } | null,
  Length: { value: number },
): void {
  if (VirtualAddress !== null) VirtualAddress.value = MmGetSystemAddressForMdlSafe(Buffer, NormalPagePriority);
  Length.value = Buffer.ByteCount;
}

/**
 * NdisQueryBufferSafe: as NdisQueryBuffer, mapping at `Priority`; VirtualAddress is NULL when the mapping
 * fails (every simulated page is resident, so it does not fail here).
 */
export function NdisQueryBufferSafe(
  Buffer: NDIS_BUFFER,
  VirtualAddress: { value: number } | null,
  Length: { value: number },
  Priority: number,
): void {
  if (VirtualAddress !== null) VirtualAddress.value = MmGetSystemAddressForMdlSafe(Buffer, Priority);
  Length.value = Buffer.ByteCount;
}

/** NdisQueryBufferOffset: the offset of the data within its first page, and the length. */
export function NdisQueryBufferOffset(Buffer: NDIS_BUFFER, Offset: { value: number }, Length: { value: number }): void {
  Offset.value = Buffer.ByteOffset;
  Length.value = Buffer.ByteCount;
}

/** NdisBufferLength: the number of bytes the descriptor maps. */
export function NdisBufferLength(Buffer: NDIS_BUFFER): number {
  return Buffer.ByteCount;
}

/** NdisBufferVirtualAddress: the system address of the mapped memory. */
export function NdisBufferVirtualAddress(Buffer: NDIS_BUFFER): number {
  return MmGetSystemAddressForMdlSafe(Buffer, NormalPagePriority);
}

/** NdisBufferVirtualAddressSafe: as NdisBufferVirtualAddress at `Priority` (NULL if the mapping fails). */
export function NdisBufferVirtualAddressSafe(Buffer: NDIS_BUFFER, Priority: number): number {
  return MmGetSystemAddressForMdlSafe(Buffer, Priority);
}

/** NdisGetNextBuffer: the descriptor after `CurrentBuffer` in its chain, or NULL. */
export function NdisGetNextBuffer(CurrentBuffer: NDIS_BUFFER, NextBuffer: { value: NDIS_BUFFER | null }): void {
  NextBuffer.value = CurrentBuffer.Next;
}

/**
 * NdisAdjustBufferLength: sets the number of bytes the descriptor maps. As documented, only a descriptor the
 * caller allocated with NdisAllocateBuffer or NdisCopyBuffer may be passed, and the length may not exceed the one
 * it was allocated with; under the verifier anything else is reported (0xC4, Ndis5Violation.NotABufferDescriptor
 * or AdjustBeyondAllocation). Any IRQL.
 */
export function NdisAdjustBufferLength(Buffer: NDIS_BUFFER, Length: number): void {
  if (verifierLevel >= VERIFIER_STANDARD) {
    if (Buffer.origin !== MdlOrigin.NdisBufferPool || !(Buffer.owner instanceof NdisBufferSlot)) {
      ndis5Violation(
        Ndis5Violation.NotABufferDescriptor,
        Buffer.origin,
        0,
        0,
        'NdisAdjustBufferLength: only a descriptor the caller allocated with NdisAllocateBuffer or NdisCopyBuffer may be adjusted',
      );
    }
    const limit = Buffer.owner.allocatedLength;
    if (!(Length >= 0 && Length <= limit)) {
      ndis5Violation(
        Ndis5Violation.AdjustBeyondAllocation,
        Length,
        limit,
        0,
        `NdisAdjustBufferLength(${Length}): larger than the ${limit} bytes the descriptor was allocated with`,
      );
    }
  }
  Buffer.ByteCount = Length >>> 0;
}

/** NDIS_BUFFER_TO_SPAN_PAGES: pages the buffer touches (1 for an empty buffer, as the macro says). */
export function NDIS_BUFFER_TO_SPAN_PAGES(Buffer: NDIS_BUFFER): number {
  return Buffer.ByteCount === 0
    ? 1
    : ADDRESS_AND_SIZE_TO_SPAN_PAGES(Buffer.StartVa + Buffer.ByteOffset, Buffer.ByteCount);
}

/** NdisGetBufferPhysicalArraySize: how many physical pages the buffer spans. */
export function NdisGetBufferPhysicalArraySize(Buffer: NDIS_BUFFER, ArraySize: { value: number }): void {
  ArraySize.value = NDIS_BUFFER_TO_SPAN_PAGES(Buffer);
}
