import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DropReason, Host, HostConfigError, playCapture } from '../../src/api/stack.js';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { resetSystem } from '../../src/kernel/system.js';
import { unloadVirtualNicDriver, VirtualNic } from '../../src/stack/nic.js';
import { Wire } from '../../src/stack/wire.js';

describe('idiomatic API: Host', () => {
  beforeEach(() => resetSystem());

  it('two hosts on a wire exchange UDP over IPv4 and IPv6, configured in text', () => {
    const wire = new Wire('lan');
    const nicA = new VirtualNic({ name: 'a0', mac: [2, 0, 0, 0, 0, 1] });
    const nicB = new VirtualNic({ name: 'b0', mac: [2, 0, 0, 0, 0, 2] });
    nicA.connect(wire);
    nicB.connect(wire);
    const a = new Host({ adapters: [nicA], filterEngine: false });
    const b = new Host({ adapters: [nicB], filterEngine: false });
    a.address('10.1.0.1/24', nicA).address('fd00:1::1/64', nicA);
    b.address('10.1.0.2/24', nicB).address('fd00:1::2/64', nicB);
    const sink = b.udp(5353);
    assert.ok(a.sendUdp(1000, '10.1.0.2', 5353, new Uint8Array(10)));
    assert.ok(a.sendUdp(1000, 'fd00:1::2', 5353, new Uint8Array(20)));
    drainDeferredWork();
    assert.equal(sink.packets, 2);
    assert.equal(sink.bytes, 30);
    a.stop();
    b.stop();
    assert.equal(a.ip.counters.balance(0), 0);
    assert.equal(b.ip.counters.balance(0), 0);
    nicA.remove();
    nicB.remove();
    wire.close();
    unloadVirtualNicDriver();
  });

  it('routes through a gateway; no route is a counted drop', () => {
    const nic = new VirtualNic({ name: 'x0' });
    const h = new Host({ adapters: [nic], filterEngine: false });
    h.address('192.168.1.5/24', nic);
    assert.equal(h.sendUdp(1, '203.0.113.9', 9, new Uint8Array(1)), true, 'the send call itself succeeds');
    assert.equal(h.ip.counters.dropped[DropReason.NoRoute], 1);
    h.route('0.0.0.0/0', '192.168.1.1', nic);
    h.sendUdp(1, '203.0.113.9', 9, new Uint8Array(1));
    assert.equal(h.ip.held().length, 1, 'waiting for the gateway to answer ARP');
    h.stop();
    assert.equal(h.ip.counters.dropped[DropReason.NeighborUnreachable], 1);
    nic.remove();
    unloadVirtualNicDriver();
  });

  it('misconfiguration is a typed error', () => {
    const nic = new VirtualNic({ name: 'y0' });
    const other = new VirtualNic({ name: 'z0' });
    const h = new Host({ adapters: [nic], filterEngine: false });
    assert.throws(() => h.address('10.0.0.1', nic), HostConfigError);
    assert.throws(() => h.address('10.0.0.1/33', nic), HostConfigError);
    assert.throws(() => h.address('fd00::1/129', nic), HostConfigError);
    assert.throws(() => h.address('10.0.0.1/24', other), /not bound to z0/);
    assert.throws(() => h.address('10.0.0.300/24', nic), RangeError);
    h.stop();
  });

  it('playCapture runs the sample and reports a clean run (the CLI defaults: no drivers, one host)', async () => {
    const outcome = await playCapture({ capture: new URL('../../samples/router.pcapng', import.meta.url).pathname });
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.summary.hosts, 1);
    assert.equal(outcome.summary.balance, 0);
    assert.equal(outcome.summary.framesRead, 669);
  });
});
