import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  bytesAt,
  DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
  DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
  ExAllocatePoolWithTag,
  ExFreePool,
  NonPagedPool,
  PAGE_FAULT_IN_NONPAGED_AREA,
  poolTag,
  RtlFillMemory,
  resetSystem,
  SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION,
} from '../../src/ddi/index.js';
import { outstandingAllocations } from '../../src/index.js';
import { ARENA_BASE, memory, PAGE_SIZE } from '../../src/kernel/arena.js';
import { findPoolBlock, poolQuarantine } from '../../src/kernel/pool.js';
import { assertBugCheck } from '../helpers.js';

const TAG = poolTag('tseT');

describe('full verifier: special-pool style checks', () => {
  beforeEach(() => resetSystem({ verifier: 'full' }));

  it('a view past the end of an allocation is DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 10, TAG);
    bytesAt(p, 10);
    assertBugCheck(() => bytesAt(p, 11), DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION);
  });

  it('a view of freed pool is DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 10, TAG);
    ExFreePool(p);
    assertBugCheck(() => bytesAt(p, 1), DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL);
  });

  it("an overrun written behind the verifier's back is found at free: SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION", () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 10, TAG);
    memory[p - ARENA_BASE + 12] = 0;
    const e = assertBugCheck(() => ExFreePool(p), SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION);
    assert.equal(e.parameters[1], p + 12);
  });

  it('a freed big (page-sized) block stays quarantined: a use after free is DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL even after the same size is allocated again', () => {
    const size = 3 * PAGE_SIZE;
    const p = ExAllocatePoolWithTag(NonPagedPool, size, TAG);
    ExFreePool(p);
    const q = ExAllocatePoolWithTag(NonPagedPool, size, TAG);
    assert.notEqual(q, p, 'the freed block must not be handed out again at once');
    const e = assertBugCheck(() => bytesAt(p + 100, 4), DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL);
    assert.equal(e.parameters[0], p + 100);
    // The freed pages hold the poison fill, not the new owner's data.
    RtlFillMemory(q, size, 0x11);
    assert.equal(memory[p - ARENA_BASE + 100], 0xfd);
    ExFreePool(q);
  });

  it('the big-block quarantine is bounded: past 64 blocks the oldest is recycled, and the memory it holds stays under 8 MiB', () => {
    const size = 2 * PAGE_SIZE - 16; // with the 16 guard bytes, exactly two pages
    const freed: number[] = [];
    for (let i = 0; i < 70; i++) freed.push(ExAllocatePoolWithTag(NonPagedPool, size, TAG));
    for (const p of freed) ExFreePool(p);
    const q = poolQuarantine();
    assert.equal(q.big, 64);
    assert.equal(q.bigPages, 128);
    // The six oldest went back to the free list and are reused; the newest stay poisoned.
    const again = ExAllocatePoolWithTag(NonPagedPool, size, TAG);
    assert.ok(freed.slice(0, 6).includes(again));
    assertBugCheck(() => bytesAt(freed[69]!, 1), DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL);
    const huge = 1024 * PAGE_SIZE;
    for (let i = 0; i < 3; i++) ExFreePool(ExAllocatePoolWithTag(NonPagedPool, huge, TAG));
    assert.ok(poolQuarantine().bigPages <= 2048, `quarantine holds ${poolQuarantine().bigPages} pages`);
    ExFreePool(again);
  });

  it('the quarantine never makes an allocation fail: when the arena runs out it gives its blocks back', () => {
    resetSystem({ verifier: 'full', poolLimit: 1 << 30 });
    const huge = 64 * 1024 * 1024;
    // 1 GiB of address space holds 15 such blocks: allocate and free many more than fit.
    for (let i = 0; i < 40; i++) {
      const p = ExAllocatePoolWithTag(NonPagedPool, huge, TAG);
      assert.notEqual(p, 0, `allocation ${i} failed`);
      ExFreePool(p);
    }
    assert.equal(findPoolBlock(ARENA_BASE)?.allocated, false);
  });

  it('a write after free through a view kept from before the free is found when the block leaves quarantine: DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL at that byte', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 40, TAG);
    const stale = bytesAt(p, 40);
    ExFreePool(p);
    stale[7] = 0x42; // no check can run on a write through an existing view
    // 64 more frees push the block out of the small-block quarantine.
    const others: number[] = [];
    for (let i = 0; i < 64; i++) others.push(ExAllocatePoolWithTag(NonPagedPool, 40, TAG));
    for (let i = 0; i < 63; i++) ExFreePool(others[i]!);
    const e = assertBugCheck(() => ExFreePool(others[63]!), DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL);
    assert.deepEqual(e.parameters, [p + 7, 1, 0, 0]);
  });

  it('the same for a big block: its pages are checked when it leaves the big-block quarantine', () => {
    const size = 2 * PAGE_SIZE - 16;
    const p = ExAllocatePoolWithTag(NonPagedPool, size, TAG);
    const stale = bytesAt(p, size);
    ExFreePool(p);
    stale[5000] = 0;
    const others: number[] = [];
    for (let i = 0; i < 64; i++) others.push(ExAllocatePoolWithTag(NonPagedPool, size, TAG));
    for (let i = 0; i < 63; i++) ExFreePool(others[i]!);
    const e = assertBugCheck(() => ExFreePool(others[63]!), DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL);
    assert.equal(e.parameters[0], p + 5000);
  });

  it('untouched freed blocks leave quarantine quietly, and are reused', () => {
    const first = ExAllocatePoolWithTag(NonPagedPool, 40, TAG);
    ExFreePool(first);
    for (let i = 0; i < 70; i++) ExFreePool(ExAllocatePoolWithTag(NonPagedPool, 40, TAG));
    assert.equal(poolQuarantine().small, 64);
  });

  it('records the driver call site of each allocation', () => {
    ExAllocatePoolWithTag(NonPagedPool, 10, TAG);
    const [leak] = outstandingAllocations();
    assert.match(leak!.site ?? '', /verifier\.test\.ts/);
  });
});

describe('standard verifier', () => {
  beforeEach(() => resetSystem());
  it('an address outside kernel memory is PAGE_FAULT_IN_NONPAGED_AREA', () => {
    assertBugCheck(() => bytesAt(0x100, 4), PAGE_FAULT_IN_NONPAGED_AREA);
  });
});
