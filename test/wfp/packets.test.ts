import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { MEMORY_ALLOCATION_ALIGNMENT } from '../../src/kernel/arena.js';
import { DRIVER_VERIFIER_DETECTED_VIOLATION } from '../../src/kernel/bugcheck.js';
import { CLOCK_LEVEL, DISPATCH_LEVEL, KeLowerIrql, KeRaiseIrql } from '../../src/kernel/irql.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import { NET_BUFFER_LIST_CONTEXT_DATA_SIZE } from '../../src/ndis/context.js';
import { NdisGetPoolFromNetBufferList } from '../../src/ndis/netBufferList.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import {
  FwpsAllocateCloneNetBufferList0,
  FwpsAllocateNetBufferAndNetBufferList,
  FwpsAllocateNetBufferAndNetBufferList0,
  FwpsDereferenceNetBufferList0,
  FwpsFreeCloneNetBufferList0,
  FwpsFreeNetBufferList,
  FwpsFreeNetBufferList0,
  FwpsReferenceNetBufferList0,
  netBufferListReferences,
  whenNetBufferListReleased,
} from '../../src/wfp/index.js';
import { assertBugCheck } from '../helpers.js';
import { assertNothingLeft, Chain, dataOf, freePool, TAG, wfpPool } from './packetUtil.js';

const box = () => ({ value: null as NET_BUFFER_LIST | null });

describe('FwpsAllocateNetBufferAndNetBufferList0 (W-1..W-11)', () => {
  beforeEach(() => resetSystem());

  it('W-1, W-7, W-8, W-9: one NET_BUFFER_LIST with one NET_BUFFER from the NdisAllocateNetBufferListPool pool, through the out box', () => {
    const pool = wfpPool();
    const chain = new Chain([Uint8Array.from([1, 2, 3, 4])]);
    const out = box();
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 0, 4, out), STATUS_SUCCESS);
    const nbl = out.value!;
    assert.equal(NdisGetPoolFromNetBufferList(nbl), pool, 'W-1/W-9: from the caller pool');
    assert.ok(nbl.FirstNetBuffer !== null);
    assert.equal(nbl.FirstNetBuffer!.Next, null, 'W-1: exactly one NET_BUFFER');
    assert.ok((poolTagStats(TAG)?.allocs ?? 0) > 0, 'W-9: the descriptors are charged to the pool tag');
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
    assertNothingLeft();
  });

  it('W-2, W-3: contextSize and contextBackFill must be multiples of MEMORY_ALLOCATION_ALIGNMENT; contextSize is reserved used space', () => {
    const pool = wfpPool();
    const out = box();
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 8, 0, null, 0, 0, out), STATUS_INVALID_PARAMETER);
    assert.equal(out.value, null);
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 24, null, 0, 0, out), STATUS_INVALID_PARAMETER);
    assert.equal(
      FwpsAllocateNetBufferAndNetBufferList0(pool, 0x10000, 0, null, 0, 0, out),
      STATUS_INVALID_PARAMETER,
      'USHORT',
    );
    assert.equal(
      FwpsAllocateNetBufferAndNetBufferList0(
        pool,
        2 * MEMORY_ALLOCATION_ALIGNMENT,
        MEMORY_ALLOCATION_ALIGNMENT,
        null,
        0,
        0,
        out,
      ),
      STATUS_SUCCESS,
    );
    const ctx = out.value!.Context!;
    assert.equal(ctx.Size - ctx.Offset, 2 * MEMORY_ALLOCATION_ALIGNMENT, 'W-2: used context');
    assert.equal(ctx.Offset, MEMORY_ALLOCATION_ALIGNMENT, 'W-3: the backfill lies before the used context');
    assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(out.value!), ctx.Size);
    FwpsFreeNetBufferList0(out.value!);
    freePool(pool);
  });

  it('W-4: mdlChain may be NULL', () => {
    const pool = wfpPool();
    const out = box();
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, null, 0, 0, out), STATUS_SUCCESS);
    assert.equal(out.value!.FirstNetBuffer!.MdlChain, null);
    assert.equal(out.value!.FirstNetBuffer!.DataLength, 0);
    FwpsFreeNetBufferList(out.value!);
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, null, 0, 10, out), STATUS_INVALID_PARAMETER);
    freePool(pool);
  });

  it('W-5, W-6: over random MDL chains, the NET_BUFFER describes dataLength bytes at dataOffset (the initial backfill)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.nat(),
        (segments, a, b) => {
          resetSystem();
          const pool = wfpPool();
          const chain = new Chain(segments);
          const flat = Uint8Array.from(segments.flatMap((s) => [...s]));
          const offset = flat.length === 0 ? 0 : a % (flat.length + 1);
          const length = flat.length - offset === 0 ? 0 : b % (flat.length - offset + 1);
          const out = box();
          assert.equal(
            FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, offset, length, out),
            STATUS_SUCCESS,
          );
          const nb = out.value!.FirstNetBuffer!;
          assert.equal(nb.DataOffset, offset, 'W-5');
          assert.equal(nb.DataLength, length, 'W-6');
          assert.equal(nb.MdlChain, chain.head, 'W-4: the chain initialises the preallocated NET_BUFFER');
          assert.deepEqual(dataOf(nb), flat.subarray(offset, offset + length));
          FwpsFreeNetBufferList0(out.value!);
          chain.free();
          freePool(pool);
          assertNothingLeft();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('W-5, W-6: a range past the end of the chain is an error status, not a corrupt list', () => {
    const pool = wfpPool();
    const chain = new Chain([new Uint8Array(10)]);
    const out = box();
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 4, 7, out), STATUS_INVALID_PARAMETER);
    assert.equal(out.value, null);
    chain.free();
    freePool(pool);
  });

  it('W-8: a pool that cannot preallocate a data-less NET_BUFFER gives an error status', () => {
    const noNb = wfpPool(false);
    const withData = wfpPool(true, 256);
    const out = box();
    assert.ok(FwpsAllocateNetBufferAndNetBufferList0(noNb, 0, 0, null, 0, 0, out) < 0);
    assert.ok(FwpsAllocateNetBufferAndNetBufferList0(withData, 0, 0, null, 0, 0, out) < 0);
    assert.equal(out.value, null);
    freePool(noNb);
    freePool(withData);
  });

  it('W-11: callable at IRQL <= DISPATCH_LEVEL, not above', () => {
    const pool = wfpPool();
    const out = box();
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, null, 0, 0, out), STATUS_SUCCESS);
    FwpsFreeNetBufferList0(out.value!);
    const old2 = { value: 0 };
    KeRaiseIrql(CLOCK_LEVEL, old2);
    assertBugCheck(
      () => FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, null, 0, 0, out),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
    );
    KeLowerIrql(old2.value);
    KeLowerIrql(old.value);
    freePool(pool);
  });

  it('the version-independent name is the same function', () => {
    assert.equal(FwpsAllocateNetBufferAndNetBufferList, FwpsAllocateNetBufferAndNetBufferList0);
  });
});

