/**
 * The counting filter in the host that `wdknet run` builds (an IP protocol driver bound through NDIS to one virtual
 * NIC per capture interface): run in this process, so the driver module the run loads is the one imported here
 * and its counters can be read. Every frame the NICs indicate and every frame sent to them crosses the filter.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as filter from '../../examples/counting-filter.js';
import { runCapture } from '../../src/cli/run.js';

const root = new URL('../../', import.meta.url).pathname;

describe('example counting-filter in the host of wdknet run', () => {
  it('counts exactly what the host received and transmitted, per NIC, and every list came back', async () => {
    const outcome = await runCapture({
      capture: join(root, 'samples', 'router.pcapng'),
      drivers: [join(root, 'examples', 'counting-filter.ts')],
      verifier: 'standard',
      hosts: 1,
    });
    const s = outcome.summary;
    assert.equal(s.bugCheck, null);
    assert.deepEqual(s.leaks, []);
    const counters = filter.filterCounters();
    assert.ok(counters.length >= 2, 'attached to every NIC of the capture');
    const sum = (k: keyof filter.AdapterCounters) => counters.reduce((n, c) => n + (c[k] as number), 0);
    assert.equal(sum('receivedNbls'), s.received, 'every received frame crossed it');
    assert.equal(sum('sentNbls'), s.transmitted, 'every transmitted frame crossed it');
    assert.equal(sum('sendCompleted'), sum('sentNbls'), 'every send completed back through it');
    assert.equal(sum('returned'), sum('receivedNbls'), 'every indication returned through it');
    assert.equal(sum('droppedPaused'), 0);
    for (const c of counters) {
      assert.ok(c.receivedBytes >= 14 * c.receivedNbls, 'bytes counted: at least an Ethernet header each');
      assert.ok(c.sentBytes >= 14 * c.sentNbls);
      assert.equal(c.pauses, c.restarts, 'paused once to detach after each restart');
    }
  });
});
