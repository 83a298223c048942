/**
 * The kernel pool: ExAllocatePoolWithTag, ExAllocatePool2, ExFreePool, ExFreePoolWithTag, with per-tag
 * accounting as poolmon shows it and the bug checks Windows raises for misuse.
 *
 * Layout. Small blocks (up to a page, header included) are carved from 64 KiB runs, one run per size class of
 * 16 bytes. Each small block starts with a 16-byte pool header in simulated memory, as on Windows:
 *
 *   +0 tag  +4 requested bytes  +8 (tag-table index << 12 | pool type)  +12 state word (allocated / free)
 *
 * Allocations too large for a small block are "big pool": page-aligned, with their header kept in per-page
 * tables (as Windows keeps big allocations in PoolBigPageTable). Free blocks go back on a per-class stack of
 * offsets, so allocate and free in steady state touch only typed arrays and plain arrays of small integers.
 *
 * The limit (`poolLimit`) caps the bytes in use so exhaustion is testable: past it an allocation returns NULL.
 *
 * Full verifier mode works like special pool: guard bytes after each allocation (checked at free), freed blocks
 * poisoned and held in a bounded quarantine (small and big blocks alike; the poison is checked when they leave
 * it), and ranges an allocator reserves inside its own blocks (reserveInBlock) kept off limits.
 */
