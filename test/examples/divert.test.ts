import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { resetSystem } from 'wdknet/ddi';
import * as driver from '../../examples/divert.js';
import { fixIpv4Checksum, ipv4ChecksumOk } from '../../examples/lib/inet.js';
import { type LoadedDriver, loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { assertNoLeaks } from './leaks.js';
import { ip, ipv4Packet } from './packets.js';
import { IpPacketHarness } from './wfp-harness.js';

const A = ip('10.1.1.1');
const B = ip('10.2.2.2');
const packet = (id: number, payload = new Uint8Array([id, id])) =>
  ipv4Packet({ protocol: 'udp', source: A, destination: B, destinationPort: 9999, id, payload });

// The divert model: every packet copied out and handed to user code out of band; what user code returns is
// injected as a new NET_BUFFER_LIST (FwpsAllocateNetBufferAndNetBufferList0 over pool memory, W-1..W-10), null
// drops it.
describe('example divert (WFP callout handing packets to user code)', () => {
  let loaded: LoadedDriver | null;
  let h: IpPacketHarness;
  beforeEach(() => {
    resetSystem();
    driver.setDivertHandler((bytes) => bytes);
    loaded = loadDriver('divert', driver);
    assert.equal(loaded.status, 0);
    h = new IpPacketHarness();
  });
  afterEach(async () => {
    if (loaded !== null) unloadDriver(loaded);
    await h.drain();
    h.release();
    driver.setDivertHandler((bytes) => bytes);
    assertNoLeaks();
  });

  it('hands each packet to user code, IP header first, with its direction, and reinjects what comes back', async () => {
    const seen: [number[], string][] = [];
    driver.setDivertHandler((bytes, direction) => {
      seen.push([[...bytes], direction]);
      return bytes;
    });
    const out1 = packet(1);
    const in1 = ipv4Packet({ protocol: 'tcp', source: B, destination: A, destinationPort: 80, id: 2 });
    assert.equal(h.offer(out1, false), 'absorbed');
    assert.equal(h.offer(in1, true), 'absorbed');
    assert.equal(seen.length, 0, 'user code runs out of band');
    await h.drain();
    assert.deepEqual(seen, [
      [[...out1], 'outbound'],
      [[...in1], 'inbound'],
    ]);
    assert.deepEqual(h.sent, [out1]);
    assert.deepEqual(h.delivered, [in1]);
    assert.equal(driver.divertStats.reinjected, 2);
    assert.equal(driver.divertStats.passed, 2, 'its own injections come back and are permitted');
  });

  it('injects changed bytes, or new bytes of another length', async () => {
    driver.setDivertHandler((bytes) => {
      if (bytes[5] === 1) {
        bytes[8] = 7; // TTL, in place
        fixIpv4Checksum(bytes);
        return bytes;
      }
      return packet(99, new Uint8Array(100).fill(0xab));
    });
    h.offer(packet(1), false);
    h.offer(packet(2), false);
    await h.drain();
    assert.equal(h.sent.length, 2);
    assert.equal(h.sent[0]![8], 7);
    assert.ok(ipv4ChecksumOk(h.sent[0]!));
    assert.deepEqual(h.sent[1], packet(99, new Uint8Array(100).fill(0xab)));
  });

  it('null drops the packet; a throwing handler loses only its packet; both are counted', async () => {
    let n = 0;
    driver.setDivertHandler((bytes) => {
      n++;
      if (n === 1) return null;
      if (n === 2) throw new Error('user code failed');
      return bytes;
    });
    h.offer(packet(1), false);
    h.offer(packet(2), false);
    h.offer(packet(3), false);
    await h.drain();
    assert.deepEqual(h.sent, [packet(3)]);
    assert.equal(driver.divertStats.drops.handler, 2);
    assert.equal(driver.divertStats.inFlight(), 0);
  });

  it('W-1 W-5 W-6 W-7: each packet user code returns is a new list from its pool, with backfill before the data', async () => {
    driver.setDivertHandler((bytes) => bytes.subarray(0, 24));
    h.offer(packet(1, new Uint8Array(30)), false);
    h.offer(packet(2), false);
    await h.drain();
    assert.equal(h.injectedLayout.length, 2);
    for (const l of h.injectedLayout) {
      assert.equal(l.dataOffset, 64, 'dataOffset is the unused space before the data (W-5)');
      assert.equal(l.dataLength, 24, 'dataLength is what user code returned (W-6)');
      assert.ok(l.fromPool !== null && l.fromPool !== h.pool, "from the driver's own NET_BUFFER_LIST pool (W-1)");
    }
    assert.deepEqual(h.sent[0], packet(1, new Uint8Array(30)).subarray(0, 24));
  });

  it('W-10: after each injection completes its list, MDL and memory are freed (nothing left after unload)', async () => {
    for (let i = 0; i < 10; i++) h.offer(packet(i), i % 2 === 0);
    await h.drain();
    assert.equal(driver.divertStats.reinjected, 10);
    // afterEach unloads and checks that no list, MDL or pool block remains.
  });

  it('a refused injection frees the list, the MDL and the memory, and is counted', async () => {
    h.refuseWith = 0xc0000001 | 0;
    h.offer(packet(1), false);
    await h.drain();
    assert.equal(driver.divertStats.drops['inject-failed'], 1);
  });
});
