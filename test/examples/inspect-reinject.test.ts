import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { FWPS_LAYER_INBOUND_IPPACKET_V4, FWPS_LAYER_OUTBOUND_IPPACKET_V4, resetSystem } from 'wdknet/ddi';
import * as driver from '../../examples/inspect-reinject.js';
import { type LoadedDriver, loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { filterCountAtLayer } from '../../src/wfp/classify.js';
import { assertNoLeaks } from './leaks.js';
import { ip, ipv4Packet } from './packets.js';
import { IpPacketHarness } from './wfp-harness.js';

const LOCAL = ip('192.168.1.10');
const REMOTE = ip('93.184.216.34');

function outbound(port: number, id: number) {
  return ipv4Packet({
    protocol: 'udp',
    source: LOCAL,
    destination: REMOTE,
    destinationPort: port,
    id,
    payload: new Uint8Array([id]),
  });
}
function inbound(port: number, id: number) {
  return ipv4Packet({ protocol: 'tcp', source: REMOTE, destination: LOCAL, destinationPort: port, id });
}

// The inspect sample's model: reference + block + absorb at classify, inspect out of band, clone with
// FwpsAllocateCloneNetBufferList0, inject with FwpsInjectNetwork*Async0, free the clone and dereference the
// original in the completion; its own packets come back through classify and are recognised with
// FwpsQueryPacketInjectionState0 (INJECTED_BY_SELF) and permitted.
describe('example inspect-reinject (WFP callout, clone / block / absorb / reinject)', () => {
  let loaded: LoadedDriver;
  let h: IpPacketHarness;
  beforeEach(() => {
    resetSystem();
    loaded = loadDriver('inspect', driver);
    assert.equal(loaded.status, 0, `DriverEntry 0x${(loaded.status >>> 0).toString(16)}`);
    h = new IpPacketHarness();
  });
  afterEach(async () => {
    if (loaded !== null) unloadDriver(loaded);
    await h.drain();
    h.release();
    assertNoLeaks();
  });

  it('adds one filter per IP-packet layer, and its unload removes them', () => {
    assert.equal(filterCountAtLayer(FWPS_LAYER_OUTBOUND_IPPACKET_V4), 1);
    assert.equal(filterCountAtLayer(FWPS_LAYER_INBOUND_IPPACKET_V4), 1);
    unloadDriver(loaded);
    loaded = null as never;
    assert.equal(filterCountAtLayer(FWPS_LAYER_OUTBOUND_IPPACKET_V4), 0);
    assert.equal(filterCountAtLayer(FWPS_LAYER_INBOUND_IPPACKET_V4), 0);
  });

  it('absorbs outbound packets, reinjects each unchanged once its DPC ran, and permits its own injections', async () => {
    const packets = [1, 2, 3, 4, 5].map((i) => outbound(53, i));
    for (const p of packets) assert.equal(h.offer(p, false), 'absorbed');
    assert.equal(h.sent.length, 0, 'nothing is sent before the out-of-band inspection');
    assert.equal(h.heldByCallout(), packets.length, 'the originals are referenced while queued');
    await h.drain();
    assert.deepEqual(h.sent, packets, 'every packet leaves, in order, byte for byte');
    assert.equal(h.injected, packets.length);
    assert.equal(h.injectedDelivered, packets.length, 'each injection was recognised and permitted');
    assert.equal(h.heldByCallout(), 0, 'the completions dereferenced every original');
    const s = driver.inspectStats;
    assert.equal(s.absorbed, packets.length);
    assert.equal(s.reinjected, packets.length);
    assert.equal(s.passed, packets.length, 'the reinjected packets, permitted as INJECTED_BY_SELF');
    assert.ok(s.balanced());
  });

  it('permits a packet derived from its own injection (FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF)', async () => {
    h.cloneInjected = true;
    h.offer(outbound(53, 1), false);
    h.offer(inbound(80, 2), true);
    await h.drain();
    assert.deepEqual(h.cloneFates, ['permitted', 'permitted'], 'a clone of its injected packet is not taken again');
    assert.equal(h.sent.length + h.delivered.length, 2);
    assert.equal(driver.inspectStats.absorbed, 2, 'only the two originals were absorbed');
  });

  it('reinjects inbound packets into the receive path on the interface they came from, IP header first', async () => {
    const packets = [10, 11, 12].map((i) => inbound(443, i));
    for (const p of packets) assert.equal(h.offer(p, true), 'absorbed');
    await h.drain();
    assert.deepEqual(h.delivered, packets);
    assert.equal(driver.inspectStats.reinjected, packets.length);
  });

  it('drops what the inspection refuses (port 9), with the reason counted, and sends the rest', async () => {
    h.offer(outbound(9, 1), false);
    h.offer(outbound(53, 2), false);
    h.offer(inbound(9, 3), true);
    await h.drain();
    assert.deepEqual(h.sent, [outbound(53, 2)]);
    assert.equal(h.delivered.length, 0);
    assert.equal(driver.inspectStats.drops.inspection, 2);
    assert.equal(driver.inspectStats.inFlight(), 0);
  });

  it('a refused injection frees the clone, drops the reference, and is counted', async () => {
    h.refuseWith = 0xc000009a | 0;
    h.offer(outbound(53, 1), false);
    await h.drain();
    assert.equal(h.sent.length, 0);
    assert.equal(driver.inspectStats.drops['inject-failed'], 1);
    assert.equal(h.heldByCallout(), 0);
  });

  it('unloading with packets still queued injects them first and leaves nothing behind', async () => {
    for (let i = 0; i < 4; i++) h.offer(outbound(53, i), false);
    unloadDriver(loaded);
    loaded = null as never;
    await h.drain();
    assert.equal(h.sent.length, 4);
    assert.equal(driver.inspectStats.reinjected, 4);
  });
});