import {
  ARENA_BASE,
  ARENA_END,
  ARENA_RESERVE,
  MEMORY_ALLOCATION_ALIGNMENT,
  memory,
  memory32,
  PAGE_COUNT,
  PAGE_SHIFT,
  PAGE_SIZE,
} from './arena.js';
import {
  BAD_POOL_CALLER,
  bugCheck,
  DdiRule,
  DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION,
} from './bugcheck.js';
import { APC_LEVEL, DISPATCH_LEVEL, KeGetCurrentIrql } from './irql.js';
import { KernelException, STATUS_INSUFFICIENT_RESOURCES } from './status.js';
import { tagToString } from './tags.js';
import { callSite, VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from './verifier.js';

// POOL_TYPE values (wdm.h).
export const NonPagedPool = 0;
export const NonPagedPoolExecute = 0;
export const PagedPool = 1;
export const NonPagedPoolMustSucceed = 2;
export const DontUseThisType = 3;
export const NonPagedPoolCacheAligned = 4;
export const PagedPoolCacheAligned = 5;
export const NonPagedPoolCacheAlignedMustS = 6;
export const NonPagedPoolBase = 0;
export const NonPagedPoolNx = 512;
export const NonPagedPoolNxCacheAligned = 516;
export const NonPagedPoolSessionNx = 544;
/** OR-ed into a POOL_TYPE: raise STATUS_INSUFFICIENT_RESOURCES instead of returning NULL. */
export const POOL_RAISE_IF_ALLOCATION_FAILURE = 16;
/** OR-ed into a POOL_TYPE: fail quietly under low resources (Verifier fault injection does not apply). */
export const POOL_QUOTA_FAIL_INSTEAD_OF_RAISE = 8;
/** High bit of a tag: protected pool, which must be freed with the same tag. */
export const PROTECTED_POOL = 0x80000000;

// POOL_FLAGS for ExAllocatePool2 (wdm.h). Numbers, or bigints for the upper optional flags.
export const POOL_FLAG_USE_QUOTA = 0x1;
export const POOL_FLAG_UNINITIALIZED = 0x2;
export const POOL_FLAG_SESSION = 0x4;
export const POOL_FLAG_CACHE_ALIGNED = 0x8;
export const POOL_FLAG_RAISE_ON_FAILURE = 0x20;
export const POOL_FLAG_NON_PAGED = 0x40;
export const POOL_FLAG_NON_PAGED_EXECUTE = 0x80;
export const POOL_FLAG_PAGED = 0x100;

const HEADER = 16;
const SMALL_MAX_BLOCK = PAGE_SIZE;
const RUN_BYTES = 16 * PAGE_SIZE;
const CLASS_COUNT = SMALL_MAX_BLOCK / 16 + 1;
const STATE_ALLOCATED = 0x414b4457; // "WDKA"
const STATE_FREE = 0x464b4457; // "WDKF"
const GUARD_BYTE = 0xab;
const FREED_FILL = 0xfd;
/** Four FREED_FILL bytes as one (signed) 32-bit word of memory32. */
const FREED_WORD = 0xfdfdfdfd | 0;
/** Full mode: freed small blocks held out of circulation, oldest released first. */
const QUARANTINE = 64;
/** Full mode: freed big blocks held out of circulation, at most this many blocks ... */
const BIG_QUARANTINE_BLOCKS = 64;
/** ... and at most this many pages (8 MiB) in all, so the quarantine's memory stays bounded. */
const BIG_QUARANTINE_PAGES = 2048;

/** One row of poolmon: what a tag has allocated and freed. */
export interface TagStats {
  /** The ULONG tag value ('fPCT' is 0x66504354). */
  readonly tag: number;
  /** The tag in memory order, as poolmon prints it ("TCPf"). */
  readonly name: string;
  /** "Nonp" or "Paged", as poolmon's Type column. */
  readonly type: 'Nonp' | 'Paged';
  allocs: number;
  frees: number;
  /** Bytes requested and not yet freed. */
  bytes: number;
}

/** An allocation that is still outstanding (for leak reports). */
export interface PoolAllocation {
  readonly address: number;
  readonly tag: number;
  readonly tagName: string;
  readonly size: number;
  readonly poolType: number;
  /** The driver's call site, recorded in full verifier mode. */
  readonly site: string | undefined;
  /**
   * Where the block's tag was first allocated (any verifier mode): the first frame outside wdknet, so for a
   * driver's own tag the driver's line, as `findstr` over the driver images finds a tag's owner on Windows.
   */
  readonly tagSite: string;
}

/** Low-resources simulation hook (the verifier's fault injection): return true to fail this allocation. */
export type FaultHook = (tag: number, size: number, ddi: string) => boolean;

// --- state -------------------------------------------------------------------------------------------------

/** Per page: 0 unused, > 0 the small block size of its run, -1 first page of a big block, -2 a later page. */
const pageKind = new Int32Array(PAGE_COUNT);
/** Per page: for small runs the run's byte offset; for big blocks the first page index. */
const pageAux = new Int32Array(PAGE_COUNT);
/** Big blocks, indexed by first page: tag, requested size, pages, (stat index << 12 | pool type), state. */
const bigTag = new Int32Array(PAGE_COUNT);
const bigSize = new Int32Array(PAGE_COUNT);
const bigPages = new Int32Array(PAGE_COUNT);
const bigInfo = new Int32Array(PAGE_COUNT);
const bigState = new Int32Array(PAGE_COUNT);

/** Free block offsets per small class (class = block size / 16). */
const smallFree: number[][] = Array.from({ length: CLASS_COUNT }, () => []);
/** Next uncarved offset and end of the current run, per class. */
const runNext = new Int32Array(CLASS_COUNT);
const runEnd = new Int32Array(CLASS_COUNT);
/** Free big blocks by page count. */
const bigFree = new Map<number, number[]>();
/** First never-carved byte offset. */
let bump = 0;
let bytesInUse = 0;
let limit = ARENA_RESERVE;
let faultHook: FaultHook | null = null;

const tagStats: TagStats[] = [];
const tagIndex = new Map<number, number>();
/** Per tag-stats index: where that tag was first allocated (one stack walk per tag, never per allocation). */
const tagFirstSites: string[] = [];
const sites = new Map<number, string>();
const quarantine: number[] = [];
/**
 * Full mode: ranges inside allocated blocks that hold a structure of the allocator's own rather than the caller's
 * bytes (NDIS keeps a NET_BUFFER's descriptor in the same block as its data), as [start, end) address pairs by the
 * block's address. See {@link reserveInBlock}.
 */
const reservedRanges = new Map<number, number[]>();
/** Full mode: first pages of freed big blocks not yet back on `bigFree`, oldest first. */
const bigQuarantine: number[] = [];
let bigQuarantinePages = 0;

// --- configuration -----------------------------------------------------------------------------------------

/** Resets the pool to empty: no allocations, no tags, memory zeroed. Part of resetSystem. */
export function resetPool(poolLimit = ARENA_RESERVE): void {
  memory.fill(0, 0, bump);
  pageKind.fill(0, 0, bump >>> PAGE_SHIFT);
  pageAux.fill(0, 0, bump >>> PAGE_SHIFT);
  for (const list of smallFree) list.length = 0;
  runNext.fill(0);
  runEnd.fill(0);
  bigFree.clear();
  bump = 0;
  bytesInUse = 0;
  limit = Math.min(poolLimit, ARENA_RESERVE);
  tagStats.length = 0;
  tagFirstSites.length = 0;
  tagIndex.clear();
  lastKey = -1;
  sites.clear();
  quarantine.length = 0;
  reservedRanges.clear();
  bigQuarantine.length = 0;
  bigQuarantinePages = 0;
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/**
 * Low-resources simulation for allocators that serve most calls from a cache of their own (NDIS lookaside
 * lists) rather than from the pool: true when the fault hook fails this call, so the DDI returns its failure.
 */
export const injectAllocationFault = (tag: number, size: number, ddi: string): boolean => {
  return faultHook?.(tag, size, ddi) === true;
};

/** Sets the low-resources hook (null to clear). */
export function setPoolFaultHook(hook: FaultHook | null): void {
  faultHook = hook;
}

/** Bytes the pool may hand out in all. */
export function poolLimit(): number {
  return limit;
}

/** Bytes in use now (block sizes, headers included). */
export function poolBytesInUse(): number {
  return bytesInUse;
}

// --- accounting --------------------------------------------------------------------------------------------

let lastKey = -1;
let lastIndex = 0;

function statIndexFor(tag: number, paged: boolean): number {
  const key = paged ? tag + 0x1_0000_0000 : tag;
  if (key === lastKey) return lastIndex;
  let index = tagIndex.get(key);
  if (index === undefined) {
    index = tagStats.length;
    tagStats.push({ tag, name: tagToString(tag), type: paged ? 'Paged' : 'Nonp', allocs: 0, frees: 0, bytes: 0 });
    tagFirstSites.push(callSite());
    tagIndex.set(key, index);
  }
  lastKey = key;
  lastIndex = index;
  return index;
}

/**
 * Charges `bytes` to `tag` for a structure that lives outside simulated memory (MDLs, NDIS descriptors: their
 * fields are JavaScript objects, but Windows allocates them from pool, so poolmon and the limit must see them).
 * Returns false when the pool is exhausted or a fault is injected: the caller then fails as Windows would.
 */
export function poolCharge(tag: number, bytes: number, ddi: string): boolean {
  if (bytesInUse + bytes > limit) return false;
  if (faultHook?.(tag, bytes, ddi)) return false;
  bytesInUse += bytes;
  const s = tagStats[statIndexFor(tag, false)]!;
  s.allocs++;
  s.bytes += bytes;
  return true;
}

/** Releases a charge made by {@link poolCharge}. */
export function poolRelease(tag: number, bytes: number): void {
  bytesInUse -= bytes;
  const s = tagStats[statIndexFor(tag, false)]!;
  s.frees++;
  s.bytes -= bytes;
}

/** poolmon: one row per tag that has ever allocated, in the order tags first appeared. */
export function poolmon(): readonly TagStats[] {
  return tagStats;
}

/** The row for one tag (nonpaged), or undefined when it never allocated. */
export function poolTagStats(tag: number): TagStats | undefined {
  const i = tagIndex.get(tag);
  return i === undefined ? undefined : tagStats[i];
}

// --- allocation --------------------------------------------------------------------------------------------

function isPaged(poolType: number): boolean {
  return (poolType & 1) === 1;
}

function fail(poolType: number, ddi: string, size: number, tag: number): number {
  if ((poolType & POOL_RAISE_IF_ALLOCATION_FAILURE) !== 0) {
    throw new KernelException(
      STATUS_INSUFFICIENT_RESOURCES,
      `${ddi}(${size} bytes, tag '${tagToString(tag)}') could not be satisfied and POOL_RAISE_IF_ALLOCATION_FAILURE was set`,
    );
  }
  return 0;
}

function checkTag(tag: number, poolType: number, size: number): void {
  if (tag === 0) {
    bugCheck(BAD_POOL_CALLER, 0x9b, poolType, size, 0, 'pool allocated with a tag of zero, which cannot be tracked');
  }
  if ((tag & 0x7fffffff) === 0x424947) {
    bugCheck(BAD_POOL_CALLER, 0x9c, poolType, size, 0, "pool allocated with the reserved tag 'BIG'");
  }
  if (verifierLevel >= VERIFIER_STANDARD && tag !== lastKey && !tagIndex.has(tag) && !hasLetterOrDigit(tag)) {
    bugCheck(BAD_POOL_CALLER, 0x9d, tag, poolType, 0, `pool tag 0x${(tag >>> 0).toString(16)} has no letter or digit`);
  }
}

function hasLetterOrDigit(tag: number): boolean {
  for (let shift = 0; shift < 32; shift += 8) {
    const c = (tag >>> shift) & 0x7f;
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  }
  return false;
}

/**
 * The allocator behind every pool DDI. Returns an address, or 0 when the request cannot be met. `poolType` is
 * the POOL_TYPE without the raise flag.
 */
function allocate(poolType: number, size: number, tag: number, ddi: string): number {
  const irql = KeGetCurrentIrql();
  const paged = isPaged(poolType);
  if (irql > DISPATCH_LEVEL || (paged && irql > APC_LEVEL)) {
    if (verifierLevel >= VERIFIER_STANDARD) {
      bugCheck(
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        DdiRule.IrqlExAllocatePool,
        irql,
        poolType,
        size,
        `${ddi} called at IRQL ${irql}: ${paged ? 'paged pool needs IRQL <= APC_LEVEL' : 'IRQL must be <= DISPATCH_LEVEL'}`,
      );
    }
    bugCheck(BAD_POOL_CALLER, 0x08, irql, poolType, size, `${ddi} called at invalid IRQL ${irql}`);
  }
  if ((poolType & ~POOL_RAISE_IF_ALLOCATION_FAILURE) === NonPagedPoolMustSucceed) {
    bugCheck(BAD_POOL_CALLER, 0x9a, poolType, size, tag, 'NonPagedPoolMustSucceed is no longer supported');
  }
  checkTag(tag, poolType, size);
  if (size === 0 && verifierLevel >= VERIFIER_STANDARD) {
    bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x00, irql, poolType, 0, `${ddi} asked for zero bytes`);
  }
  if (!(size >= 0) || size > limit) return 0;
  if (faultHook?.(tag, size, ddi)) return 0;
  const guard = verifierLevel >= VERIFIER_FULL ? MEMORY_ALLOCATION_ALIGNMENT : 0;
  const stat = statIndexFor(tag, paged);
  const blockSize = (HEADER + size + guard + 15) & ~15;
  let address: number;
  let capacity: number;
  if (blockSize <= SMALL_MAX_BLOCK) {
    capacity = blockSize - HEADER;
    if (bytesInUse + blockSize > limit) return 0;
    const off = takeSmall(blockSize >>> 4, blockSize);
    if (off < 0) return 0;
    const w = off >>> 2;
    memory32[w] = tag;
    memory32[w + 1] = size;
    memory32[w + 2] = (stat << 12) | (poolType & 0xfff);
    memory32[w + 3] = STATE_ALLOCATED;
    bytesInUse += blockSize;
    address = ARENA_BASE + off + HEADER;
  } else {
    const pages = Math.ceil((size + guard) / PAGE_SIZE);
    if (bytesInUse + pages * PAGE_SIZE > limit) return 0;
    const first = takeBig(pages);
    if (first < 0) return 0;
    capacity = pages * PAGE_SIZE;
    bigTag[first] = tag;
    bigSize[first] = size;
    bigPages[first] = pages;
    bigInfo[first] = (stat << 12) | (poolType & 0xfff);
    bigState[first] = STATE_ALLOCATED;
    bytesInUse += pages * PAGE_SIZE;
    address = ARENA_BASE + first * PAGE_SIZE;
  }
  const s = tagStats[stat]!;
  s.allocs++;
  s.bytes += size;
  if (verifierLevel >= VERIFIER_FULL) {
    const off = address - ARENA_BASE;
    memory.fill(GUARD_BYTE, off + size, off + capacity);
    sites.set(address, callSite());
  }
  return address;
}

function takeSmall(cls: number, blockSize: number): number {
  const free = smallFree[cls]!;
  if (free.length > 0) return free.pop()!;
  if (runNext[cls]! + blockSize > runEnd[cls]!) {
    if (bump + RUN_BYTES > ARENA_RESERVE) return drainQuarantine() ? takeSmall(cls, blockSize) : -1;
    const start = bump;
    bump += RUN_BYTES;
    for (let p = start >>> PAGE_SHIFT; p < bump >>> PAGE_SHIFT; p++) {
      pageKind[p] = blockSize;
      pageAux[p] = start;
    }
    runNext[cls] = start;
    runEnd[cls] = start + RUN_BYTES - (RUN_BYTES % blockSize);
  }
  const off = runNext[cls]!;
  runNext[cls] = off + blockSize;
  return off;
}

function takeBig(pages: number): number {
  const free = bigFree.get(pages);
  if (free !== undefined && free.length > 0) return free.pop()!;
  if (bump + pages * PAGE_SIZE > ARENA_RESERVE) return drainQuarantine() ? takeBig(pages) : -1;
  const first = bump >>> PAGE_SHIFT;
  bump += pages * PAGE_SIZE;
  pageKind[first] = -1;
  pageAux[first] = first;
  for (let p = first + 1; p < first + pages; p++) {
    pageKind[p] = -2;
    pageAux[p] = first;
  }
  return first;
}

// --- the DDIs ----------------------------------------------------------------------------------------------

/**
 * ExAllocatePoolWithTag: allocates `NumberOfBytes` of pool of `PoolType`, marked with `Tag`. Returns the
 * address, or NULL (0) when the pool cannot satisfy it; with POOL_RAISE_IF_ALLOCATION_FAILURE in PoolType it
 * raises STATUS_INSUFFICIENT_RESOURCES instead. The memory is not zeroed. IRQL <= DISPATCH_LEVEL (paged pool:
 * <= APC_LEVEL). A tag of zero is a bug check (BAD_POOL_CALLER 0x9B).
 */
export function ExAllocatePoolWithTag(PoolType: number, NumberOfBytes: number, Tag: number): number {
  const address = allocate(
    PoolType & ~POOL_RAISE_IF_ALLOCATION_FAILURE,
    NumberOfBytes,
    Tag >>> 0,
    'ExAllocatePoolWithTag',
  );
  return address !== 0 ? address : fail(PoolType, 'ExAllocatePoolWithTag', NumberOfBytes, Tag);
}

/** ExAllocatePool (deprecated): as ExAllocatePoolWithTag with the tag ' enoN' ("None"), as Windows does. */
export function ExAllocatePool(PoolType: number, NumberOfBytes: number): number {
  return ExAllocatePoolWithTag(PoolType, NumberOfBytes, 0x656e6f4e);
}

/** ExAllocatePoolZero: ExAllocatePoolWithTag, then zeroed. */
export function ExAllocatePoolZero(PoolType: number, NumberOfBytes: number, Tag: number): number {
  const address = ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
  if (address !== 0) memory.fill(0, address - ARENA_BASE, address - ARENA_BASE + NumberOfBytes);
  return address;
}

/**
 * ExAllocatePool2: POOL_FLAGS select the pool (exactly one of NON_PAGED, NON_PAGED_EXECUTE, PAGED); the memory
 * is zeroed unless POOL_FLAG_UNINITIALIZED; POOL_FLAG_RAISE_ON_FAILURE raises instead of returning NULL.
 * Invalid flag combinations return NULL (the documented failure value).
 */
export function ExAllocatePool2(Flags: number | bigint, NumberOfBytes: number, Tag: number): number {
  const flags = typeof Flags === 'bigint' ? Number(Flags & 0xffffffffn) : Flags;
  const kinds =
    (flags & POOL_FLAG_NON_PAGED ? 1 : 0) +
    (flags & POOL_FLAG_NON_PAGED_EXECUTE ? 1 : 0) +
    (flags & POOL_FLAG_PAGED ? 1 : 0);
  const raise = (flags & POOL_FLAG_RAISE_ON_FAILURE) !== 0;
  if (kinds !== 1) {
    if (raise) throw new KernelException(STATUS_INSUFFICIENT_RESOURCES, 'ExAllocatePool2: invalid POOL_FLAGS');
    return 0;
  }
  const poolType = flags & POOL_FLAG_PAGED ? PagedPool : flags & POOL_FLAG_NON_PAGED ? NonPagedPoolNx : NonPagedPool;
  const address = allocate(poolType, NumberOfBytes, Tag >>> 0, 'ExAllocatePool2');
  if (address === 0) return fail(raise ? POOL_RAISE_IF_ALLOCATION_FAILURE : 0, 'ExAllocatePool2', NumberOfBytes, Tag);
  if ((flags & POOL_FLAG_UNINITIALIZED) === 0) {
    memory.fill(0, address - ARENA_BASE, address - ARENA_BASE + NumberOfBytes);
  }
  return address;
}

/** ExFreePool: frees pool allocated by any ExAllocatePool* routine. */
export function ExFreePool(P: number): void {
  release(P, -1, 'ExFreePool');
}

/** ExFreePoolWithTag: frees pool, bug-checking (BAD_POOL_CALLER 0x0A) if `Tag` is not the allocation's tag. */
export function ExFreePoolWithTag(P: number, Tag: number): void {
  release(P, Tag >>> 0, 'ExFreePoolWithTag');
}

/** ExFreePool2 (Windows 10 2004+): as ExFreePoolWithTag; the extended parameters are not used here. */
export function ExFreePool2(P: number, Tag: number): void {
  release(P, Tag >>> 0, 'ExFreePool2');
}

function release(address: number, tag: number, ddi: string): void {
  const irql = KeGetCurrentIrql();
  if (irql > DISPATCH_LEVEL) {
    if (verifierLevel >= VERIFIER_STANDARD) {
      bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, DdiRule.IrqlExFree, irql, 0, address, `${ddi} at IRQL ${irql}`);
    }
    bugCheck(BAD_POOL_CALLER, 0x09, irql, 0, address, `${ddi} called at invalid IRQL ${irql}`);
  }
  if (!(address >= ARENA_BASE && address < ARENA_BASE + bump)) {
    bugCheck(
      BAD_POOL_CALLER,
      0x42,
      address,
      0,
      0,
      `${ddi}(0x${address.toString(16)}): that address was never in any pool`,
    );
  }
  const off = address - ARENA_BASE;
  const page = off >>> PAGE_SHIFT;
  const kind = pageKind[page]!;
  if (kind > 0) {
    const run = pageAux[page]!;
    const block = off - HEADER;
    if ((block - run) % kind !== 0) {
      bugCheck(
        BAD_POOL_CALLER,
        0x46,
        address,
        0,
        0,
        `${ddi}(0x${address.toString(16)}): not the start of a pool block`,
      );
    }
    const w = block >>> 2;
    const state = memory32[w + 3]!;
    if (state === STATE_FREE) {
      bugCheck(
        BAD_POOL_CALLER,
        0x07,
        0,
        memory32[w]! >>> 0,
        address,
        `${ddi}(0x${address.toString(16)}): already freed`,
      );
    }
    if (state !== STATE_ALLOCATED) {
      bugCheck(
        BAD_POOL_CALLER,
        0x99,
        address,
        0,
        0,
        `${ddi}(0x${address.toString(16)}): invalid address or pool header corrupted`,
      );
    }
    const allocTag = memory32[w]! >>> 0;
    checkFreeTag(address, allocTag, tag, ddi);
    const size = memory32[w + 1]!;
    const stat = memory32[w + 2]! >>> 12;
    if (verifierLevel >= VERIFIER_FULL) checkGuard(address, size, kind - HEADER - size);
    memory32[w + 3] = STATE_FREE;
    bytesInUse -= kind;
    const s = tagStats[stat]!;
    s.frees++;
    s.bytes -= size;
    if (verifierLevel >= VERIFIER_FULL) {
      sites.delete(address);
      checkReserved(address);
      memory.fill(FREED_FILL, off, off + kind - HEADER);
      quarantineBlock(block);
    } else {
      smallFree[kind >>> 4]!.push(block);
    }
    return;
  }
  if (kind === -1 && off % PAGE_SIZE === 0) {
    if (bigState[page] === STATE_FREE) {
      bugCheck(
        BAD_POOL_CALLER,
        0x07,
        0,
        bigTag[page]! >>> 0,
        address,
        `${ddi}(0x${address.toString(16)}): already freed`,
      );
    }
    const allocTag = bigTag[page]! >>> 0;
    checkFreeTag(address, allocTag, tag, ddi);
    const size = bigSize[page]!;
    const pages = bigPages[page]!;
    if (verifierLevel >= VERIFIER_FULL) checkGuard(address, size, pages * PAGE_SIZE - size);
    bigState[page] = STATE_FREE;
    bytesInUse -= pages * PAGE_SIZE;
    const s = tagStats[bigInfo[page]! >>> 12]!;
    s.frees++;
    s.bytes -= size;
    if (verifierLevel >= VERIFIER_FULL) {
      sites.delete(address);
      checkReserved(address);
      memory.fill(FREED_FILL, off, off + pages * PAGE_SIZE);
      quarantineBig(page, pages);
    } else {
      freeBig(page, pages);
    }
    return;
  }
  bugCheck(BAD_POOL_CALLER, 0x46, address, 0, 0, `${ddi}(0x${address.toString(16)}): not an allocated pool address`);
}

