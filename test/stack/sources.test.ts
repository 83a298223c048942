/**
 * Issue 5, the IP layer: "local delivery to endpoints that an application binds (UDP and TCP sinks and sources are
 * enough)". The TCP source: a segment an application sends leaves with a valid checksum over the pseudo-header
 * (IPv4 and IPv6) and reaches the peer's TCP sink; to a port with no sink the peer answers with a reset.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DropReason, Host } from '../../src/api/stack.js';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { resetSystem } from '../../src/kernel/system.js';
import { unloadVirtualNicDriver, VirtualNic } from '../../src/stack/nic.js';
import { Wire } from '../../src/stack/wire.js';
import { checksumOk, u16 } from './frames.js';

function pair() {
  const wire = new Wire('lan');
  const frames: Uint8Array[] = [];
  wire.tap((f) => frames.push(f.slice()));
  const nicA = new VirtualNic({ name: 'a0', mac: [2, 0, 0, 0, 0, 1] });
  const nicB = new VirtualNic({ name: 'b0', mac: [2, 0, 0, 0, 0, 2] });
  nicA.connect(wire);
  nicB.connect(wire);
  const a = new Host({ adapters: [nicA], filterEngine: false });
  const b = new Host({ adapters: [nicB], filterEngine: false });
  a.address('10.1.0.1/24', nicA).address('fd00:1::1/64', nicA);
  b.address('10.1.0.2/24', nicB).address('fd00:1::2/64', nicB);
  const finish = () => {
    a.stop();
    b.stop();
    assert.equal(a.ip.counters.balance(0), 0);
    assert.equal(b.ip.counters.balance(0), 0);
    nicA.remove();
    nicB.remove();
    wire.close();
    unloadVirtualNicDriver();
    assert.deepEqual(collectLeaks(), []);
  };
  return { a, b, frames, finish };
}

/** The TCP segment of an Ethernet frame verifies over its pseudo-header (IPv4 or IPv6, no extension headers). */
function tcpVerifies(f: Uint8Array): boolean {
  if (u16(f, 12) === 0x0800) {
    const length = u16(f, 16) - 20;
    let s = 6 + length;
    for (let i = 26; i < 34; i += 2) s += u16(f, i);
    return checksumOk(f, 34, 34 + length, s);
  }
  const length = u16(f, 18);
  let s = 6 + length;
  for (let i = 22; i < 54; i += 2) s += u16(f, i);
  return checksumOk(f, 54, 54 + length, s);
}

describe('TCP sources (Host.sendTcp)', () => {
  beforeEach(() => resetSystem());

  it("a segment sent from a TCP source reaches the peer over IPv4 and IPv6 with its flags and a valid checksum: a SYN to the peer's listening port draws its SYN-ACK (RFC 9293 3.5)", () => {
    const { a, b, frames, finish } = pair();
    b.tcp(80);
    assert.ok(a.sendTcp(40000, '10.1.0.2', 80, new Uint8Array(0), 0x02));
    assert.ok(a.sendTcp(40001, 'fd00:1::2', 80, new Uint8Array(0), 0x02));
    drainDeferredWork();
    const segments = frames
      .filter((f) => (u16(f, 12) === 0x0800 ? f[23] : f[20]) === 6)
      .map((f) => {
        const t = u16(f, 12) === 0x0800 ? 34 : 54;
        return { f, src: u16(f, t), dst: u16(f, t + 2), flags: f[t + 13]! };
      });
    const syns = segments.filter((x) => x.flags === 0x02);
    assert.deepEqual(
      syns.map((x) => [x.src, x.dst]),
      [
        [40000, 80],
        [40001, 80],
      ],
      'SYN as sent, IPv4 then IPv6',
    );
    const synAcks = segments.filter((x) => x.flags === 0x12);
    assert.deepEqual(
      synAcks.map((x) => [x.src, x.dst]),
      [
        [80, 40000],
        [80, 40001],
      ],
      "the peer's listener answers each",
    );
    for (const x of [...syns, ...synAcks]) assert.ok(tcpVerifies(x.f), 'TCP checksum over the pseudo-header');
    assert.equal(b.ip.counters.dropped[DropReason.BadTransportChecksum], 0);
    finish();
  });

  it('to a port with no sink the peer answers the segment with a reset (RFC 793)', () => {
    const { a, b, frames, finish } = pair();
    assert.ok(a.sendTcp(40001, '10.1.0.2', 81, new Uint8Array(3), 0x18));
    drainDeferredWork();
    assert.equal(b.ip.counters.dropped[DropReason.PortUnreachable], 1);
    const reset = frames.find((f) => u16(f, 12) === 0x0800 && f[23] === 6 && u16(f, 34) === 81);
    assert.ok(reset !== undefined, 'a segment back from port 81');
    assert.equal(reset[34 + 13]! & 0x04, 0x04, 'RST');
    assert.ok(tcpVerifies(reset));
    finish();
  });
});
