import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { outstandingDescriptors, outstandingPools } from '../../src/ndis/pools.js';
import { IRQL_NETBUFFER_FUNCTION, NDIS_BUGCHECK_LEAKED_NBL, Ndis6Violation } from '../../src/ndis/violations.js';
import { assertBugCheck } from '../helpers.js';
import {
  BAD_POOL_CALLER,
  BUGCODE_NDIS_DRIVER,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExFreePool,
  HIGH_LEVEL,
  IoFreeMdl,
  KeLowerIrql,
  KeRaiseIrql,
  MaxNetBufferListInfo,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisAllocateNetBufferMdlAndData,
  NdisAllocateNetBufferPool,
  NdisFreeMdl,
  NdisFreeNetBuffer,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisFreeNetBufferPool,
  NdisGetPoolFromNetBuffer,
  NdisGetPoolFromNetBufferList,
  NET_BUFFER,
  NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  NetBufferListProtocolId,
  PASSIVE_LEVEL,
  poolTag,
  resetSystem,
} from './ddi.js';
import { chainOf, mdlOver, nblPool, nblPoolParams, nbPool, nbPoolParams, pattern, TAG } from './helpers.js';

describe('NET_BUFFER pools (NdisAllocateNetBufferPool)', () => {
  beforeEach(() => resetSystem());

  it('N6-1: returns a pool handle, and NULL when the pool memory cannot be allocated', () => {
    const pool = NdisAllocateNetBufferPool(null, nbPoolParams());
    assert.ok(pool !== null);
    resetSystem({ poolLimit: 0 });
    assert.equal(NdisAllocateNetBufferPool(null, nbPoolParams()), null);
  });

  it('N6-2: the header must be NDIS_OBJECT_TYPE_DEFAULT / REVISION_1 / NDIS_SIZEOF_..._REVISION_1, else NULL', () => {
    const good = nbPoolParams();
    assert.equal(good.Header.Type, NDIS_OBJECT_TYPE_DEFAULT);
    assert.equal(good.Header.Revision, NET_BUFFER_POOL_PARAMETERS_REVISION_1);
    assert.equal(good.Header.Size, NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1);
    assert.equal(NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1, 12);
    assert.ok(NdisAllocateNetBufferPool(null, good) !== null);
    for (const [t, r, s] of [
      [0x81, 1, 12],
      [0x80, 0, 12],
      [0x80, 1, 11],
      [0, 0, 0],
    ] as const) {
      const p = nbPoolParams();
      p.Header = new NDIS_OBJECT_HEADER(t, r, s);
      assert.equal(NdisAllocateNetBufferPool(null, p), null, `header ${t}/${r}/${s}`);
    }
  });

  it('N6-3: PoolTag marks the owner: every NET_BUFFER from the pool is charged to it (poolmon)', () => {
    const tag = poolTag('xNyM');
    const pool = NdisAllocateNetBufferPool(null, nbPoolParams(0, tag))!;
    const before = poolTagStats(tag)!.bytes;
    const nbs = [1, 2, 3].map(() => NdisAllocateNetBuffer(pool, null, 0, 0)!);
    assert.ok(poolTagStats(tag)!.bytes > before, 'descriptors show under the driver tag');
    assert.equal(poolTagStats(tag)!.name, 'MyNx');
    for (const nb of nbs) {
      assert.equal(nb.NdisPoolHandle, pool);
      assert.equal(NdisGetPoolFromNetBuffer(nb), pool);
      NdisFreeNetBuffer(nb);
    }
    NdisFreeNetBufferPool(pool);
    assert.equal(poolTagStats(tag)!.bytes, 0, 'freeing the pool returns every byte');
  });

  it('N6-4: DataSize is the data size of NdisAllocateNetBufferMdlAndData; 0 means unused (returns NULL)', () => {
    const none = nbPool(0);
    assert.equal(NdisAllocateNetBufferMdlAndData(none), null);
    const pool = nbPool(1500);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    assert.equal(nb.DataLength, 1500);
    assert.equal(nb.DataOffset, 0);
    assert.equal(nb.MdlChain!.ByteCount, 1500);
    assert.equal(nb.CurrentMdl, nb.MdlChain);
    NdisFreeNetBuffer(nb);
  });

  it('N6-5: NET_BUFFERs come from NdisAllocateNetBuffer (chain, offset, length) and NdisAllocateNetBufferMdlAndData', () => {
    const pool = nbPool();
    const chain = chainOf([pattern(10), pattern(20)]);
    const nb = NdisAllocateNetBuffer(pool, chain, 4, 26)!;
    assert.equal(nb.MdlChain, chain);
    assert.equal(nb.DataOffset, 4);
    assert.equal(nb.DataLength, 26);
    assert.equal(nb.CurrentMdl, chain);
    assert.equal(nb.CurrentMdlOffset, 4);
    const nb2 = NdisAllocateNetBuffer(pool, chain, 12, 10)!;
    assert.equal(nb2.CurrentMdl, chain!.Next);
    assert.equal(nb2.CurrentMdlOffset, 2);
    const empty = NdisAllocateNetBuffer(pool, null, 0, 0)!;
    assert.equal(empty.MdlChain, null);
    assert.equal(empty.CurrentMdl, null);
    // A pool with DataSize serves only NdisAllocateNetBufferMdlAndData.
    assert.equal(NdisAllocateNetBuffer(nbPool(64), null, 0, 0), null);
    // Data that runs past the chain is reported.
    assertBugCheck(
      () => NdisAllocateNetBuffer(pool, chain, 0, 31),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.DataBeyondChain,
    );
  });

  it('N6-6: a NET_BUFFER or NET_BUFFER_LIST built in private memory is reported when handed to NDIS', () => {
    assertBugCheck(
      () => NdisFreeNetBuffer(new NET_BUFFER()),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.NotFromPool,
    );
    assertBugCheck(
      () => NdisFreeNetBufferList(new NET_BUFFER_LIST()),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.NotFromPool,
    );
  });

  it('N6-7: a DataSize pool preallocates MDL and data with each NET_BUFFER, in pool memory under the tag', () => {
    const pool = nbPool(2048);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    const m = nb.MdlChain!;
    assert.equal(m.ByteCount, 2048);
    assert.equal(m.MappedSystemVa, m.StartVa + m.ByteOffset);
    assert.ok(poolTagStats(TAG)!.bytes >= 2048);
    NdisFreeNetBuffer(nb);
  });

  it('N6-8: that MDL and data are never freed apart from the NET_BUFFER; NdisFreeNetBuffer frees them together', () => {
    const pool = nbPool(256);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    const m = nb.MdlChain!;
    assertBugCheck(() => IoFreeMdl(m), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1012);
    assertBugCheck(() => NdisFreeMdl(m), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1012);
    assertBugCheck(() => ExFreePool(m.MappedSystemVa), BAD_POOL_CALLER, 0x46);
    NdisFreeNetBuffer(nb);
    NdisFreeNetBufferPool(pool);
    assert.equal(poolTagStats(TAG)!.bytes, 0);
  });

  it('N6-9: NdisFreeNetBufferPool frees the pool; with NET_BUFFERs outstanding it is reported', () => {
    const pool = nbPool();
    const nb = NdisAllocateNetBuffer(pool, null, 0, 0)!;
    assertBugCheck(() => NdisFreeNetBufferPool(pool), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.PoolNotEmpty);
    NdisFreeNetBuffer(nb);
    NdisFreeNetBufferPool(pool);
    assert.equal(outstandingPools().length, 0);
    assertBugCheck(() => NdisFreeNetBufferPool(pool), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.BadPoolHandle);
    assertBugCheck(
      () => NdisAllocateNetBuffer(pool, null, 0, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.BadPoolHandle,
    );
  });

  it('N6-10: every pool and NET_BUFFER DDI bug-checks above DISPATCH_LEVEL (Irql_NetBuffer_Function) and works at it', () => {
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    const pool = nbPool(64);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    NdisFreeNetBuffer(nb);
    const nblp = nblPool({ fAllocateNetBuffer: true });
    NdisFreeNetBufferList(NdisAllocateNetBufferList(nblp, 0, 0)!);
    KeLowerIrql(old.value);
    const calls: (() => unknown)[] = [
      () => NdisAllocateNetBufferPool(null, nbPoolParams()),
      () => NdisAllocateNetBufferMdlAndData(pool),
      () => NdisAllocateNetBuffer(nbPool(), null, 0, 0),
      () => NdisFreeNetBufferPool(pool),
      () => NdisAllocateNetBufferListPool(null, nblPoolParams()),
      () => NdisAllocateNetBufferList(nblp, 0, 0),
      () => NdisFreeNetBufferListPool(nblp),
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

  it('double free and freeing a preallocated NET_BUFFER on its own are reported', () => {
    const pool = nbPool();
    const nb = NdisAllocateNetBuffer(pool, null, 0, 0)!;
    NdisFreeNetBuffer(nb);
    assertBugCheck(() => NdisFreeNetBuffer(nb), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.AlreadyFreed);
    const nblp = nblPool({ fAllocateNetBuffer: true });
    const nbl = NdisAllocateNetBufferList(nblp, 0, 0)!;
    assertBugCheck(
      () => NdisFreeNetBuffer(nbl.FirstNetBuffer!),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.WrongFree,
    );
  });

  it('steady state reuses cached descriptors, fully reinitialised (nothing from a previous use leaks)', () => {
    const pool = nbPool();
    const chain = mdlOver(pattern(8));
    const a = NdisAllocateNetBuffer(pool, chain, 2, 6)!;
    a.ProtocolReserved[0] = 'x';
    a.MiniportReserved[3] = 7;
    a.ChecksumBias = 5;
    a.Next = a;
    NdisFreeNetBuffer(a);
    const b = NdisAllocateNetBuffer(pool, null, 0, 0)!;
    assert.equal(b, a, 'the cached descriptor is reused');
    assert.deepEqual(b.ProtocolReserved, [null, null, null, null, null, null]);
    assert.deepEqual(b.MiniportReserved, [null, null, null, null]);
    assert.equal(b.ChecksumBias, 0);
    assert.equal(b.Next, null);
    assert.equal(b.MdlChain, null);
    assert.equal(pool.created, 1);
  });
});

describe('NET_BUFFER_LIST pools (NdisAllocateNetBufferListPool)', () => {
  beforeEach(() => resetSystem());

  it('validates the header (revision 1 size 16, revision 2 size 20), ContextSize alignment and DataSize rules', () => {
    assert.ok(NdisAllocateNetBufferListPool(null, nblPoolParams()) !== null);
    const r2 = nblPoolParams();
    r2.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_DEFAULT,
      NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2,
      NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2,
    );
    assert.ok(NdisAllocateNetBufferListPool(null, r2) !== null);
    r2.Header.Size = 16;
    assert.equal(NdisAllocateNetBufferListPool(null, r2), null);
    const bad = nblPoolParams();
    bad.Header.Type = 0;
    assert.equal(NdisAllocateNetBufferListPool(null, bad), null);
    assert.equal(NdisAllocateNetBufferListPool(null, nblPoolParams({ ContextSize: 8 })), null, 'W-2 alignment');
    assert.equal(
      NdisAllocateNetBufferListPool(null, nblPoolParams({ DataSize: 64 })),
      null,
      'DataSize needs fAllocateNetBuffer',
    );
  });

  it('fAllocateNetBuffer preallocates one NET_BUFFER; DataSize also its MDL and data', () => {
    const plain = nblPool();
    const a = NdisAllocateNetBufferList(plain, 0, 0)!;
    assert.equal(a.FirstNetBuffer, null);
    const withNb = nblPool({ fAllocateNetBuffer: true });
    const b = NdisAllocateNetBufferList(withNb, 0, 0)!;
    assert.ok(b.FirstNetBuffer !== null);
    assert.equal(b.FirstNetBuffer!.MdlChain, null);
    const withData = nblPool({ fAllocateNetBuffer: true, DataSize: 2048 });
    const c = NdisAllocateNetBufferList(withData, 0, 0)!;
    assert.equal(c.FirstNetBuffer!.DataLength, 2048);
    assert.equal(c.FirstNetBuffer!.MdlChain!.ByteCount, 2048);
    assert.equal(NdisGetPoolFromNetBufferList(c), withData);
    assertBugCheck(() => ExFreePool(c.FirstNetBuffer!.MdlChain!.MappedSystemVa), BAD_POOL_CALLER, 0x46);
    for (const nbl of [a, b, c]) NdisFreeNetBufferList(nbl);
  });

  it('NdisAllocateNetBufferAndNetBufferList initialises the preallocated NET_BUFFER; other pools give NULL', () => {
    const pool = nblPool({ fAllocateNetBuffer: true });
    const chain = chainOf([new Uint8Array(0), pattern(14), pattern(40)]);
    const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, chain, 14, 40)!;
    const nb = nbl.FirstNetBuffer!;
    assert.equal(nb.DataOffset, 14);
    assert.equal(nb.DataLength, 40);
    assert.equal(nb.CurrentMdl, chain!.Next!.Next, 'data starts in the third MDL');
    assert.equal(nb.CurrentMdlOffset, 0);
    assert.equal(NdisAllocateNetBufferAndNetBufferList(nblPool(), 0, 0, null, 0, 0), null);
    assert.equal(
      NdisAllocateNetBufferAndNetBufferList(nblPool({ fAllocateNetBuffer: true, DataSize: 64 }), 0, 0, null, 0, 0),
      null,
    );
    NdisFreeNetBufferList(nbl);
  });

  it('the pool ProtocolId is the list NetBufferListProtocolId, and every new list is fully initialised', () => {
    const pool = nblPool({ ProtocolId: 2 });
    const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
    assert.equal(nbl.NetBufferListInfo[NetBufferListProtocolId], 2);
    for (let i = 0; i < MaxNetBufferListInfo; i++) nbl.NetBufferListInfo[i] = `stale ${i}`;
    nbl.ProtocolReserved[1] = 1;
    nbl.Status = -1;
    nbl.NblFlags = 0x200;
    NdisFreeNetBufferList(nbl);
    const again = NdisAllocateNetBufferList(pool, 0, 0)!;
    assert.equal(again, nbl);
    assert.equal(again.NetBufferListInfo.length, MaxNetBufferListInfo);
    for (let i = 0; i < MaxNetBufferListInfo; i++) {
      assert.equal(again.NetBufferListInfo[i], i === NetBufferListProtocolId ? 2 : null, `slot ${i}`);
    }
    assert.equal(again.ProtocolReserved[1], null);
    assert.equal(again.Status, 0);
    assert.equal(again.NblFlags, 0);
  });

  it('a reused list gets its built-in MDL back as allocated, even after the driver adjusted it', () => {
    const pool = nblPool({ fAllocateNetBuffer: true, DataSize: 1514 });
    const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
    const nb = nbl.FirstNetBuffer!;
    const m = nb.MdlChain!;
    m.ByteCount = 60; // NdisAdjustMdlLength for a short frame
    nb.DataLength = 60;
    NdisFreeNetBufferList(nbl);
    const again = NdisAllocateNetBufferList(pool, 0, 0)!;
    assert.equal(again.FirstNetBuffer!.MdlChain, m);
    assert.equal(m.ByteCount, 1514);
    assert.equal(m.Next, null);
    assert.equal(again.FirstNetBuffer!.DataLength, 1514);
  });

  it('resetSystem returns to a clean machine: no pools, no descriptors, no NDIS memory', () => {
    const pool = nblPool({ fAllocateNetBuffer: true, DataSize: 64 });
    NdisAllocateNetBufferList(pool, 0, 0);
    assert.equal(outstandingPools().length, 1);
    resetSystem();
    assert.equal(outstandingPools().length, 0);
    assert.equal(outstandingDescriptors().length, 0);
    assert.equal(poolTagStats(TAG), undefined);
  });

  it('freeing twice, freeing a pool with lists out (BUGCODE_NDIS_DRIVER / LEAKED_NBL) and leak reports', () => {
    const pool = nblPool();
    const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
    const leaks = outstandingDescriptors();
    assert.equal(leaks.length, 1);
    assert.equal(leaks[0]!.descriptor, nbl);
    assert.equal(leaks[0]!.tag, 'NTst');
    assert.ok(collectLeaks().some((l) => l.kind === 'NET_BUFFER_LIST'));
    const e = assertBugCheck(() => NdisFreeNetBufferListPool(pool), BUGCODE_NDIS_DRIVER, NDIS_BUGCHECK_LEAKED_NBL);
    assert.equal(e.parameters[1], 1);
    NdisFreeNetBufferList(nbl);
    assertBugCheck(() => NdisFreeNetBufferList(nbl), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.AlreadyFreed);
    NdisFreeNetBufferListPool(pool);
    // A list freed after its pool (the leak report was ignored) is caught too.
    const pool2 = nblPool();
    const late = NdisAllocateNetBufferList(pool2, 0, 0)!;
    pool2.outstanding = 0; // pretend the pool's bookkeeping lost it, as a corrupted driver might
    NdisFreeNetBufferListPool(pool2);
    assertBugCheck(() => NdisFreeNetBufferList(late), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis6Violation.BadPoolHandle);
    assert.equal(outstandingDescriptors().length, 0);
    assert.equal(outstandingPools().length, 0);
  });

  it('full verifier: a freed list is poisoned (use after free bug-checks) and its memory is released', () => {
    resetSystem({ verifier: 'full' });
    const pool = nblPool({ fAllocateNetBuffer: true, DataSize: 128 });
    const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
    assert.ok(nbl.site?.includes('pools.test'), `site recorded: ${nbl.site}`);
    NdisFreeNetBufferList(nbl);
    assertBugCheck(() => nbl.FirstNetBuffer, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1011);
    assertBugCheck(() => NdisFreeNetBufferList(nbl), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1011);
    NdisFreeNetBufferListPool(pool);
    assert.equal(poolTagStats(TAG)!.bytes, 0);
  });
});
