import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { writeBytes } from '../../src/kernel/memory.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { chainBytes, flatten } from '../../src/ndis/chain.js';
import { TAG_NDIS } from '../../src/ndis/pools.js';
import type { NET_BUFFER } from '../../src/ndis/structures.js';
import { IRQL_NETBUFFER_FUNCTION, Ndis6Violation } from '../../src/ndis/violations.js';
import { assertBugCheck } from '../helpers.js';
import {
  bytesAt,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  HIGH_LEVEL,
  IoAllocateMdl,
  IoFreeMdl,
  KeLowerIrql,
  KeRaiseIrql,
  type MDL,
  MmBuildMdlForNonPagedPool,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NdisAdvanceNetBufferDataStart,
  NdisAdvanceNetBufferListDataStart,
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferAndNetBufferList,
  NdisCopyFromNetBufferToNetBuffer,
  NdisFreeNetBuffer,
  NdisFreeNetBufferList,
  NdisGetDataBuffer,
  NdisRetreatNetBufferDataStart,
  NdisRetreatNetBufferListDataStart,
  NET_BUFFER_CURRENT_MDL,
  NET_BUFFER_CURRENT_MDL_OFFSET,
  NET_BUFFER_DATA_LENGTH,
  NET_BUFFER_DATA_OFFSET,
  NET_BUFFER_FIRST_MDL,
  NonPagedPool,
  PASSIVE_LEVEL,
  resetSystem,
} from './ddi.js';
import { chainOf, concat, nblPool, nbPool, pattern, TAG } from './helpers.js';

/** Random chains: segments of 0..48 bytes (empty MDLs included), then an offset and length inside them. */
const chainCase = fc
  .array(fc.uint8Array({ minLength: 0, maxLength: 48 }), { minLength: 1, maxLength: 6 })
  .chain((segments) => {
    const total = segments.reduce((n, s) => n + s.length, 0);
    return fc.integer({ min: 0, max: total }).chain((offset) =>
      fc.record({
        segments: fc.constant(segments),
        offset: fc.constant(offset),
        length: fc.integer({ min: 0, max: total - offset }),
      }),
    );
  });

function nbFor(c: { segments: Uint8Array[]; offset: number; length: number }): { nb: NET_BUFFER; flat: Uint8Array } {
  const nb = NdisAllocateNetBuffer(nbPool(), chainOf(c.segments), c.offset, c.length)!;
  return { nb, flat: concat(c.segments).slice(c.offset, c.offset + c.length) };
}

/** Bytes reachable from the cursor to the end of the chain. */
function reachable(nb: NET_BUFFER): number {
  let n = 0;
  let off = nb.CurrentMdlOffset;
  for (let m: MDL | null = nb.CurrentMdl; m !== null; m = m.Next) {
    n += m.ByteCount - off;
    off = 0;
  }
  return n;
}

function fields(nb: NET_BUFFER) {
  return {
    MdlChain: nb.MdlChain,
    DataOffset: nb.DataOffset,
    DataLength: nb.DataLength,
    CurrentMdl: nb.CurrentMdl,
    CurrentMdlOffset: nb.CurrentMdlOffset,
  };
}

