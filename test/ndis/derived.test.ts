import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { poolTagStats } from '../../src/kernel/pool.js';
import { flatten } from '../../src/ndis/chain.js';
import { outstandingDescriptors, TAG_NDIS } from '../../src/ndis/pools.js';
import type { NET_BUFFER, NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import { Ndis6Violation } from '../../src/ndis/violations.js';
import { assertBugCheck } from '../helpers.js';
import {
  bytesAt,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
  NDIS_STATUS_SUCCESS,
  NdisAllocateCloneNetBufferList,
  NdisAllocateFragmentNetBufferList,
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateReassembledNetBufferList,
  NdisFreeCloneNetBufferList,
  NdisFreeFragmentNetBufferList,
  NdisFreeNetBuffer,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisFreeNetBufferPool,
  NdisFreeReassembledNetBufferList,
  NdisRetreatNetBufferDataStart,
  resetSystem,
} from './ddi.js';
import { chainOf, concat, nblPool, nbPool, pattern } from './helpers.js';

const segmentsArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 5 });

/** An NBL whose NET_BUFFERs each describe a random chain at a random offset; returns it and the flat data. */
const nblCase = fc.array(
  segmentsArb.chain((segments) => {
    const total = segments.reduce((n, s) => n + s.length, 0);
    return fc.integer({ min: 0, max: total }).chain((offset) =>
      fc.record({
        segments: fc.constant(segments),
        offset: fc.constant(offset),
        length: fc.integer({ min: 0, max: total - offset }),
      }),
    );
  }),
  { minLength: 1, maxLength: 4 },
);

function buildNbl(cases: { segments: Uint8Array[]; offset: number; length: number }[]): {
  nbl: NET_BUFFER_LIST;
  flats: Uint8Array[];
  extra: NET_BUFFER[];
} {
  const pool = nblPool({ fAllocateNetBuffer: true });
  const nbp = nbPool();
  const flats = cases.map((c) => concat(c.segments).slice(c.offset, c.offset + c.length));
  const first = cases[0]!;
  const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, chainOf(first.segments), first.offset, first.length)!;
  let tail = nbl.FirstNetBuffer!;
  const extra: NET_BUFFER[] = [];
  for (const c of cases.slice(1)) {
    const nb = NdisAllocateNetBuffer(nbp, chainOf(c.segments), c.offset, c.length)!;
    tail.Next = nb;
    tail = nb;
    extra.push(nb);
  }
  return { nbl, flats, extra };
}

function nbs(nbl: NET_BUFFER_LIST): NET_BUFFER[] {
  const out: NET_BUFFER[] = [];
  for (let nb = nbl.FirstNetBuffer; nb !== null; nb = nb.Next) out.push(nb);
  return out;
}

