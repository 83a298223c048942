/**
 * Issue 5, the run report: "anything still held or leaked with its owner". A leaked pool block is reported with
 * where its tag was first allocated - in the standard verifier mode too, where no per-allocation call site is
 * kept - so the report names the driver that uses the tag (on Windows one finds a tag's owner by searching the
 * driver images for it). One stack walk per tag, never per allocation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ExAllocatePoolWithTag,
  ExFreePool,
  NonPagedPoolNx,
  PagedPool,
  poolTag,
  resetSystem,
} from '../../src/ddi/index.js';
import { collectLeaks } from '../../src/kernel/leaks.js';

/** A stand-in for a driver's allocation routine (its line is what the report must name). */
function driverAllocates(tag: number, paged = false): number {
  return ExAllocatePoolWithTag(paged ? PagedPool : NonPagedPoolNx, 64, tag);
}

/** The line of the ExAllocatePoolWithTag call in driverAllocates, found in this file's own text. */
const LINE_OF_DRIVER_ALLOCATES =
  readFileSync(new URL(import.meta.url), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes('return ExAllocatePoolWithTag(paged')) + 1;

describe('leak owners', () => {
  beforeEach(() => resetSystem());

  it("standard mode: a leaked block's owner names its tag and the line that first allocated the tag; no per-allocation site", () => {
    const p = driverAllocates(poolTag('kaeL'));
    const [leak] = collectLeaks().filter((l) => l.kind === 'pool');
    assert.ok(leak !== undefined);
    assert.equal(leak.site, undefined, 'no per-allocation call site below the full verifier');
    assert.match(
      leak.owner,
      new RegExp(`^pool tag 'Leak', first allocated at .*leak-owner\\.test\\.ts:${LINE_OF_DRIVER_ALLOCATES}:`),
    );
    ExFreePool(p);
    assert.deepEqual(collectLeaks(), []);
  });

  it('the site is the tag’s first allocation, kept for every later block of that tag (paged or nonpaged), and forgotten by resetSystem', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.boolean(), (count, paged) => {
        resetSystem();
        const first = driverAllocates(poolTag('gaTX'), paged);
        ExFreePool(first);
        const blocks = Array.from({ length: count }, () =>
          ExAllocatePoolWithTag(paged ? PagedPool : NonPagedPoolNx, 16, poolTag('gaTX')),
        );
        const leaks = collectLeaks().filter((l) => l.kind === 'pool');
        assert.equal(leaks.length, count);
        for (const l of leaks) assert.match(l.owner, new RegExp(`leak-owner\\.test\\.ts:${LINE_OF_DRIVER_ALLOCATES}:`));
        for (const b of blocks) ExFreePool(b);
      }),
      { numRuns: 20 },
    );
    resetSystem();
    const p = ExAllocatePoolWithTag(NonPagedPoolNx, 8, poolTag('gaTX'));
    const [leak] = collectLeaks();
    assert.doesNotMatch(leak!.owner, new RegExp(`:${LINE_OF_DRIVER_ALLOCATES}:`), 'a fresh machine records anew');
    ExFreePool(p);
  });
});
