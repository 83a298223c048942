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
  resetSystem,
  SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION,
} from '../../src/ddi/index.js';
import { outstandingAllocations } from '../../src/index.js';
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
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
