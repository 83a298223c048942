import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { Ndis5DriverRole, Ndis5Violation, setPacketPoolDriverRole } from '../../src/ndis/ndis5.js';
import { assertBugCheck } from '../helpers.js';
import {
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  IoAllocateMdl,
  IoFreeMdl,
  MmGetMdlVirtualAddress,
  type NDIS_BUFFER,
  type NDIS_BUFFER_POOL,
  NDIS_BUFFER_TO_SPAN_PAGES,
  type NDIS_PACKET,
  NDIS_PACKET_FIRST_NDIS_BUFFER,
  NDIS_PACKET_LAST_NDIS_BUFFER,
  type NDIS_PACKET_POOL,
  NDIS_PACKET_VALID_COUNTS,
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
  NdisGetFirstBufferFromPacketSafe,
  NdisQueryPacket,
  NdisQueryPacketLength,
  NdisRecalculatePacketCounts,
  NdisUnchainBufferAtBack,
  NdisUnchainBufferAtFront,
  NonPagedPool,
  NormalPagePriority,
  PAGE_SIZE,
  poolTag,
  resetSystem,
} from './ddi.js';

const TAG = poolTag('5sdN');

interface Rig {
  mem: number;
  bufferPool: NDIS_BUFFER_POOL;
  packetPool: NDIS_PACKET_POOL;
  packet: NDIS_PACKET;
}

function rig(buffers = 64): Rig {
  const mem = ExAllocatePoolWithTag(NonPagedPool, 4 * PAGE_SIZE, TAG);
  const bp = { value: null as NDIS_BUFFER_POOL | null };
  NdisAllocateBufferPool({ value: 0 }, bp, buffers);
  const pp = { value: null as NDIS_PACKET_POOL | null };
  NdisAllocatePacketPool({ value: 0 }, pp, 1, 16);
  const p = { value: null as NDIS_PACKET | null };
  NdisAllocatePacket({ value: 0 }, p, pp.value!);
  return { mem, bufferPool: bp.value!, packetPool: pp.value!, packet: p.value! };
}

function buffer(r: Rig, offset: number, length: number): NDIS_BUFFER {
  const b = { value: null as NDIS_BUFFER | null };
  const s = { value: -1 };
  NdisAllocateBuffer(s, b, r.bufferPool, r.mem + offset, length);
  assert.equal(s.value, 0);
  return b.value!;
}

/** What NdisQueryPacket must report for `chain`, computed independently of the packet. */
function expected(chain: NDIS_BUFFER[]) {
  return {
    count: chain.length,
    length: chain.reduce((n, b) => n + b.ByteCount, 0),
    pages: chain.reduce((n, b) => n + NDIS_BUFFER_TO_SPAN_PAGES(b), 0),
    first: chain[0] ?? null,
  };
}

function query(packet: NDIS_PACKET) {
  const pages = { value: -1 };
  const count = { value: -1 };
  const first = { value: undefined as NDIS_BUFFER | null | undefined };
  const length = { value: -1 };
  NdisQueryPacket(packet, pages, count, first as { value: NDIS_BUFFER | null }, length);
  return { count: count.value, length: length.value, pages: pages.value, first: first.value };
}

function linked(packet: NDIS_PACKET): NDIS_BUFFER[] {
  const out: NDIS_BUFFER[] = [];
  for (let b = packet.Private.Head; b !== null; b = b.Next) out.push(b);
  return out;
}

