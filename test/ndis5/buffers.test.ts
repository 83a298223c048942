import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { enableFaultInjection } from '../../src/kernel/faults.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { TAG_MDL } from '../../src/kernel/mdl.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { Ndis5Violation } from '../../src/ndis/ndis5.js';
import { assertBugCheck } from '../helpers.js';
import {
  BAD_POOL_CALLER,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  ExFreePool,
  HIGH_LEVEL,
  IoAllocateMdl,
  IoFreeMdl,
  KeLowerIrql,
  KeRaiseIrql,
  MDL_PARTIAL,
  MDL_SOURCE_IS_NONPAGED_POOL,
  MmGetMdlVirtualAddress,
  type NDIS_BUFFER,
  type NDIS_BUFFER_POOL,
  NDIS_BUFFER_TO_SPAN_PAGES,
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_SUCCESS,
  NdisAdjustBufferLength,
  NdisAllocateBuffer,
  NdisAllocateBufferPool,
  NdisBufferLength,
  NdisBufferVirtualAddress,
  NdisBufferVirtualAddressSafe,
  NdisCopyBuffer,
  NdisFreeBuffer,
  NdisFreeBufferPool,
  NdisGetNextBuffer,
  NdisQueryBuffer,
  NdisQueryBufferOffset,
  NdisQueryBufferSafe,
  NonPagedPool,
  NormalPagePriority,
  PAGE_SIZE,
  PagedPool,
  poolTag,
  resetSystem,
} from './ddi.js';

const TAG = poolTag('5sdN');

function pool(n: number): NDIS_BUFFER_POOL {
  const status = { value: -1 };
  const handle = { value: null as NDIS_BUFFER_POOL | null };
  NdisAllocateBufferPool(status, handle, n);
  assert.equal(status.value, NDIS_STATUS_SUCCESS);
  return handle.value!;
}

function alloc(p: NDIS_BUFFER_POOL, va: number, length: number): { status: number; buffer: NDIS_BUFFER | null } {
  const status = { value: -1 };
  const buffer = { value: null as NDIS_BUFFER | null };
  NdisAllocateBuffer(status, buffer, p, va, length);
  return { status: status.value, buffer: buffer.value };
}

