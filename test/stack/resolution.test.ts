/**
 * Address resolution that fails (RFC 4861 7.2.2; RFC 1812 4.3.3.1 for IPv4 routers; Windows' ARP tries three
 * times): a solicitation every second up to three, and a second after the third the held packet is answered with
 * ICMP destination unreachable - host unreachable (IPv4, code 1) / address unreachable (IPv6, code 3) - and dropped
 * as neighbour unreachable. Time is the capture's, given to the host with tick().
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { LINKTYPE_ETHERNET, MemorySink, PcapWriter, packets } from '../../src/capture/index.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { resetSystem } from '../../src/kernel/system.js';
import { parseIpv4, parseIpv6 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { replay } from '../../src/stack/replay.js';
import { arp, checksumOk, frame, u16 } from './frames.js';
import { A_MAC, MAC1, MAC2, testHost } from './host.js';
import type { TapAdapter } from './tap.js';

const C_MAC = 0x02_00_00_00_00_0c;

/** A router between 10.0.1.0/24 (if 1, where 10.0.1.10 is known) and 10.0.2.0/24 (if 2, nobody known). */
function router() {
  const r = testHost({ neighbours: false });
  r.host.neighbors.learn4(1, parseIpv4('10.0.1.10'), A_MAC, true);
  r.host.neighbors.learn6(1, parseIpv6('fd00:1::10'), 0, A_MAC, true);
  const send = (tap: TapAdapter, bytes: Uint8Array) => assert.ok(tap.indicate(bytes, 0, bytes.length));
  return { ...r, send };
}

const isArpRequestFor = (f: { ifIndex: number; bytes: Uint8Array }, target: string) =>
  f.ifIndex === 2 &&
  u16(f.bytes, 12) === 0x0806 &&
  u16(f.bytes, 20) === 1 &&
  f.bytes.subarray(38, 42).join('.') === target;

describe('address resolution that fails', () => {
  beforeEach(() => resetSystem());

  it('IPv4: three ARP requests a second apart, then ICMP host unreachable to the source quoting the packet; dropped as neighbour unreachable', () => {
    const r = router();
    r.host.tick(100);
    r.send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.99', dstMac: MAC1, ttl: 64 }));
    assert.equal(r.out.length, 1);
    assert.ok(isArpRequestFor(r.out[0]!, '10.0.2.99'));
    r.host.tick(100.999);
    assert.equal(r.out.length, 1, 'nothing before a second has passed');
    r.host.tick(101);
    r.host.tick(102.5);
    assert.equal(r.out.filter((f) => isArpRequestFor(f, '10.0.2.99')).length, 3);
    assert.deepEqual(r.host.held(), [{ owner: 'neighbour cache (waiting for ARP / ND)', count: 1 }]);
    r.host.tick(103);
    assert.equal(r.out.length, 4);
    const icmp = r.out[3]!;
    assert.equal(icmp.ifIndex, 1, 'back out of the interface the packet came in on');
    assert.equal(icmp.bytes[23], 1, 'ICMP');
    assert.equal(icmp.bytes.subarray(30, 34).join('.'), '10.0.1.10');
    assert.deepEqual([icmp.bytes[34], icmp.bytes[35]], [3, 1], 'destination unreachable, host unreachable');
    assert.equal(icmp.bytes.subarray(42 + 16, 42 + 20).join('.'), '10.0.2.99', 'the quoted header');
    assert.ok(checksumOk(icmp.bytes, 34, icmp.bytes.length));
    assert.equal(r.host.counters.dropped[DropReason.NeighborUnreachable], 1);
    assert.deepEqual(r.host.held(), []);
    r.finish();
  });

  it('IPv6: three neighbour solicitations, then ICMPv6 address unreachable (code 3)', () => {
    const r = router();
    r.host.tick(5);
    r.send(r.if1, frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:2::99', dstMac: MAC1 }));
    r.host.tick(6);
    r.host.tick(7);
    const solicits = r.out.filter((f) => f.ifIndex === 2 && u16(f.bytes, 12) === 0x86dd && f.bytes[54] === 135);
    assert.equal(solicits.length, 3);
    r.host.tick(8);
    const error = r.out.at(-1)!;
    assert.equal(error.ifIndex, 1);
    assert.deepEqual([error.bytes[54], error.bytes[55]], [1, 3], 'destination unreachable, address unreachable');
    assert.equal(r.host.counters.dropped[DropReason.NeighborUnreachable], 1);
    r.finish();
  });

  it('an answer in time sends the packet and stops the timers; a packet after a failure starts resolving anew', () => {
    const r = router();
    r.host.tick(0);
    r.send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.99', dstMac: MAC1 }));
    r.host.tick(1.5);
    r.send(r.if2, arp(2, C_MAC, '10.0.2.99', MAC2, '10.0.2.1'));
    const forwarded = r.out.filter((f) => f.ifIndex === 2 && u16(f.bytes, 12) === 0x0800);
    assert.equal(forwarded.length, 1, 'released by the reply');
    const before = r.out.length;
    r.host.tick(10);
    assert.equal(r.out.length, before, 'no more requests, no error');

    r.send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.98', dstMac: MAC1 }));
    r.host.tick(13);
    assert.equal(r.host.counters.dropped[DropReason.NeighborUnreachable], 1, 'the first resolution of .98 failed');
    r.send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.98', dstMac: MAC1 }));
    assert.ok(isArpRequestFor(r.out.at(-1)!, '10.0.2.98'), 'a new packet solicits again');
    r.finish();
  });

  it('whatever the gaps between ticks, a held packet fails at the first tick three seconds after its first solicitation, after exactly three requests (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 4, noNaN: true }), { minLength: 1, maxLength: 30 }), (steps) => {
        resetSystem();
        const r = router();
        let now = 50;
        r.host.tick(now);
        r.send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.77', dstMac: MAC1 }));
        let failedAt = -1;
        let firstPast = -1; // the first tick at or after 53 s, when the timers must give up
        for (const step of steps) {
          now += step;
          r.host.tick(now);
          if (firstPast < 0 && now >= 53) firstPast = now;
          if (failedAt < 0 && r.host.counters.dropped[DropReason.NeighborUnreachable] === 1) failedAt = now;
        }
        const requests = r.out.filter((f) => isArpRequestFor(f, '10.0.2.77')).length;
        if (now < 53) {
          assert.equal(failedAt, -1);
          assert.equal(requests, 1 + Math.min(2, Math.floor(now - 50)));
        } else {
          assert.equal(failedAt, firstPast, 'given up at the first tick past three seconds, however late');
          assert.equal(requests, 3);
        }
        r.finish();
      }),
      { numRuns: 50 },
    );
  });
});

