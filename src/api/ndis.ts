/**
 * The idiomatic API of the NDIS 6 buffer layer: pool classes that throw {@link StatusError} instead of
 * returning NULL, and helpers to move bytes in and out of NET_BUFFER_LISTs. Everything calls the same core as
 * `wdknet/ddi`, so the verifier sees the same misuse either way.
 */

import type { MDL } from '../kernel/mdl.js';
import { writeBytes } from '../kernel/memory.js';
import { NDIS_STATUS_BUFFER_TOO_SHORT, NDIS_STATUS_RESOURCES, StatusError } from '../kernel/status.js';
import { poolTag } from '../kernel/tags.js';
import { flatten } from '../ndis/chain.js';
import {
  NdisFreeCloneNetBufferList,
  NdisFreeFragmentNetBufferList,
  NdisFreeReassembledNetBufferList,
} from '../ndis/derived.js';
import {
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferMdlAndData,
  NdisAllocateNetBufferPool,
  NdisFreeNetBuffer,
  NdisFreeNetBufferPool,
} from '../ndis/netBuffer.js';
import {
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
} from '../ndis/netBufferList.js';
import {
  type NetBufferListPool as NblPoolHandle,
  type NetBufferPool as NbPoolHandle,
  type OutstandingDescriptor,
  outstandingDescriptors,
  outstandingPools,
  PoolKind,
} from '../ndis/pools.js';
import { NdisAdvanceNetBufferDataStart } from '../ndis/retreat.js';
import {
  NblKind,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  type NET_BUFFER,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NET_BUFFER_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
} from '../ndis/structures.js';
import { Ndis6Violation, ndisViolation } from '../ndis/violations.js';

/** The Parameter 1 values wdknet uses for NDIS 6 misuse (DRIVER_VERIFIER_DETECTED_VIOLATION). */
export const NdisViolationCodes = Ndis6Violation;

/** A pool tag given as its C constant text ('fPCT') or as the ULONG. */
export type PoolTagLike = string | number;

function tagValue(tag: PoolTagLike): number {
  return typeof tag === 'string' ? poolTag(tag) : tag >>> 0;
}

/** Counters of a pool. */
export interface PoolStats {
  /** The tag as poolmon shows it. */
  readonly tag: string;
  /** Descriptors handed out and not yet freed. */
  readonly outstanding: number;
  /** Descriptors cached for reuse. */
  readonly cached: number;
  /** Descriptors ever created (cache misses). */
  readonly created: number;
  /** Allocations served. */
  readonly allocations: number;
}

/** Options of a {@link NetBufferListPool}. */
export interface NetBufferListPoolOptions {
  /** The pool tag (C constant text such as 'xNyM', or the ULONG). */
  tag: PoolTagLike;
  /** Preallocate one NET_BUFFER per list (default true). */
  allocateNetBuffer?: boolean;
  /** Preallocate MDL and data of this size with the NET_BUFFER (default 0). */
  dataSize?: number;
  /** Preallocated context bytes per list, a multiple of 16 (default 0). */
  contextSize?: number;
  /** NDIS_PROTOCOL_ID_* (default 0). */
  protocolId?: number;
}

/** A NET_BUFFER_LIST pool (NdisAllocateNetBufferListPool) that throws instead of returning NULL. */
export class NetBufferListPool {
  /** The NDIS_HANDLE, for DDIs that take one. */
  readonly handle: NblPoolHandle;

