/**
 * NDIS 6 buffers: allocate + free of a NET_BUFFER_LIST with one NET_BUFFER, MDL and 2 KiB of data (a pool with
 * DataSize 2048 and fAllocateNetBuffer), retreat/advance within the backfill, and NdisGetDataBuffer; in the same
 * run the baselines Buffer.allocUnsafe(2048) plus a wrapper object, a preallocated object free list, and the floor
 * of this design (plain objects with the same fields, every one reset, from a free list).
 * Also the heap growth over 10 million allocate + free cycles.
 *
 * Run: node --import tsx --expose-gc bench/ndis.ts
 */

import { poolTag, resetSystem } from '../src/ddi/kernel.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NdisAdvanceNetBufferDataStart,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisFreeNetBufferList,
  NdisGetDataBuffer,
  NdisRetreatNetBufferDataStart,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
} from '../src/ddi/ndis.js';
import type { VerifierMode } from '../src/kernel/verifier.js';
import { allocUnsafeBaselineNs, bestOf, freeListBaselineNs, heapUsedAfterGc, machine, nsPerOp, row } from './lib.js';

const N = 5_000_000;

function pool(mode: VerifierMode) {
  resetSystem({ verifier: mode });
  const p = NdisAllocateNetBufferListPool(
    null,
    new NET_BUFFER_LIST_POOL_PARAMETERS({
      Header: new NDIS_OBJECT_HEADER(
        NDIS_OBJECT_TYPE_DEFAULT,
        NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
        NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
      ),
      fAllocateNetBuffer: true,
      DataSize: 2048,
      PoolTag: poolTag('hcnB'),
    }),
  );
  if (p === null) throw new Error('pool');
  return p;
}

// Baseline 1: a free list of preallocated objects (DESIGN.md's ~8 ns anchor).
const freeListNs = freeListBaselineNs(N);

// Baseline 3 (the floor of this design): plain objects with the same fields as NET_BUFFER_LIST and NET_BUFFER,
// popped from a free list, every field and reserved slot reset, pushed back; no checks, no pools, no MDL.
class FloorNb {
  Next: unknown = null;
  CurrentMdl: unknown = null;
  CurrentMdlOffset = 0;
  DataLength = 0;
  MdlChain: unknown = null;
  DataOffset = 0;
  ChecksumBias = 0;
  Reserved = 0;
  NdisPoolHandle: unknown = null;
  NdisReserved: unknown[] = [null, null];
  ProtocolReserved: unknown[] = [null, null, null, null, null, null];
  MiniportReserved: unknown[] = [null, null, null, null];
  DataPhysicalAddress = 0;
  SharedMemoryInfo: unknown = null;
  ScatterGatherList: unknown = null;
  state = 0;
}
class FloorNbl {
  Next: unknown = null;
  FirstNetBuffer: FloorNb | null = null;
  Context: unknown = null;
  ParentNetBufferList: unknown = null;
  NdisPoolHandle: unknown = null;
  NdisReserved: unknown[] = [null, null];
  ProtocolReserved: unknown[] = [null, null, null, null];
  MiniportReserved: unknown[] = [null, null];
  Scratch: unknown = null;
  SourceHandle: unknown = null;
  NblFlags = 0;
  ChildRefCount = 0;
  Flags = 0;
  Status = 0;
  NetBufferListInfo: unknown[] = Array.from({ length: 27 }, () => null);
  state = 0;
  nb = new FloorNb();
}
const floorFree = [new FloorNbl()];
const floorPool = {};
const floorNs = bestOf(3, () =>
  nsPerOp(N, () => {
    const l = floorFree.pop()!;
    l.Next = l.Context = l.ParentNetBufferList = l.Scratch = l.SourceHandle = null;
    l.NdisPoolHandle = floorPool;
    l.NdisReserved[0] = l.NdisReserved[1] = null;
    const pr = l.ProtocolReserved;
    pr[0] = pr[1] = pr[2] = pr[3] = null;
    l.MiniportReserved[0] = l.MiniportReserved[1] = null;
    l.NblFlags = l.ChildRefCount = l.Flags = l.Status = 0;
    const a = l.NetBufferListInfo;
    a[0] = a[1] = a[2] = a[3] = a[4] = a[5] = a[6] = a[7] = a[8] = a[9] = a[10] = a[11] = a[12] = null;
    a[13] = a[14] = a[15] = a[16] = a[17] = a[18] = a[19] = a[20] = a[21] = a[22] = a[23] = a[24] = a[25] = null;
    a[26] = null;
    const b = l.nb;
    b.Next = b.CurrentMdl = b.MdlChain = b.SharedMemoryInfo = b.ScatterGatherList = null;
    b.CurrentMdlOffset = b.DataLength = b.DataOffset = b.ChecksumBias = b.Reserved = b.DataPhysicalAddress = 0;
    b.NdisPoolHandle = floorPool;
    b.NdisReserved[0] = b.NdisReserved[1] = null;
    const bp = b.ProtocolReserved;
    bp[0] = bp[1] = bp[2] = bp[3] = bp[4] = bp[5] = null;
    const bm = b.MiniportReserved;
    bm[0] = bm[1] = bm[2] = bm[3] = null;
    l.FirstNetBuffer = b;
    l.state = b.state = 1;
    l.state = b.state = 2;
    floorFree.push(l);
  }),
);

