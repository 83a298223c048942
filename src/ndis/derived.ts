/**
 * Derived NET_BUFFER_LISTs: clones, fragments and reassemblies, and their frees. NDIS makes the new descriptors
 * without copying data: the new NET_BUFFERs either share the original MDL chain (a clone with
 * NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS) or get MDLs of NDIS's own that describe the original buffers, starting at
 * the original's used data (so chains with empty and padding MDLs, and data that starts past the first MDL, are
 * described exactly). The original is never modified.
 *
 * As the documentation of NET_BUFFER_LIST generations says, NDIS sets ParentNetBufferList to NULL and
 * ChildRefCount to 0 in every new list and the caller maintains both; the verifier reports a parent freed while
 * its ChildRefCount is not zero. Pool handles are optional: without one, NDIS uses its own pools (tag 'NDIS').
 */
import { allocateMdlObject, type MDL, MDL_PARTIAL, MDL_SOURCE_IS_NONPAGED_POOL, MdlOrigin } from '../kernel/mdl.js';
import { NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { mdlVa, seekCursor } from './chain.js';
import { NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS } from './macros.js';
import { checkNbPool, releaseNb, resetNb, takeNb, takeNbToDescribe } from './netBuffer.js';
import { checkLiveNbl, checkNblPool, releaseNbl, takeNbl } from './netBufferList.js';
import {
  type NetBufferListPool,
  type NetBufferPool,
  ndisInternalNblPool,
  ndisInternalNbPool,
  TAG_NDIS,
} from './pools.js';
import { freeRetreatRecords, NdisRetreatNetBufferDataStart } from './retreat.js';
import { NblKind, type NET_BUFFER, type NET_BUFFER_LIST } from './structures.js';
import { Ndis6Violation, ndisViolation, requireNetBufferIrql } from './violations.js';

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/**
 * NdisAllocateCloneNetBufferList: a list with one new NET_BUFFER for every NET_BUFFER of the original,
 * describing the same used data. With NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS each clone NET_BUFFER shares the
 * original's MDL chain, DataOffset and cursor; without it, NDIS allocates MDLs that describe the original data
 * from its start (DataOffset 0). The clone has no NET_BUFFER_LIST_CONTEXT. NULL on failure.
 */
export const NdisAllocateCloneNetBufferList = (
  OriginalNetBufferList: NET_BUFFER_LIST,
  NetBufferListPoolHandle: NetBufferListPool | null,
  NetBufferPoolHandle: NetBufferPool | null,
  AllocateCloneFlags: number,
): NET_BUFFER_LIST | null => {
  const ddi = 'NdisAllocateCloneNetBufferList';
  requireNetBufferIrql(ddi);
  // The pools are resolved here rather than through derivedPools: this runs once per forwarded packet.
  const nblPool = NetBufferListPoolHandle === null ? ndisInternalNblPool() : checkNblPool(NetBufferListPoolHandle, ddi);
  const nbPool = NetBufferPoolHandle === null ? ndisInternalNbPool() : checkNbPool(NetBufferPoolHandle, ddi);
  if (nblPool === null || nbPool === null) return null;
  const clone = takeNbl(nblPool, 0, 0, NblKind.Clone, ddi);
  if (clone === null) return null;
  clone.cloneFlags = AllocateCloneFlags;
  const shared = (AllocateCloneFlags & NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS) !== 0;
  let tail: NET_BUFFER | null = null;
  for (let src = OriginalNetBufferList.FirstNetBuffer; src !== null; src = src.Next) {
    // Sharing the original's MDLs, the clone NET_BUFFER gets every data field from its original, so they are not
    // cleared first (takeNbToDescribe); otherwise describeInto sets them on a fully reset one.
    const nb = shared ? takeNbToDescribe(nbPool, ddi) : takeNb(nbPool, ddi);
    if (nb === null) return undo(clone, ddi);
    nb.ownerNbl = clone;
    if (tail === null) {
      clone.FirstNetBuffer = nb;
      clone.derivedNbs = nb;
    } else {
      tail.Next = nb;
    }
    tail = nb;
    if (shared) {
      nb.Next = null;
      nb.MdlChain = src.MdlChain;
      nb.DataOffset = src.DataOffset;
      nb.DataLength = src.DataLength;
      nb.CurrentMdl = src.CurrentMdl;
      nb.CurrentMdlOffset = src.CurrentMdlOffset;
    } else if (!describeInto(nb, src, src.Next, 0, src.DataLength, ddi)) {
      return undo(clone, ddi);
    }
  }
  return clone;
};

/**
 * NdisFreeCloneNetBufferList: frees a clone, its NET_BUFFERs and the MDLs NDIS allocated for it. The flags must
 * be the ones the clone was allocated with (documented; a mismatch in NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS would
 * free the original's MDLs on Windows). A mismatch is reported.
 */
export const NdisFreeCloneNetBufferList = (CloneNetBufferList: NET_BUFFER_LIST, FreeCloneFlags: number): void => {
  const ddi = 'NdisFreeCloneNetBufferList';
  requireNetBufferIrql(ddi);
  const nbl = checkKind(CloneNetBufferList, NblKind.Clone, ddi);
  if (nbl.cloneFlags !== FreeCloneFlags) wrongCloneFlags(nbl, FreeCloneFlags, ddi);
  freeDerived(nbl, ddi);
};

/** Reports FreeCloneFlags that are not the clone's AllocateCloneFlags (out of line: the free stays small). */
function wrongCloneFlags(nbl: NET_BUFFER_LIST, FreeCloneFlags: number, ddi: string): never {
  return ndisViolation(
    Ndis6Violation.WrongFree,
    nbl.address,
    FreeCloneFlags,
    nbl.cloneFlags,
    `${ddi}: FreeCloneFlags 0x${FreeCloneFlags.toString(16)} must be the AllocateCloneFlags 0x${nbl.cloneFlags.toString(16)} the clone was allocated with`,
  );
}

/**
 * NdisAllocateFragmentNetBufferList: for each NET_BUFFER of the original, skips `StartOffset` bytes of its used
 * data and describes the rest in fragments of at most `MaximumLength` bytes, each a new NET_BUFFER with MDLs of
 * NDIS's own; each fragment is then retreated by `DataOffsetDelta` (NDIS allocating DataOffsetDelta +
 * DataBackFill bytes for it). NULL on failure or when MaximumLength is 0 (decided).
 */
export function NdisAllocateFragmentNetBufferList(
  OriginalNetBufferList: NET_BUFFER_LIST,
  NetBufferListPool: NetBufferListPool | null,
  NetBufferPool: NetBufferPool | null,
  StartOffset: number,
  MaximumLength: number,
  DataOffsetDelta: number,
  DataBackFill: number,
  AllocateFragmentFlags: number,
): NET_BUFFER_LIST | null {
  const ddi = 'NdisAllocateFragmentNetBufferList';
  requireNetBufferIrql(ddi);
  void AllocateFragmentFlags;
  if (!(MaximumLength > 0)) return null;
  const pools = derivedPools(NetBufferListPool, NetBufferPool, ddi);
  if (pools === null) return null;
  const frag = takeNbl(pools.nbl, 0, 0, NblKind.Fragment, ddi);
  if (frag === null) return null;
  let tail: NET_BUFFER | null = null;
  for (let src = OriginalNetBufferList.FirstNetBuffer; src !== null; src = src.Next) {
    for (let at = StartOffset; at < src.DataLength; at += MaximumLength) {
      const length = Math.min(MaximumLength, src.DataLength - at);
      const nb = takeNb(pools.nb, ddi);
      if (nb === null) return undo(frag, ddi);
      nb.ownerNbl = frag;
      tail = link(frag, tail, nb);
      if (!describeInto(nb, src, src.Next, at, length, ddi)) return undo(frag, ddi);
      if (
        DataOffsetDelta > 0 &&
        NdisRetreatNetBufferDataStart(nb, DataOffsetDelta, DataBackFill, null) !== NDIS_STATUS_SUCCESS
      ) {
        return undo(frag, ddi);
      }
    }
  }
  return frag;
}

/** NdisFreeFragmentNetBufferList: frees a fragment list with its NET_BUFFERs and MDLs. */
export function NdisFreeFragmentNetBufferList(
  FragmentNetBufferList: NET_BUFFER_LIST,
  DataOffsetDelta: number,
  FreeFragmentFlags: number,
): void {
  const ddi = 'NdisFreeFragmentNetBufferList';
  requireNetBufferIrql(ddi);
  void DataOffsetDelta;
  void FreeFragmentFlags;
  freeDerived(checkKind(FragmentNetBufferList, NblKind.Fragment, ddi), ddi);
}

/**
 * NdisAllocateReassembledNetBufferList: one NET_BUFFER that describes, in order, the used data of every
 * NET_BUFFER of the fragment list after `StartOffset` bytes of each (decided: the offset applies to each
 * fragment), retreated by `DataOffsetDelta`. The NET_BUFFER is the pool's preallocated one when the pool has
 * fAllocateNetBuffer, else one from NDIS's pool. NULL on failure.
 */
export function NdisAllocateReassembledNetBufferList(
  FragmentNetBufferList: NET_BUFFER_LIST,
  NetBufferAndNetBufferListPoolHandle: NetBufferListPool | null,
  StartOffset: number,
  DataOffsetDelta: number,
  DataBackFill: number,
  AllocateReassembleFlags: number,
): NET_BUFFER_LIST | null {
  const ddi = 'NdisAllocateReassembledNetBufferList';
  requireNetBufferIrql(ddi);
  void AllocateReassembleFlags;
  const nblPool =
    NetBufferAndNetBufferListPoolHandle === null
      ? ndisInternalNblPool()
      : checkNblPool(NetBufferAndNetBufferListPoolHandle, ddi);
  if (nblPool === null) return null;
  const whole = takeNbl(nblPool, 0, 0, NblKind.Reassembled, ddi);
  if (whole === null) return null;
  let nb: NET_BUFFER | null;
  if (whole.preNb !== null && nblPool.DataSize === 0) {
    nb = whole.preNb;
    resetNb(nb, nblPool);
  } else {
    const nbPool = ndisInternalNbPool();
    nb = nbPool === null ? null : takeNb(nbPool, ddi);
    if (nb === null) return undo(whole, ddi);
    nb.ownerNbl = whole;
  }
  link(whole, null, nb);
  let total = 0;
  for (let src = FragmentNetBufferList.FirstNetBuffer; src !== null; src = src.Next) {
    total += Math.max(0, src.DataLength - StartOffset);
  }
  if (!describeInto(nb, FragmentNetBufferList.FirstNetBuffer, null, StartOffset, total, ddi)) return undo(whole, ddi);
  if (
    DataOffsetDelta > 0 &&
    NdisRetreatNetBufferDataStart(nb, DataOffsetDelta, DataBackFill, null) !== NDIS_STATUS_SUCCESS
  ) {
    return undo(whole, ddi);
  }
  return whole;
}

/** NdisFreeReassembledNetBufferList: frees a reassembled list with its NET_BUFFER and MDLs. */
export function NdisFreeReassembledNetBufferList(
  ReassembledNetBufferList: NET_BUFFER_LIST,
  DataOffsetDelta: number,
  FreeReassembleFlags: number,
): void {
  const ddi = 'NdisFreeReassembledNetBufferList';
  requireNetBufferIrql(ddi);
  void DataOffsetDelta;
  void FreeReassembleFlags;
  freeDerived(checkKind(ReassembledNetBufferList, NblKind.Reassembled, ddi), ddi);
}

// --- helpers -----------------------------------------------------------------------------------------------

function derivedPools(
  nblHandle: NetBufferListPool | null,
  nbHandle: NetBufferPool | null,
  ddi: string,
): { nbl: NetBufferListPool; nb: NetBufferPool } | null {
  const nbl = nblHandle === null ? ndisInternalNblPool() : checkNblPool(nblHandle, ddi);
  const nb = nbHandle === null ? ndisInternalNbPool() : checkNbPool(nbHandle, ddi);
  if (nbl === null || nb === null) return null;
  return { nbl, nb };
}

function link(nbl: NET_BUFFER_LIST, tail: NET_BUFFER | null, nb: NET_BUFFER): NET_BUFFER {
  if (tail === null) nbl.FirstNetBuffer = nb;
  else tail.Next = nb;
  if (nbl.derivedNbs === null) nbl.derivedNbs = nb;
  return nb;
}

const checkKind = (nbl: NET_BUFFER_LIST, kind: number, ddi: string): NET_BUFFER_LIST => {
  checkLiveNbl(nbl, ddi);
  if (nbl.kind !== kind) wrongKind(nbl, kind, ddi);
  return nbl;
};

function wrongKind(nbl: NET_BUFFER_LIST, kind: number, ddi: string): never {
  return ndisViolation(
    Ndis6Violation.WrongFree,
    nbl.address,
    nbl.kind,
    kind,
    `${ddi}: this NET_BUFFER_LIST was not allocated by the matching NdisAllocate...NetBufferList`,
  );
}

/**
 * Gives `nb` a chain of NDIS MDLs describing `length` bytes of the used data of the sources `first` up to (not
 * including) `end`, following Next, skipping `skip` bytes at the start of each source. DataOffset 0. False when an
 * MDL cannot be allocated. (A range of the list rather than an array of sources: nothing is allocated per call.)
 */
function describeInto(
  nb: NET_BUFFER,
  first: NET_BUFFER | null,
  end: NET_BUFFER | null,
  skip: number,
  length: number,
  ddi: string,
): boolean {
  if (nb.ownMdls === null) nb.ownMdls = [];
  let head: MDL | null = null;
  let tail: MDL | null = null;
  let left = length;
  for (let src = first; src !== null && src !== end; src = src.Next) {
    let m = src.CurrentMdl;
    let off = src.CurrentMdlOffset + skip;
    let fromThis = Math.max(0, Math.min(left, src.DataLength - skip));
    while (m !== null && fromThis > 0) {
      const avail = m.ByteCount - off;
      if (avail <= 0) {
        off -= m.ByteCount;
        m = m.Next;
        continue;
      }
      const n = Math.min(avail, fromThis);
      const va = mdlVa(m) + off;
      const part = allocateMdlObject(va, n, MdlOrigin.NdisInternal, nb, TAG_NDIS, ddi);
      if (part === null) {
        nb.MdlChain = head;
        return false;
      }
      part.MappedSystemVa = va;
      part.MdlFlags |= MDL_PARTIAL | MDL_SOURCE_IS_NONPAGED_POOL;
      nb.ownMdls.push(part);
      if (tail === null) head = part;
      else tail.Next = part;
      tail = part;
      fromThis -= n;
      left -= n;
      off = 0;
      m = m.Next;
    }
  }
  nb.MdlChain = head;
  nb.DataOffset = 0;
  nb.DataLength = length - left;
  seekCursor(nb);
  return true;
}

/** Frees a derived list: its NET_BUFFERs (with their NDIS MDLs and retreat MDLs), then the list. */
const freeDerived = (nbl: NET_BUFFER_LIST, ddi: string): void => {
  const pre = nbl.preNb;
  for (let nb = nbl.derivedNbs; nb !== null; ) {
    const next: NET_BUFFER | null = nb.Next;
    // The pool's preallocated NET_BUFFER (a reassembly may use it) is freed with the list itself.
    if (nb.ownerNbl === nbl && nb !== pre) releaseDerivedNb(nb, ddi);
    nb = next;
  }
  if (pre !== null && pre.retreats !== null && pre.retreats.length > 0) freeRetreatRecords(pre);
  nbl.derivedNbs = null;
  releaseNbl(nbl, ddi);
};

const releaseDerivedNb = (nb: NET_BUFFER, ddi: string): void => {
  // releaseNb frees what retreats allocated (a derived NET_BUFFER's are NDIS's own, so no violation here).
  if (nb.retreats !== null && nb.retreats.length > 0) freeRetreatRecords(nb);
  const pool = nb.pool as NetBufferPool;
  nb.ownerNbl = null;
  const reusable = releaseNb(nb, pool.PoolTag, ddi);
  pool.outstanding--;
  if (reusable) pool.pushFree(nb);
};

function undo(nbl: NET_BUFFER_LIST, ddi: string): null {
  freeDerived(nbl, ddi);
  return null;
}