describe('NET_BUFFER data: cursor, retreat and advance', () => {
  beforeEach(() => resetSystem());

  it('property: the cursor points at the data start and DataLength bytes are reachable from it, on any chain', () => {
    fc.assert(
      fc.property(chainCase, (c) => {
        resetSystem();
        const { nb, flat } = nbFor(c);
        assert.deepEqual(flatten(nb), flat);
        assert.equal(reachable(nb), chainBytes(nb.MdlChain) - nb.DataOffset);
        assert.ok(reachable(nb) >= nb.DataLength);
        assert.equal(NET_BUFFER_DATA_LENGTH(nb), c.length);
        assert.equal(NET_BUFFER_DATA_OFFSET(nb), c.offset);
        assert.equal(NET_BUFFER_FIRST_MDL(nb), nb.MdlChain);
        assert.equal(NET_BUFFER_CURRENT_MDL(nb), nb.CurrentMdl);
        assert.equal(NET_BUFFER_CURRENT_MDL_OFFSET(nb), nb.CurrentMdlOffset);
      }),
      { numRuns: 200 },
    );
  });

  it('property: retreat then advance (FreeMdl) restores every field, within or beyond the backfill, and frees what it allocated', () => {
    fc.assert(
      fc.property(chainCase, fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 64 }), (c, delta, backfill) => {
        resetSystem();
        const { nb, flat } = nbFor(c);
        const before = fields(nb);
        const ndisBytes = poolTagStats(TAG_NDIS)?.bytes ?? 0;
        assert.equal(NdisRetreatNetBufferDataStart(nb, delta, backfill, null), NDIS_STATUS_SUCCESS);
        assert.equal(nb.DataLength, c.length + delta);
        assert.equal(reachable(nb), chainBytes(nb.MdlChain) - nb.DataOffset, 'DataLength reachable after retreat');
        assert.deepEqual(flatten(nb).slice(delta), flat, 'the old data follows the new space');
        if (delta > c.offset) assert.equal(nb.DataOffset, backfill, 'new MDL keeps DataBackFill of backfill');
        NdisAdvanceNetBufferDataStart(nb, delta, true, null);
        assert.deepEqual(fields(nb), before);
        assert.deepEqual(flatten(nb), flat);
        assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, ndisBytes, 'retreat MDL and buffer freed');
      }),
      { numRuns: 200 },
    );
  });

  it('property: advance then retreat within the freed space restores every field', () => {
    fc.assert(
      fc.property(chainCase, fc.nat(), (c, k) => {
        resetSystem();
        const { nb } = nbFor(c);
        const before = fields(nb);
        const delta = c.length === 0 ? 0 : k % (c.length + 1);
        NdisAdvanceNetBufferDataStart(nb, delta, false, null);
        assert.equal(nb.DataOffset, c.offset + delta);
        assert.equal(reachable(nb), chainBytes(nb.MdlChain) - nb.DataOffset);
        assert.equal(NdisRetreatNetBufferDataStart(nb, delta, 0, null), NDIS_STATUS_SUCCESS);
        assert.deepEqual(fields(nb), before);
      }),
      { numRuns: 200 },
    );
  });

  it('property (model-based): any sequence of retreats and advances keeps the data, DataLength and cursor consistent', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('retreat' as const),
        n: fc.integer({ min: 0, max: 40 }),
        backfill: fc.integer({ min: 0, max: 24 }),
      }),
      fc.record({ kind: fc.constant('advance' as const), n: fc.nat(), free: fc.boolean() }),
    );
    fc.assert(
      fc.property(chainCase, fc.array(op, { maxLength: 12 }), (c, ops) => {
        resetSystem();
        const { nb, flat } = nbFor(c);
        let model = flat; // the used data, as a flat copy would see it
        for (const o of ops) {
          if (o.kind === 'retreat') {
            assert.equal(NdisRetreatNetBufferDataStart(nb, o.n, o.backfill, null), NDIS_STATUS_SUCCESS);
            const now = flatten(nb);
            assert.deepEqual(now.subarray(o.n), model, 'old data follows the new space');
            model = now;
          } else {
            const n = model.length === 0 ? 0 : o.n % (model.length + 1);
            NdisAdvanceNetBufferDataStart(nb, n, o.free, null);
            model = model.slice(n);
            assert.deepEqual(flatten(nb), model);
          }
          assert.equal(nb.DataLength, model.length);
          assert.equal(reachable(nb), chainBytes(nb.MdlChain) - nb.DataOffset);
        }
        // Advancing past everything with FreeMdl frees every MDL a retreat allocated once the data start has left it.
        NdisAdvanceNetBufferDataStart(nb, nb.DataLength, true, null);
        const top = nb.retreats?.at(-1);
        if (top !== undefined) {
          assert.equal(nb.MdlChain, top.mdl, 'a retreat MDL still in use heads the chain');
          assert.ok(nb.DataOffset < top.mdl.ByteCount, 'no retreat MDL the data start has left is kept');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('retreat past the backfill allocates an MDL (tag NDIS) that the caller cannot free; advance frees only it', () => {
    const chain = chainOf([pattern(10), pattern(20, 3)]);
    const nb = NdisAllocateNetBuffer(nbPool(), chain, 4, 26)!;
    assert.equal(NdisRetreatNetBufferDataStart(nb, 14, 32, null), NDIS_STATUS_SUCCESS);
    const added = nb.MdlChain!;
    assert.notEqual(added, chain);
    assert.equal(added.ByteCount, 46);
    assert.equal(nb.DataOffset, 32);
    assert.equal(nb.CurrentMdl, added);
    assert.equal(nb.DataLength, 40);
    assert.ok(poolTagStats(TAG_NDIS)!.bytes > 0);
    assertBugCheck(() => IoFreeMdl(added), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1012);
    // Advancing without FreeMdl keeps it; a later retreat reuses it.
    NdisAdvanceNetBufferDataStart(nb, 14, false, null);
    assert.equal(nb.MdlChain, added);
    assert.equal(NdisRetreatNetBufferDataStart(nb, 14, 0, null), NDIS_STATUS_SUCCESS);
    assert.equal(nb.MdlChain, added);
    NdisAdvanceNetBufferDataStart(nb, 14, true, null);
    assert.equal(nb.MdlChain, chain, "the caller's chain is back");
    assert.equal(chain!.ByteCount, 10, "the caller's MDLs are untouched");
    assert.equal(poolTagStats(TAG_NDIS)!.bytes, 0);
    NdisFreeNetBuffer(nb);
  });

  it('retreat uses the NetAllocateMdl handler and advance gives the MDL to NetFreeMdl; no handler to free it is reported', () => {
    const made: MDL[] = [];
    const freed: MDL[] = [];
    const alloc = (size: { value: number }) => {
      const va = ExAllocatePoolWithTag(NonPagedPool, size.value, TAG);
      const m = IoAllocateMdl(va, size.value, false, false, null)!;
      MmBuildMdlForNonPagedPool(m);
      made.push(m);
      return m;
    };
    const nb = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(8)]), 0, 8)!;
    assert.equal(NdisRetreatNetBufferDataStart(nb, 20, 12, alloc), NDIS_STATUS_SUCCESS);
    assert.equal(made.length, 1);
    assert.equal(nb.MdlChain, made[0]);
    assert.equal(nb.DataOffset, 12);
    assertBugCheck(
      () => NdisAdvanceNetBufferDataStart(nb, 20, true, null),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.NoFreeMdlHandler,
    );
    const nb2 = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(8)]), 0, 8)!;
    NdisRetreatNetBufferDataStart(nb2, 20, 12, alloc);
    NdisAdvanceNetBufferDataStart(nb2, 20, true, (m) => freed.push(m));
    assert.deepEqual(freed, [made[1]]);
    assert.equal(nb2.DataOffset, 0);
    // A handler that fails gives NDIS_STATUS_RESOURCES and changes nothing.
    const nb3 = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(8)]), 0, 8)!;
    const before = fields(nb3);
    assert.equal(
      NdisRetreatNetBufferDataStart(nb3, 20, 0, () => null),
      NDIS_STATUS_RESOURCES,
    );
    assert.deepEqual(fields(nb3), before);
  });

  it('retreat past the backfill with no pool memory gives NDIS_STATUS_RESOURCES and changes nothing', () => {
    const nb = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(8)]), 2, 6)!;
    const before = fields(nb);
    resetSystem({ poolLimit: 0 });
    assert.equal(NdisRetreatNetBufferDataStart(nb, 20, 0, null), NDIS_STATUS_RESOURCES);
    assert.deepEqual(fields(nb), before);
  });

  it('advancing past DataLength and freeing with retreat MDLs outstanding are reported', () => {
    const nb = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(8)]), 0, 8)!;
    assertBugCheck(
      () => NdisAdvanceNetBufferDataStart(nb, 9, false, null),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.AdvancePastData,
    );
    NdisRetreatNetBufferDataStart(nb, 4, 0, null);
    assertBugCheck(
      () => NdisFreeNetBuffer(nb),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.RetreatMdlsOutstanding,
    );
  });

  it('the list forms retreat and advance every NET_BUFFER, and undo on failure', () => {
    const pool = nblPool({ fAllocateNetBuffer: true });
    const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, chainOf([pattern(30)]), 10, 20)!;
    const second = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(30, 1)]), 20, 10)!;
    nbl.FirstNetBuffer!.Next = second;
    assert.equal(NdisRetreatNetBufferListDataStart(nbl, 8, 0, null, null), NDIS_STATUS_SUCCESS);
    assert.equal(nbl.FirstNetBuffer!.DataOffset, 2);
    assert.equal(second.DataOffset, 12);
    NdisAdvanceNetBufferListDataStart(nbl, 8, true, null);
    assert.equal(nbl.FirstNetBuffer!.DataOffset, 10);
    assert.equal(second.DataOffset, 20);
    // The second needs an allocation that a failing handler refuses: the first is advanced back.
    assert.equal(
      NdisRetreatNetBufferListDataStart(nbl, 15, 0, () => null, null),
      NDIS_STATUS_RESOURCES,
    );
    assert.equal(nbl.FirstNetBuffer!.DataOffset, 10);
    assert.equal(nbl.FirstNetBuffer!.DataLength, 20);
    nbl.FirstNetBuffer!.Next = null;
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBuffer(second);
  });

  it('N6-10: retreat, advance, NdisGetDataBuffer and copy work at DISPATCH_LEVEL and bug-check above it', () => {
    const nb = NdisAllocateNetBuffer(nbPool(), chainOf([pattern(16)]), 8, 8)!;
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    NdisRetreatNetBufferDataStart(nb, 4, 0, null);
    NdisAdvanceNetBufferDataStart(nb, 4, false, null);
    assert.ok(NdisGetDataBuffer(nb, 4, 0, 1, 0) !== 0);
    KeLowerIrql(old.value);
    const box = { value: 0 };
    for (const call of [
      () => NdisRetreatNetBufferDataStart(nb, 1, 0, null),
      () => NdisAdvanceNetBufferDataStart(nb, 1, false, null),
      () => NdisGetDataBuffer(nb, 1, 0, 1, 0),
      () => NdisCopyFromNetBufferToNetBuffer(nb, 0, 1, nb, 0, box),
    ]) {
      KeRaiseIrql(HIGH_LEVEL, old);
      try {
        assertBugCheck(call, DRIVER_VERIFIER_DETECTED_VIOLATION, IRQL_NETBUFFER_FUNCTION);
      } finally {
        KeLowerIrql(PASSIVE_LEVEL);
      }
    }
  });
});

