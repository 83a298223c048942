/**
 * Descriptors reused from a pool's cache. NDIS hands out each NET_BUFFER_LIST and NET_BUFFER with its fields at
 * their initial values, whatever the previous user left in them (ParentNetBufferList NULL and ChildRefCount 0 for
 * clones, fragments and reassemblies, as the NET_BUFFER_LIST generations page says). wdknet clears the reserved
 * areas and NetBufferListInfo when a descriptor is freed and the other fields when it is allocated, and a clone
 * that shares the original's MDLs copies the data fields without clearing them first: these properties pin that
 * the result is the same as a descriptor that was never used.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { VIOLATION_DESCRIPTOR_USED_AFTER_FREE } from '../../src/kernel/poison.js';
import type { NET_BUFFER, NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import { assertBugCheck } from '../helpers.js';
import {
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  MaxNetBufferListInfo,
  NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
  NDIS_STATUS_SUCCESS,
  NdisAllocateCloneNetBufferList,
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListContext,
  NdisFreeCloneNetBufferList,
  NdisFreeNetBuffer,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListContext,
  NdisRetreatNetBufferDataStart,
  NetBufferListProtocolId,
  resetSystem,
} from './ddi.js';
import { chainOf, nblPool, nbPool, pattern, TAG } from './helpers.js';

/** What a driver may leave in a descriptor's fields before it frees it. */
const junk = fc.oneof(
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  fc.constant({ stale: true }),
  fc.string({ maxLength: 3 }),
);
const junkArray = (n: number) => fc.array(junk, { minLength: n, maxLength: n });
const nblJunk = fc.record({
  ndis: junkArray(2),
  protocol: junkArray(4),
  miniport: junkArray(2),
  info: junkArray(MaxNetBufferListInfo),
  scalars: junkArray(6),
});
const nbJunk = fc.record({ ndis: junkArray(2), protocol: junkArray(6), miniport: junkArray(4), scalars: junkArray(6) });

function scribbleNbl(nbl: NET_BUFFER_LIST, j: typeof nblJunk extends fc.Arbitrary<infer T> ? T : never): void {
  for (let i = 0; i < 2; i++) nbl.NdisReserved[i] = j.ndis[i];
  for (let i = 0; i < 4; i++) nbl.ProtocolReserved[i] = j.protocol[i];
  for (let i = 0; i < 2; i++) nbl.MiniportReserved[i] = j.miniport[i];
  for (let i = 0; i < MaxNetBufferListInfo; i++) nbl.NetBufferListInfo[i] = j.info[i];
  nbl.Scratch = j.scalars[0];
  nbl.SourceHandle = j.scalars[1];
  nbl.NblFlags = Number(j.scalars[2]) | 0;
  nbl.Flags = Number(j.scalars[3]) | 0;
  nbl.Status = Number(j.scalars[4]) | 0;
}

function scribbleNb(nb: NET_BUFFER, j: typeof nbJunk extends fc.Arbitrary<infer T> ? T : never): void {
  for (let i = 0; i < 2; i++) nb.NdisReserved[i] = j.ndis[i];
  for (let i = 0; i < 6; i++) nb.ProtocolReserved[i] = j.protocol[i];
  for (let i = 0; i < 4; i++) nb.MiniportReserved[i] = j.miniport[i];
  nb.ChecksumBias = Number(j.scalars[0]) & 0xffff;
  nb.Reserved = Number(j.scalars[1]) & 0xffff;
  nb.DataPhysicalAddress = Number(j.scalars[2]) >>> 0;
  nb.SharedMemoryInfo = j.scalars[3];
  nb.ScatterGatherList = j.scalars[4];
}