function checkFreeTag(address: number, allocTag: number, tag: number, ddi: string): void {
  if (tag === -1) {
    if ((allocTag & PROTECTED_POOL) !== 0) {
      bugCheck(BAD_POOL_CALLER, 0x0a, address, allocTag, 0, `${ddi}: protected pool must be freed with its tag`);
    }
    return;
  }
  if (((allocTag ^ tag) & 0x7fffffff) !== 0 || (allocTag & PROTECTED_POOL) !== (tag & PROTECTED_POOL)) {
    bugCheck(
      BAD_POOL_CALLER,
      0x0a,
      address,
      allocTag,
      tag,
      `${ddi}(0x${address.toString(16)}) with tag '${tagToString(tag)}', but it was allocated with '${tagToString(allocTag)}'`,
    );
  }
}

/** Full mode: every byte between the end of the request and the end of the block must still be a guard byte. */
function checkGuard(address: number, size: number, guardBytes: number): void {
  const off = address - ARENA_BASE;
  for (let i = 0; i < guardBytes; i++) {
    if (memory[off + size + i] !== GUARD_BYTE) {
      bugCheck(
        SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION,
        address,
        address + size + i,
        0,
        0x24,
        `the driver wrote past the end of its ${size}-byte pool allocation at 0x${address.toString(16)} (byte ${size + i})`,
      );
    }
  }
}

