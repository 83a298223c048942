import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BAD_POOL_CALLER,
  bytesAt,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePool2,
  ExAllocatePoolWithTag,
  ExFreePool,
  ExFreePoolWithTag,
  KeLowerIrql,
  KeRaiseIrql,
  MEMORY_ALLOCATION_ALIGNMENT,
  NonPagedPool,
  PagedPool,
  POOL_FLAG_NON_PAGED,
  POOL_FLAG_PAGED,
  POOL_FLAG_RAISE_ON_FAILURE,
  POOL_FLAG_UNINITIALIZED,
  POOL_RAISE_IF_ALLOCATION_FAILURE,
  poolTag,
  resetSystem,
  STATUS_INSUFFICIENT_RESOURCES,
} from '../../src/ddi/index.js';
import { KernelException, outstandingAllocations, poolmon, poolTagStats, tagToString } from '../../src/index.js';
import { findPoolBlock, poolBytesInUse } from '../../src/kernel/pool.js';
import { assertBugCheck } from '../helpers.js';

const TAG = poolTag('tseT');

describe('pool tags', () => {
  it("'fPCT' is the ULONG 0x66504354 and poolmon shows it as TCPf (FH-3, DESIGN pool tags)", () => {
    assert.equal(poolTag('fPCT'), 0x66504354);
    assert.equal(tagToString(0x66504354), 'TCPf');
  });
});

