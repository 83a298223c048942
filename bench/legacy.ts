/**
 * NDIS 5 and the firewall hook: packet allocate + free, buffer descriptor allocate + free (with its N5-2 range
 * check), a receive-path packet cycle (packet, two buffers chained, queried, unchained, freed), and running one
 * FORWARD firewall hook on a 64-byte packet copied into an IPRcvBuf chain and freed again. In the same run the
 * baselines: a preallocated-object free list and Buffer.allocUnsafe(1500). Also the bytes of JavaScript heap
 * allocated per operation (heap growth over a loop with no collection in between).
 *
 * Run: node --import tsx --expose-gc bench/legacy.ts
 */

import { buildRcvBufChain, FirewallHookRegistration, runFirewallHooks } from '../src/api/fwhook.js';
import { DEST_LOCAL, FIREWALL_CONTEXT_T, FORWARD, IP_RECEIVE, IPFreeBuff } from '../src/ddi/fwhook.js';
import { ExAllocatePoolWithTag, NonPagedPool, poolTag, resetSystem } from '../src/ddi/kernel.js';
import {
  type NDIS_BUFFER,
  type NDIS_BUFFER_POOL,
  type NDIS_PACKET,
  type NDIS_PACKET_POOL,
  NdisAllocateBuffer,
  NdisAllocateBufferPool,
  NdisAllocatePacket,
  NdisAllocatePacketPool,
  NdisChainBufferAtBack,
  NdisFreeBuffer,
  NdisFreePacket,
  NdisQueryPacket,
  NdisUnchainBufferAtFront,
} from '../src/ddi/ndis5.js';
import type { VerifierMode } from '../src/kernel/verifier.js';
import { allocUnsafeBaselineNs, bestOf, freeListBaselineNs, machine, nsPerOp, row } from './lib.js';

const N = 2_000_000;
let sink = 0;

const freeListNs = freeListBaselineNs(N);
const allocUnsafeNs = allocUnsafeBaselineNs(N / 4, 1500, false);

interface Rig {
  mem: number;
  buffers: NDIS_BUFFER_POOL;
  packets: NDIS_PACKET_POOL;
}

function rig(mode: VerifierMode): Rig {
  resetSystem({ verifier: mode });
  const mem = ExAllocatePoolWithTag(NonPagedPool, 2048, poolTag('hcnB'));
  const bp = { value: null as NDIS_BUFFER_POOL | null };
  NdisAllocateBufferPool({ value: 0 }, bp, 64);
  const pp = { value: null as NDIS_PACKET_POOL | null };
  NdisAllocatePacketPool({ value: 0 }, pp, 64, 32);
  return { mem, buffers: bp.value!, packets: pp.value! };
}

const status = { value: 0 };
const packetBox = { value: null as NDIS_PACKET | null };
const bufferBox = { value: null as NDIS_BUFFER | null };
const bufferBox2 = { value: null as NDIS_BUFFER | null };
const count = { value: 0 };
const length = { value: 0 };

function packetCycle(r: Rig): void {
  NdisAllocatePacket(status, packetBox, r.packets);
  NdisFreePacket(packetBox.value!);
}

function bufferCycle(r: Rig): void {
  NdisAllocateBuffer(status, bufferBox, r.buffers, r.mem + 14, 1486);
  NdisFreeBuffer(bufferBox.value!);
}

function receiveCycle(r: Rig): void {
  NdisAllocatePacket(status, packetBox, r.packets);
  const p = packetBox.value!;
  NdisAllocateBuffer(status, bufferBox, r.buffers, r.mem, 14);
  NdisAllocateBuffer(status, bufferBox2, r.buffers, r.mem + 14, 1486);
  NdisChainBufferAtBack(p, bufferBox.value!);
  NdisChainBufferAtBack(p, bufferBox2.value!);
  NdisQueryPacket(p, null, count, null, length);
  sink = (sink + length.value) & 0xffff; // stays a small integer: no heap number per call
  NdisUnchainBufferAtFront(p, bufferBox);
  NdisFreeBuffer(bufferBox.value!);
  NdisUnchainBufferAtFront(p, bufferBox);
  NdisFreeBuffer(bufferBox.value!);
  NdisFreePacket(p);
}

const frame = new Uint8Array(64).fill(0x45);
const context = new FIREWALL_CONTEXT_T(IP_RECEIVE, 0x3000_0000, 0);
function hookCycle(): void {
  const chain = buildRcvBufChain(frame);
  const v = runFirewallHooks(chain, 1, 0, DEST_LOCAL, context);
  IPFreeBuff(v.chain);
}

function measure(mode: VerifierMode, body: (r: Rig) => void, n = N): number {
  const r = rig(mode);
  return bestOf(3, () => nsPerOp(n, () => body(r)));
}

function measureHook(mode: VerifierMode, n = N / 2): number {
  resetSystem({ verifier: mode });
  FirewallHookRegistration.register(() => FORWARD, 1);
  return bestOf(3, () => nsPerOp(n, hookCycle));
}

/** Bytes of JavaScript heap allocated per call of `body`, measured without a collection in between. */
function heapBytesPerOp(body: () => void, n = 200_000): number {
  for (let i = 0; i < 50_000; i++) body();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) body();
  const after = process.memoryUsage().heapUsed;
  return Math.max(0, after - before) / n;
}

console.log(`# NDIS 5 and the firewall hook - ${await machine()} - ${new Date().toISOString().slice(0, 10)}`);
row('baseline: preallocated object free list pop+push', freeListNs);
row('baseline: Buffer.allocUnsafe(1500)', allocUnsafeNs);
for (const mode of ['off', 'standard'] as const) {
  row(`NdisAllocatePacket + NdisFreePacket, verifier ${mode}`, measure(mode, packetCycle), freeListNs);
  row(`NdisAllocateBuffer + NdisFreeBuffer, verifier ${mode}`, measure(mode, bufferCycle), freeListNs);
  row(`packet + 2 buffers chained, queried, unchained, freed, ${mode}`, measure(mode, receiveCycle), freeListNs);
  const hook = measureHook(mode);
  row(`64-byte packet -> IPRcvBuf chain -> 1 hook -> IPFreeBuff, ${mode}`, hook, freeListNs);
  console.log(`  vs Buffer.allocUnsafe(1500): ${(allocUnsafeNs / hook).toFixed(2)}x its speed`);
}
for (const mode of ['off', 'standard'] as const) {
  const r = rig(mode);
  console.log(`heap bytes per packet cycle (verifier ${mode}): ${heapBytesPerOp(() => packetCycle(r)).toFixed(2)}`);
  console.log(`heap bytes per buffer cycle (verifier ${mode}): ${heapBytesPerOp(() => bufferCycle(r)).toFixed(2)}`);
  console.log(`heap bytes per receive cycle (verifier ${mode}): ${heapBytesPerOp(() => receiveCycle(r)).toFixed(2)}`);
  resetSystem({ verifier: mode });
  FirewallHookRegistration.register(() => FORWARD, 1);
  console.log(`heap bytes per firewall-hook cycle (verifier ${mode}): ${heapBytesPerOp(hookCycle).toFixed(2)}`);
}
if (sink < 0) console.log(sink);
