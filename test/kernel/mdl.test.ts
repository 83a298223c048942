import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BAD_POOL_CALLER,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  ExFreePool,
  IoAllocateMdl,
  IoFreeMdl,
  IRQL_NOT_GREATER_OR_EQUAL,
  KeGetCurrentIrql,
  KeLowerIrql,
  KeRaiseIrql,
  MDL_MAPPED_TO_SYSTEM_VA,
  MDL_SOURCE_IS_NONPAGED_POOL,
  MmBuildMdlForNonPagedPool,
  MmGetMdlByteCount,
  MmGetMdlByteOffset,
  MmGetMdlVirtualAddress,
  MmGetSystemAddressForMdlSafe,
  MmSizeOfMdl,
  NDIS_MDL_LINKAGE,
  NdisAllocateMdl,
  NdisFreeMdl,
  NdisQueryMdl,
  NonPagedPool,
  NormalPagePriority,
  PAGE_SIZE,
  poolTag,
  resetSystem,
} from '../../src/ddi/index.js';
import { poolTagStats } from '../../src/index.js';
import { DdiRule } from '../../src/kernel/bugcheck.js';
import { TAG_MDL } from '../../src/kernel/mdl.js';
import { assertBugCheck } from '../helpers.js';

const TAG = poolTag('tseT');

describe('MDLs', () => {
  beforeEach(() => resetSystem());

  it('IoAllocateMdl describes the buffer: StartVa page-aligned, ByteOffset within the page, ByteCount', () => {
    const buf = ExAllocatePoolWithTag(NonPagedPool, 3000, TAG);
    const va = buf + 100;
    const mdl = IoAllocateMdl(va, 2000, false, false, null)!;
    assert.equal(mdl.StartVa % PAGE_SIZE, 0);
    assert.equal(mdl.StartVa + mdl.ByteOffset, va);
    assert.equal(MmGetMdlVirtualAddress(mdl), va);
    assert.equal(MmGetMdlByteCount(mdl), 2000);
    assert.equal(MmGetMdlByteOffset(mdl), va % PAGE_SIZE);
    assert.equal(mdl.Size, MmSizeOfMdl(va, 2000));
    assert.equal(mdl.Next, null);
    MmBuildMdlForNonPagedPool(mdl);
    assert.ok(mdl.MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert.equal(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), va);
    IoFreeMdl(mdl);
    ExFreePool(buf);
  });

  it('maps an unmapped MDL on MmGetSystemAddressForMdlSafe', () => {
    const buf = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    const mdl = IoAllocateMdl(buf, 64, false, false, null)!;
    assert.equal(mdl.MdlFlags & MDL_MAPPED_TO_SYSTEM_VA, 0);
    assert.equal(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), buf);
    assert.ok(mdl.MdlFlags & MDL_MAPPED_TO_SYSTEM_VA);
    IoFreeMdl(mdl);
  });

  it('refuses more than 4 GiB - PAGE_SIZE (the documented limit since Windows 7)', () => {
    assert.equal(IoAllocateMdl(0x1000_0000, 0x1_0000_0000 - PAGE_SIZE + 1, false, false, null), null);
  });

  it('charges MDLs to the "Mdl " tag and returns the charge on free', () => {
    const buf = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    const mdl = NdisAllocateMdl(null, buf, 64)!;
    const stats = poolTagStats(TAG_MDL)!;
    assert.equal(stats.name, 'Mdl ');
    assert.equal(stats.bytes, MmSizeOfMdl(buf, 64));
    const va = { value: 0 };
    const len = { value: 0 };
    NdisQueryMdl(mdl, va, len, NormalPagePriority);
    assert.deepEqual([va.value, len.value], [buf, 64]);
    NdisFreeMdl(mdl);
    assert.equal(stats.bytes, 0);
  });

  it('returns NULL when the pool cannot hold the MDL', () => {
    resetSystem({ poolLimit: 40 });
    assert.equal(IoAllocateMdl(0x1000_0000, 16, false, false, null), null);
  });

  it('freeing an MDL twice is BAD_POOL_CALLER 0x07', () => {
    const mdl = IoAllocateMdl(0x1000_0000, 16, false, false, null)!;
    IoFreeMdl(mdl);
    assertBugCheck(() => IoFreeMdl(mdl), BAD_POOL_CALLER, 0x07);
  });

  it('NDIS_MDL_LINKAGE follows Next', () => {
    const a = IoAllocateMdl(0x1000_0000, 16, false, false, null)!;
    const b = IoAllocateMdl(0x1000_0100, 16, false, false, null)!;
    a.Next = b;
    assert.equal(NDIS_MDL_LINKAGE(a), b);
    assert.equal(NDIS_MDL_LINKAGE(b), null);
  });

  it('full verifier: touching a freed MDL is caught', () => {
    resetSystem({ verifier: 'full' });
    const mdl = IoAllocateMdl(0x1000_0000, 16, false, false, null)!;
    IoFreeMdl(mdl);
    assertBugCheck(() => mdl.ByteCount, DRIVER_VERIFIER_DETECTED_VIOLATION);
  });

  it('property: StartVa + ByteOffset and ByteCount reproduce any (address, length)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x1000_0000, max: 0x4fff_0000 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        (va, len) => {
          const mdl = IoAllocateMdl(va, len, false, false, null)!;
          assert.equal(mdl.StartVa + mdl.ByteOffset, va);
          assert.ok(mdl.ByteOffset < PAGE_SIZE && mdl.StartVa % PAGE_SIZE === 0);
          assert.equal(mdl.ByteCount, len);
          IoFreeMdl(mdl);
        },
      ),
    );
  });
});

describe('IRQL', () => {
  beforeEach(() => resetSystem());

  it('KeRaiseIrql returns the old level; raising below the current level is IRQL_NOT_GREATER_OR_EQUAL', () => {
    const old = { value: -1 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    assert.equal(old.value, 0);
    assert.equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assertBugCheck(() => KeRaiseIrql(1, old), IRQL_NOT_GREATER_OR_EQUAL);
    KeLowerIrql(0);
    assert.equal(KeGetCurrentIrql(), 0);
  });

  it('IoAllocateMdl above DISPATCH_LEVEL violates its IRQL rule', () => {
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL + 1, old);
    assertBugCheck(
      () => IoAllocateMdl(0x1000_0000, 16, false, false, null),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      DdiRule.IrqlDocumentedLimit,
    );
  });
});