/** The WDK out-of-band fields of a list, as a plain object (data-describing fields left out). */
function nblFields(nbl: NET_BUFFER_LIST) {
  return {
    Next: nbl.Next,
    Context: nbl.Context === null ? null : { Size: nbl.Context.Size, Offset: nbl.Context.Offset },
    ParentNetBufferList: nbl.ParentNetBufferList,
    NdisPoolHandle: nbl.NdisPoolHandle,
    NdisReserved: [...nbl.NdisReserved],
    ProtocolReserved: [...nbl.ProtocolReserved],
    MiniportReserved: [...nbl.MiniportReserved],
    Scratch: nbl.Scratch,
    SourceHandle: nbl.SourceHandle,
    NblFlags: nbl.NblFlags,
    ChildRefCount: nbl.ChildRefCount,
    Flags: nbl.Flags,
    Status: nbl.Status,
    NetBufferListInfo: [...nbl.NetBufferListInfo],
  };
}

/** The WDK fields of a NET_BUFFER that do not describe data. */
function nbFields(nb: NET_BUFFER) {
  return {
    ChecksumBias: nb.ChecksumBias,
    Reserved: nb.Reserved,
    NdisPoolHandle: nb.NdisPoolHandle,
    NdisReserved: [...nb.NdisReserved],
    ProtocolReserved: [...nb.ProtocolReserved],
    MiniportReserved: [...nb.MiniportReserved],
    DataPhysicalAddress: nb.DataPhysicalAddress,
    SharedMemoryInfo: nb.SharedMemoryInfo,
    ScatterGatherList: nb.ScatterGatherList,
  };
}

/** The data-describing fields of a NET_BUFFER. */
function nbData(nb: NET_BUFFER) {
  return {
    MdlChain: nb.MdlChain,
    DataOffset: nb.DataOffset,
    DataLength: nb.DataLength,
    CurrentMdl: nb.CurrentMdl,
    CurrentMdlOffset: nb.CurrentMdlOffset,
  };
}