describe('chaining buffers to NDIS 5 packets', () => {
  beforeEach(() => resetSystem());

  it('property: after any sequence of chain/unchain at front/back, the chain and every count agree with a model', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('front', 'back'), offset: fc.nat(3 * PAGE_SIZE), length: fc.nat(PAGE_SIZE) }),
      fc.record({ kind: fc.constantFrom('unfront', 'unback') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        resetSystem();
        const r = rig();
        const model: NDIS_BUFFER[] = [];
        for (const o of ops) {
          if (o.kind === 'front' || o.kind === 'back') {
            const b = buffer(r, o.offset, o.length);
            if (o.kind === 'front') {
              NdisChainBufferAtFront(r.packet, b);
              model.unshift(b);
            } else {
              NdisChainBufferAtBack(r.packet, b);
              model.push(b);
            }
            assert.equal(NDIS_PACKET_VALID_COUNTS(r.packet), false, 'chaining invalidates the counts');
          } else {
            const out = { value: undefined as NDIS_BUFFER | null | undefined };
            if (o.kind === 'unfront') NdisUnchainBufferAtFront(r.packet, out as { value: NDIS_BUFFER | null });
            else NdisUnchainBufferAtBack(r.packet, out as { value: NDIS_BUFFER | null });
            const want = (o.kind === 'unfront' ? model.shift() : model.pop()) ?? null;
            assert.equal(out.value, want);
            if (want !== null) {
              assert.equal(want.Next, null, 'an unchained buffer is unlinked');
              NdisFreeBuffer(want);
            }
          }
          assert.deepEqual(linked(r.packet), model);
          assert.deepEqual(query(r.packet), expected(model));
          assert.equal(NDIS_PACKET_VALID_COUNTS(r.packet), true, 'NdisQueryPacket leaves the counts valid');
          assert.equal(NDIS_PACKET_FIRST_NDIS_BUFFER(r.packet), model[0] ?? null);
          if (model.length > 0) assert.equal(NDIS_PACKET_LAST_NDIS_BUFFER(r.packet), model[model.length - 1]);
          const len = { value: -1 };
          NdisQueryPacketLength(r.packet, len);
          assert.equal(len.value, expected(model).length);
        }
        const out = { value: null as NDIS_BUFFER | null };
        for (;;) {
          NdisUnchainBufferAtFront(r.packet, out);
          if (out.value === null) break;
          NdisFreeBuffer(out.value);
        }
        NdisFreePacket(r.packet);
        NdisFreePacketPool(r.packetPool);
        NdisFreeBufferPool(r.bufferPool);
      }),
      { numRuns: 150 },
    );
  });

  it('chaining a chain of buffers links all of them, at the front or at the back', () => {
    const r = rig();
    const [a, b, c, d] = [buffer(r, 0, 10), buffer(r, 10, 20), buffer(r, 30, 30), buffer(r, 60, 40)];
    a.Next = b;
    c.Next = d;
    NdisChainBufferAtBack(r.packet, a);
    NdisChainBufferAtFront(r.packet, c);
    assert.deepEqual(linked(r.packet), [c, d, a, b]);
    assert.equal(r.packet.Private.Tail, b);
    assert.deepEqual(query(r.packet), expected([c, d, a, b]));
  });

  it('NdisRecalculatePacketCounts recomputes PhysicalCount, TotalLength, Count and Tail', () => {
    const r = rig();
    const a = buffer(r, PAGE_SIZE - 1, 2); // spans two pages
    const b = buffer(r, 0, 0); // empty: counts as one page
    NdisChainBufferAtBack(r.packet, a);
    NdisChainBufferAtBack(r.packet, b);
    NdisRecalculatePacketCounts(r.packet);
    const p = r.packet.Private;
    assert.deepEqual([p.PhysicalCount, p.TotalLength, p.Count, p.Tail, p.ValidCounts], [3, 2, 2, b, true]);
  });

  it('NdisGetFirstBufferFromPacket(Safe): first buffer, its address and length, and the total; NULL and zeros when empty', () => {
    const r = rig();
    const fb = { value: undefined as NDIS_BUFFER | null | undefined } as { value: NDIS_BUFFER | null };
    const va = { value: -1 };
    const fl = { value: -1 };
    const total = { value: -1 };
    NdisGetFirstBufferFromPacket(r.packet, fb, va, fl, total);
    assert.deepEqual([fb.value, va.value, fl.value, total.value], [null, 0, 0, 0]);
    const a = buffer(r, 100, 54);
    const b = buffer(r, 500, 1000);
    NdisChainBufferAtBack(r.packet, a);
    NdisChainBufferAtBack(r.packet, b);
    NdisGetFirstBufferFromPacketSafe(r.packet, fb, va, fl, total, NormalPagePriority);
    assert.deepEqual([fb.value, va.value, fl.value, total.value], [a, MmGetMdlVirtualAddress(a), 54, 1054]);
  });

  it('NdisQueryPacket takes any subset of its out parameters (the others NULL)', () => {
    const r = rig();
    NdisChainBufferAtBack(r.packet, buffer(r, 0, 77));
    const length = { value: -1 };
    NdisQueryPacket(r.packet, null, null, null, length);
    assert.equal(length.value, 77);
    const count = { value: -1 };
    NdisQueryPacket(r.packet, null, count, null, null);
    assert.equal(count.value, 1);
  });

  it('N5-4: a lower-level driver chaining an OS MDL (IoAllocateMdl) is reported under the verifier', () => {
    const r = rig();
    const os = IoAllocateMdl(r.mem, 64, false, false, null)!;
    const e = assertBugCheck(
      () => NdisChainBufferAtBack(r.packet, os),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.ForeignMdlChained,
    );
    assert.equal(e.parameters[1], os.origin);
    assert.equal(r.packet.Private.Head, null, 'nothing was chained');
    // A pool descriptor chained after an OS MDL is caught wherever it sits in the chain.
    const good = buffer(r, 0, 8);
    good.Next = os;
    assertBugCheck(
      () => NdisChainBufferAtFront(r.packet, good),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.ForeignMdlChained,
    );
    good.Next = null;
    IoFreeMdl(os);
  });

  it('N5-4: a highest-level protocol may chain OS MDLs alongside buffer descriptors', () => {
    const r = rig();
    setPacketPoolDriverRole(r.packetPool, Ndis5DriverRole.HighestLevelProtocol);
    const os = IoAllocateMdl(r.mem, 64, false, false, null)!;
    const pooled = buffer(r, 64, 32);
    NdisChainBufferAtBack(r.packet, os);
    NdisChainBufferAtBack(r.packet, pooled);
    assert.deepEqual(query(r.packet), expected([os, pooled]));
    const out = { value: null as NDIS_BUFFER | null };
    NdisUnchainBufferAtFront(r.packet, out);
    IoFreeMdl(out.value!);
  });

  it('N5-4 with the verifier off: nothing is checked, as on a free build', () => {
    resetSystem({ verifier: 'off' });
    const r = rig();
    const os = IoAllocateMdl(r.mem, 64, false, false, null)!;
    NdisChainBufferAtBack(r.packet, os);
    assert.equal(r.packet.Private.Head, os);
  });

  it('misuse: chaining a freed buffer, or one already in the chain, is reported', () => {
    const r = rig();
    const a = buffer(r, 0, 8);
    NdisChainBufferAtBack(r.packet, a);
    assertBugCheck(
      () => NdisChainBufferAtBack(r.packet, a),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.BufferChainedTwice,
    );
    const dead = buffer(r, 8, 8);
    NdisFreeBuffer(dead);
    assertBugCheck(
      () => NdisChainBufferAtFront(r.packet, dead),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.DeadMdlChained,
    );
    assert.deepEqual(linked(r.packet), [a]);
  });
});
