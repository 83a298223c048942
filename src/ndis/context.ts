/**
 * NET_BUFFER_LIST context space: NdisAllocateNetBufferListContext / NdisFreeNetBufferListContext and the
 * NET_BUFFER_LIST_CONTEXT_DATA_START / _DATA_SIZE macros.
 *
 * Context is allocated like backfill: from the unused space in front of the current block's used part (Offset
 * goes down), else in a new block of ContextSize + ContextBackFill bytes chained in front. Freeing gives the
 * space back (Offset goes up); a block that NDIS allocated is freed once all of it is unused again.
 */
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPoolNx, reserveInBlock } from '../kernel/pool.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { VERIFIER_FULL, verifierLevel } from '../kernel/verifier.js';
import { isAllocationAligned } from './pools.js';
import { type NET_BUFFER_LIST, NET_BUFFER_LIST_CONTEXT, SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER } from './structures.js';
import { Ndis6Violation, ndisViolation, requireNetBufferIrql } from './violations.js';

/**
 * NdisAllocateNetBufferListContext: `ContextSize` more bytes of used context (a multiple of
 * MEMORY_ALLOCATION_ALIGNMENT, as is `ContextBackFill`; otherwise NDIS_STATUS_FAILURE). New memory, when
 * needed, is allocated under `PoolTag`. Returns NDIS_STATUS_SUCCESS or NDIS_STATUS_RESOURCES.
 */
export function NdisAllocateNetBufferListContext(
  NetBufferList: NET_BUFFER_LIST,
  ContextSize: number,
  ContextBackFill: number,
  PoolTag: number,
): number {
  requireNetBufferIrql('NdisAllocateNetBufferListContext');
  if (!isAllocationAligned(ContextSize) || !isAllocationAligned(ContextBackFill)) return NDIS_STATUS_FAILURE;
  return allocateContext(NetBufferList, ContextSize, ContextBackFill, PoolTag >>> 0);
}

/** The shared allocation step (also used by NdisAllocateNetBufferList). */
export function allocateContext(nbl: NET_BUFFER_LIST, size: number, backFill: number, tag: number): number {
  const ctx = nbl.Context;
  if (ctx !== null && ctx.Offset >= size) {
    ctx.Offset -= size;
    return NDIS_STATUS_SUCCESS;
  }
  const total = size + backFill;
  if (total > 0xffff) return NDIS_STATUS_FAILURE;
  const block = ExAllocatePoolWithTag(NonPagedPoolNx, SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER + total, tag);
  if (block === 0) return NDIS_STATUS_RESOURCES;
  const fresh = new NET_BUFFER_LIST_CONTEXT();
  fresh.Next = ctx;
  fresh.Size = total;
  fresh.Offset = backFill;
  fresh.ContextData = block + SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER;
  fresh.block = block;
  // Full verifier: the header in front of the context data is NDIS's, not the driver's (see reserveInBlock).
  if (verifierLevel >= VERIFIER_FULL) reserveInBlock(block, SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER);
  nbl.Context = fresh;
  return NDIS_STATUS_SUCCESS;
}

/**
 * NdisFreeNetBufferListContext: releases `ContextSize` bytes of used context allocated with
 * NdisAllocateNetBufferListContext. Releasing more than that (into the context NdisAllocateNetBufferList
 * reserved, or past the current block) is reported (0xC4 / 0x600C).
 */
export function NdisFreeNetBufferListContext(NetBufferList: NET_BUFFER_LIST, ContextSize: number): void {
  requireNetBufferIrql('NdisFreeNetBufferListContext');
  const nbl = NetBufferList;
  const ctx = nbl.Context;
  // The context NdisAllocateNetBufferList reserved is not the driver's to free ("you must not attempt to free
  // the context space that you allocated with NdisAllocateNetBufferList").
  const limit = ctx !== null && ctx === nbl.baseContext ? nbl.baseContextOffset : ctx === null ? 0 : ctx.Size;
  if (ctx === null || ctx.Offset + ContextSize > limit) {
    ndisViolation(
      Ndis6Violation.ContextUnderflow,
      nbl.address,
      ContextSize,
      ctx === null ? 0 : limit - ctx.Offset,
      `NdisFreeNetBufferListContext: freeing ${ContextSize} bytes, but only ${ctx === null ? 0 : limit - ctx.Offset} were allocated with NdisAllocateNetBufferListContext`,
    );
  }
  ctx.Offset += ContextSize;
  if (ctx.Offset === ctx.Size && ctx.block !== 0) {
    nbl.Context = ctx.Next;
    ExFreePool(ctx.block);
    ctx.block = 0;
  }
}

/** Frees every NDIS-allocated block in a context chain (the list is being freed). */
export function freeContextChain(ctx: NET_BUFFER_LIST_CONTEXT | null): void {
  for (let c = ctx; c !== null; c = c.Next) {
    if (c.block !== 0) {
      ExFreePool(c.block);
      c.block = 0;
    }
  }
}

/** NET_BUFFER_LIST_CONTEXT_DATA_START: the address of the used context data (ContextData + Offset). */
export function NET_BUFFER_LIST_CONTEXT_DATA_START(NetBufferList: NET_BUFFER_LIST): number {
  const ctx = NetBufferList.Context!;
  return ctx.ContextData + ctx.Offset;
}

/** NET_BUFFER_LIST_CONTEXT_DATA_SIZE: the Size member of the current context block (not Size - Offset). */
export function NET_BUFFER_LIST_CONTEXT_DATA_SIZE(NetBufferList: NET_BUFFER_LIST): number {
  return NetBufferList.Context!.Size;
}
