/**
 * NET_BUFFER_LIST pools and NET_BUFFER_LISTs: NdisAllocateNetBufferListPool, NdisAllocateNetBufferList,
 * NdisAllocateNetBufferAndNetBufferList, NdisFreeNetBufferList, NdisFreeNetBufferListPool. IRQL <=
 * DISPATCH_LEVEL (Irql_NetBuffer_Function).
 *
 * A pool made with fAllocateNetBuffer preallocates one NET_BUFFER with each NET_BUFFER_LIST; with DataSize it
 * also preallocates the MDL and data. A pool made with ContextSize preallocates that much
 * NET_BUFFER_LIST_CONTEXT data. All of it sits in the list's pool block and is freed only with the list.
 */
import type { MDL } from '../kernel/mdl.js';
import { poisonFreed } from '../kernel/poison.js';
import { ExAllocatePoolWithTag, ExFreePool, injectAllocationFault, NonPagedPoolNx } from '../kernel/pool.js';
import { callSite, VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { checkDataInChain, seekCursor } from './chain.js';
import { allocateContext, freeContextChain } from './context.js';
import { NetBufferListProtocolId } from './info.js';
import { guardNetBufferListDescriptors } from './nb-checks.js';
import { attachBuiltInData, buildDataMdl, destroyNb, releaseNb, resetNb } from './netBuffer.js';
import {
  allocatePoolHeader,
  CACHE_REFILL,
  isAllocationAligned,
  NetBufferListPool,
  PoolKind,
  registerPool,
  unregisterPool,
} from './pools.js';
import {
  DescriptorState,
  NblKind,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2,
  NET_BUFFER,
  NET_BUFFER_LIST,
  NET_BUFFER_LIST_CONTEXT,
  type NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  SIZEOF_NET_BUFFER,
  SIZEOF_NET_BUFFER_LIST,
  SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER,
} from './structures.js';
import { leakedNbl, Ndis6Violation, ndisViolation, requireNetBufferIrql } from './violations.js';

const MAX_DATA_SIZE = 0x7fff_f000;

/**
 * NdisAllocateNetBufferListPool: a pool of NET_BUFFER_LISTs. Returns NULL for a bad header (Type
 * NDIS_OBJECT_TYPE_DEFAULT; Revision 1 with Size >= 16, or Revision 2 with Size >= 20), a ContextSize that is
 * not a multiple of MEMORY_ALLOCATION_ALIGNMENT, a DataSize without fAllocateNetBuffer, or no memory.
 */
export function NdisAllocateNetBufferListPool(
  NdisHandle: unknown,
  Parameters: NET_BUFFER_LIST_POOL_PARAMETERS,
): NetBufferListPool | null {
  void NdisHandle;
  requireNetBufferIrql('NdisAllocateNetBufferListPool');
  const h = Parameters?.Header;
  if (
    h === undefined ||
    h.Type !== NDIS_OBJECT_TYPE_DEFAULT ||
    h.Revision < NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1
  ) {
    return null;
  }
  const needed =
    h.Revision === NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1
      ? NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1
      : NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2;
  if (h.Size < needed) return null;
  const contextSize = Parameters.ContextSize;
  if (!isAllocationAligned(contextSize) || contextSize > 0xffff) return null;
  const dataSize = Parameters.DataSize >>> 0;
  const fAllocateNetBuffer = Boolean(Parameters.fAllocateNetBuffer);
  // "If DataSize is not zero, fAllocateNetBuffer must be set to TRUE."
  if (dataSize > MAX_DATA_SIZE || (dataSize !== 0 && !fAllocateNetBuffer)) return null;
  const tag = Parameters.PoolTag >>> 0;
  const address = allocatePoolHeader(tag);
  if (address === 0) return null;
  const pool = new NetBufferListPool(
    tag,
    dataSize,
    address,
    verifierLevel >= VERIFIER_FULL ? callSite() : undefined,
    Parameters.ProtocolId & 0xff,
    fAllocateNetBuffer,
    contextSize,
  );
  registerPool(pool);
  return pool;
}

/**
 * NdisFreeNetBufferListPool: frees the pool and its cached lists. NET_BUFFER_LISTs still outstanding are a leak
 * that NDIS's NBL tracker reports: BUGCODE_NDIS_DRIVER (0x7C) / NDIS_BUGCHECK_LEAKED_NBL (0x27).
 */
export function NdisFreeNetBufferListPool(PoolHandle: NetBufferListPool): void {
  requireNetBufferIrql('NdisFreeNetBufferListPool');
  const pool = checkNblPool(PoolHandle, 'NdisFreeNetBufferListPool');
  if (pool.outstanding > 0) {
    leakedNbl(
      `NdisFreeNetBufferListPool: ${pool.outstanding} NET_BUFFER_LIST(s) from pool '${pool.tagName}' are still allocated`,
    );
  }
  for (const nbl of pool.free) destroyNbl(nbl, pool);
  pool.clearFree();
  unregisterPool(pool);
}

/**
 * NdisAllocateNetBufferList: a NET_BUFFER_LIST with `ContextSize` bytes of used context and `ContextBackFill`
 * bytes more if context memory must be allocated (both multiples of MEMORY_ALLOCATION_ALIGNMENT, else NULL).
 * From an fAllocateNetBuffer pool the list comes with its NET_BUFFER (and MDL and data with DataSize).
 */
export function NdisAllocateNetBufferList(
  PoolHandle: NetBufferListPool,
  ContextSize: number,
  ContextBackFill: number,
): NET_BUFFER_LIST | null {
  requireNetBufferIrql('NdisAllocateNetBufferList');
  const pool = checkNblPool(PoolHandle, 'NdisAllocateNetBufferList');
  const nbl = takeNbl(pool, ContextSize, ContextBackFill, NblKind.Plain, 'NdisAllocateNetBufferList');
  if (nbl === null) return null;
  const nb = nbl.preNb;
  if (nb !== null) {
    resetNb(nb, pool);
    if (pool.DataSize !== 0) attachBuiltInData(nb, pool.DataSize);
    nbl.FirstNetBuffer = nb;
  }
  return nbl;
}

/**
 * NdisAllocateNetBufferAndNetBufferList: a NET_BUFFER_LIST with its preallocated NET_BUFFER describing
 * `DataLength` bytes at `DataOffset` in `MdlChain` (which may be NULL). Only for pools with fAllocateNetBuffer
 * TRUE and DataSize zero; from any other pool it returns NULL (decided).
 */
export function NdisAllocateNetBufferAndNetBufferList(
  PoolHandle: NetBufferListPool,
  ContextSize: number,
  ContextBackFill: number,
  MdlChain: MDL | null,
  DataOffset: number,
  DataLength: number,
): NET_BUFFER_LIST | null {
  requireNetBufferIrql('NdisAllocateNetBufferAndNetBufferList');
  const pool = checkNblPool(PoolHandle, 'NdisAllocateNetBufferAndNetBufferList');
  if (!pool.fAllocateNetBuffer || pool.DataSize !== 0) return null;
  const nbl = takeNbl(pool, ContextSize, ContextBackFill, NblKind.Plain, 'NdisAllocateNetBufferAndNetBufferList');
  if (nbl === null) return null;
  const nb = nbl.preNb!;
  resetNb(nb, pool);
  nb.MdlChain = MdlChain;
  nb.DataOffset = DataOffset >>> 0;
  nb.DataLength = DataLength >>> 0;
  seekCursor(nb);
  nbl.FirstNetBuffer = nb;
  if (verifierLevel >= VERIFIER_STANDARD) checkDataInChain(nb, 'NdisAllocateNetBufferAndNetBufferList');
  return nbl;
}

/**
 * NdisFreeNetBufferList: frees a list from NdisAllocateNetBufferList / NdisAllocateNetBufferAndNetBufferList,
 * with its preallocated NET_BUFFER, MDL and data and the context allocated with it. NET_BUFFERs the driver
 * allocated from NET_BUFFER pools and queued on it are the driver's to free. Clones, fragments and reassembled
 * lists have their own free DDIs; a parent whose ChildRefCount is not zero may not be freed yet.
 */
export function NdisFreeNetBufferList(NetBufferList: NET_BUFFER_LIST): void {
  requireNetBufferIrql('NdisFreeNetBufferList');
  const nbl = checkLiveNbl(NetBufferList, 'NdisFreeNetBufferList');
  if (nbl.kind !== NblKind.Plain) {
    const which = [
      '',
      'NdisFreeCloneNetBufferList',
      'NdisFreeFragmentNetBufferList',
      'NdisFreeReassembledNetBufferList',
    ];
    ndisViolation(
      Ndis6Violation.WrongFree,
      nbl.address,
      nbl.kind,
      0,
      `NdisFreeNetBufferList: this NET_BUFFER_LIST is derived; free it with ${which[nbl.kind]}`,
    );
  }
  releaseNbl(nbl, 'NdisFreeNetBufferList');
}

/** NdisGetPoolFromNetBufferList: the pool handle a NET_BUFFER_LIST came from. */
export function NdisGetPoolFromNetBufferList(NetBufferList: NET_BUFFER_LIST): object | null {
  requireNetBufferIrql('NdisGetPoolFromNetBufferList');
  return NetBufferList.NdisPoolHandle;
}

// --- shared with clones, fragments and reassembly ----------------------------------------------------------

/** Validates an NBL pool handle. */
export const checkNblPool = (handle: NetBufferListPool, ddi: string): NetBufferListPool => {
  // A brand test rather than instanceof: this runs on every allocation. The report is out of line.
  if ((handle as NetBufferListPool | null)?.liveKind !== PoolKind.NetBufferList) badNblPool(handle, ddi);
  return handle;
};

function badNblPool(handle: NetBufferListPool, ddi: string): never {
  return ndisViolation(
    Ndis6Violation.BadPoolHandle,
    (handle as { address?: number } | null)?.address ?? 0,
    0,
    0,
    `${ddi}: the pool handle is not a live NET_BUFFER_LIST pool from NdisAllocateNetBufferListPool`,
  );
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** Checks that `nbl` is a live list from an NDIS pool (N6-6) before it is freed. */
export const checkLiveNbl = (nbl: NET_BUFFER_LIST, ddi: string): NET_BUFFER_LIST => {
  // A live list, the usual case, is one comparison; the rest is out of line.
  if ((nbl as NET_BUFFER_LIST | null)?.state !== DescriptorState.Live) notLiveNbl(nbl, ddi);
  return nbl;
};

/** Reports a list that is not live: freed already, or not from an NDIS pool (N6-6). */
function notLiveNbl(nbl: NET_BUFFER_LIST, ddi: string): void {
  const state = (nbl as NET_BUFFER_LIST | null)?.state;
  if (state !== DescriptorState.Live && (state !== DescriptorState.Free || !(nbl instanceof NET_BUFFER_LIST))) {
    ndisViolation(
      Ndis6Violation.NotFromPool,
      0,
      0,
      0,
      `${ddi}: this NET_BUFFER_LIST did not come from an NDIS pool (N6-6: never build one in private memory or on the stack)`,
    );
  }
  if (nbl.state === DescriptorState.Free) {
    ndisViolation(Ndis6Violation.AlreadyFreed, nbl.address, 0, 0, `${ddi}: this NET_BUFFER_LIST was already freed`);
  }
}

/**
 * Pops a cached list (creating one on a miss), resets it and sets up its context. Returns null when memory
 * runs out or the context sizes are not multiples of MEMORY_ALLOCATION_ALIGNMENT.
 */
export function takeNbl(
  pool: NetBufferListPool,
  contextSize: number,
  contextBackFill: number,
  kind: number,
  ddi: string,
): NET_BUFFER_LIST | null {
  if (
    (contextSize | contextBackFill) !== 0 &&
    (!isAllocationAligned(contextSize) || !isAllocationAligned(contextBackFill))
  ) {
    return null;
  }
  // The verifier's low-resources simulation fails NDIS allocations even when the cache could serve them.
  if (injectAllocationFault(pool.PoolTag, SIZEOF_NET_BUFFER_LIST, ddi)) return null;
  let nbl = pool.popFree();
  if (nbl === null) {
    const created = createNbl(pool);
    if (created === null) return null;
    nbl = created;
  }
  resetNbl(nbl, pool, kind);
  const pre = nbl.preContext;
  if (pre !== null) {
    pre.Next = null;
    pre.Size = pool.ContextSize;
    pre.Offset = pool.ContextSize;
    nbl.Context = pre;
  }
  if (contextSize !== 0 && allocateContext(nbl, contextSize, contextBackFill, pool.PoolTag) !== 0) {
    clearNblArrays(nbl);
    nbl.state = DescriptorState.Free;
    if (verifierLevel >= VERIFIER_FULL) destroyNbl(nbl, pool);
    else pool.pushFree(nbl);
    return null;
  }
  // baseContext is NULL already (releaseNbl clears it, and a new list starts with it NULL): only a list with
  // context needs the reference store.
  const ctx = nbl.Context;
  if (ctx !== null) {
    nbl.baseContext = ctx;
    nbl.baseContextOffset = ctx.Offset;
  } else {
    nbl.baseContextOffset = 0;
  }
  pool.outstanding++;
  pool.allocations++;
  return nbl;
}

function createNbl(pool: NetBufferListPool): NET_BUFFER_LIST | null {
  const contextBytes = pool.ContextSize !== 0 ? SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER + pool.ContextSize : 0;
  const nbBytes = pool.fAllocateNetBuffer ? SIZEOF_NET_BUFFER : 0;
  const block = ExAllocatePoolWithTag(
    NonPagedPoolNx,
    SIZEOF_NET_BUFFER_LIST + contextBytes + nbBytes + pool.DataSize,
    pool.PoolTag,
  );
  if (block === 0) return null;
  const nbl = new NET_BUFFER_LIST();
  nbl.block = block;
  nbl.address = block;
  nbl.pool = pool;
  let at = block + SIZEOF_NET_BUFFER_LIST;
  if (contextBytes !== 0) {
    const ctx = new NET_BUFFER_LIST_CONTEXT();
    ctx.ContextData = at + SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER;
    nbl.preContext = ctx;
    at += contextBytes;
  }
  if (pool.fAllocateNetBuffer) {
    const nb = new NET_BUFFER();
    nb.address = at;
    nb.pool = pool;
    nb.ownerNbl = nbl;
    at += SIZEOF_NET_BUFFER;
    if (pool.DataSize !== 0 && !buildDataMdl(nb, at, pool.DataSize, pool.PoolTag, CACHE_REFILL)) {
      ExFreePool(block);
      return null;
    }
    nbl.preNb = nb;
  }
  if (verifierLevel >= VERIFIER_FULL) guardNetBufferListDescriptors(nbl);
  pool.all.add(nbl);
  pool.created++;
  return nbl;
}

/**
 * Clears the MaxNetBufferListInfo (27) slots. Written out because V8 does not unroll the loop, and this runs on
 * every allocation (three times faster unrolled).
 */
function clearInfo(a: unknown[]): void {
  a[0] = a[1] = a[2] = a[3] = a[4] = a[5] = a[6] = a[7] = a[8] = a[9] = a[10] = a[11] = a[12] = null;
  a[13] = a[14] = a[15] = a[16] = a[17] = a[18] = a[19] = a[20] = a[21] = a[22] = a[23] = a[24] = a[25] = null;
  a[26] = null;
}

/**
 * The reserved areas and the NetBufferListInfo slots to NULL. Like clearNbReserved for a NET_BUFFER, this runs
 * when the list is freed (its arrays are hot then, cold at the next allocation), so every list in a pool's cache
 * has them clear; a new list starts with them clear. NdisReserved and MiniportReserved are cleared only when they
 * were handed out since the last clear (their accessors set the flags): a forwarded clone leaves them untouched.
 */
function clearNblArrays(nbl: NET_BUFFER_LIST): void {
  // The ownership record (driver-verifier.ts) goes with the list's other NDIS-private state.
  nbl.ndisHolder = 0;
  nbl.ndisTrack = 0;
  if (nbl.ndisReservedTouched) {
    const nr = nbl.ndisReservedArea;
    nr[0] = nr[1] = null;
    nbl.ndisReservedTouched = false;
  }
  const pr = nbl.ProtocolReserved;
  pr[0] = pr[1] = pr[2] = pr[3] = null;
  if (nbl.miniportReservedTouched) {
    const mr = nbl.miniportReservedArea;
    mr[0] = mr[1] = null;
    nbl.miniportReservedTouched = false;
  }
  clearInfo(nbl.NetBufferListInfo);
}

/** Every WDK field to its initial value (the arrays were cleared when the list was freed: clearNblArrays). */
const resetNbl = (nbl: NET_BUFFER_LIST, pool: NetBufferListPool, kind: number): void => {
  nbl.Next = null;
  nbl.FirstNetBuffer = null;
  nbl.Context = null;
  nbl.ParentNetBufferList = null;
  // The handle is the pool's from the list's creation on (only a driver writing the field could change it): a
  // test is cheaper than a reference store, which V8 follows with a write barrier.
  if (nbl.NdisPoolHandle !== pool) nbl.NdisPoolHandle = pool;
  nbl.Scratch = null;
  nbl.SourceHandle = null;
  nbl.NblFlags = 0;
  nbl.ChildRefCount = 0;
  nbl.Flags = 0;
  nbl.Status = 0;
  // The pool's ProtocolId is the list's NetBufferListProtocolId (decided: the pool parameters say the protocol
  // type is an attribute of the pool).
  if (pool.ProtocolId !== 0) nbl.NetBufferListInfo[NetBufferListProtocolId] = pool.ProtocolId;
  nbl.kind = kind;
  nbl.derivedNbs = null;
  nbl.cloneFlags = 0;
  nbl.state = DescriptorState.Live;
  if (verifierLevel >= VERIFIER_FULL) nbl.site = callSite();
};

/**
 * Frees a live list of any kind (the kind-specific checks are the caller's): its preallocated NET_BUFFER, its
 * allocate-time context, and, in full mode, its memory.
 */
export function releaseNbl(nbl: NET_BUFFER_LIST, ddi: string): void {
  const pool = nbl.pool as NetBufferListPool;
  if (!pool.live) poolAlreadyFreed(nbl, pool, ddi);
  // The verifier level is read once: it is a module variable (several dependent loads), and this runs on every free.
  const level = verifierLevel;
  if (level >= VERIFIER_STANDARD) checkReleasable(nbl, ddi);
  if (nbl.Context !== null) freeContextChain(nbl.Context);
  nbl.Context = null;
  nbl.baseContext = null;
  const nb = nbl.preNb;
  if (nb !== null && nb.state === DescriptorState.Live) releaseNb(nb, pool.PoolTag, ddi);
  clearNblArrays(nbl);
  nbl.state = DescriptorState.Free;
  pool.outstanding--;
  if (level >= VERIFIER_FULL) destroyNbl(nbl, pool);
  else pool.pushFree(nbl);
}

/** Reports a list freed after its pool (kept out of line: the free path stays small enough to inline). */
function poolAlreadyFreed(nbl: NET_BUFFER_LIST, pool: NetBufferListPool, ddi: string): never {
  return ndisViolation(
    Ndis6Violation.BadPoolHandle,
    nbl.address,
    pool.address,
    0,
    `${ddi}: the list's pool was already freed`,
  );
}

/** The standard verifier's checks before a list is freed: no children, no context left (out of line). */
function checkReleasable(nbl: NET_BUFFER_LIST, ddi: string): void {
  if (nbl.ChildRefCount !== 0) {
    ndisViolation(
      Ndis6Violation.ParentWithChildren,
      nbl.address,
      nbl.ChildRefCount,
      0,
      `${ddi}: ChildRefCount is ${nbl.ChildRefCount}: free the clones, fragments or reassemblies derived from this list first`,
    );
  }
  if (nbl.Context !== nbl.baseContext || (nbl.Context !== null && nbl.Context.Offset !== nbl.baseContextOffset)) {
    ndisViolation(
      Ndis6Violation.ContextOutstanding,
      nbl.address,
      0,
      0,
      `${ddi}: context allocated with NdisAllocateNetBufferListContext is still allocated; free it with NdisFreeNetBufferListContext first`,
    );
  }
}

/** Releases a list's block and built-in MDL for good (pool free, or full verifier mode). */
function destroyNbl(nbl: NET_BUFFER_LIST, pool: NetBufferListPool): void {
  pool.all.delete(nbl);
  const nb = nbl.preNb;
  if (nb !== null) {
    nb.block = 0;
    destroyNb(nb, pool.PoolTag);
  }
  if (nbl.block !== 0) ExFreePool(nbl.block);
  nbl.block = 0;
  if (verifierLevel >= VERIFIER_FULL) poisonFreed(nbl, 'NET_BUFFER_LIST');
}
