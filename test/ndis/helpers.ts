/** Helpers for the NDIS 6 tests: pools with default headers, MDL chains over known bytes. */

import { writeBytes } from '../../src/kernel/memory.js';
import type { NetBufferListPool, NetBufferPool } from '../../src/ndis/pools.js';
import {
  ExAllocatePoolWithTag,
  IoAllocateMdl,
  type MDL,
  MmBuildMdlForNonPagedPool,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  NdisAllocateNetBufferListPool,
  NdisAllocateNetBufferPool,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NET_BUFFER_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  NonPagedPool,
  poolTag,
} from './ddi.js';

export const TAG = poolTag('tsTN');

/** NET_BUFFER_POOL_PARAMETERS with a valid header. */
export function nbPoolParams(dataSize = 0, tag = TAG): NET_BUFFER_POOL_PARAMETERS {
  return new NET_BUFFER_POOL_PARAMETERS({
    Header: new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_DEFAULT,
      NET_BUFFER_POOL_PARAMETERS_REVISION_1,
      NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
    ),
    PoolTag: tag,
    DataSize: dataSize,
  });
}

/** NET_BUFFER_LIST_POOL_PARAMETERS with a valid header. */
export function nblPoolParams(init: Partial<NET_BUFFER_LIST_POOL_PARAMETERS> = {}): NET_BUFFER_LIST_POOL_PARAMETERS {
  return new NET_BUFFER_LIST_POOL_PARAMETERS({
    Header: new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_DEFAULT,
      NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
      NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    ),
    PoolTag: TAG,
    ...init,
  });
}

export function nbPool(dataSize = 0): NetBufferPool {
  const p = NdisAllocateNetBufferPool(null, nbPoolParams(dataSize));
  if (p === null) throw new Error('pool');
  return p;
}

export function nblPool(init: Partial<NET_BUFFER_LIST_POOL_PARAMETERS> = {}): NetBufferListPool {
  const p = NdisAllocateNetBufferListPool(null, nblPoolParams(init));
  if (p === null) throw new Error('pool');
  return p;
}

/** A buffer in pool memory filled with `bytes`, described by one MDL. */
export function mdlOver(bytes: Uint8Array): MDL {
  const va = ExAllocatePoolWithTag(NonPagedPool, Math.max(1, bytes.length), TAG);
  writeBytes(va, bytes);
  const m = IoAllocateMdl(va, bytes.length, false, false, null)!;
  MmBuildMdlForNonPagedPool(m);
  return m;
}

/** A chain of MDLs, one per segment (empty segments give empty MDLs). */
export function chainOf(segments: readonly Uint8Array[]): MDL | null {
  let head: MDL | null = null;
  let tail: MDL | null = null;
  for (const seg of segments) {
    const m = mdlOver(seg);
    if (tail === null) head = m;
    else tail.Next = m;
    tail = m;
  }
  return head;
}

/** Concatenates segments. */
export function concat(segments: readonly Uint8Array[]): Uint8Array {
  const total = segments.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const s of segments) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/** Deterministic bytes 0..n-1 offset by `seed`. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}