describe('FwpsAllocateCloneNetBufferList0 / FwpsFreeCloneNetBufferList0 / FwpsReference / FwpsDereference', () => {
  beforeEach(() => resetSystem());

  it('a clone shares the data, points at its parent and holds it (ChildRefCount) until freed', () => {
    const pool = wfpPool();
    const chain = new Chain([Uint8Array.from([9, 8, 7, 6, 5])]);
    const out = box();
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 1, 3, out), STATUS_SUCCESS);
    const original = out.value!;
    const c = box();
    assert.equal(
      FwpsAllocateCloneNetBufferList0(original, null, null, 1, c),
      STATUS_INVALID_PARAMETER,
      'flags are reserved',
    );
    assert.equal(FwpsAllocateCloneNetBufferList0(original, null, null, 0, c), STATUS_SUCCESS);
    const clone = c.value!;
    assert.deepEqual(dataOf(clone.FirstNetBuffer!), Uint8Array.from([8, 7, 6]));
    assert.equal(clone.ParentNetBufferList, original);
    assert.equal(original.ChildRefCount, 1);
    FwpsFreeCloneNetBufferList0(clone, 0);
    assert.equal(original.ChildRefCount, 0);
    FwpsFreeNetBufferList0(original);
    chain.free();
    freePool(pool);
    assertNothingLeft();
  });

  it('references: the last dereference releases the list; underflow and freeing while referenced are caught', () => {
    const pool = wfpPool();
    const out = box();
    FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, null, 0, 0, out);
    const nbl = out.value!;
    let released = 0;
    FwpsReferenceNetBufferList0(nbl, false);
    FwpsReferenceNetBufferList0(nbl, true);
    whenNetBufferListReleased(nbl, () => released++);
    assert.equal(netBufferListReferences(nbl), 2);
    assertBugCheck(() => FwpsFreeNetBufferList0(nbl), DRIVER_VERIFIER_DETECTED_VIOLATION);
    FwpsDereferenceNetBufferList0(nbl, false);
    assert.equal(released, 0);
    FwpsDereferenceNetBufferList0(nbl, false);
    assert.equal(released, 1);
    assertBugCheck(() => FwpsDereferenceNetBufferList0(nbl, false), DRIVER_VERIFIER_DETECTED_VIOLATION);
    FwpsFreeNetBufferList0(nbl);
    freePool(pool);
  });
});