describe('address resolution in wdknet run (replay)', () => {
  beforeEach(() => resetSystem());

  it('the capture clock drives the timers: a destination that never answers gets two more ARP requests and, at the first frame three seconds on, ICMP host unreachable back to the sender', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET });
    const T0 = 1_700_000_000;
    const lost = frame({ protocol: 'udp', src: '10.1.0.1', dst: '10.2.0.2', srcMac: A_MAC, dstMac: C_MAC });
    w.writePacket(T0, 0, lost, 0, lost.length);
    // Four seconds later the sender speaks again (to the router's own address: answered, nothing forwarded).
    const later = frame({ protocol: 'icmp', src: '10.1.0.1', dst: '198.18.0.1', srcMac: A_MAC, dstMac: C_MAC });
    w.writePacket(T0 + 4, 0, later, 0, later.length);
    w.close();
    const dir = mkdtempSync(join(tmpdir(), 'wdknet-resolution-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'out.pcap');
    const run = replay({ input: sink.bytes(), output: out, interruptModerationUs: 0 });
    const dropped = run.host.counters.dropped[DropReason.NeighborUnreachable];
    run.finish();
    assert.deepEqual(collectLeaks(), []);
    assert.equal(dropped, 1);
    const frames = [...packets(out)];
    const requests = frames.filter(
      (p) => u16(p.data, 12) === 0x0806 && p.data.subarray(38, 42).join('.') === '10.2.0.2',
    );
    assert.deepEqual(
      requests.map((p) => p.seconds - T0),
      [0, 4, 4],
      'the first at once, the two late ones when the clock next moves',
    );
    const unreachable = frames.find((p) => u16(p.data, 12) === 0x0800 && p.data[23] === 1 && p.data[34] === 3);
    assert.ok(unreachable !== undefined, 'ICMP destination unreachable written');
    assert.equal(unreachable.data[35], 1, 'host unreachable');
    assert.equal(unreachable.data.subarray(30, 34).join('.'), '10.1.0.1');
    assert.equal(unreachable.seconds - T0, 4);
  });
});