  constructor(options: NetBufferListPoolOptions) {
    const handle = NdisAllocateNetBufferListPool(
      null,
      new NET_BUFFER_LIST_POOL_PARAMETERS({
        Header: new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_DEFAULT,
          NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
          NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
        ),
        ProtocolId: options.protocolId ?? 0,
        fAllocateNetBuffer: options.allocateNetBuffer ?? true,
        ContextSize: options.contextSize ?? 0,
        PoolTag: tagValue(options.tag),
        DataSize: options.dataSize ?? 0,
      }),
    );
    if (handle === null) {
      throw new StatusError(
        NDIS_STATUS_RESOURCES,
        'NdisAllocateNetBufferListPool failed (bad parameters or no memory)',
      );
    }
    this.handle = handle;
  }

  /** A new list (with its NET_BUFFER, MDL and data when the pool preallocates them). */
  allocate(contextSize = 0, contextBackFill = 0): NET_BUFFER_LIST {
    const nbl = NdisAllocateNetBufferList(this.handle, contextSize, contextBackFill);
    if (nbl === null) throw new StatusError(NDIS_STATUS_RESOURCES, 'NdisAllocateNetBufferList failed');
    return nbl;
  }

  /** A new list whose NET_BUFFER describes `dataLength` bytes at `dataOffset` in `mdlChain`. */
  allocateFor(mdlChain: MDL | null, dataOffset: number, dataLength: number, contextSize = 0): NET_BUFFER_LIST {
    const nbl = NdisAllocateNetBufferAndNetBufferList(this.handle, contextSize, 0, mdlChain, dataOffset, dataLength);
    if (nbl === null) throw new StatusError(NDIS_STATUS_RESOURCES, 'NdisAllocateNetBufferAndNetBufferList failed');
    return nbl;
  }

  /**
   * Frees a list from this pool with the DDI its kind needs (plain, clone, fragment, reassembled). A list from
   * another pool is reported (0xC4 / WrongFree).
   */
  free(nbl: NET_BUFFER_LIST): void {
    if (nbl.pool !== this.handle) {
      ndisViolation(
        Ndis6Violation.WrongFree,
        nbl.address,
        this.handle.address,
        0,
        `NetBufferListPool.free: this NET_BUFFER_LIST belongs to another pool`,
      );
    }
    switch (nbl.kind) {
      case NblKind.Clone:
        NdisFreeCloneNetBufferList(nbl, nbl.cloneFlags);
        return;
      case NblKind.Fragment:
        NdisFreeFragmentNetBufferList(nbl, 0, 0);
        return;
      case NblKind.Reassembled:
        NdisFreeReassembledNetBufferList(nbl, 0, 0);
        return;
      default:
        NdisFreeNetBufferList(nbl);
    }
  }

  /** Counters. */
  get stats(): PoolStats {
    return statsOf(this.handle);
  }

  /** Frees the pool (NdisFreeNetBufferListPool): every list must have been freed. */
  dispose(): void {
    NdisFreeNetBufferListPool(this.handle);
  }
}

/** A NET_BUFFER pool (NdisAllocateNetBufferPool) that throws instead of returning NULL. */
export class NetBufferPool {
  readonly handle: NbPoolHandle;

  constructor(options: { tag: PoolTagLike; dataSize?: number }) {
    const handle = NdisAllocateNetBufferPool(
      null,
      new NET_BUFFER_POOL_PARAMETERS({
        Header: new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_DEFAULT,
          NET_BUFFER_POOL_PARAMETERS_REVISION_1,
          NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
        ),
        PoolTag: tagValue(options.tag),
        DataSize: options.dataSize ?? 0,
      }),
    );
    if (handle === null) throw new StatusError(NDIS_STATUS_RESOURCES, 'NdisAllocateNetBufferPool failed');
    this.handle = handle;
  }

  /** A NET_BUFFER over a caller's MDL chain (pools without dataSize). */
  allocate(mdlChain: MDL | null, dataOffset: number, dataLength: number): NET_BUFFER {
    const nb = NdisAllocateNetBuffer(this.handle, mdlChain, dataOffset, dataLength);
    if (nb === null) throw new StatusError(NDIS_STATUS_RESOURCES, 'NdisAllocateNetBuffer failed');
    return nb;
  }

  /** A NET_BUFFER with its own MDL and dataSize bytes (pools with dataSize). */
  allocateWithData(): NET_BUFFER {
    const nb = NdisAllocateNetBufferMdlAndData(this.handle);
    if (nb === null) throw new StatusError(NDIS_STATUS_RESOURCES, 'NdisAllocateNetBufferMdlAndData failed');
    return nb;
  }

  /** Frees a NET_BUFFER of this pool; one from another pool is reported (0xC4 / WrongFree). */
  free(nb: NET_BUFFER): void {
    if (nb.pool !== this.handle) {
      ndisViolation(
        Ndis6Violation.WrongFree,
        nb.address,
        this.handle.address,
        0,
        'NetBufferPool.free: this NET_BUFFER belongs to another pool',
      );
    }
    NdisFreeNetBuffer(nb);
  }

  get stats(): PoolStats {
    return statsOf(this.handle);
  }

  dispose(): void {
    NdisFreeNetBufferPool(this.handle);
  }
}