// Baseline 2: a fresh 2 KiB Buffer and a wrapper object per packet.
let sink = 0;
const allocUnsafeNs = allocUnsafeBaselineNs(N / 5, 2048, true);

function allocFreeNs(mode: VerifierMode): number {
  const p = pool(mode);
  const n = mode === 'full' ? N / 100 : N;
  return bestOf(3, () =>
    nsPerOp(n, () => {
      const nbl = NdisAllocateNetBufferList(p, 0, 0)!;
      NdisFreeNetBufferList(nbl);
    }),
  );
}

function retreatAdvanceNs(mode: VerifierMode): number {
  const p = pool(mode);
  const nbl = NdisAllocateNetBufferList(p, 0, 0)!;
  const nb = nbl.FirstNetBuffer!;
  NdisAdvanceNetBufferDataStart(nb, 128, false, null); // 128 bytes of backfill
  return bestOf(3, () =>
    nsPerOp(N, () => {
      NdisRetreatNetBufferDataStart(nb, 54, 0, null);
      NdisAdvanceNetBufferDataStart(nb, 54, true, null);
    }),
  );
}

function getDataBufferNs(mode: VerifierMode): number {
  const p = pool(mode);
  const nbl = NdisAllocateNetBufferList(p, 0, 0)!;
  const nb = nbl.FirstNetBuffer!;
  return bestOf(3, () =>
    nsPerOp(N, () => {
      sink += NdisGetDataBuffer(nb, 54, 0, 1, 0);
    }),
  );
}

console.log(`# NDIS 6 buffers - ${await machine()} - ${new Date().toISOString().slice(0, 10)}`);
row('baseline: preallocated object free list pop+push', freeListNs);
row('baseline: Buffer.allocUnsafe(2048) + wrapper object', allocUnsafeNs);
row('baseline: plain NBL+NB objects, every field reset (the floor)', floorNs, freeListNs);
const off = allocFreeNs('off');
row('NBL+NB+MDL+2 KiB allocate+free, verifier off', off, freeListNs);
console.log(`allocate+free (off) vs the reset floor: ${(off / floorNs).toFixed(2)}x`);
const std = allocFreeNs('standard');
row('  same, verifier standard', std, freeListNs);
row('  same, verifier full (poisoning, no reuse, call sites)', allocFreeNs('full'), freeListNs);
console.log(`allocate+free (off) vs Buffer.allocUnsafe(2048)+wrapper: ${(allocUnsafeNs / off).toFixed(1)}x faster`);
console.log(
  `allocate+free (standard) vs Buffer.allocUnsafe(2048)+wrapper: ${(allocUnsafeNs / std).toFixed(1)}x faster`,
);
row('retreat 54 + advance 54 within backfill, verifier off', retreatAdvanceNs('off'), freeListNs);
row('  same, verifier standard', retreatAdvanceNs('standard'), freeListNs);
row('NdisGetDataBuffer 54 bytes in place, verifier off', getDataBufferNs('off'), freeListNs);
row('  same, verifier standard', getDataBufferNs('standard'), freeListNs);

for (const mode of ['off', 'standard'] as const) {
  const p = pool(mode);
  for (let i = 0; i < 100_000; i++) NdisFreeNetBufferList(NdisAllocateNetBufferList(p, 0, 0)!);
  const before = heapUsedAfterGc();
  for (let i = 0; i < 10_000_000; i++) NdisFreeNetBufferList(NdisAllocateNetBufferList(p, 0, 0)!);
  const after = heapUsedAfterGc();
  console.log(
    `heap growth over 10,000,000 NBL allocate+free cycles (verifier ${mode}): ${((after - before) / 1024).toFixed(1)} KiB`,
  );
}
if (sink < 0) console.log(sink);
