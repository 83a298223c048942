import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { settle } from 'wdknet';
import {
  DISPATCH_LEVEL,
  KDPC,
  KeFlushQueuedDpcs,
  KeGetCurrentIrql,
  KeInitializeDpc,
  KeInsertQueueDpc,
  KeRemoveQueueDpc,
  resetSystem,
} from 'wdknet/ddi';

// The DPC routines the example drivers use for their out-of-band work (KeInsertQueueDpc documentation:
// TRUE when queued, FALSE when the DPC is already in the queue; the routine runs at DISPATCH_LEVEL).
describe('DPCs (KeInitializeDpc / KeInsertQueueDpc / KeRemoveQueueDpc / KeFlushQueuedDpcs)', () => {
  beforeEach(() => resetSystem());

  it('runs the routine once at DISPATCH_LEVEL with its context and system arguments', async () => {
    const dpc = new KDPC();
    const seen: unknown[][] = [];
    KeInitializeDpc(dpc, (d, ctx, a1, a2) => seen.push([d, ctx, a1, a2, KeGetCurrentIrql()]), 'ctx');
    assert.equal(KeInsertQueueDpc(dpc, 1, 2), true);
    assert.equal(KeInsertQueueDpc(dpc, 3, 4), false, 'already queued: FALSE, first arguments kept');
    assert.equal(seen.length, 0, 'a DPC does not run inside the insert');
    await settle();
    assert.deepEqual(seen, [[dpc, 'ctx', 1, 2, DISPATCH_LEVEL]]);
    assert.equal(KeInsertQueueDpc(dpc, 5, 6), true, 'after it ran it can be queued again');
    KeFlushQueuedDpcs();
    assert.equal(seen.length, 2);
  });

  it('a removed DPC does not run; removed and queued again it runs exactly once', () => {
    const dpc = new KDPC();
    let runs = 0;
    KeInitializeDpc(dpc, () => runs++, null);
    assert.equal(KeRemoveQueueDpc(dpc), false, 'not queued: FALSE');
    KeInsertQueueDpc(dpc, null, null);
    assert.equal(KeRemoveQueueDpc(dpc), true);
    KeFlushQueuedDpcs();
    assert.equal(runs, 0);
    KeInsertQueueDpc(dpc, null, null);
    KeRemoveQueueDpc(dpc);
    KeInsertQueueDpc(dpc, null, null);
    KeFlushQueuedDpcs();
    assert.equal(runs, 1);
  });

  it('a routine may queue its own DPC again', () => {
    const dpc = new KDPC();
    let runs = 0;
    KeInitializeDpc(
      dpc,
      (d) => {
        if (++runs < 3) KeInsertQueueDpc(d, null, null);
      },
      null,
    );
    KeInsertQueueDpc(dpc, null, null);
    KeFlushQueuedDpcs();
    assert.equal(runs, 3);
  });
});
