/**
 * ICMP errors the host owes for a protocol it does not run (RFC 1122 3.2.2.1 protocol unreachable; RFC 8200 4 /
 * RFC 4443 3.4 parameter problem, code 1, pointing at the unrecognized Next Header value, a misplaced hop-by-hop
 * header included), and the rule that no ICMPv6 error answers an ICMPv6 error even behind extension headers (RFC
 * 4443 2.4(e)).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { resetSystem } from '../../src/kernel/system.js';
import { parseIpv4, parseIpv6 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { IpLayer } from '../../src/stack/ip.js';
import { checksumOk, frame, u16 } from './frames.js';
import { TapAdapter } from './tap.js';

const MAC1 = 0x02_00_00_00_01_01;
const A_MAC = 0x02_00_00_00_00_0a;
const IPPROTO_GRE = 47;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_HOPOPTS = 0;

/** A host on one link: 10.0.1.1/24 and fd00:1::1/64, its neighbour 10.0.1.10 / fd00:1::10 known. */
function host() {
  const ip = new IpLayer({ forwarding: true });
  const out: Uint8Array[] = [];
  const tap = new TapAdapter(1, MAC1, ip, (_i, bytes, offset, length) =>
    out.push(bytes.slice(offset, offset + length)),
  );
  tap.promiscuous = false;
  ip.addInterface(tap);
  ip.addAddress4(1, parseIpv4('10.0.1.1'), 24);
  ip.addAddress6(1, parseIpv6('fd00:1::1'), 64);
  ip.start();
  tap.start();
  ip.neighbors.learn4(1, parseIpv4('10.0.1.10'), A_MAC, true);
  ip.neighbors.learn6(1, parseIpv6('fd00:1::10'), 0, A_MAC, true);
  const send = (bytes: Uint8Array) => assert.ok(tap.indicate(bytes, 0, bytes.length));
  const finish = () => {
    ip.stop();
    tap.stop();
    assert.equal(ip.counters.balance(0), 0, 'every packet accounted for');
    assert.deepEqual(collectLeaks(), [], 'nothing leaked');
  };
  return { ip, out, send, finish };
}

/** An extension header of 8 bytes naming `next`, its options padding (PadN). */
function extension(next: number): number[] {
  return [next, 0, 1, 4, 0, 0, 0, 0];
}

/**
 * An empty UDP datagram from fd00:1::10 port 1024 to fd00:1::1 port 53, its checksum over the IPv6 pseudo-header
 * filled in (mandatory over IPv6, RFC 8200 8.1).
 */
const UDP_TO_53 = (() => {
  let sum = 0xfd00 + 1 + 0x10 + 0xfd00 + 1 + 1 + 17 + 8 + 0x0400 + 0x0035 + 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return [0x04, 0x00, 0x00, 0x35, 0x00, 0x08, (~sum >>> 8) & 0xff, ~sum & 0xff];
})();

/** The ICMPv6 checksum of the message in `f` (Ethernet + IPv6 without extension headers) verifies. */
function icmp6Verifies(f: Uint8Array): boolean {
  const length = u16(f, 18);
  let s = 58 + length;
  for (let i = 22; i < 54; i += 2) s += u16(f, i);
  return checksumOk(f, 54, 54 + length, s);
}