describe('NdisGetDataBuffer', () => {
  beforeEach(() => resetSystem());

  it('property: returns the bytes a flat copy would, in place when contiguous (even with Storage NULL), never copying more than BytesNeeded', () => {
    fc.assert(
      fc.property(chainCase, fc.nat(), fc.boolean(), (c, k, withStorage) => {
        resetSystem();
        const { nb, flat } = nbFor(c);
        const need = k % (c.length + 2);
        const storage = ExAllocatePoolWithTag(NonPagedPool, need + 16, TAG);
        bytesAt(storage, need + 16).fill(0xee);
        const r = NdisGetDataBuffer(nb, need, withStorage ? storage : 0, 1, 0);
        if (need > c.length) {
          assert.equal(r, 0);
          return;
        }
        // Contiguous when the first `need` bytes lie in the current MDL (after skipping exhausted/empty ones).
        let m = nb.CurrentMdl;
        let off = nb.CurrentMdlOffset;
        while (m !== null && off >= m.ByteCount && m.Next !== null) {
          off -= m.ByteCount;
          m = m.Next;
        }
        const contiguous = m !== null && m.ByteCount - off >= need;
        if (contiguous) {
          assert.equal(r, m!.StartVa + m!.ByteOffset + off, 'pointer in place');
        } else if (withStorage) {
          assert.equal(r, storage);
        } else {
          assert.equal(r, 0);
        }
        if (r !== 0) assert.deepEqual(bytesAt(r, need), flat.subarray(0, need));
        assert.ok(
          bytesAt(storage + (r === storage ? need : 0), need + 16 - (r === storage ? need : 0)).every(
            (b) => b === 0xee,
          ),
          'nothing written past BytesNeeded',
        );
      }),
      { numRuns: 300 },
    );
  });

  it('honours CurrentMdlOffset and padding MDLs before the data', () => {
    const chain = chainOf([new Uint8Array(0), pattern(6, 9), new Uint8Array(0), pattern(10, 50)]);
    const nb = NdisAllocateNetBuffer(nbPool(), chain, 8, 8)!;
    const r = NdisGetDataBuffer(nb, 8, 0, 1, 0);
    const fourth = chain!.Next!.Next!.Next!;
    assert.equal(r, fourth.StartVa + fourth.ByteOffset + 2);
    assert.deepEqual(bytesAt(r, 8), pattern(10, 50).subarray(2, 10));
  });

  it('alignment: in place only when the address is a multiple of AlignMultiple plus AlignOffset, else copied', () => {
    const va = ExAllocatePoolWithTag(NonPagedPool, 64, TAG); // 16-aligned
    writeBytes(va, pattern(64));
    const m = IoAllocateMdl(va, 64, false, false, null)!;
    MmBuildMdlForNonPagedPool(m);
    const nb = NdisAllocateNetBuffer(nbPool(), m, 2, 60)!; // data at va + 2
    const storage = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    assert.equal(NdisGetDataBuffer(nb, 8, storage, 4, 2), va + 2, '4k + 2 matches');
    assert.equal(NdisGetDataBuffer(nb, 8, storage, 4, 0), storage, 'not 4-aligned: copied');
    assert.deepEqual(bytesAt(storage, 8), pattern(64).subarray(2, 10));
    assert.equal(NdisGetDataBuffer(nb, 8, 0, 4, 0), 0, 'misaligned and no storage');
    assert.equal(NdisGetDataBuffer(nb, 8, 0, 1, 0), va + 2);
  });
});

