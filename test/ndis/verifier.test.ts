import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { disableFaultInjection, enableFaultInjection, faultInjectionStats } from '../../src/kernel/faults.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { VIOLATION_DESCRIPTOR_USED_AFTER_FREE } from '../../src/kernel/poison.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { flatten } from '../../src/ndis/chain.js';
import { outstandingDescriptors, outstandingPools, TAG_NDIS } from '../../src/ndis/pools.js';
import { IRQL_NETBUFFER_FUNCTION } from '../../src/ndis/violations.js';
import { assertBugCheck } from '../helpers.js';
import {
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  HIGH_LEVEL,
  KeLowerIrql,
  KeRaiseIrql,
  NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
  NDIS_STATUS_SUCCESS,
  NdisAdvanceNetBufferDataStart,
  NdisAdvanceNetBufferListDataStart,
  NdisAllocateCloneNetBufferList,
  NdisAllocateFragmentNetBufferList,
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListContext,
  NdisAllocateNetBufferMdlAndData,
  NdisAllocateReassembledNetBufferList,
  NdisCopyReceiveNetBufferListInfo,
  NdisCopySendNetBufferListInfo,
  NdisFreeCloneNetBufferList,
  NdisFreeFragmentNetBufferList,
  NdisFreeNetBuffer,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListContext,
  NdisFreeNetBufferListPool,
  NdisFreeNetBufferPool,
  NdisFreeReassembledNetBufferList,
  NdisGetPoolFromNetBuffer,
  NdisGetPoolFromNetBufferList,
  NdisRetreatNetBufferDataStart,
  NdisRetreatNetBufferListDataStart,
  PASSIVE_LEVEL,
  resetSystem,
} from './ddi.js';
import { chainOf, concat, nblPool, nbPool, pattern, TAG } from './helpers.js';

describe('N6-10: IRQL <= DISPATCH_LEVEL for the whole NET_BUFFER family (Irql_NetBuffer_Function)', () => {
  beforeEach(() => resetSystem());

  it('N6-10: clone, fragment, reassembly, context and info-copy DDIs work at DISPATCH_LEVEL and bug-check above it', () => {
    const pool = nblPool({ fAllocateNetBuffer: true });
    const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, chainOf([pattern(32)]), 0, 32)!;
    const other = NdisAllocateNetBufferList(pool, 0, 0)!;
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    const clone = NdisAllocateCloneNetBufferList(nbl, null, null, 0)!;
    NdisFreeCloneNetBufferList(clone, 0);
    const frag = NdisAllocateFragmentNetBufferList(nbl, null, null, 0, 8, 0, 0, 0)!;
    const whole = NdisAllocateReassembledNetBufferList(frag, null, 0, 0, 0, 0)!;
    NdisFreeReassembledNetBufferList(whole, 0, 0);
    NdisFreeFragmentNetBufferList(frag, 0, 0);
    assert.equal(NdisAllocateNetBufferListContext(nbl, 16, 0, TAG), NDIS_STATUS_SUCCESS);
    NdisFreeNetBufferListContext(nbl, 16);
    NdisCopySendNetBufferListInfo(other, nbl);
    NdisCopyReceiveNetBufferListInfo(other, nbl);
    KeLowerIrql(old.value);
    const calls: (() => unknown)[] = [
      () => NdisAllocateCloneNetBufferList(nbl, null, null, 0),
      () => NdisAllocateFragmentNetBufferList(nbl, null, null, 0, 8, 0, 0, 0),
      () => NdisAllocateReassembledNetBufferList(nbl, null, 0, 0, 0, 0),
      () => NdisAllocateNetBufferListContext(nbl, 16, 0, TAG),
      () => NdisFreeNetBufferListContext(nbl, 16),
      () => NdisCopySendNetBufferListInfo(other, nbl),
      () => NdisCopyReceiveNetBufferListInfo(other, nbl),
      () => NdisFreeNetBufferList(nbl),
      () => NdisGetPoolFromNetBufferList(nbl),
      () => NdisGetPoolFromNetBuffer(nbl.FirstNetBuffer!),
      () => NdisRetreatNetBufferListDataStart(nbl, 1, 0, null, null),
      () => NdisAdvanceNetBufferListDataStart(nbl, 1, false, null),
    ];
    for (const call of calls) {
      KeRaiseIrql(HIGH_LEVEL, old);
      try {
        assertBugCheck(call, DRIVER_VERIFIER_DETECTED_VIOLATION, IRQL_NETBUFFER_FUNCTION);
      } finally {
        KeLowerIrql(PASSIVE_LEVEL);
      }
    }
  });
});