describe('ExAllocatePoolWithTag / ExFreePoolWithTag', () => {
  beforeEach(() => resetSystem());

  it('returns MEMORY_ALLOCATION_ALIGNMENT-aligned, distinct, writable memory', () => {
    const seen = new Set<number>();
    for (const size of [1, 15, 16, 17, 100, 4000, 4080, 4096, 5000, 70000]) {
      const p = ExAllocatePoolWithTag(NonPagedPool, size, TAG);
      assert.notEqual(p, 0);
      assert.equal(p % MEMORY_ALLOCATION_ALIGNMENT, 0, `size ${size}`);
      assert.ok(!seen.has(p));
      seen.add(p);
      bytesAt(p, size).fill(0x5a);
    }
    for (const p of seen) ExFreePoolWithTag(p, TAG);
    assert.equal(poolBytesInUse(), 0);
  });

  it('counts allocations, frees and bytes per tag, as poolmon does', () => {
    const a = ExAllocatePoolWithTag(NonPagedPool, 100, TAG);
    const b = ExAllocatePoolWithTag(NonPagedPool, 50, TAG);
    const stats = poolTagStats(TAG)!;
    assert.deepEqual(
      { allocs: stats.allocs, frees: stats.frees, bytes: stats.bytes },
      { allocs: 2, frees: 0, bytes: 150 },
    );
    assert.equal(stats.name, 'Test');
    ExFreePool(a);
    ExFreePoolWithTag(b, TAG);
    assert.deepEqual(
      { allocs: stats.allocs, frees: stats.frees, bytes: stats.bytes },
      { allocs: 2, frees: 2, bytes: 0 },
    );
    assert.equal(poolmon().length, 1);
  });

  it('returns NULL when the pool limit is reached, and memory freed can be taken again', () => {
    resetSystem({ poolLimit: 64 * 1024 });
    const got: number[] = [];
    for (;;) {
      const p = ExAllocatePoolWithTag(NonPagedPool, 1000, TAG);
      if (p === 0) break;
      got.push(p);
    }
    assert.ok(got.length > 10 && got.length < 70, `${got.length} allocations`);
    ExFreePool(got.pop()!);
    assert.notEqual(ExAllocatePoolWithTag(NonPagedPool, 1000, TAG), 0);
  });

  it('raises only when asked to with POOL_RAISE_IF_ALLOCATION_FAILURE', () => {
    resetSystem({ poolLimit: 4096 });
    assert.equal(ExAllocatePoolWithTag(NonPagedPool, 1 << 20, TAG), 0);
    assert.throws(
      () => ExAllocatePoolWithTag(NonPagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE, 1 << 20, TAG),
      (e: unknown) => e instanceof KernelException && e.status === STATUS_INSUFFICIENT_RESOURCES,
    );
  });

  it('rejects a tag of zero: BAD_POOL_CALLER 0x9B', () => {
    assertBugCheck(() => ExAllocatePoolWithTag(NonPagedPool, 10, 0), BAD_POOL_CALLER, 0x9b);
  });

  it('freeing twice is BAD_POOL_CALLER 0x07 with the address as Parameter 4', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 10, TAG);
    ExFreePool(p);
    const e = assertBugCheck(() => ExFreePool(p), BAD_POOL_CALLER, 0x07);
    assert.equal(e.parameters[3], p);
  });

  it('freeing with the wrong tag is BAD_POOL_CALLER 0x0A (address, allocator tag, tag used)', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 10, TAG);
    const other = poolTag('rhtO');
    const e = assertBugCheck(() => ExFreePoolWithTag(p, other), BAD_POOL_CALLER, 0x0a);
    assert.deepEqual(e.parameters, [0x0a, p, TAG, other]);
  });

  it('freeing what was never allocated is a bug check, never absorbed', () => {
    assertBugCheck(() => ExFreePool(0), BAD_POOL_CALLER, 0x42);
    assertBugCheck(() => ExFreePool(0x1234), BAD_POOL_CALLER, 0x42);
    const p = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    assertBugCheck(() => ExFreePool(p + 16), BAD_POOL_CALLER, 0x46);
  });

  it('checks IRQL: nonpaged at <= DISPATCH_LEVEL, paged at <= APC_LEVEL (IrqlExAllocatePool 0x20004)', () => {
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    assert.notEqual(ExAllocatePoolWithTag(NonPagedPool, 8, TAG), 0);
    assertBugCheck(() => ExAllocatePoolWithTag(PagedPool, 8, TAG), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x20004);
    KeLowerIrql(old.value);
    KeRaiseIrql(3, old);
    assertBugCheck(() => ExAllocatePoolWithTag(NonPagedPool, 8, TAG), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x20004);
    resetSystem({ verifier: 'off' });
    KeRaiseIrql(3, old);
    assertBugCheck(() => ExAllocatePoolWithTag(NonPagedPool, 8, TAG), BAD_POOL_CALLER, 0x08);
  });

  it('lists outstanding allocations with tag and size', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 77, TAG);
    const q = ExAllocatePoolWithTag(NonPagedPool, 9000, TAG);
    const leaks = outstandingAllocations();
    assert.deepEqual(
      leaks.map((l) => [l.address, l.tagName, l.size]),
      [
        [p, 'Test', 77],
        [q, 'Test', 9000],
      ],
    );
  });

  it('finds the block holding an interior address', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 200, TAG);
    const info = findPoolBlock(p + 150)!;
    assert.equal(info.base, p);
    assert.equal(info.size, 200);
    assert.equal(info.allocated, true);
  });

  it('property: any sequence of allocations and frees keeps accounting exact and blocks disjoint', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ alloc: fc.integer({ min: 1, max: 20000 }) }), fc.record({ free: fc.nat() })), {
          maxLength: 80,
        }),
        (ops) => {
          resetSystem();
          const live: { p: number; n: number }[] = [];
          for (const op of ops) {
            if ('alloc' in op) {
              const p = ExAllocatePoolWithTag(NonPagedPool, op.alloc, TAG);
              assert.notEqual(p, 0);
              bytesAt(p, op.alloc).fill(live.length & 0xff);
              live.push({ p, n: op.alloc });
            } else if (live.length > 0) {
              const [victim] = live.splice(op.free % live.length, 1);
              ExFreePoolWithTag(victim!.p, TAG);
            }
          }
          const sorted = [...live].sort((a, b) => a.p - b.p);
          for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1]!.p + sorted[i - 1]!.n <= sorted[i]!.p);
          const stats = poolTagStats(TAG);
          assert.equal(
            stats?.bytes ?? 0,
            live.reduce((s, l) => s + l.n, 0),
          );
          assert.equal(outstandingAllocations().length, live.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('ExAllocatePool2', () => {
  beforeEach(() => resetSystem());

  it('zeroes memory unless POOL_FLAG_UNINITIALIZED', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    bytesAt(p, 64).fill(0xee);
    ExFreePool(p);
    const q = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, TAG);
    assert.equal(q, p, 'the freed block is reused');
    assert.ok(bytesAt(q, 64).every((b) => b === 0));
    ExFreePool(q);
    const r = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, 64, TAG);
    assert.equal(r, p);
  });

  it('needs exactly one pool kind; raises on failure only with POOL_FLAG_RAISE_ON_FAILURE', () => {
    assert.equal(ExAllocatePool2(0, 64, TAG), 0);
    assert.equal(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 64, TAG), 0);
    resetSystem({ poolLimit: 4096 });
    assert.equal(ExAllocatePool2(POOL_FLAG_NON_PAGED, 1 << 20, TAG), 0);
    assert.throws(
      () => ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, 1 << 20, TAG),
      KernelException,
    );
  });
});