describe('ICMP errors for a protocol the host does not run', () => {
  beforeEach(() => resetSystem());

  it('IPv4: an unknown protocol gets destination unreachable, protocol unreachable (type 3 code 2), quoting the header; counted as protocol unreachable', () => {
    const h = host();
    const gre = frame({ protocol: IPPROTO_GRE, src: '10.0.1.10', dst: '10.0.1.1', payload: new Uint8Array(16) });
    h.send(gre);
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    assert.equal(u16(f, 12), 0x0800);
    assert.equal(f[23], 1, 'ICMP');
    assert.equal([...f.subarray(30, 34)].join('.'), '10.0.1.10', 'to the source');
    assert.deepEqual([f[34], f[35]], [3, 2]);
    assert.deepEqual([...f.subarray(42, 42 + 20)], [...gre.subarray(14, 34)], 'the offending header is quoted');
    assert.ok(checksumOk(f, 34, f.length), 'ICMP checksum');
    assert.equal(h.ip.counters.dropped[DropReason.ProtocolUnreachable], 1);
    h.finish();
  });

  it('IPv6: an unknown Next Header gets parameter problem code 1 pointing at offset 6 (RFC 8200 4)', () => {
    const h = host();
    h.send(frame({ protocol: IPPROTO_GRE, src: 'fd00:1::10', dst: 'fd00:1::1', payload: new Uint8Array(16) }));
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    assert.equal(f[20], 58, 'ICMPv6');
    assert.deepEqual([f[54], f[55]], [4, 1], 'parameter problem, unrecognized Next Header type');
    assert.equal(u16(f, 58) * 0x10000 + u16(f, 60), 6, 'pointer: the Next Header field of the IPv6 header');
    assert.ok(icmp6Verifies(f), 'ICMPv6 checksum over the pseudo-header');
    assert.equal(h.ip.counters.dropped[DropReason.ProtocolUnreachable], 1);
    h.finish();
  });

  it('IPv6: behind a hop-by-hop and a destination options header, the pointer is the offset of the unrecognized value in the last one (RFC 8200 4)', () => {
    const h = host();
    const payload = Uint8Array.from([
      ...extension(IPPROTO_DSTOPTS),
      ...extension(IPPROTO_GRE),
      ...new Array(8).fill(0),
    ]);
    h.send(frame({ protocol: IPPROTO_HOPOPTS, src: 'fd00:1::10', dst: 'fd00:1::1', payload }));
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    assert.deepEqual([f[54], f[55]], [4, 1]);
    assert.equal(u16(f, 58) * 0x10000 + u16(f, 60), 48, 'pointer: 40 + 8, the first byte of the options header');
    assert.equal(f[62 + 48], IPPROTO_GRE, 'the quoted packet has the unrecognized value where the pointer says');
    h.finish();
  });

  it('IPv6: a hop-by-hop header anywhere but right after the IPv6 header is an unrecognized Next Header (RFC 8200 4.1): parameter problem code 1 at that value, nothing delivered', () => {
    const h = host();
    const sink = h.ip.endpoints.bind(17, 53);
    const udp = UDP_TO_53;
    const payload = Uint8Array.from([...extension(IPPROTO_HOPOPTS), ...extension(17), ...udp]);
    h.send(frame({ protocol: IPPROTO_DSTOPTS, src: 'fd00:1::10', dst: 'fd00:1::1', payload }));
    assert.equal(sink.packets, 0, 'the datagram behind it is not delivered');
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    assert.deepEqual([f[54], f[55]], [4, 1]);
    assert.equal(u16(f, 58) * 0x10000 + u16(f, 60), 40, "pointer: the destination options header's Next Header");
    assert.equal(h.ip.counters.dropped[DropReason.ProtocolUnreachable], 1);
    h.finish();
  });

  it('IPv6: a routing header with segments left at its destination gets parameter problem code 0 at the Routing Type (RFC 8200 4.4, RFC 5095); with none left it is passed over', () => {
    const h = host();
    const sink = h.ip.endpoints.bind(17, 53);
    const udp = UDP_TO_53;
    // Type 0 routing header, one address (Hdr Ext Len 2), segments left as given.
    const routing = (left: number) => [17, 2, 0, left, 0, 0, 0, 0, ...new Array(16).fill(0)];
    h.send(
      frame({ protocol: 43, src: 'fd00:1::10', dst: 'fd00:1::1', payload: Uint8Array.from([...routing(1), ...udp]) }),
    );
    assert.equal(sink.packets, 0, 'not delivered');
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    assert.deepEqual([f[54], f[55]], [4, 0], 'parameter problem, erroneous header field');
    assert.equal(u16(f, 58) * 0x10000 + u16(f, 60), 42, 'pointer: the Routing Type byte');
    assert.equal(h.ip.counters.dropped[DropReason.Malformed], 1);
    h.send(
      frame({ protocol: 43, src: 'fd00:1::10', dst: 'fd00:1::1', payload: Uint8Array.from([...routing(0), ...udp]) }),
    );
    assert.equal(sink.packets, 1, 'segments left 0: the routing header is ignored and the datagram delivered');
    h.finish();
  });

  it('IPv4: every query type draws an ICMP error (address mask, information, router solicitation as well as echo and timestamp); error types and unknown types never do (RFC 1122 3.2.2)', () => {
    const h = host();
    const expired = (type: number) => {
      h.out.length = 0;
      h.send(frame({ protocol: 'icmp', icmpType: type, src: '10.0.1.10', dst: '10.9.9.9', ttl: 1 }));
      return h.out.length;
    };
    for (const query of [0, 8, 10, 13, 14, 15, 16, 17, 18, 42, 43]) assert.equal(expired(query), 1, `type ${query}`);
    for (const error of [3, 4, 5, 11, 12, 200]) assert.equal(expired(error), 0, `type ${error}`);
    assert.equal(h.ip.counters.dropped[DropReason.TtlExpired], 17);
    h.finish();
  });

  it('IPv6: no error about an ICMPv6 error even behind a destination options header (RFC 4443 2.4(e)); an echo request there still gets one', () => {
    const h = host();
    // A destination unreachable (type 1) behind a destination options header, its hop limit spent in transit.
    const error = Uint8Array.from([...extension(58), 1, 0, 0, 0, 0, 0, 0, 0]);
    h.send(frame({ protocol: IPPROTO_DSTOPTS, src: 'fd00:1::10', dst: 'fd00:9::9', ttl: 1, payload: error }));
    assert.equal(h.out.length, 0, 'no time exceeded about an ICMPv6 error');
    assert.equal(h.ip.counters.dropped[DropReason.TtlExpired], 1);
    const echo = Uint8Array.from([...extension(58), 128, 0, 0, 0, 0, 0, 0, 0]);
    h.send(frame({ protocol: IPPROTO_DSTOPTS, src: 'fd00:1::10', dst: 'fd00:9::9', ttl: 1, payload: echo }));
    assert.equal(h.out.length, 1, 'time exceeded about an informational message');
    assert.deepEqual([h.out[0]![54], h.out[0]![55]], [3, 0]);
    h.finish();
  });
});