/**
 * Full mode: marks `[address, address + length)`, inside an allocated block, as a structure that the block's
 * allocator keeps next to the caller's bytes (NDIS puts a NET_BUFFER's descriptor in front of its built-in data,
 * a NET_BUFFER_LIST's in front of its context and NET_BUFFER). Special pool cannot separate them - they are one
 * allocation - so an overrun from the data into the descriptor would go unseen; here the range is filled with
 * guard bytes, a `bytesAt` or Rtl* access that touches it is DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, and a
 * write that went around the checks is SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION (0x23) when the block is freed.
 * Does nothing outside full mode or outside an allocated block. The mark goes with the block.
 */
export function reserveInBlock(address: number, length: number): void {
  if (verifierLevel < VERIFIER_FULL || !(length > 0)) return;
  const record = findPoolBlock(address);
  if (record === undefined || !record.allocated || address + length > record.base + record.size) return;
  let list = reservedRanges.get(record.base);
  if (list === undefined) reservedRanges.set(record.base, (list = []));
  list.push(address, address + length);
  memory.fill(GUARD_BYTE, address - ARENA_BASE, address - ARENA_BASE + length);
}

/**
 * Full mode: the first byte of a range marked by {@link reserveInBlock} in the block at `base` that
 * `[address, address + length)` touches, or 0 when it touches none.
 */
