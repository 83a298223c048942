import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DISPATCH_LEVEL, KeGetCurrentIrql, PASSIVE_LEVEL, resetSystem } from '../../src/ddi/index.js';
import { drainDeferredWork, pendingDeferredWork, queueDeferredWork, settle } from '../../src/kernel/deferred.js';

describe('deferred work (DPCs, completions)', () => {
  beforeEach(() => resetSystem());

  it('never runs inside the call that queued it; runs FIFO at DISPATCH_LEVEL, work queued meanwhile too', () => {
    const seen: string[] = [];
    queueDeferredWork((c) => {
      seen.push(`${c}@${KeGetCurrentIrql()}`);
      queueDeferredWork((d) => seen.push(`${d}@${KeGetCurrentIrql()}`), 'nested');
    }, 'first');
    queueDeferredWork((c) => seen.push(`${c}@${KeGetCurrentIrql()}`), 'second');
    assert.deepEqual(seen, []);
    assert.equal(pendingDeferredWork(), 2);
    assert.equal(drainDeferredWork(), 3);
    assert.deepEqual(seen, [`first@${DISPATCH_LEVEL}`, `second@${DISPATCH_LEVEL}`, `nested@${DISPATCH_LEVEL}`]);
    assert.equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert.equal(pendingDeferredWork(), 0);
  });

  it('drains by itself on the next turn of the event loop (settle)', async () => {
    let ran = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) queueDeferredWork(() => ran++, null);
      await settle();
      assert.equal(ran, (round + 1) * 100);
    }
  });
});