function statsOf(pool: NblPoolHandle | NbPoolHandle): PoolStats {
  return {
    tag: pool.tagName,
    outstanding: pool.outstanding,
    cached: pool.free.length,
    created: pool.created,
    allocations: pool.allocations,
  };
}

/** The NET_BUFFERs of a list, in order. */
export function* netBuffers(nbl: NET_BUFFER_LIST): IterableIterator<NET_BUFFER> {
  for (let nb = nbl.FirstNetBuffer; nb !== null; nb = nb.Next) yield nb;
}

/** A chain of lists linked through Next, in order. */
export function* netBufferLists(first: NET_BUFFER_LIST | null): IterableIterator<NET_BUFFER_LIST> {
  for (let nbl = first; nbl !== null; nbl = nbl.Next) yield nbl;
}

/** A flat copy of one NET_BUFFER's used data. */
export function nbBytes(nb: NET_BUFFER): Uint8Array {
  return flatten(nb);
}

/** A flat copy of the used data of every NET_BUFFER in the list, concatenated. */
export function nblBytes(nbl: NET_BUFFER_LIST): Uint8Array {
  const parts = [...netBuffers(nbl)].map(flatten);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A new list from `pool` holding a copy of `bytes`, with `backfill` bytes of unused space in front (for headers
 * a later retreat adds). The pool must preallocate data (dataSize >= backfill + bytes.length); otherwise
 * StatusError(NDIS_STATUS_BUFFER_TOO_SHORT).
 */
export function nblFromBytes(pool: NetBufferListPool, bytes: Uint8Array, backfill = 0): NET_BUFFER_LIST {
  const size = pool.handle.DataSize;
  if (size < backfill + bytes.length) {
    throw new StatusError(
      NDIS_STATUS_BUFFER_TOO_SHORT,
      `nblFromBytes: ${backfill} + ${bytes.length} bytes do not fit the pool's DataSize ${size}`,
    );
  }
  const nbl = pool.allocate();
  const nb = nbl.FirstNetBuffer!;
  writeBytes(nb.dataVa + backfill, bytes);
  NdisAdvanceNetBufferDataStart(nb, backfill, false, null);
  nb.DataLength = bytes.length;
  return nbl;
}

/** NET_BUFFERs and NET_BUFFER_LISTs still outstanding, per pool, with tag and (full verifier) call site. */
export function outstandingNetBuffers(): OutstandingDescriptor[] {
  return outstandingDescriptors();
}

/** NET_BUFFER and NET_BUFFER_LIST pools that drivers have not freed. */
export function outstandingNetBufferPools(): {
  kind: 'NET_BUFFER' | 'NET_BUFFER_LIST';
  tag: string;
  outstanding: number;
  site: string | undefined;
}[] {
  return outstandingPools().map((p) => ({
    kind: p.kind === PoolKind.NetBuffer ? 'NET_BUFFER' : 'NET_BUFFER_LIST',
    tag: p.tagName,
    outstanding: p.outstanding,
    site: p.site,
  }));
}