export function reservedByteIn(base: number, address: number, length: number): number {
  const list = reservedRanges.get(base);
  if (list === undefined) return 0;
  for (let i = 0; i < list.length; i += 2) {
    if (address < list[i + 1]! && address + length > list[i]!) return Math.max(list[i]!, address);
  }
  return 0;
}

/** At free (full mode): every reserved range of the block must still hold its guard bytes. */
function checkReserved(address: number): void {
  const list = reservedRanges.get(address);
  if (list === undefined) return;
  reservedRanges.delete(address);
  for (let i = 0; i < list.length; i += 2) {
    for (let a = list[i]!; a < list[i + 1]!; a++) {
      if (memory[a - ARENA_BASE] !== GUARD_BYTE) {
        bugCheck(
          SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION,
          address,
          a,
          0,
          0x23,
          `the pool block at 0x${address.toString(16)} was freed, but byte 0x${a.toString(16)} of the descriptor kept in it (not the driver's data) was overwritten`,
        );
      }
    }
  }
}

/** Full mode keeps freed small blocks out of circulation for a while so a use after free finds poison. */
function quarantineBlock(block: number): void {
  quarantine.push(block);
  if (quarantine.length > QUARANTINE) releaseSmall(quarantine.shift()!);
}

/** A small block leaves quarantine: its poison is checked, then it can be allocated again. */
function releaseSmall(block: number): void {
  const kind = pageKind[block >>> PAGE_SHIFT]!;
  checkPoison(block + HEADER, kind - HEADER);
  smallFree[kind >>> 4]!.push(block);
}