describe('descriptors reused from the cache start as new ones', () => {
  beforeEach(() => resetSystem());

  it('property: a NET_BUFFER_LIST (with its preallocated NET_BUFFER) freed with anything in its fields comes back from the cache like a new one (NdisAllocateNetBufferList)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const),
        fc.record({
          ProtocolId: fc.constantFrom(0, 2, 6),
          DataSize: fc.constantFrom(0, 64),
          ContextSize: fc.constantFrom(0, 16),
        }),
        nblJunk,
        nbJunk,
        (mode, shape, j, k) => {
          resetSystem({ verifier: mode });
          const pool = nblPool({ fAllocateNetBuffer: true, ...shape });
          const fresh = NdisAllocateNetBufferList(pool, 0, 0)!;
          const used = NdisAllocateNetBufferList(pool, 0, 0)!;
          const expectNbl = nblFields(fresh);
          const expectNb = nbFields(fresh.FirstNetBuffer!);
          const expectData = nbData(fresh.FirstNetBuffer!);
          scribbleNbl(used, j);
          scribbleNb(used.FirstNetBuffer!, k);
          NdisFreeNetBufferList(used);
          const again = NdisAllocateNetBufferList(pool, 0, 0)!;
          assert.equal(again, used, 'the cache hands the same descriptor back');
          assert.deepEqual(nblFields(again), expectNbl);
          assert.deepEqual(nbFields(again.FirstNetBuffer!), expectNb);
          const data = nbData(again.FirstNetBuffer!);
          assert.deepEqual(
            { DataOffset: data.DataOffset, DataLength: data.DataLength, CurrentMdlOffset: data.CurrentMdlOffset },
            { DataOffset: expectData.DataOffset, DataLength: expectData.DataLength, CurrentMdlOffset: 0 },
          );
          if (shape.ProtocolId !== 0) assert.equal(again.NetBufferListInfo[NetBufferListProtocolId], shape.ProtocolId);
          NdisFreeNetBufferList(again);
          NdisFreeNetBufferList(fresh);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: a NET_BUFFER freed with anything in its fields comes back like a new one (NdisAllocateNetBuffer)', () => {
    fc.assert(
      fc.property(nbJunk, fc.integer({ min: 0, max: 16 }), (k, offset) => {
        resetSystem();
        const pool = nbPool();
        const fresh = NdisAllocateNetBuffer(pool, null, 0, 0)!;
        const used = NdisAllocateNetBuffer(pool, chainOf([pattern(32)]), offset, 32 - offset)!;
        scribbleNb(used, k);
        NdisFreeNetBuffer(used);
        const again = NdisAllocateNetBuffer(pool, null, 0, 0)!;
        assert.equal(again, used);
        assert.deepEqual(nbFields(again), nbFields(fresh));
        assert.deepEqual(nbData(again), nbData(fresh));
        assert.equal(again.Next, null);
      }),
      { numRuns: 60 },
    );
  });

  it('property: a clone freed with anything in its fields comes back like a new clone, with or without NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS: ParentNetBufferList NULL, ChildRefCount 0, each NET_BUFFER describing its original (NdisAllocateCloneNetBufferList)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const),
        fc.constantFrom(0, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS),
        fc.array(fc.record({ length: fc.integer({ min: 1, max: 48 }), offset: fc.integer({ min: 0, max: 16 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        nblJunk,
        nbJunk,
        fc.boolean(),
        (mode, flags, shapes, j, k, retreat) => {
          resetSystem({ verifier: mode });
          const nblp = nblPool();
          const nbp = nbPool();
          const original = NdisAllocateNetBufferList(nblp, 0, 0)!;
          let tail: NET_BUFFER | null = null;
          for (const s of shapes) {
            const nb = NdisAllocateNetBuffer(nbp, chainOf([pattern(s.offset + s.length)]), s.offset, s.length)!;
            if (tail === null) original.FirstNetBuffer = nb;
            else tail.Next = nb;
            tail = nb;
          }
          const clonePool = nblPool();
          const cloneNbPool = nbPool();
          const fresh = NdisAllocateCloneNetBufferList(original, clonePool, cloneNbPool, flags)!;
          const used = NdisAllocateCloneNetBufferList(original, clonePool, cloneNbPool, flags)!;
          const expectNbl = nblFields(fresh);
          const expectNbs: ReturnType<typeof nbFields>[] = [];
          for (let nb = fresh.FirstNetBuffer; nb !== null; nb = nb.Next) expectNbs.push(nbFields(nb));
          scribbleNbl(used, j);
          used.ParentNetBufferList = original;
          used.ChildRefCount = 3;
          for (let nb = used.FirstNetBuffer; nb !== null; nb = nb.Next) {
            scribbleNb(nb, k);
            // A driver may retreat a clone's NET_BUFFER into the original's backfill and free it that way.
            if (retreat && nb.DataOffset > 0) NdisRetreatNetBufferDataStart(nb, 1, 0, null);
          }
          used.ChildRefCount = 0;
          NdisFreeCloneNetBufferList(used, flags);
          const again = NdisAllocateCloneNetBufferList(original, clonePool, cloneNbPool, flags)!;
          assert.equal(again, used);
          assert.deepEqual(nblFields(again), expectNbl);
          assert.equal(again.ParentNetBufferList, null);
          assert.equal(again.ChildRefCount, 0);
          let src = original.FirstNetBuffer;
          let i = 0;
          for (let nb = again.FirstNetBuffer; nb !== null; nb = nb.Next, src = src!.Next, i++) {
            assert.deepEqual(nbFields(nb), expectNbs[i]);
            assert.equal(nb.DataLength, src!.DataLength);
            if (flags !== 0) assert.deepEqual(nbData(nb), nbData(src!));
            else assert.equal(nb.DataOffset, 0);
          }
          assert.equal(src, null, 'one clone NET_BUFFER per original NET_BUFFER');
          assert.equal(i, shapes.length);
          NdisFreeCloneNetBufferList(again, flags);
          NdisFreeCloneNetBufferList(fresh, flags);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a list whose context allocation failed goes back to the cache clean: the next allocation is like a new one', () => {
    const pool = nblPool({ fAllocateNetBuffer: true, ProtocolId: 2 });
    const fresh = NdisAllocateNetBufferList(pool, 0, 0)!;
    const expect = nblFields(fresh);
    NdisFreeNetBufferList(fresh);
    // Misaligned context sizes fail before a list is taken; a huge one fails in the context allocation itself.
    assert.equal(NdisAllocateNetBufferList(pool, 0x7fff_fff0, 0), null);
    const again = NdisAllocateNetBufferList(pool, 0, 0)!;
    assert.deepEqual(nblFields(again), expect);
    assert.equal(NdisAllocateNetBufferListContext(again, 16, 0, TAG), NDIS_STATUS_SUCCESS);
    NdisFreeNetBufferListContext(again, 16);
    NdisFreeNetBufferList(again);
  });
});

/**
 * The free clears only the areas that were handed out since the last clear (each area's accessor sets a flag:
 * whoever writes an area, or keeps a reference to write it later, has fetched it through the accessor). These
 * properties pin that this gives what clearing every area would: whatever subset of areas a driver writes, by
 * accessor or through a reference it fetched when it got the descriptor, the descriptor comes back from the cache
 * with every area NULL, and nothing is left flagged.
 */
describe('the free clears the areas that were used (NdisFreeNetBufferList, NdisFreeNetBuffer, NdisFreeCloneNetBufferList)', () => {
  beforeEach(() => resetSystem());

  const NBL_AREAS = ['NdisReserved', 'ProtocolReserved', 'MiniportReserved', 'NetBufferListInfo'] as const;
  const NB_AREAS = ['NdisReserved', 'ProtocolReserved', 'MiniportReserved'] as const;
  /** One driver write: which area, which slot (modulo the area's size), what, and whether through a kept reference. */
  const write = (areas: number) =>
    fc.record({
      area: fc.integer({ min: 0, max: areas - 1 }),
      slot: fc.nat(40),
      value: junk,
      kept: fc.boolean(),
      readOnly: fc.boolean(),
    });
  type Write = { area: number; slot: number; value: unknown; kept: boolean; readOnly: boolean };

  function apply(target: object, names: readonly string[], writes: Write[]): void {
    const byName = target as Record<string, unknown[]>;
    // References a driver fetches when it gets the descriptor and writes through later.
    const kept = names.map((n) => byName[n]!);
    for (const w of writes) {
      const area = w.kept ? kept[w.area]! : byName[names[w.area]!]!;
      if (w.readOnly) void area[w.slot % area.length];
      else area[w.slot % area.length] = w.value;
    }
  }

  function allClear(target: object, names: readonly string[]): boolean {
    const byName = target as Record<string, unknown[]>;
    return names.every((n) => byName[n]!.every((v) => v === null));
  }

  function flagsClear(nbl: NET_BUFFER_LIST): boolean {
    return !nbl.ndisReservedTouched && !nbl.miniportReservedTouched;
  }

  it('property: a NET_BUFFER_LIST and its preallocated NET_BUFFER come back with every area NULL, whatever subset was written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const),
        fc.constantFrom(0, 6),
        fc.array(fc.tuple(fc.array(write(4), { maxLength: 6 }), fc.array(write(3), { maxLength: 4 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (mode, protocolId, cycles) => {
          resetSystem({ verifier: mode });
          const pool = nblPool({ fAllocateNetBuffer: true, ProtocolId: protocolId });
          const first = NdisAllocateNetBufferList(pool, 0, 0)!;
          NdisFreeNetBufferList(first);
          for (const [nblWrites, nbWrites] of cycles) {
            const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
            assert.equal(nbl, first, 'the cache hands the same descriptor back');
            apply(nbl, NBL_AREAS, nblWrites);
            apply(nbl.FirstNetBuffer!, NB_AREAS, nbWrites);
            NdisFreeNetBufferList(nbl);
            assert.ok(flagsClear(nbl), 'nothing is left flagged in the cache');
            assert.equal(nbl.preNb!.reservedTouched, false);
            // Checked through the backing arrays: the accessors would flag them again.
            assert.ok(allClear({ a: nbl.ndisReservedArea, b: nbl.miniportReservedArea }, ['a', 'b']));
            const nb = nbl.preNb!;
            assert.ok(
              allClear({ a: nb.ndisReservedArea, b: nb.protocolReservedArea, c: nb.miniportReservedArea }, [
                'a',
                'b',
                'c',
              ]),
            );
          }
          const again = NdisAllocateNetBufferList(pool, 0, 0)!;
          const info = [...again.NetBufferListInfo];
          if (protocolId !== 0) assert.equal(info[NetBufferListProtocolId], protocolId);
          info[NetBufferListProtocolId] = null;
          assert.ok(info.every((v) => v === null));
          assert.ok(allClear(again, NBL_AREAS.slice(0, 3)));
          assert.ok(allClear(again.FirstNetBuffer!, NB_AREAS));
          NdisFreeNetBufferList(again);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('property: a clone and its NET_BUFFERs, and a NET_BUFFER from a NET_BUFFER pool, come back with every area NULL, whatever subset was written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const),
        fc.constantFrom(0, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS),
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.tuple(
            fc.array(write(4), { maxLength: 6 }),
            fc.array(write(3), { maxLength: 4 }),
            fc.array(write(3), { maxLength: 4 }),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        (mode, flags, nbs, cycles) => {
          resetSystem({ verifier: mode });
          const nbp = nbPool();
          const original = NdisAllocateNetBufferList(nblPool(), 0, 0)!;
          let tail: NET_BUFFER | null = null;
          for (let i = 0; i < nbs; i++) {
            const nb = NdisAllocateNetBuffer(nbp, chainOf([pattern(24)]), 4, 20)!;
            if (tail === null) original.FirstNetBuffer = nb;
            else tail.Next = nb;
            tail = nb;
          }
          const clonePool = nblPool();
          const cloneNbPool = nbPool();
          const plainPool = nbPool();
          for (const [nblWrites, nbWrites, plainWrites] of cycles) {
            const clone = NdisAllocateCloneNetBufferList(original, clonePool, cloneNbPool, flags)!;
            apply(clone, NBL_AREAS, nblWrites);
            for (let nb = clone.FirstNetBuffer; nb !== null; nb = nb.Next) apply(nb, NB_AREAS, nbWrites);
            const plain = NdisAllocateNetBuffer(plainPool, null, 0, 0)!;
            apply(plain, NB_AREAS, plainWrites);
            NdisFreeNetBuffer(plain);
            NdisFreeCloneNetBufferList(clone, flags);
            assert.ok(flagsClear(clone));
            assert.equal(plain.reservedTouched, false);
            const again = NdisAllocateCloneNetBufferList(original, clonePool, cloneNbPool, flags)!;
            assert.equal(again, clone);
            assert.ok(allClear(again, NBL_AREAS));
            let n = 0;
            for (let nb = again.FirstNetBuffer; nb !== null; nb = nb.Next, n++) assert.ok(allClear(nb, NB_AREAS));
            assert.equal(n, nbs);
            const plainAgain = NdisAllocateNetBuffer(plainPool, null, 0, 0)!;
            assert.equal(plainAgain, plain);
            assert.ok(allClear(plainAgain, NB_AREAS));
            NdisFreeNetBuffer(plainAgain);
            NdisFreeCloneNetBufferList(again, flags);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('full verifier: reading an area of a freed (poisoned) NET_BUFFER_LIST or NET_BUFFER bug-checks as a read (0xC4, 0x1011, Parameter 2 = 0)', () => {
    resetSystem({ verifier: 'full' });
    const nbl = NdisAllocateNetBufferList(nblPool({ fAllocateNetBuffer: true }), 0, 0)!;
    const nb = NdisAllocateNetBuffer(nbPool(), null, 0, 0)!;
    nbl.MiniportReserved[0] = 1;
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBuffer(nb);
    for (const read of [() => nbl.NdisReserved, () => nbl.MiniportReserved, () => nb.ProtocolReserved]) {
      const e = assertBugCheck(read, DRIVER_VERIFIER_DETECTED_VIOLATION, VIOLATION_DESCRIPTOR_USED_AFTER_FREE);
      assert.equal(e.parameters[1], 0);
    }
  });
});
