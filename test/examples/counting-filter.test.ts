import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { settle } from 'wdknet';
import { resetSystem } from 'wdknet/ddi';
import * as filter from '../../examples/counting-filter.js';
import { type LoadedDriver, loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { drainNdisPnpWork } from '../../src/ndis/driver-lifecycle.js';
import { addMiniportAdapter, removeMiniportAdapter } from '../../src/ndis/miniport.js';
import { assertNoLeaks } from './leaks.js';
import { TestMiniport, TestProtocol } from './ndis-stack.js';
import { ethernetFrame, ip, ipv4Packet } from './packets.js';

const frame = (n: number, size = 0) =>
  ethernetFrame(
    ipv4Packet({
      protocol: 'udp',
      source: ip('10.0.0.1'),
      destination: ip('10.0.0.2'),
      id: n,
      payload: new Uint8Array(size),
    }),
  );

async function pnp() {
  for (let i = 0; i < 10; i++) {
    drainNdisPnpWork();
    await settle();
  }
}

// An NDIS 6 lightweight filter between a test miniport and a test protocol: it must pass every send and
// receive through unchanged (FilterSendNetBufferLists / FilterReceiveNetBufferLists and their completions), count
// them per adapter, and follow the module states (attach, restart, pause, detach).
describe('example counting-filter (NDIS 6 filter driver)', () => {
  let mp: TestMiniport;
  let proto: TestProtocol;
  let loaded: LoadedDriver[];
  beforeEach(async () => {
    resetSystem();
    mp = new TestMiniport();
    proto = new TestProtocol();
    loaded = [];
    const m = loadDriver('testmp', mp.module);
    assert.equal(m.status, 0);
    loaded.push(m);
    assert.equal(addMiniportAdapter(mp.driverHandle as never, { name: 'Adapter A', ifIndex: 21 }).status, 0);
    assert.equal(addMiniportAdapter(mp.driverHandle as never, { name: 'Adapter B', ifIndex: 22 }).status, 0);
    const f = loadDriver('countingfilter', filter);
    assert.equal(f.status, 0, `filter DriverEntry 0x${(f.status >>> 0).toString(16)}`);
    loaded.push(f);
    const p = loadDriver('testproto', proto.module);
    assert.equal(p.status, 0);
    loaded.push(p);
    await pnp();
  });

  async function unloadAll() {
    for (const d of loaded.reverse()) unloadDriver(d);
    loaded = [];
    await pnp();
    assertNoLeaks();
  }

  it('attaches to every adapter and restarts each module', async () => {
    const counters = filter.filterCounters();
    assert.deepEqual(counters.map((c) => c.ifIndex).sort(), [21, 22]);
    for (const c of counters) assert.ok(c.restarts >= 1, 'restarted after attach');
    assert.equal(proto.bindings.length, 2);
    await unloadAll();
  });

  it('passes receives up and sends down unchanged, and counts NBLs and bytes per adapter', async () => {
    const [a, b] = mp.adapters;
    const toA = [frame(1, 10), frame(2, 100)];
    const toB = [frame(3, 0)];
    for (const f of toA) a!.indicate(f);
    b!.indicate(toB[0]!, true); // NDIS_RECEIVE_FLAGS_RESOURCES: the miniport keeps it
    await settle();
    const bindingA = proto.bindings.find((x) => x.received.length === 2)!;
    assert.deepEqual(bindingA.received, toA);
    const sent = [frame(4, 20), frame(5, 30), frame(6, 40)];
    for (const f of sent) bindingA.send(f);
    await settle();
    assert.deepEqual(a!.wire, sent, 'on the wire byte for byte');
    assert.deepEqual(bindingA.completed, [0, 0, 0]);
    const byIf = new Map(filter.filterCounters().map((c) => [c.ifIndex, c]));
    const ca = byIf.get(21)!;
    const cb = byIf.get(22)!;
    assert.equal(ca.receivedNbls, 2);
    assert.equal(ca.receivedBytes, toA[0]!.length + toA[1]!.length);
    assert.equal(ca.returned, 2, 'both indications came back through FilterReturnNetBufferLists');
    assert.equal(cb.receivedNbls, 1);
    assert.equal(cb.returned, 0, 'a RESOURCES indication is not returned');
    assert.equal(ca.sentNbls, 3);
    assert.equal(
      ca.sentBytes,
      sent.reduce((n, f) => n + f.length, 0),
    );
    assert.equal(ca.sendCompleted, 3);
    assert.equal(cb.sentNbls, 0);
    await unloadAll();
  });

  it('counts exactly what crosses it, whatever the traffic (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 300 })), { maxLength: 30 }),
        async (ops) => {
          const before = filter.filterCounters().map((c) => ({ ...c }));
          const [a] = mp.adapters;
          const binding = proto.bindings[0]!;
          const adapterOfBinding = mp.adapters.find((x) => x === a)!;
          let rx = 0;
          let rxBytes = 0;
          let tx = 0;
          let txBytes = 0;
          ops.forEach(([send, resources, size], i) => {
            const f = frame(i, size);
            if (send) {
              binding.send(f);
              tx++;
              txBytes += f.length;
            } else {
              adapterOfBinding.indicate(f, resources);
              rx++;
              rxBytes += f.length;
            }
          });
          await settle();
          const after = filter.filterCounters();
          const sum = (list: readonly filter.AdapterCounters[], k: keyof filter.AdapterCounters) =>
            list.reduce((n, c) => n + (c[k] as number), 0);
          assert.equal(sum(after, 'receivedNbls') - sum(before, 'receivedNbls'), rx);
          assert.equal(sum(after, 'receivedBytes') - sum(before, 'receivedBytes'), rxBytes);
          assert.equal(sum(after, 'sentNbls') - sum(before, 'sentNbls'), tx);
          assert.equal(sum(after, 'sentBytes') - sum(before, 'sentBytes'), txBytes);
          assert.equal(sum(after, 'sendCompleted') - sum(before, 'sendCompleted'), tx);
        },
      ),
      { numRuns: 40 },
    );
    await unloadAll();
  });

  it('pauses and detaches when an adapter goes away, keeping its counters; later adapters attach', async () => {
    const [a] = mp.adapters;
    a!.indicate(frame(1, 5));
    await settle();
    removeMiniportAdapter(a!.handle as never);
    await pnp();
    const c21 = filter.filterCounters().find((c) => c.ifIndex === 21)!;
    assert.ok(c21.pauses >= 1, 'paused before the detach');
    assert.equal(c21.receivedNbls, 1, 'counters survive the detach');
    assert.equal(addMiniportAdapter(mp.driverHandle as never, { name: 'Adapter C', ifIndex: 23 }).status, 0);
    await pnp();
    assert.ok(filter.filterCounters().some((c) => c.ifIndex === 23 && c.restarts >= 1));
    await unloadAll();
  });
});