/**
 * Full mode: a block leaving quarantine must still hold the poison it was filled with when freed. A changed byte
 * was written after the free through a view made before it (`bytesAt` checks the block when the view is made,
 * not on each later write through it): special pool would have faulted at that write, so it is reported as the
 * same DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL (P1 the byte, P2 1 = write), only found later (decided here).
 */
function checkPoison(off: number, length: number): void {
  // Blocks are 16-byte aligned and a multiple of 16 long: compare words, and find the byte only on a mismatch.
  for (let w = off >>> 2, end = (off + length) >>> 2; w < end; w++) {
    if (memory32[w] === FREED_WORD) continue;
    let i = w << 2;
    while (memory[i] === FREED_FILL) i++;
    bugCheck(
      DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
      ARENA_BASE + i,
      1,
      0,
      0,
      `use after free: byte 0x${(ARENA_BASE + i).toString(16)} of the ${length}-byte pool block at 0x${(ARENA_BASE + off).toString(16)} was written after the block was freed (found when it left quarantine: a view from bytesAt kept past ExFreePool?)`,
    );
  }
}

/** Puts a freed big block (its first page and page count) back where the allocator can take it again. */
function freeBig(first: number, pages: number): void {
  let list = bigFree.get(pages);
  if (list === undefined) bigFree.set(pages, (list = []));
  list.push(first);
}

