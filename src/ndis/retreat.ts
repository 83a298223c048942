/**
 * Retreat and advance: NdisRetreatNetBufferDataStart / NdisAdvanceNetBufferDataStart and their NET_BUFFER_LIST
 * forms. Retreat turns backfill into used data; advance gives it back. Both keep DataOffset, DataLength and the
 * CurrentMdl / CurrentMdlOffset cursor in step.
 *
 * When the backfill is too short, retreat allocates a new MDL and buffer of DataOffsetDelta + DataBackFill bytes
 * (through the driver's NetAllocateMdl handler if it gave one, else from NDIS's own pool under the tag 'NDIS'),
 * puts the new data at its end and chains it in front. So that the used data stays contiguous, the chain behind
 * the new MDL starts exactly at the old data start: whole MDLs before it are left out, and if the data started
 * inside an MDL NDIS describes the rest of that MDL with a partial MDL of its own (decided: the caller's MDLs are
 * never modified). An advance that moves the data start past such an MDL, with FreeMdl TRUE, frees it (and the
 * partial) and restores the chain the retreat replaced; it never frees the caller's MDLs. NDIS frees the MDLs it
 * allocated itself; a NetFreeMdl handler is called for MDLs the NetAllocateMdl handler made.
 */
import {
  allocateMdlObject,
  type MDL,
  MDL_PARTIAL,
  MDL_SOURCE_IS_NONPAGED_POOL,
  MdlOrigin,
  releaseMdlObject,
} from '../kernel/mdl.js';
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPoolNx } from '../kernel/pool.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { cursorForward, mdlVa, seekCursor } from './chain.js';
import { TAG_NDIS } from './pools.js';
import { DescriptorState, type NET_BUFFER, type NET_BUFFER_LIST, type RetreatRecord } from './structures.js';
import { Ndis6Violation, ndisViolation, requireNetBufferIrql } from './violations.js';

/**
 * NET_BUFFER_ALLOCATE_MDL_HANDLER (NetAllocateMdl): allocates an MDL and a buffer of at least `BufferSize.value`
 * bytes, stores the size it allocated in `BufferSize.value`, and returns the MDL (or NULL).
 */
export type NET_BUFFER_ALLOCATE_MDL_HANDLER = (BufferSize: { value: number }) => MDL | null;
/** NET_BUFFER_FREE_MDL_HANDLER (NetFreeMdl): frees an MDL and buffer its NetAllocateMdl counterpart made. */
export type NET_BUFFER_FREE_MDL_HANDLER = (Mdl: MDL) => void;

