import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  ExAllocatePoolWithTag,
  ExFreePool,
  IoAllocateMdl,
  IoFreeMdl,
  NonPagedPool,
  poolTag,
  resetSystem,
} from '../../src/ddi/index.js';
import { collectLeaks, formatLeaks, registerLeakSource } from '../../src/index.js';
import { registerSystemOwnedBlocks } from '../../src/kernel/leaks.js';

describe('leak report', () => {
  beforeEach(() => resetSystem({ verifier: 'full' }));

  it('lists pool blocks and MDLs still outstanding with tag, size and call site, and nothing once freed', () => {
    const p = ExAllocatePoolWithTag(NonPagedPool, 40, poolTag('kaeL'));
    const m = IoAllocateMdl(p, 40, false, false, null)!;
    const leaks = collectLeaks();
    const pool = leaks.find((l) => l.kind === 'pool' && l.tag === 'Leak')!;
    assert.equal(pool.size, 40);
    assert.match(pool.site ?? '', /leaks\.test\.ts/);
    const mdl = leaks.find((l) => l.kind === 'MDL')!;
    assert.equal(mdl.tag, 'Mdl ');
    assert.match(formatLeaks(leaks), /Leak/);
    IoFreeMdl(m);
    ExFreePool(p);
    assert.deepEqual(collectLeaks(), []);
    assert.equal(formatLeaks([]), 'no leaks');
  });

  it('asks every registered layer', () => {
    registerLeakSource('test-layer', () => [
      { kind: 'widget', tag: '', size: 0, owner: 'test', site: undefined, detail: 'w1' },
    ]);
    assert.ok(collectLeaks().some((l) => l.kind === 'widget'));
    registerLeakSource('test-layer', () => []);
  });

  it('leaves out blocks the system owns for its lifetime, and only those', () => {
    const mine = ExAllocatePoolWithTag(NonPagedPool, 16, poolTag('sysT'));
    const other = ExAllocatePoolWithTag(NonPagedPool, 16, poolTag('sysT'));
    registerSystemOwnedBlocks('test-system', () => [mine]);
    assert.deepEqual(
      collectLeaks().map((l) => l.detail),
      [`0x${other.toString(16)}`],
    );
    registerSystemOwnedBlocks('test-system', () => []);
    ExFreePool(mine);
    ExFreePool(other);
  });
});