/**
 * Full mode keeps freed big blocks out of circulation too, like special pool's no-access freed pages, so a use
 * after free still lands on a freed block (DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL) instead of on whatever was
 * allocated there next. Bounded: at most BIG_QUARANTINE_BLOCKS blocks and BIG_QUARANTINE_PAGES pages are held;
 * past either the oldest goes back to the free lists (decided here: Windows' special pool also recycles its
 * oldest freed pages when it must).
 */
function quarantineBig(first: number, pages: number): void {
  bigQuarantine.push(first);
  bigQuarantinePages += pages;
  while (
    bigQuarantine.length > 1 &&
    (bigQuarantine.length > BIG_QUARANTINE_BLOCKS || bigQuarantinePages > BIG_QUARANTINE_PAGES)
  ) {
    releaseOldestBig();
  }
}

function releaseOldestBig(): void {
  const old = bigQuarantine.shift()!;
  const pages = bigPages[old]!;
  bigQuarantinePages -= pages;
  checkPoison(old * PAGE_SIZE, pages * PAGE_SIZE);
  freeBig(old, pages);
}

/**
 * The arena is out of uncarved space: give every quarantined block back so the allocation can still be met (a
 * quarantine must never make an allocation fail that would succeed without it). True when anything was freed.
 */
function drainQuarantine(): boolean {
  if (quarantine.length === 0 && bigQuarantine.length === 0) return false;
  while (bigQuarantine.length > 0) releaseOldestBig();
  while (quarantine.length > 0) releaseSmall(quarantine.shift()!);
  return true;
}