describe('low-resources simulation', () => {
  beforeEach(() => resetSystem());

  it('fault injection fails NDIS allocations served from the cache, by DDI name, and the DDI returns NULL', () => {
    const pool = nblPool({ fAllocateNetBuffer: true, DataSize: 64 });
    NdisFreeNetBufferList(NdisAllocateNetBufferList(pool, 0, 0)!); // now cached
    enableFaultInjection({ ddis: ['NdisAllocateNetBufferList'], everyNth: 2 });
    const got = [1, 2, 3, 4].map(() => NdisAllocateNetBufferList(pool, 0, 0));
    assert.deepEqual(
      got.map((n) => n !== null),
      [true, false, true, false],
    );
    assert.equal(faultInjectionStats().byDdi.NdisAllocateNetBufferList, 2);
    disableFaultInjection();
    for (const n of got) if (n !== null) NdisFreeNetBufferList(n);
    const nbp = nbPool();
    enableFaultInjection({ ddis: ['NdisAllocateNetBuffer'], failCalls: [1] });
    assert.equal(NdisAllocateNetBuffer(nbp, null, 0, 0), null);
    assert.ok(NdisAllocateNetBuffer(nbp, null, 0, 0) !== null);
    disableFaultInjection();
  });
});

describe('verifier modes', () => {
  beforeEach(() => resetSystem({ verifier: 'full' }));

  it('full: a freed NET_BUFFER is poisoned: reading it, or freeing it again, bug-checks', () => {
    const pool = nbPool(64);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    NdisFreeNetBuffer(nb);
    assertBugCheck(() => nb.DataLength, DRIVER_VERIFIER_DETECTED_VIOLATION, VIOLATION_DESCRIPTOR_USED_AFTER_FREE);
    assertBugCheck(
      () => NdisFreeNetBuffer(nb),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      VIOLATION_DESCRIPTOR_USED_AFTER_FREE,
    );
    NdisFreeNetBufferPool(pool);
    assert.equal(poolTagStats(TAG)!.bytes, 0);
  });

  it('full: retreat, clone, fragment and reassembly all free cleanly; leak reports list call sites', () => {
    const segments = [new Uint8Array(0), pattern(9), pattern(23, 4)];
    const pool = nblPool({ fAllocateNetBuffer: true });
    const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, chainOf(segments), 5, 25)!;
    const nb = nbl.FirstNetBuffer!;
    assert.equal(NdisRetreatNetBufferDataStart(nb, 12, 4, null), NDIS_STATUS_SUCCESS);
    NdisAdvanceNetBufferDataStart(nb, 12, true, null);
    for (const flags of [0, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS]) {
      const clone = NdisAllocateCloneNetBufferList(nbl, nblPool(), nbPool(), flags)!;
      assert.deepEqual(flatten(clone.FirstNetBuffer!), concat(segments).slice(5, 30));
      NdisFreeCloneNetBufferList(clone, flags);
    }
    const frag = NdisAllocateFragmentNetBufferList(nbl, nblPool(), nbPool(), 0, 10, 8, 0, 0)!;
    const whole = NdisAllocateReassembledNetBufferList(frag, nblPool({ fAllocateNetBuffer: true }), 8, 0, 0, 0)!;
    assert.deepEqual(flatten(whole.FirstNetBuffer!), concat(segments).slice(5, 30));
    const leaks = outstandingDescriptors();
    assert.ok(leaks.length >= 3);
    assert.ok(
      leaks.every((l) => l.site?.includes('verifier.test')),
      'every descriptor has its call site',
    );
    assert.ok(collectLeaks().some((l) => l.kind === 'reassembled NET_BUFFER_LIST'));
    NdisFreeReassembledNetBufferList(whole, 0, 0);
    NdisFreeFragmentNetBufferList(frag, 8, 0);
    NdisFreeNetBufferList(nbl);
    assert.equal(outstandingDescriptors().length, 0);
    assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, 0, 'every NDIS MDL and retreat buffer released');
    NdisFreeNetBufferListPool(pool);
    assert.ok(outstandingPools().length > 0, 'the other pools were never freed');
    assert.ok(collectLeaks().some((l) => l.kind === 'NET_BUFFER_LIST pool'));
  });

  it('off: the standard-only checks cost nothing and do not fire (the hot path pays nothing)', () => {
    resetSystem({ verifier: 'off' });
    const pool = nbPool();
    // Data past the chain is not checked with the verifier off.
    const nb = NdisAllocateNetBuffer(pool, chainOf([pattern(4)]), 0, 9)!;
    assert.equal(nb.DataLength, 9);
    // A NET_BUFFER freed with retreat MDLs outstanding: NDIS frees them without a report.
    NdisRetreatNetBufferDataStart(nb, 4, 0, null);
    NdisFreeNetBuffer(nb);
    const nblp = nblPool();
    const nbl = NdisAllocateNetBufferList(nblp, 0, 0)!;
    nbl.ChildRefCount = 1;
    NdisFreeNetBufferList(nbl);
    assert.equal(poolTagStats(TAG_NDIS)?.bytes ?? 0, 0, 'retreat memory released');
  });
});
