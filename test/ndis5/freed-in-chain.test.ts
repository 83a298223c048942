/**
 * Buffers freed while still chained to a packet. The NdisFreePacket and NdisFreeBuffer pages allow it as the way
 * to release a packet's buffers just before NdisFreePacket ("call NdisFreeBuffer as many times as necessary to
 * release all buffer descriptors chained to the packet"); anything else done with such a packet walks freed
 * descriptors, which the verifier reports (0xC4, Ndis5Violation.PacketChainHoldsFreedBuffer).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { Ndis5DriverRole, Ndis5Violation, setPacketPoolDriverRole } from '../../src/ndis/ndis5.js';
import { assertBugCheck } from '../helpers.js';
import {
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  ExFreePool,
  IoAllocateMdl,
  IoFreeMdl,
  type NDIS_BUFFER,
  type NDIS_BUFFER_POOL,
  type NDIS_PACKET,
  type NDIS_PACKET_POOL,
  NdisAllocateBuffer,
  NdisAllocateBufferPool,
  NdisAllocatePacket,
  NdisAllocatePacketPool,
  NdisChainBufferAtBack,
  NdisChainBufferAtFront,
  NdisFreeBuffer,
  NdisFreeBufferPool,
  NdisFreePacket,
  NdisFreePacketPool,
  NdisGetFirstBufferFromPacket,
  NdisGetNextBuffer,
  NdisPacketPoolUsage,
  NdisQueryPacket,
  NdisQueryPacketLength,
  NdisReinitializePacket,
  NdisUnchainBufferAtBack,
  NdisUnchainBufferAtFront,
  NonPagedPool,
  poolTag,
  resetSystem,
} from './ddi.js';

const TAG = poolTag('5sdN');

interface Rig {
  memory: number;
  bufferPool: NDIS_BUFFER_POOL;
  packetPool: NDIS_PACKET_POOL;
  packet: NDIS_PACKET;
  buffers: NDIS_BUFFER[];
}

/** A packet with `n` buffer descriptors (16 bytes each of one pool block) chained at the back. */
function rig(n: number): Rig {
  const memory = ExAllocatePoolWithTag(NonPagedPool, 16 * Math.max(1, n), TAG);
  const bp = { value: null as NDIS_BUFFER_POOL | null };
  NdisAllocateBufferPool({ value: 0 }, bp, n + 2);
  const pp = { value: null as NDIS_PACKET_POOL | null };
  NdisAllocatePacketPool({ value: 0 }, pp, 1, 16);
  const p = { value: null as NDIS_PACKET | null };
  NdisAllocatePacket({ value: 0 }, p, pp.value!);
  const buffers: NDIS_BUFFER[] = [];
  for (let i = 0; i < n; i++) {
    const b = { value: null as NDIS_BUFFER | null };
    NdisAllocateBuffer({ value: 0 }, b, bp.value!, memory + 16 * i, 16);
    NdisChainBufferAtBack(p.value!, b.value!);
    buffers.push(b.value!);
  }
  return { memory, bufferPool: bp.value!, packetPool: pp.value!, packet: p.value!, buffers };
}

/** The documented release: walk the chain saving each link, free every buffer, then free the packet. */
function freeChainedThenPacket(r: Rig): void {
  const first = { value: null as NDIS_BUFFER | null };
  NdisQueryPacket(r.packet, null, null, first, null);
  let b = first.value;
  while (b !== null) {
    const next = { value: null as NDIS_BUFFER | null };
    NdisGetNextBuffer(b, next);
    NdisFreeBuffer(b);
    b = next.value;
  }
  NdisFreePacket(r.packet);
}

function teardown(r: Rig): void {
  NdisFreePacketPool(r.packetPool);
  NdisFreeBufferPool(r.bufferPool);
  ExFreePool(r.memory);
}