describe('clones (NdisAllocateCloneNetBufferList)', () => {
  beforeEach(() => resetSystem());

  it('property: a clone copies EVERY NET_BUFFER and sees the parent bytes, with and without the original MDLs', () => {
    fc.assert(
      fc.property(nblCase, fc.boolean(), (cases, original) => {
        resetSystem();
        const { nbl, flats } = buildNbl(cases);
        const before = nbs(nbl).map((nb) => ({ ...nb }));
        const flags = original ? NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS : 0;
        const clone = NdisAllocateCloneNetBufferList(nbl, nblPool(), nbPool(), flags)!;
        const cloned = nbs(clone);
        assert.equal(cloned.length, cases.length);
        for (const [i, nb] of cloned.entries()) assert.deepEqual(flatten(nb), flats[i]);
        assert.equal(clone.Context, null, 'no NET_BUFFER_LIST_CONTEXT');
        assert.equal(clone.ParentNetBufferList, null, 'NDIS leaves the parent pointer to the caller');
        if (original) {
          cloned.forEach((nb, i) => {
            const src = nbs(nbl)[i]!;
            assert.equal(nb.MdlChain, src.MdlChain);
            assert.equal(nb.DataOffset, src.DataOffset);
            assert.equal(nb.CurrentMdl, src.CurrentMdl);
          });
        } else {
          for (const nb of cloned) assert.equal(nb.DataOffset, 0, 'cloned from the start of the used data');
        }
        nbs(nbl).forEach((nb, i) => {
          assert.equal(nb.MdlChain, before[i]!.MdlChain, 'the original is untouched');
          assert.equal(nb.DataOffset, before[i]!.DataOffset);
          assert.equal(nb.DataLength, before[i]!.DataLength);
        });
        NdisFreeCloneNetBufferList(clone, flags);
        assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, 0, 'clone MDLs freed');
      }),
      { numRuns: 150 },
    );
  });

  it('a write through a clone is seen by the parent (same data buffers)', () => {
    const { nbl } = buildNbl([{ segments: [pattern(4), pattern(12)], offset: 2, length: 12 }]);
    const clone = NdisAllocateCloneNetBufferList(nbl, null, null, 0)!;
    const m = clone.FirstNetBuffer!.CurrentMdl!;
    bytesAt(m.StartVa + m.ByteOffset, 1)[0] = 0xab;
    assert.equal(flatten(nbl.FirstNetBuffer!)[0], 0xab);
    NdisFreeCloneNetBufferList(clone, 0);
  });

  it('misuse: a clone freed with NdisFreeNetBufferList, mismatched clone flags, a parent freed with ChildRefCount > 0', () => {
    const { nbl } = buildNbl([{ segments: [pattern(20)], offset: 0, length: 20 }]);
    const clone = NdisAllocateCloneNetBufferList(nbl, null, null, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS)!;
    clone.ParentNetBufferList = nbl;
    nbl.ChildRefCount++;
    assertBugCheck(() => NdisFreeNetBufferList(clone), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.WrongFree);
    assertBugCheck(
      () => NdisFreeCloneNetBufferList(clone, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.WrongFree,
    );
    assertBugCheck(
      () => NdisFreeCloneNetBufferList(clone, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS | 1),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.WrongFree,
    );
    assertBugCheck(
      () => NdisFreeNetBufferList(nbl),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.ParentWithChildren,
    );
    assertBugCheck(
      () => NdisFreeNetBuffer(clone.FirstNetBuffer!),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.WrongFree,
    );
    assertBugCheck(
      () => NdisFreeFragmentNetBufferList(clone, 0, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.WrongFree,
    );
    NdisFreeCloneNetBufferList(clone, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
    nbl.ChildRefCount--;
    NdisFreeNetBufferList(nbl);
    assert.equal(outstandingDescriptors().length, 0);
  });

  it('clone NET_BUFFERs return to the NET_BUFFER pool given, so that pool can be freed afterwards', () => {
    const { nbl } = buildNbl([{ segments: [pattern(20)], offset: 0, length: 20 }]);
    const nbp = nbPool();
    const nblp = nblPool();
    const clone = NdisAllocateCloneNetBufferList(nbl, nblp, nbp, 0)!;
    assert.equal(clone.FirstNetBuffer!.NdisPoolHandle, nbp);
    assertBugCheck(() => NdisFreeNetBufferPool(nbp), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.PoolNotEmpty);
    NdisFreeCloneNetBufferList(clone, 0);
    NdisFreeNetBufferPool(nbp);
    NdisFreeNetBufferListPool(nblp);
  });
});

describe('fragments and reassembly', () => {
  beforeEach(() => resetSystem());

  it('property: fragments split each NET_BUFFER after StartOffset into pieces <= MaximumLength that concatenate back', () => {
    fc.assert(
      fc.property(nblCase, fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 8 }), (cases, max, start) => {
        resetSystem();
        const { nbl, flats } = buildNbl(cases);
        const frag = NdisAllocateFragmentNetBufferList(nbl, nblPool(), nbPool(), start, max, 0, 0, 0)!;
        const pieces = nbs(frag).map(flatten);
        for (const p of pieces) assert.ok(p.length > 0 && p.length <= max);
        const expected = concat(flats.map((f) => f.slice(Math.min(start, f.length))));
        assert.deepEqual(concat(pieces), expected);
        NdisFreeFragmentNetBufferList(frag, 0, 0);
        assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, 0);
      }),
      { numRuns: 150 },
    );
  });

  it('fragments are retreated by DataOffsetDelta with NDIS-allocated space, freed with the fragment list', () => {
    const { nbl } = buildNbl([{ segments: [pattern(50)], offset: 10, length: 40 }]);
    const frag = NdisAllocateFragmentNetBufferList(nbl, nblPool(), nbPool(), 0, 16, 20, 8, 0)!;
    const pieces = nbs(frag);
    assert.equal(pieces.length, 3);
    for (const nb of pieces) {
      assert.equal(nb.DataOffset, 8, 'DataBackFill left in front');
      assert.deepEqual(
        flatten(nb).subarray(20),
        pattern(50)
          .subarray(10)
          .subarray(pieces.indexOf(nb) * 16, pieces.indexOf(nb) * 16 + 16),
      );
    }
    NdisFreeFragmentNetBufferList(frag, 20, 0);
    assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, 0);
    assert.equal(NdisAllocateFragmentNetBufferList(nbl, null, null, 0, 0, 0, 0, 0), null, 'MaximumLength 0');
    const viaNdisPools = NdisAllocateFragmentNetBufferList(nbl, null, null, 0, 16, 0, 0, 0)!;
    assert.equal(
      viaNdisPools.NdisPoolHandle !== null && (viaNdisPools.NdisPoolHandle as { PoolTag: number }).PoolTag,
      TAG_NDIS,
    );
    NdisFreeFragmentNetBufferList(viaNdisPools, 0, 0);
  });

  it('property: reassembly describes every fragment after StartOffset, in order, in one NET_BUFFER', () => {
    fc.assert(
      fc.property(nblCase, fc.integer({ min: 0, max: 6 }), fc.boolean(), (cases, start, preallocated) => {
        resetSystem();
        const { nbl, flats } = buildNbl(cases);
        const pool = nblPool({ fAllocateNetBuffer: preallocated });
        let ndisBytes = -1;
        for (let round = 0; round < 2; round++) {
          const whole = NdisAllocateReassembledNetBufferList(nbl, pool, start, 0, 0, 0)!;
          assert.equal(nbs(whole).length, 1);
          assert.deepEqual(
            flatten(whole.FirstNetBuffer!),
            concat(flats.map((f) => f.slice(Math.min(start, f.length)))),
          );
          if (preallocated) assert.equal(whole.FirstNetBuffer, whole.preNb);
          NdisFreeReassembledNetBufferList(whole, 0, 0);
          // NDIS's own NET_BUFFER pool keeps its cached descriptor; nothing else may stay.
          const now = poolTagStats(TAG_NDIS)?.bytes ?? 0;
          if (round === 1) assert.equal(now, ndisBytes, 'no MDL left behind');
          ndisBytes = now;
        }
        assert.equal(
          outstandingDescriptors().filter((d) => d.kind === 'reassembled NET_BUFFER_LIST' || d.tag === 'NDIS').length,
          0,
        );
        NdisFreeNetBufferListPool(pool);
      }),
      { numRuns: 150 },
    );
  });

  it('a reassembled list retreated for a header; freed by its own DDI only', () => {
    const { nbl } = buildNbl([{ segments: [pattern(30)], offset: 0, length: 30 }]);
    const whole = NdisAllocateReassembledNetBufferList(nbl, nblPool({ fAllocateNetBuffer: true }), 10, 14, 0, 0)!;
    assert.equal(whole.FirstNetBuffer!.DataLength, 34);
    assert.equal(NdisRetreatNetBufferDataStart(whole.FirstNetBuffer!, 0, 0, null), NDIS_STATUS_SUCCESS);
    assertBugCheck(
      () => NdisFreeCloneNetBufferList(whole, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.WrongFree,
    );
    NdisFreeReassembledNetBufferList(whole, 14, 0);
    assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, 0);
  });
});