/** Reports a NET_BUFFER that is freed or not from a pool (kept out of line so the callers stay small). */
function reportUnusable(nb: NET_BUFFER, ddi: string): never {
  return ndisViolation(
    nb.state === DescriptorState.Free ? Ndis6Violation.AlreadyFreed : Ndis6Violation.NotFromPool,
    nb.address,
    0,
    0,
    `${ddi}: the NET_BUFFER is ${nb.state === DescriptorState.Free ? 'freed' : 'not from an NDIS pool'}`,
  );
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/**
 * NdisRetreatNetBufferDataStart: adds `DataOffsetDelta` bytes of used data in front of the current data.
 * Returns NDIS_STATUS_SUCCESS, NDIS_STATUS_RESOURCES when memory for a new MDL cannot be had, or
 * NDIS_STATUS_FAILURE when the handler's buffer is smaller than DataOffsetDelta.
 */
export const NdisRetreatNetBufferDataStart = (
  NetBuffer: NET_BUFFER,
  DataOffsetDelta: number,
  DataBackFill: number,
  AllocateMdlHandler: NET_BUFFER_ALLOCATE_MDL_HANDLER | null,
): number => {
  requireNetBufferIrql('NdisRetreatNetBufferDataStart');
  const nb = NetBuffer;
  // The state first: it is a field of the descriptor at hand, the verifier level a module variable (several
  // dependent loads); a live descriptor, the usual case, needs only the first.
  if (nb.state !== DescriptorState.Live && verifierLevel >= VERIFIER_STANDARD) {
    reportUnusable(nb, 'NdisRetreatNetBufferDataStart');
  }
  const delta = DataOffsetDelta >>> 0;
  if (delta <= nb.DataOffset) {
    nb.DataOffset -= delta;
    nb.DataLength += delta;
    if (nb.CurrentMdl !== null && nb.CurrentMdlOffset >= delta && delta !== 0) nb.CurrentMdlOffset -= delta;
    else seekCursor(nb);
    return NDIS_STATUS_SUCCESS;
  }
  return retreatWithNewMdl(nb, delta, DataBackFill >>> 0, AllocateMdlHandler);
};

function retreatWithNewMdl(
  nb: NET_BUFFER,
  delta: number,
  backfill: number,
  handler: NET_BUFFER_ALLOCATE_MDL_HANDLER | null,
): number {
  const ddi = 'NdisRetreatNetBufferDataStart';
  const size = delta + backfill;
  let mdl: MDL | null;
  let dataBlock = 0;
  if (handler !== null) {
    const box = { value: size };
    mdl = handler(box);
    if (mdl === null) return NDIS_STATUS_RESOURCES;
    if (mdl.ByteCount < delta) return NDIS_STATUS_FAILURE;
  } else {
    dataBlock = ExAllocatePoolWithTag(NonPagedPoolNx, size, TAG_NDIS);
    if (dataBlock === 0) return NDIS_STATUS_RESOURCES;
    mdl = allocateMdlObject(dataBlock, size, MdlOrigin.Retreat, nb, TAG_NDIS, ddi);
    if (mdl === null) {
      ExFreePool(dataBlock);
      return NDIS_STATUS_RESOURCES;
    }
    mdl.MappedSystemVa = dataBlock;
    mdl.MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
  }
  let rest = nb.CurrentMdl;
  let partial: MDL | null = null;
  if (rest !== null && nb.CurrentMdlOffset > 0) {
    const va = mdlVa(rest) + nb.CurrentMdlOffset;
    partial = allocateMdlObject(va, rest.ByteCount - nb.CurrentMdlOffset, MdlOrigin.Retreat, nb, TAG_NDIS, ddi);
    if (partial === null) {
      if (handler === null) {
        releaseMdlObject(mdl, TAG_NDIS, 'MDL');
        ExFreePool(dataBlock);
      }
      return NDIS_STATUS_RESOURCES;
    }
    partial.MappedSystemVa = va;
    partial.MdlFlags |= MDL_PARTIAL | MDL_SOURCE_IS_NONPAGED_POOL;
    partial.Next = rest.Next;
    rest = partial;
  }
  const record: RetreatRecord = {
    mdl,
    partial,
    chain: nb.MdlChain,
    offset: nb.DataOffset,
    viaHandler: handler !== null,
    dataBlock,
  };
  if (nb.retreats === null) nb.retreats = [];
  nb.retreats.push(record);
  mdl.Next = rest;
  nb.MdlChain = mdl;
  nb.DataOffset = mdl.ByteCount - delta;
  nb.DataLength += delta;
  nb.CurrentMdl = mdl;
  nb.CurrentMdlOffset = nb.DataOffset;
  return NDIS_STATUS_SUCCESS;
}

/**
 * NdisAdvanceNetBufferDataStart: releases `DataOffsetDelta` bytes of used data from the front. With `FreeMdl`
 * TRUE, MDLs that a retreat allocated and that now hold no used data are freed (and only those).
 */
export const NdisAdvanceNetBufferDataStart = (
  NetBuffer: NET_BUFFER,
  DataOffsetDelta: number,
  FreeMdl: boolean,
  FreeMdlHandler: NET_BUFFER_FREE_MDL_HANDLER | null,
): void => {
  requireNetBufferIrql('NdisAdvanceNetBufferDataStart');
  const nb = NetBuffer;
  // The state first: it is a field of the descriptor at hand, the verifier level a module variable (several
  // dependent loads); a live descriptor, the usual case, needs only the first.
  if (nb.state !== DescriptorState.Live && verifierLevel >= VERIFIER_STANDARD) {
    reportUnusable(nb, 'NdisAdvanceNetBufferDataStart');
  }
  const delta = DataOffsetDelta >>> 0;
  if (delta > nb.DataLength) advancePastData(nb, delta);
  nb.DataOffset += delta;
  nb.DataLength -= delta;
  const m = nb.CurrentMdl;
  if (m !== null && nb.CurrentMdlOffset + delta < m.ByteCount) nb.CurrentMdlOffset += delta;
  else cursorForward(nb, delta);
  if (FreeMdl && nb.retreats !== null && nb.retreats.length > 0) freePassedRetreats(nb, FreeMdlHandler);
};

/** Reports an advance beyond the used data (kept out of line so the DDI stays small). */
function advancePastData(nb: NET_BUFFER, delta: number): never {
  return ndisViolation(
    Ndis6Violation.AdvancePastData,
    nb.address,
    delta,
    nb.DataLength,
    `NdisAdvanceNetBufferDataStart: advancing ${delta} bytes past the ${nb.DataLength} bytes of used data`,
  );
}

/** Frees retreat MDLs the data start has moved past, restoring the chains they stood in front of. */
function freePassedRetreats(nb: NET_BUFFER, handler: NET_BUFFER_FREE_MDL_HANDLER | null): void {
  const records = nb.retreats!;
  let changed = false;
  while (records.length > 0) {
    const r = records[records.length - 1]!;
    if (nb.MdlChain !== r.mdl || nb.DataOffset < r.mdl.ByteCount) break;
    if (r.viaHandler && handler === null) {
      ndisViolation(
        Ndis6Violation.NoFreeMdlHandler,
        nb.address,
        0,
        0,
        'NdisAdvanceNetBufferDataStart: the MDL to free came from the NetAllocateMdl handler, but no NetFreeMdl handler was given',
      );
    }
    records.pop();
    const beyond = nb.DataOffset - r.mdl.ByteCount;
    nb.MdlChain = r.chain;
    nb.DataOffset = r.offset + beyond;
    freeRecord(r, handler);
    changed = true;
  }
  if (changed) seekCursor(nb);
}

function freeRecord(r: RetreatRecord, handler: NET_BUFFER_FREE_MDL_HANDLER | null): void {
  if (r.partial !== null) releaseMdlObject(r.partial, TAG_NDIS, 'MDL');
  r.mdl.Next = null;
  if (r.viaHandler) {
    handler?.(r.mdl);
  } else {
    releaseMdlObject(r.mdl, TAG_NDIS, 'MDL');
    ExFreePool(r.dataBlock);
  }
}

/**
 * Frees every retreat record of a NET_BUFFER being freed (the verifier has already reported it). MDLs that the
 * driver's handler made are left to the driver: NDIS has no NetFreeMdl handler to call here.
 */
export function freeRetreatRecords(nb: NET_BUFFER): void {
  const records = nb.retreats!;
  while (records.length > 0) {
    const r = records.pop()!;
    if (r.partial !== null) releaseMdlObject(r.partial, TAG_NDIS, 'MDL');
    if (!r.viaHandler) {
      releaseMdlObject(r.mdl, TAG_NDIS, 'MDL');
      ExFreePool(r.dataBlock);
    }
  }
}

/**
 * NdisRetreatNetBufferListDataStart: retreats every NET_BUFFER in the list. If one fails, those already retreated
 * are advanced back (freeing what was allocated) and the failure status is returned.
 */
export function NdisRetreatNetBufferListDataStart(
  NetBufferList: NET_BUFFER_LIST,
  DataOffsetDelta: number,
  DataBackFill: number,
  AllocateMdlHandler: NET_BUFFER_ALLOCATE_MDL_HANDLER | null,
  FreeMdlHandler: NET_BUFFER_FREE_MDL_HANDLER | null,
): number {
  requireNetBufferIrql('NdisRetreatNetBufferListDataStart');
  for (let nb = NetBufferList.FirstNetBuffer; nb !== null; nb = nb.Next) {
    const status = NdisRetreatNetBufferDataStart(nb, DataOffsetDelta, DataBackFill, AllocateMdlHandler);
    if (status !== NDIS_STATUS_SUCCESS) {
      for (let done = NetBufferList.FirstNetBuffer; done !== null && done !== nb; done = done.Next) {
        NdisAdvanceNetBufferDataStart(done, DataOffsetDelta, true, FreeMdlHandler);
      }
      return status;
    }
  }
  return NDIS_STATUS_SUCCESS;
}

/** NdisAdvanceNetBufferListDataStart: advances every NET_BUFFER in the list. */
export function NdisAdvanceNetBufferListDataStart(
  NetBufferList: NET_BUFFER_LIST,
  DataOffsetDelta: number,
  FreeMdl: boolean,
  FreeMdlHandler: NET_BUFFER_FREE_MDL_HANDLER | null,
): void {
  requireNetBufferIrql('NdisAdvanceNetBufferListDataStart');
  for (let nb = NetBufferList.FirstNetBuffer; nb !== null; nb = nb.Next) {
    NdisAdvanceNetBufferDataStart(nb, DataOffsetDelta, FreeMdl, FreeMdlHandler);
  }
}