describe('NdisCopyFromNetBufferToNetBuffer', () => {
  beforeEach(() => resetSystem());

  it('property: copying between NET_BUFFERs equals a flat copy, bounded by the source data and the destination MDLs', () => {
    fc.assert(
      fc.property(chainCase, chainCase, fc.nat(), fc.nat(), fc.nat(), (a, b, k1, k2, k3) => {
        resetSystem();
        const src = nbFor(a);
        const dst = nbFor(b);
        const room = concat(b.segments).slice(b.offset); // what the destination MDLs hold past its data start
        const so = k1 % (a.length + 2);
        const dof = k2 % (room.length + 2);
        const want = k3 % 64;
        const n = Math.max(0, Math.min(want, a.length - so, room.length - dof));
        const expected = room.slice();
        expected.set(src.flat.subarray(so, so + n), Math.min(dof, expected.length));
        const before = fields(dst.nb);
        const copied = { value: -1 };
        assert.equal(NdisCopyFromNetBufferToNetBuffer(dst.nb, dof, want, src.nb, so, copied), NDIS_STATUS_SUCCESS);
        assert.equal(copied.value, n);
        assert.deepEqual(fields(dst.nb), before, 'NDIS changes no member of the destination');
        dst.nb.DataLength = room.length;
        assert.deepEqual(flatten(dst.nb), expected);
        assert.deepEqual(flatten(src.nb), src.flat, 'source unchanged');
      }),
      { numRuns: 200 },
    );
  });
});
