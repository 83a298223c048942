/**
 * FwpsConstructIpHeaderForTransportPacket0 per packet: an IPv4 header in front of a 100-byte UDP segment (data
 * split over two MDLs, 20 bytes of backfill), then NdisAdvanceNetBufferDataStart to put the data back for the next
 * round. The verifier is off, as for all benchmarks.
 *
 * Baselines in the same run: DESIGN.md's preallocated free-list anchor, and the two fresh byte arrays (segment
 * copy and header) that the previous, copying implementation made per packet - the cost of allocating alone.
 * Heap growth over the steady-state loop is printed too: it must stay near 0 bytes per call.
 *
 * Run: node --conditions=development --import tsx --expose-gc bench/wfp-construct.ts
 */
import { resetSystem } from '../src/kernel/system.js';
import { NdisAdvanceNetBufferDataStart } from '../src/ndis/retreat.js';
import type { NET_BUFFER_LIST } from '../src/ndis/structures.js';
import { AF_INET } from '../src/wfp/constants.js';
import { FwpsAllocateNetBufferAndNetBufferList0 } from '../src/wfp/index.js';
import { FwpsConstructIpHeaderForTransportPacket0 } from '../src/wfp/ipHeader.js';
import { Chain, wfpPool } from '../test/wfp/packetUtil.js';
import { bestOf, freeListBaselineNs, heapUsedAfterGc, machine, nsPerOp, row } from './lib.js';

const ITERATIONS = 500_000;

resetSystem({ verifier: 'off' });
const pool = wfpPool();
const segment = new Uint8Array(100);
segment[5] = 100; // UDP length
const chain = new Chain([new Uint8Array(20), segment.subarray(0, 37), segment.subarray(37)]);
const box = { value: null as NET_BUFFER_LIST | null };
FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 20, segment.length, box);
const nbl = box.value!;
const nb = nbl.FirstNetBuffer!;
const src = Uint8Array.from([10, 0, 0, 1]);
const dst = Uint8Array.from([192, 0, 2, 7]);

function construct(): void {
  FwpsConstructIpHeaderForTransportPacket0(nbl, 0, AF_INET, src, dst, 17, 0, null, 0, 0, null, 0, 0);
  NdisAdvanceNetBufferDataStart(nb, 20, false, null);
}

let sink = 0;
function allocatingBaseline(i: number): void {
  const seg = new Uint8Array(100);
  const header = new Uint8Array(20);
  seg[0] = i;
  header[0] = i;
  sink += seg[0]! + header[0]!;
}

console.log(`# FwpsConstructIpHeaderForTransportPacket0 - ${await machine()} - ${new Date().toISOString()}`);
const freeList = freeListBaselineNs(ITERATIONS);
const allocating = bestOf(3, () => nsPerOp(ITERATIONS, allocatingBaseline));
const ns = bestOf(3, () => nsPerOp(ITERATIONS, construct));
row('baseline: preallocated free list pop+push', freeList);
row('baseline: two fresh Uint8Arrays (100 + 20 bytes)', allocating, freeList);
row('construct IPv4 header + UDP checksum, 100 B over 2 MDLs', ns, freeList);

const before = heapUsedAfterGc();
for (let i = 0; i < ITERATIONS; i++) construct();
const after = heapUsedAfterGc();
console.log(`heap growth ${((after - before) / ITERATIONS).toFixed(3)} B/call over ${ITERATIONS} calls`);
if (sink < 0) console.log(sink);