for (const verifier of ['standard', 'full'] as const) {
  describe(`NDIS 5 buffers freed while chained (${verifier} verifier)`, () => {
    beforeEach(() => resetSystem({ verifier }));

    it('NdisFreePacket page: freeing every chained buffer with NdisFreeBuffer, then NdisFreePacket, is the documented release and is not reported', () => {
      const r = rig(3);
      freeChainedThenPacket(r);
      assert.equal(NdisPacketPoolUsage(r.packetPool), 0);
      assert.equal(r.bufferPool.inUse, 0);
      teardown(r);
      assert.deepEqual(collectLeaks(), []);
    });

    const uses: [string, (p: NDIS_PACKET) => void][] = [
      ['NdisQueryPacket', (p) => NdisQueryPacket(p, null, { value: 0 }, null, { value: 0 })],
      ['NdisQueryPacketLength', (p) => NdisQueryPacketLength(p, { value: 0 })],
      [
        'NdisGetFirstBufferFromPacket',
        (p) => NdisGetFirstBufferFromPacket(p, { value: null }, { value: 0 }, { value: 0 }, { value: 0 }),
      ],
      ['NdisUnchainBufferAtFront', (p) => NdisUnchainBufferAtFront(p, { value: null })],
      ['NdisUnchainBufferAtBack', (p) => NdisUnchainBufferAtBack(p, { value: null })],
    ];
    for (const [ddi, use] of uses) {
      it(`NdisFreeBuffer page: a buffer freed while chained, then ${ddi} on its packet, is 0xC4 / PacketChainHoldsFreedBuffer with its index`, () => {
        const r = rig(3);
        NdisFreeBuffer(r.buffers[1]!);
        const e = assertBugCheck(
          () => use(r.packet),
          DRIVER_VERIFIER_DETECTED_VIOLATION,
          Ndis5Violation.PacketChainHoldsFreedBuffer,
        );
        assert.equal(e.parameters[1], 1);
        assert.match(e.message, new RegExp(ddi));
      });
    }

    it('NdisFreeBuffer page: chaining more buffers to a packet whose chain holds a freed one is reported', () => {
      const r = rig(2);
      NdisFreeBuffer(r.buffers[0]!);
      const b = { value: null as NDIS_BUFFER | null };
      NdisAllocateBuffer({ value: 0 }, b, r.bufferPool, r.memory, 16);
      const e = assertBugCheck(
        () => NdisChainBufferAtFront(r.packet, b.value!),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        Ndis5Violation.PacketChainHoldsFreedBuffer,
      );
      assert.equal(e.parameters[1], 0);
    });

    it('NdisFreePacket page: a chain only partly freed still leaks the buffers before the freed one (0x1052, their count)', () => {
      const r = rig(3);
      NdisFreeBuffer(r.buffers[2]!);
      const e = assertBugCheck(
        () => NdisFreePacket(r.packet),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        Ndis5Violation.PacketFreedWithBuffersChained,
      );
      assert.equal(e.parameters[1], 2);
    });

    it('unchained first, or the packet reinitialised, the freed buffers are no concern of the packet any more', () => {
      const r = rig(2);
      const out = { value: null as NDIS_BUFFER | null };
      NdisUnchainBufferAtFront(r.packet, out);
      NdisFreeBuffer(out.value!);
      NdisQueryPacketLength(r.packet, { value: 0 });
      // NdisReinitializePacket empties the chain: the remaining buffer, freed after, was not chained then.
      NdisFreeBuffer(r.buffers[1]!);
      NdisReinitializePacket(r.packet);
      const len = { value: -1 };
      NdisQueryPacketLength(r.packet, len);
      assert.equal(len.value, 0);
      const b = { value: null as NDIS_BUFFER | null };
      NdisAllocateBuffer({ value: 0 }, b, r.bufferPool, r.memory, 16);
      NdisChainBufferAtBack(r.packet, b.value!);
      NdisUnchainBufferAtBack(r.packet, out);
      NdisFreeBuffer(out.value!);
      NdisFreePacket(r.packet);
      teardown(r);
      assert.deepEqual(collectLeaks(), []);
    });

    it('an OS MDL a highest-level protocol chained and freed with IoFreeMdl is found the same way (the chain is walked)', () => {
      const r = rig(0);
      setPacketPoolDriverRole(r.packetPool, Ndis5DriverRole.HighestLevelProtocol);
      const m = IoAllocateMdl(r.memory, 16, false, false, null)!;
      NdisChainBufferAtBack(r.packet, m);
      NdisQueryPacketLength(r.packet, { value: 0 });
      IoFreeMdl(m);
      const e = assertBugCheck(
        () => NdisQueryPacketLength(r.packet, { value: 0 }),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        Ndis5Violation.PacketChainHoldsFreedBuffer,
      );
      assert.equal(e.parameters[1], 0);
      // Freeing the packet after freeing its MDLs is still the documented release.
      NdisFreePacket(r.packet);
      teardown(r);
    });

    it('a record of an older chaining is stale: a buffer chained to a packet that was since reinitialised is freed freely', () => {
      const r = rig(1);
      NdisReinitializePacket(r.packet);
      NdisFreeBuffer(r.buffers[0]!);
      NdisQueryPacket(r.packet, null, null, null, { value: 0 });
      NdisFreePacket(r.packet);
      teardown(r);
    });
  });
}

describe('NDIS 5 buffers freed while chained: which frees leak (property)', () => {
  it('NdisFreePacket page: freeing buffers k..n-1 while chained, then the packet, is reported exactly when k > 0, with k buffers lost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        fc.constantFrom('standard' as const, 'full' as const),
        ([n, k], verifier) => {
          resetSystem({ verifier });
          const r = rig(n);
          for (let i = k; i < n; i++) NdisFreeBuffer(r.buffers[i]!);
          if (k === 0) {
            NdisFreePacket(r.packet);
            teardown(r);
            assert.deepEqual(collectLeaks(), []);
            return;
          }
          const e = assertBugCheck(
            () => NdisFreePacket(r.packet),
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            Ndis5Violation.PacketFreedWithBuffersChained,
          );
          assert.equal(e.parameters[1], k);
        },
      ),
      { numRuns: 60 },
    );
  });
});