/** Full mode: how many freed blocks (small, big) and big-block pages the quarantine holds now. */
export function poolQuarantine(): { small: number; big: number; bigPages: number } {
  return { small: quarantine.length, big: bigQuarantine.length, bigPages: bigQuarantinePages };
}

// --- queries -----------------------------------------------------------------------------------------------

/** What the pool knows about the block holding `address`. */
export interface BlockInfo {
  /** The block's user address. */
  readonly base: number;
  readonly size: number;
  readonly tag: number;
  readonly poolType: number;
  readonly allocated: boolean;
}

/**
 * Finds the pool block that contains `address` (allocated or freed), or undefined if the address is not in a
 * carved part of the pool. Used by NdisAllocateBuffer (the range must lie in allocated nonpaged memory) and by
 * the full verifier's bounds checks.
 */
export function findPoolBlock(address: number): BlockInfo | undefined {
  const out = new PoolBlockRecord();
  return findPoolBlockInto(address, out) ? out : undefined;
}

/** A reusable record that {@link findPoolBlockInto} fills (hot paths keep one instead of allocating per query). */
export class PoolBlockRecord implements BlockInfo {
  base = 0;
  size = 0;
  tag = 0;
  poolType = 0;
  allocated = false;
}

/**
 * findPoolBlock without allocating: fills `out` and returns true when `address` is in a carved pool block
 * (allocated or freed), false otherwise (then `out` is unchanged). For hot paths such as NdisAllocateBuffer's
 * range check.
 */
export function findPoolBlockInto(address: number, out: PoolBlockRecord): boolean {
  if (!(address >= ARENA_BASE && address < ARENA_BASE + bump)) return false;
  const off = address - ARENA_BASE;
  const page = off >>> PAGE_SHIFT;
  const kind = pageKind[page]!;
  if (kind > 0) {
    const run = pageAux[page]!;
    const block = run + Math.floor((off - run) / kind) * kind;
    if (off < block + HEADER) return false;
    const w = block >>> 2;
    const state = memory32[w + 3]!;
    if (state !== STATE_ALLOCATED && state !== STATE_FREE) return false;
    out.base = ARENA_BASE + block + HEADER;
    out.size = memory32[w + 1]!;
    out.tag = memory32[w]! >>> 0;
    out.poolType = memory32[w + 2]! & 0xfff;
    out.allocated = state === STATE_ALLOCATED;
    return true;
  }
  if (kind < 0) {
    const first = pageAux[page]!;
    out.base = ARENA_BASE + first * PAGE_SIZE;
    out.size = bigSize[first]!;
    out.tag = bigTag[first]! >>> 0;
    out.poolType = bigInfo[first]! & 0xfff;
    out.allocated = bigState[first] === STATE_ALLOCATED;
    return true;
  }
  return false;
}

/** Every allocation still outstanding, with its tag, size and (full mode) call site. */
export function outstandingAllocations(): PoolAllocation[] {
  const out: PoolAllocation[] = [];
  const pages = bump >>> PAGE_SHIFT;
  for (let p = 0; p < pages; p++) {
    const kind = pageKind[p]!;
    if (kind > 0 && pageAux[p] === p << PAGE_SHIFT) {
      for (let block = p << PAGE_SHIFT; block + kind <= (p << PAGE_SHIFT) + RUN_BYTES; block += kind) {
        const w = block >>> 2;
        if (memory32[w + 3] !== STATE_ALLOCATED) continue;
        const address = ARENA_BASE + block + HEADER;
        const tag = memory32[w]! >>> 0;
        out.push({
          address,
          tag,
          tagName: tagToString(tag),
          size: memory32[w + 1]!,
          poolType: memory32[w + 2]! & 0xfff,
          site: sites.get(address),
          tagSite: tagFirstSites[memory32[w + 2]! >>> 12] ?? 'unknown',
        });
      }
    } else if (kind === -1 && bigState[p] === STATE_ALLOCATED) {
      const address = ARENA_BASE + p * PAGE_SIZE;
      const tag = bigTag[p]! >>> 0;
      out.push({
        address,
        tag,
        tagName: tagToString(tag),
        size: bigSize[p]!,
        poolType: bigInfo[p]! & 0xfff,
        site: sites.get(address),
        tagSite: tagFirstSites[bigInfo[p]! >>> 12] ?? 'unknown',
      });
    }
  }
  return out;
}

/** Is the address range inside the arena's carved part? (Cheap check for bytesAt.) */
export function inCarvedPool(address: number, length: number): boolean {
  return address >= ARENA_BASE && address + length <= ARENA_BASE + bump && address + length <= ARENA_END;
}
