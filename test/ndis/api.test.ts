import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  NdisViolationCodes,
  NetBufferListPool,
  NetBufferPool,
  nbBytes,
  nblBytes,
  nblFromBytes,
  netBufferLists,
  netBuffers,
  outstandingNetBufferPools,
  outstandingNetBuffers,
} from '../../src/api/ndis.js';
import { StatusError } from '../../src/kernel/status.js';
import { assertBugCheck } from '../helpers.js';
import {
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
  NDIS_STATUS_BUFFER_TOO_SHORT,
  NDIS_STATUS_RESOURCES,
  NdisAllocateCloneNetBufferList,
  NdisRetreatNetBufferDataStart,
  resetSystem,
} from './ddi.js';
import { chainOf, pattern } from './helpers.js';

describe('idiomatic NDIS 6 API', () => {
  beforeEach(() => resetSystem());

  it('property: nblFromBytes then nblBytes round-trips, with backfill for a later retreat', () => {
    const pool = new NetBufferListPool({ tag: 'tsAN', dataSize: 256 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 56 }), (bytes, backfill) => {
        const nbl = nblFromBytes(pool, bytes, backfill);
        assert.deepEqual(nblBytes(nbl), bytes);
        assert.equal(nbl.FirstNetBuffer!.DataOffset, backfill);
        assert.equal(NdisRetreatNetBufferDataStart(nbl.FirstNetBuffer!, backfill, 0, null), 0);
        assert.equal(nbl.FirstNetBuffer!.MdlChain!.ByteCount, 256, 'retreat stayed in the backfill');
        pool.free(nbl);
      }),
    );
    assert.equal(pool.stats.outstanding, 0);
    assert.equal(pool.stats.created, 1, 'one cached list served every allocation');
    assert.equal(pool.stats.tag, 'NAst');
    pool.dispose();
  });

  it('throws StatusError where the DDI returns NULL, with the status it stands for', () => {
    const pool = new NetBufferListPool({ tag: 'tsAN', dataSize: 16 });
    assert.throws(
      () => nblFromBytes(pool, pattern(17)),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_BUFFER_TOO_SHORT,
    );
    assert.throws(() => new NetBufferListPool({ tag: 'tsAN', contextSize: 8 }), StatusError);
    resetSystem({ poolLimit: 0 });
    assert.throws(
      () => new NetBufferPool({ tag: 'tsAN' }),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_RESOURCES,
    );
  });

  it('free dispatches on the kind (clone freed with its DDI) and reports a list from another pool', () => {
    const a = new NetBufferListPool({ tag: 'tsAN', dataSize: 64 });
    const b = new NetBufferListPool({ tag: 'tsBN', allocateNetBuffer: false });
    const nbl = nblFromBytes(a, pattern(40));
    const clone = NdisAllocateCloneNetBufferList(nbl, b.handle, null, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS)!;
    assert.deepEqual(nblBytes(clone), pattern(40));
    assertBugCheck(() => a.free(clone), DRIVER_VERIFIER_DETECTED_VIOLATION, NdisViolationCodes.WrongFree);
    b.free(clone);
    a.free(nbl);
    const nbp = new NetBufferPool({ tag: 'tsCN' });
    const other = new NetBufferPool({ tag: 'tsDN' });
    const nb = nbp.allocate(chainOf([pattern(5), pattern(6, 1)]), 2, 9);
    assert.deepEqual(nbBytes(nb), new Uint8Array([...pattern(5).subarray(2), ...pattern(6, 1)]));
    assertBugCheck(() => other.free(nb), DRIVER_VERIFIER_DETECTED_VIOLATION, NdisViolationCodes.WrongFree);
    nbp.free(nb);
  });

  it('iterates NET_BUFFERs and lists; leak listing shows what is outstanding by pool and tag', () => {
    const pool = new NetBufferListPool({ tag: 'tsAN', dataSize: 8 });
    const first = pool.allocate();
    const second = pool.allocate();
    first.Next = second;
    assert.deepEqual([...netBufferLists(first)], [first, second]);
    assert.deepEqual([...netBuffers(first)], [first.FirstNetBuffer]);
    const leaks = outstandingNetBuffers();
    assert.equal(leaks.length, 2);
    assert.ok(leaks.every((l) => l.tag === 'NAst' && l.kind === 'NET_BUFFER_LIST'));
    assert.deepEqual(outstandingNetBufferPools(), [
      { kind: 'NET_BUFFER_LIST', tag: 'NAst', outstanding: 2, site: undefined },
    ]);
    pool.free(first);
    pool.free(second);
    pool.dispose();
    assert.deepEqual(outstandingNetBufferPools(), []);
  });
});
