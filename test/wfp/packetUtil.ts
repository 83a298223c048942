/** Helpers for WFP packet tests: an NBL pool, packets in pool memory behind MDL chains, and their cleanup. */
import assert from 'node:assert/strict';
import { IoAllocateMdl, IoFreeMdl, type MDL, MmBuildMdlForNonPagedPool } from '../../src/kernel/mdl.js';
import { bytesAt } from '../../src/kernel/memory.js';
import {
  ExAllocatePoolWithTag,
  ExFreePoolWithTag,
  NonPagedPoolNx,
  outstandingAllocations,
} from '../../src/kernel/pool.js';
import { STATUS_SUCCESS } from '../../src/kernel/status.js';
import { poolTag } from '../../src/kernel/tags.js';
import { NdisAllocateNetBufferListPool, NdisFreeNetBufferListPool } from '../../src/ndis/netBufferList.js';
import { type NetBufferListPool, outstandingDescriptors, outstandingPools, TAG_NDIS } from '../../src/ndis/pools.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  type NET_BUFFER,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
} from '../../src/ndis/structures.js';
import {
  FwpsAllocateNetBufferAndNetBufferList0,
  outstandingInjectionHandles,
  outstandingInjections,
} from '../../src/wfp/index.js';

export const TAG = poolTag('tPFW');

/** An NBL pool as FwpsAllocateNetBufferAndNetBufferList0 needs it (fAllocateNetBuffer, no DataSize). */
export function wfpPool(fAllocateNetBuffer = true, dataSize = 0): NetBufferListPool {
  const params = new NET_BUFFER_LIST_POOL_PARAMETERS();
  params.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  params.fAllocateNetBuffer = fAllocateNetBuffer;
  params.DataSize = dataSize;
  params.PoolTag = TAG;
  const pool = NdisAllocateNetBufferListPool(null, params);
  assert.ok(pool !== null);
  return pool;
}

/** Memory and MDLs holding some bytes: one MDL per segment, chained. */
export class Chain {
  readonly mdls: MDL[] = [];
  readonly blocks: number[] = [];
  constructor(segments: Uint8Array[]) {
    let prev: MDL | null = null;
    for (const seg of segments) {
      const p = ExAllocatePoolWithTag(NonPagedPoolNx, Math.max(1, seg.length), TAG);
      assert.notEqual(p, 0);
      bytesAt(p, seg.length).set(seg);
      const m = IoAllocateMdl(p, seg.length, false, false, null)!;
      MmBuildMdlForNonPagedPool(m);
      if (prev) prev.Next = m;
      prev = m;
      this.mdls.push(m);
      this.blocks.push(p);
    }
  }
  get head(): MDL | null {
    return this.mdls[0] ?? null;
  }
  free(): void {
    for (const m of this.mdls) IoFreeMdl(m);
    for (const b of this.blocks) ExFreePoolWithTag(b, TAG);
    this.mdls.length = 0;
    this.blocks.length = 0;
  }
}

/** A packet in one NBL from `pool`: `backfill` unused bytes, then `bytes`. */
export function packet(
  pool: NetBufferListPool,
  bytes: Uint8Array,
  backfill = 0,
): { nbl: NET_BUFFER_LIST; chain: Chain } {
  const chain = new Chain([new Uint8Array(backfill + bytes.length)]);
  bytesAt(chain.blocks[0]! + backfill, bytes.length).set(bytes);
  const box = { value: null as NET_BUFFER_LIST | null };
  assert.equal(
    FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, backfill, bytes.length, box),
    STATUS_SUCCESS,
  );
  return { nbl: box.value!, chain };
}

/** The used data of a NET_BUFFER, flat (walking its MDLs from DataOffset). */
export function dataOf(nb: NET_BUFFER): Uint8Array {
  const out = new Uint8Array(nb.DataLength);
  let skip = nb.DataOffset;
  let at = 0;
  for (let m = nb.MdlChain; m !== null && at < out.length; m = m.Next) {
    if (skip >= m.ByteCount) {
      skip -= m.ByteCount;
      continue;
    }
    const n = Math.min(m.ByteCount - skip, out.length - at);
    out.set(bytesAt(m.StartVa + m.ByteOffset + skip, n), at);
    at += n;
    skip = 0;
  }
  return out;
}

/** An IPv4/UDP datagram. */
export function udp4(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  payload: Uint8Array = new Uint8Array(8),
): Uint8Array {
  const b = new Uint8Array(28 + payload.length);
  b[0] = 0x45;
  b[2] = b.length >> 8;
  b[3] = b.length & 0xff;
  b[8] = 64;
  b[9] = 17;
  for (let i = 0; i < 4; i++) {
    b[12 + i] = (src >>> (24 - 8 * i)) & 0xff;
    b[16 + i] = (dst >>> (24 - 8 * i)) & 0xff;
  }
  b[20] = sport >> 8;
  b[21] = sport & 0xff;
  b[22] = dport >> 8;
  b[23] = dport & 0xff;
  b[24] = (8 + payload.length) >> 8;
  b[25] = (8 + payload.length) & 0xff;
  b.set(payload, 28);
  return b;
}

/** Frees a pool (asserting it is empty). */
export function freePool(pool: NetBufferListPool): void {
  NdisFreeNetBufferListPool(pool);
}

/**
 * Nothing is left: no NET_BUFFER or NET_BUFFER_LIST outstanding in any pool (NDIS's internal ones included), no
 * driver pool, and no pool memory except the cached descriptor blocks of NDIS's internal pools (tag 'NDIS'),
 * which NDIS keeps for reuse as Windows does.
 */
export function assertNothingLeft(): void {
  assert.deepEqual(outstandingInjections(), [], 'every injection completed');
  assert.deepEqual(outstandingInjectionHandles(), [], 'every injection handle destroyed');
  assert.deepEqual(outstandingDescriptors(), []);
  assert.deepEqual(outstandingPools(), []);
  assert.deepEqual(
    outstandingAllocations().filter((a) => a.tag !== TAG_NDIS),
    [],
  );
}
