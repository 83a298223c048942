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
import { disableFaultInjection, enableFaultInjection, faultInjectionStats } from '../../src/kernel/faults.js';

const A = poolTag('AAAA');
const B = poolTag('BBBB');

function run(n: number, tag: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const p = ExAllocatePoolWithTag(NonPagedPool, 32, tag);
    out.push(p !== 0);
    if (p !== 0) ExFreePool(p);
  }
  return out;
}

describe('fault injection (low-resources simulation)', () => {
  beforeEach(() => resetSystem());

  it('fails exactly the listed calls', () => {
    enableFaultInjection({ failCalls: [2, 5] });
    assert.deepEqual(run(6, A), [true, false, true, true, false, true]);
    assert.equal(faultInjectionStats().injected, 2);
    assert.equal(faultInjectionStats().byTag.AAAA, 2);
  });

  it('fails every Nth call after skipFirst', () => {
    enableFaultInjection({ everyNth: 2, skipFirst: 2 });
    assert.deepEqual(run(6, A), [true, true, true, false, true, false]);
  });

  it('a seeded probability gives the same schedule for the same seed, another for another seed', () => {
    enableFaultInjection({ probability: 0.5, seed: 7 });
    const first = run(64, A);
    enableFaultInjection({ probability: 0.5, seed: 7 });
    assert.deepEqual(run(64, A), first);
    enableFaultInjection({ probability: 0.5, seed: 8 });
    assert.notDeepEqual(run(64, A), first);
    const failures = first.filter((ok) => !ok).length;
    assert.ok(failures > 16 && failures < 48, `${failures} of 64`);
  });

  it('limits failures to the chosen tags and DDIs', () => {
    enableFaultInjection({ probability: 1, tags: [B] });
    assert.deepEqual(run(3, A), [true, true, true]);
    assert.deepEqual(run(2, B), [false, false]);
    enableFaultInjection({ probability: 1, ddis: ['IoAllocateMdl'] });
    assert.deepEqual(run(2, A), [true, true]);
    assert.equal(IoAllocateMdl(0x1000_0000, 8, false, false, null), null);
    disableFaultInjection();
    const mdl = IoAllocateMdl(0x1000_0000, 8, false, false, null);
    assert.ok(mdl);
    IoFreeMdl(mdl);
  });
});
