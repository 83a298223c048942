/**
 * IoBuildPartialMdl's documented range rules, checked as Windows checks them (always, not only under the verifier):
 * the subrange must lie inside the source MDL's buffer (bug check 0x12E INVALID_MDL_RANGE) and the target MDL must
 * be large enough to describe its pages (bug check 0x40 TARGET_MDL_TOO_SMALL) - even when the overrun would stay
 * inside the same pool allocation, where no page fault would ever catch it.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ExAllocatePoolWithTag,
  ExFreePool,
  INVALID_MDL_RANGE,
  IoAllocateMdl,
  IoBuildPartialMdl,
  IoFreeMdl,
  MDL_PARTIAL,
  MmBuildMdlForNonPagedPool,
  MmGetMdlByteCount,
  MmGetMdlVirtualAddress,
  MmGetSystemAddressForMdlSafe,
  MmSizeOfMdl,
  NonPagedPool,
  NormalPagePriority,
  PAGE_SIZE,
  poolTag,
  resetSystem,
  TARGET_MDL_TOO_SMALL,
} from '../../src/ddi/index.js';
import { BugCheck } from '../../src/kernel/bugcheck.js';
import { assertBugCheck } from '../helpers.js';

const TAG = poolTag('tdMP');

for (const verifier of ['off', 'standard', 'full'] as const) {
  describe(`IoBuildPartialMdl range rules (verifier ${verifier})`, () => {
    beforeEach(() => resetSystem({ verifier }));

    it('IoBuildPartialMdl: a subrange inside the source, with a target allocated for it, describes exactly that subrange; Length 0 means the rest of the source', () => {
      const buf = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, TAG);
      const source = IoAllocateMdl(buf, 3 * PAGE_SIZE, false, false, null)!;
      MmBuildMdlForNonPagedPool(source);
      const target = IoAllocateMdl(buf + 100, 5000, false, false, null)!;
      IoBuildPartialMdl(source, target, buf + 100, 5000);
      assert.equal(MmGetMdlVirtualAddress(target), buf + 100);
      assert.equal(MmGetMdlByteCount(target), 5000);
      assert.ok((target.MdlFlags & MDL_PARTIAL) !== 0);
      assert.equal(MmGetSystemAddressForMdlSafe(target, NormalPagePriority), buf + 100);
      // Length 0: from VirtualAddress to the end of the source (here the same two pages fit the target).
      IoBuildPartialMdl(source, target, buf + 2 * PAGE_SIZE + 10, 0);
      assert.equal(MmGetMdlByteCount(target), PAGE_SIZE - 10);
      IoFreeMdl(target);
      IoFreeMdl(source);
      ExFreePool(buf);
    });

    it('bug check 0x12E INVALID_MDL_RANGE: a subrange that runs past the source MDL, even inside the same pool allocation (P3 VirtualAddress, P4 Length)', () => {
      const buf = ExAllocatePoolWithTag(NonPagedPool, 2048, TAG);
      // The source describes only the first 1000 bytes of a 2048-byte block.
      const source = IoAllocateMdl(buf, 1000, false, false, null)!;
      MmBuildMdlForNonPagedPool(source);
      const target = IoAllocateMdl(buf, 2048, false, false, null)!;
      const e = assertBugCheck(() => IoBuildPartialMdl(source, target, buf + 900, 200), INVALID_MDL_RANGE);
      assert.deepEqual(e.parameters, [0, 0, buf + 900, 200]);
      assertBugCheck(() => IoBuildPartialMdl(source, target, buf - 16, 32), INVALID_MDL_RANGE);
      assert.equal(MmGetMdlByteCount(target), 2048, 'the target is left as it was');
    });

    it('bug check 0x40 TARGET_MDL_TOO_SMALL: a target MDL sized for fewer pages than the subrange spans', () => {
      const buf = ExAllocatePoolWithTag(NonPagedPool, 4 * PAGE_SIZE, TAG);
      const source = IoAllocateMdl(buf, 4 * PAGE_SIZE, false, false, null)!;
      MmBuildMdlForNonPagedPool(source);
      // Allocated for 16 bytes: room for one page of PFNs. The subrange spans two pages.
      const target = IoAllocateMdl(buf, 16, false, false, null)!;
      assert.equal(target.Size, MmSizeOfMdl(buf, 16));
      const e = assertBugCheck(() => IoBuildPartialMdl(source, target, buf + PAGE_SIZE - 8, 16), TARGET_MDL_TOO_SMALL);
      assert.deepEqual(e.parameters, [0, 0, 0, 0]);
      // One page is fine, anywhere in the source.
      IoBuildPartialMdl(source, target, buf + 3 * PAGE_SIZE + 7, 100);
      assert.equal(MmGetMdlByteCount(target), 100);
    });
  });
}

describe('IoBuildPartialMdl range rules (property)', () => {
  beforeEach(() => resetSystem());

  it('IoBuildPartialMdl: it succeeds exactly when the subrange is inside the source and fits the target; otherwise 0x12E or 0x40', () => {
    const buf = ExAllocatePoolWithTag(NonPagedPool, 8 * PAGE_SIZE, TAG);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 * PAGE_SIZE }),
        fc.integer({ min: 1, max: 4 * PAGE_SIZE }),
        fc.integer({ min: -64, max: 6 * PAGE_SIZE }),
        fc.integer({ min: 0, max: 3 * PAGE_SIZE }),
        fc.integer({ min: 1, max: 3 * PAGE_SIZE }),
        (srcOff, srcLen, subOff, subLen, targetLen) => {
          const source = IoAllocateMdl(buf + srcOff, srcLen, false, false, null)!;
          MmBuildMdlForNonPagedPool(source);
          const target = IoAllocateMdl(buf, targetLen, false, false, null)!;
          const va = buf + subOff;
          const length = subLen === 0 ? buf + srcOff + srcLen - va : subLen;
          const inside = length >= 0 && va >= buf + srcOff && va + length <= buf + srcOff + srcLen;
          const fits = inside && MmSizeOfMdl(va, length) <= target.Size;
          let code = 0;
          try {
            IoBuildPartialMdl(source, target, va, subLen);
          } catch (e) {
            if (!(e instanceof BugCheck)) throw e;
            code = e.code;
          }
          assert.equal(code, !inside ? INVALID_MDL_RANGE : !fits ? TARGET_MDL_TOO_SMALL : 0);
          if (code === 0) {
            assert.equal(MmGetMdlVirtualAddress(target), va);
            assert.equal(MmGetMdlByteCount(target), length);
          }
          IoFreeMdl(target);
          IoFreeMdl(source);
        },
      ),
      { numRuns: 400 },
    );
    ExFreePool(buf);
  });
});