describe('NDIS 5 buffer descriptors (NdisAllocateBuffer)', () => {
  beforeEach(() => resetSystem());

  it('N5-1: on success Status is NDIS_STATUS_SUCCESS and Buffer maps [VirtualAddress, VirtualAddress + Length)', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 3000, TAG);
    const p = pool(4);
    const { status, buffer } = alloc(p, mem + 100, 2000);
    assert.equal(status, NDIS_STATUS_SUCCESS);
    assert.ok(buffer);
    assert.equal(MmGetMdlVirtualAddress(buffer), mem + 100);
    assert.equal(NdisBufferLength(buffer), 2000);
    assert.equal(NdisBufferVirtualAddress(buffer), mem + 100);
    assert.equal(NdisBufferVirtualAddressSafe(buffer, NormalPagePriority), mem + 100);
    assert.ok(buffer.MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    const va = { value: 0 };
    const len = { value: 0 };
    NdisQueryBuffer(buffer, va, len);
    assert.deepEqual([va.value, len.value], [mem + 100, 2000]);
    NdisQueryBuffer(buffer, null, len);
    assert.equal(len.value, 2000);
    NdisQueryBufferSafe(buffer, va, len, NormalPagePriority);
    assert.deepEqual([va.value, len.value], [mem + 100, 2000]);
    const off = { value: -1 };
    NdisQueryBufferOffset(buffer, off, len);
    assert.deepEqual([off.value, len.value], [(mem + 100) % PAGE_SIZE, 2000]);
    NdisFreeBuffer(buffer);
    NdisFreeBufferPool(p);
    ExFreePool(mem);
  });

  it('N5-1 / N5-2: a range outside any allocation, crossing its end, in freed or paged pool fails with NDIS_STATUS_FAILURE', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 256, TAG);
    const paged = ExAllocatePoolWithTag(PagedPool, 256, TAG);
    const gone = ExAllocatePoolWithTag(NonPagedPool, 256, TAG);
    ExFreePool(gone);
    const p = pool(8);
    for (const [va, len] of [
      [mem + 200, 57], // crosses the end by one byte
      [mem - 8, 16], // starts in the pool header
      [paged, 16], // paged pool
      [gone, 16], // freed
      [0x0800_0000, 16], // no memory at all
      [mem, -1], // negative length
    ] as const) {
      const { status, buffer } = alloc(p, va, len);
      assert.equal(status, NDIS_STATUS_FAILURE, `0x${va.toString(16)}+${len}`);
      assert.equal(buffer, null);
    }
    assert.equal(p.inUse, 0, 'a failed allocation takes no descriptor');
    const edge = alloc(p, mem + 200, 56); // exactly to the end
    assert.equal(edge.status, NDIS_STATUS_SUCCESS);
    NdisFreeBuffer(edge.buffer!);
  });

  it('N5-2 property: success exactly when the range lies inside the allocated nonpaged block', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: -64, max: 5100 }),
        fc.nat(5100),
        (size, start, len) => {
          resetSystem();
          const mem = ExAllocatePoolWithTag(NonPagedPool, size, TAG);
          const p = pool(1);
          const { status, buffer } = alloc(p, mem + start, len);
          const inside = start >= 0 && start < size && start + len <= size;
          assert.equal(status === NDIS_STATUS_SUCCESS, inside);
          if (buffer) assert.equal(NdisBufferLength(buffer), len);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('N5-3: NumberOfDescriptors is the exact capacity; the next allocation fails; a freed descriptor can be taken again', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), (n) => {
        resetSystem();
        const mem = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
        const p = pool(n);
        const got: NDIS_BUFFER[] = [];
        for (let i = 0; i < n; i++) {
          const r = alloc(p, mem, 64);
          assert.equal(r.status, NDIS_STATUS_SUCCESS, `allocation ${i + 1} of ${n}`);
          got.push(r.buffer!);
        }
        assert.equal(alloc(p, mem, 64).status, NDIS_STATUS_FAILURE, 'one past the capacity');
        if (n > 0) {
          NdisFreeBuffer(got.pop()!);
          const again = alloc(p, mem, 64);
          assert.equal(again.status, NDIS_STATUS_SUCCESS);
          got.push(again.buffer!);
          assert.equal(alloc(p, mem, 64).status, NDIS_STATUS_FAILURE);
        }
        for (const b of got) NdisFreeBuffer(b);
        NdisFreeBufferPool(p);
      }),
    );
  });

  it('PoolHandle is optional: NULL draws from the system (NT ignored the handle); such descriptors free and leak-report alike', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    const status = { value: -1 };
    const buffer = { value: null as NDIS_BUFFER | null };
    NdisAllocateBuffer(status, buffer, null, mem + 4, 60);
    assert.equal(status.value, NDIS_STATUS_SUCCESS);
    assert.equal(MmGetMdlVirtualAddress(buffer.value!), mem + 4);
    NdisAllocateBuffer(status, { value: null }, null, mem + 4, 61);
    assert.equal(status.value, NDIS_STATUS_FAILURE, 'N5-2 holds without a pool too');
    assert.ok(collectLeaks().some((l) => l.kind === 'NDIS_BUFFER'));
    NdisFreeBuffer(buffer.value!);
    assert.equal(collectLeaks().filter((l) => l.kind === 'NDIS_BUFFER').length, 0);
    assertBugCheck(() => NdisFreeBuffer(buffer.value!), BAD_POOL_CALLER, 0x07);
  });

  it('NdisAllocateBufferPool always returns NDIS_STATUS_SUCCESS (documented), even with every allocation failing', () => {
    enableFaultInjection({ probability: 1 });
    const status = { value: -1 };
    const handle = { value: null as NDIS_BUFFER_POOL | null };
    NdisAllocateBufferPool(status, handle, 8);
    assert.equal(status.value, NDIS_STATUS_SUCCESS);
    // The pool takes no memory; its descriptors do, so they are what fails under low resources.
    const mem = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    assert.equal(mem, 0, 'fault injection is on');
    enableFaultInjection({ probability: 0 });
    const m = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    enableFaultInjection({ probability: 1, tags: [TAG_MDL] });
    assert.equal(alloc(handle.value!, m, 16).status, NDIS_STATUS_FAILURE, 'no MDL memory: the descriptor fails');
    assert.equal(handle.value!.inUse, 0);
  });

  it('charges descriptors to "Mdl "; every counter is back to zero after the frees', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 100, TAG);
    const p = pool(2);
    const a = alloc(p, mem, 100).buffer!;
    assert.ok(poolTagStats(TAG_MDL)!.bytes > 0);
    assert.ok(
      collectLeaks().some((l) => l.kind === 'NDIS_BUFFER'),
      'an outstanding descriptor is listed as a leak',
    );
    NdisFreeBuffer(a);
    NdisFreeBufferPool(p);
    ExFreePool(mem);
    assert.equal(collectLeaks().length, 0);
    assert.equal(poolTagStats(TAG_MDL)!.bytes, 0);
    assert.equal(poolTagStats(TAG)!.bytes, 0);
  });

  it('misuse: freeing a descriptor twice is BAD_POOL_CALLER 0x07', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    const p = pool(1);
    const b = alloc(p, mem, 16).buffer!;
    NdisFreeBuffer(b);
    assertBugCheck(() => NdisFreeBuffer(b), BAD_POOL_CALLER, 0x07);
  });

  it('misuse: NdisFreeBuffer refuses an IoAllocateMdl MDL, IoFreeMdl refuses a buffer descriptor', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    const p = pool(1);
    const b = alloc(p, mem, 16).buffer!;
    const io = IoAllocateMdl(mem, 16, false, false, null)!;
    assertBugCheck(() => NdisFreeBuffer(io), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1012);
    assertBugCheck(() => IoFreeMdl(b), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1012);
    IoFreeMdl(io);
    NdisFreeBuffer(b);
  });

  it('misuse: NdisFreeBufferPool with descriptors still allocated is reported, not absorbed; a second free too', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    const p = pool(3);
    const b = alloc(p, mem, 16).buffer!;
    const e = assertBugCheck(
      () => NdisFreeBufferPool(p),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.BufferPoolFreedWithBuffersOut,
    );
    assert.deepEqual(e.parameters.slice(1, 3), [1, 3]);
    NdisFreeBuffer(b);
    NdisFreeBufferPool(p);
    assertBugCheck(() => NdisFreeBufferPool(p), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis5Violation.BadPoolHandle);
    assertBugCheck(() => alloc(p, mem, 16), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis5Violation.BadPoolHandle);
  });

  it('NdisAdjustBufferLength shortens and restores; beyond the allocated length it is reported', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 200, TAG);
    const p = pool(1);
    const b = alloc(p, mem, 100).buffer!;
    NdisAdjustBufferLength(b, 14);
    assert.equal(NdisBufferLength(b), 14);
    NdisAdjustBufferLength(b, 100);
    assert.equal(NdisBufferLength(b), 100);
    const e = assertBugCheck(
      () => NdisAdjustBufferLength(b, 101),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.AdjustBeyondAllocation,
    );
    assert.deepEqual(e.parameters.slice(1, 3), [101, 100]);
    assert.equal(NdisBufferLength(b), 100, 'a refused adjustment changes nothing');
  });

  it("NdisAdjustBufferLength takes only the caller's own descriptors; the length must be restored before NdisFreeBuffer", () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 200, TAG);
    const os = IoAllocateMdl(mem, 64, false, false, null)!;
    assertBugCheck(
      () => NdisAdjustBufferLength(os, 10),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.NotABufferDescriptor,
    );
    IoFreeMdl(os);
    const p = pool(1);
    const b = alloc(p, mem, 100).buffer!;
    NdisAdjustBufferLength(b, 60);
    const e = assertBugCheck(
      () => NdisFreeBuffer(b),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.FreedWithAdjustedLength,
    );
    assert.deepEqual(e.parameters.slice(1, 3), [60, 100]);
    NdisAdjustBufferLength(b, 100);
    NdisFreeBuffer(b);
    NdisFreeBufferPool(p);
  });

  it('NdisCopyBuffer maps a subrange of another descriptor as a partial MDL; out of range fails', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 300, TAG);
    const p = pool(3);
    const src = alloc(p, mem + 10, 200).buffer!;
    const status = { value: -1 };
    const copy = { value: null as NDIS_BUFFER | null };
    NdisCopyBuffer(status, copy, p, src, 50, 100);
    assert.equal(status.value, NDIS_STATUS_SUCCESS);
    assert.equal(MmGetMdlVirtualAddress(copy.value!), mem + 60);
    assert.equal(NdisBufferLength(copy.value!), 100);
    assert.ok(copy.value!.MdlFlags & MDL_PARTIAL);
    const bad = { value: null as NDIS_BUFFER | null };
    NdisCopyBuffer(status, bad, p, src, 150, 51);
    assert.equal(status.value, NDIS_STATUS_FAILURE);
    assert.equal(bad.value, null);
    NdisFreeBuffer(copy.value!);
    NdisFreeBuffer(src);
    NdisFreeBufferPool(p);
  });

  it('NdisCopyBuffer across a chained source makes a chain, one descriptor per piece; failures leave nothing allocated', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 400, TAG);
    const p = pool(4);
    const a = alloc(p, mem, 100).buffer!;
    const b = alloc(p, mem + 200, 50).buffer!;
    a.Next = b;
    const status = { value: -1 };
    const copy = { value: null as NDIS_BUFFER | null };
    NdisCopyBuffer(status, copy, p, a, 80, 40);
    assert.equal(status.value, NDIS_STATUS_SUCCESS);
    const first = copy.value!;
    const second = first.Next!;
    assert.deepEqual(
      [
        MmGetMdlVirtualAddress(first),
        NdisBufferLength(first),
        MmGetMdlVirtualAddress(second),
        NdisBufferLength(second),
      ],
      [mem + 80, 20, mem + 200, 20],
    );
    assert.equal(second.Next, null);
    assert.equal(p.inUse, 4);
    NdisFreeBuffer(second);
    NdisFreeBuffer(first);
    // Past the end of the source chain: failure, and the pool is as it was.
    NdisCopyBuffer(status, copy, p, a, 80, 71);
    assert.deepEqual([status.value, copy.value, p.inUse], [NDIS_STATUS_FAILURE, null, 2]);
    // Out of descriptors half way: failure, and the first piece is given back.
    const c = alloc(p, mem + 300, 10).buffer!;
    NdisCopyBuffer(status, copy, p, a, 80, 40);
    assert.deepEqual([status.value, copy.value, p.inUse], [NDIS_STATUS_FAILURE, null, 3]);
    a.Next = null;
    for (const x of [a, b, c]) NdisFreeBuffer(x);
    NdisFreeBufferPool(p);
  });

  it('NdisGetNextBuffer follows the chain; NDIS_BUFFER_TO_SPAN_PAGES counts pages (1 for an empty buffer)', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, TAG);
    const p = pool(2);
    const a = alloc(p, mem + PAGE_SIZE - 10, 20).buffer!;
    const b = alloc(p, mem, 0).buffer!;
    a.Next = b;
    const next = { value: null as NDIS_BUFFER | null };
    NdisGetNextBuffer(a, next);
    assert.equal(next.value, b);
    NdisGetNextBuffer(b, next);
    assert.equal(next.value, null);
    assert.equal(NDIS_BUFFER_TO_SPAN_PAGES(a), 2);
    assert.equal(NDIS_BUFFER_TO_SPAN_PAGES(b), 1);
    a.Next = null;
    NdisFreeBuffer(a);
    NdisFreeBuffer(b);
  });

  it('IRQL: above DISPATCH_LEVEL is a DDI compliance violation; at DISPATCH_LEVEL it works', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 16, TAG);
    const p = pool(1);
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    const r = alloc(p, mem, 16);
    assert.equal(r.status, NDIS_STATUS_SUCCESS);
    NdisFreeBuffer(r.buffer!);
    KeRaiseIrql(HIGH_LEVEL, { value: 0 });
    assertBugCheck(() => alloc(p, mem, 16), DRIVER_VERIFIER_DETECTED_VIOLATION);
    KeLowerIrql(old.value);
  });
});
