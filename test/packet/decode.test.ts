import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import {
  buildArp,
  buildFrame,
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  CHECKSUM_NOT_PRESENT,
  decodeFrame,
  decodeToJson,
  describeFrame,
  encodeTcpOptions,
  formatIpv4,
  formatIpv6,
  formatMac,
  IP6_EXT_DSTOPTS,
  IP6_EXT_FRAGMENT,
  IP6_EXT_HOPOPTS,
  IP6_EXT_ROUTING,
  ipv4ChecksumStatus,
  Layer,
  PacketInfo,
  Problem,
  parseIpv6,
  read16,
  TCP_ACK,
  TCP_SYN,
  transportChecksumStatus,
  write16,
} from '../../src/packet/index.js';

beforeEach(() => resetSystem());

const ipv4Arb = fc.nat(0xffffffff).map((n) => formatIpv4(n));
const ipv6Arb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b, 0));
const portArb = fc.nat(0xffff);
const tcpArb = fc.record({
  kind: fc.constant('tcp' as const),
  srcPort: portArb,
  dstPort: portArb,
  seq: fc.nat(0xffffffff),
  ack: fc.nat(0xffffffff),
  flags: fc.nat(0x1ff),
  window: portArb,
  options: fc.record(
    {
      mss: fc.nat(0xffff),
      windowScale: fc.nat(14),
      sackPermitted: fc.boolean(),
      sack: fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)), { minLength: 1, maxLength: 3 }),
      timestamp: fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)),
    },
    { requiredKeys: [] },
  ),
});
const udpArb = fc.record({ kind: fc.constant('udp' as const), srcPort: portArb, dstPort: portArb });
const icmpArb = (kind: 'icmp' | 'icmpv6') =>
  fc.record({ kind: fc.constant(kind), type: fc.nat(255), code: fc.nat(255), id: portArb, seq: portArb });

const frameArb = fc.oneof(
  fc.record({
    ip: fc.record({ version: fc.constant(4 as const), src: ipv4Arb, dst: ipv4Arb, ttl: fc.nat(255), id: portArb }),
    transport: fc.oneof(tcpArb, udpArb, icmpArb('icmp')),
    payload: fc.uint8Array({ maxLength: 300 }),
    vlans: fc.array(fc.nat(0xffff), { maxLength: 2 }),
    raw: fc.boolean(),
  }),
  fc.record({
    ip: fc.record({ version: fc.constant(6 as const), src: ipv6Arb, dst: ipv6Arb, hopLimit: fc.nat(255) }),
    transport: fc.oneof(tcpArb, udpArb, icmpArb('icmpv6')),
    payload: fc.uint8Array({ maxLength: 300 }),
    vlans: fc.array(fc.nat(0xffff), { maxLength: 2 }),
    raw: fc.boolean(),
  }),
);

/** TCP options the property generates may not fit a header; such cases are left out (the builder refuses them). */
function fits(t: { kind: string; options?: Parameters<typeof encodeTcpOptions>[0] }): boolean {
  try {
    if (t.kind === 'tcp' && t.options) encodeTcpOptions(t.options);
    return true;
  } catch {
    return false;
  }
}

describe('build -> decode', () => {
  it('every field built is decoded back, and the checksums verify', () => {
    const info = new PacketInfo();
    fc.assert(
      fc.property(frameArb, (spec) => {
        fc.pre(fits(spec.transport));
        const frame = buildFrame({
          link: spec.raw ? 'raw' : 'ethernet',
          eth: { vlans: spec.vlans },
          ip: spec.ip,
          transport: spec.transport,
          payload: spec.payload,
        });
        decodeFrame(spec.raw ? 101 : 1, frame, 0, frame.length, info);
        assert.equal(info.problem, Problem.None);
        if (!spec.raw) {
          assert.equal(info.vlanCount, spec.vlans.length);
          if (spec.vlans.length > 0) assert.equal(info.vlanTci0, spec.vlans[0]);
          if (spec.vlans.length > 1) {
            assert.equal(info.vlanTpid0, 0x88a8);
            assert.equal(info.vlanTci1, spec.vlans[1]);
          }
        }
        assert.equal(info.ipVersion, spec.ip.version);
        if (spec.ip.version === 4) {
          assert.equal(formatIpv4(info.ipSrc), spec.ip.src);
          assert.equal(formatIpv4(info.ipDst), spec.ip.dst);
          assert.equal(info.ipTtl, spec.ip.ttl);
          assert.equal(info.ipId, spec.ip.id);
          assert.equal(ipv4ChecksumStatus(frame, info), CHECKSUM_GOOD);
        } else {
          assert.deepEqual(frame.subarray(info.ipSrcOffset, info.ipSrcOffset + 16), parseIpv6(spec.ip.src));
          assert.deepEqual(frame.subarray(info.ipDstOffset, info.ipDstOffset + 16), parseIpv6(spec.ip.dst));
          assert.equal(info.ipTtl, spec.ip.hopLimit);
        }
        const t = spec.transport;
        if (t.kind === 'tcp') {
          assert.ok(info.has(Layer.Tcp));
          assert.deepEqual(
            [info.srcPort, info.dstPort, info.tcpSeq, info.tcpAck, info.tcpFlags, info.tcpWindow],
            [t.srcPort, t.dstPort, t.seq, t.ack, t.flags, t.window],
          );
          assert.equal(info.tcpMss, t.options.mss ?? -1);
          assert.equal(info.tcpWindowScale, t.options.windowScale ?? -1);
          assert.equal(info.tcpSackPermitted, t.options.sackPermitted ?? false);
          assert.equal(info.tcpSackBlocks, t.options.sack?.length ?? 0);
          assert.equal(info.tcpHasTimestamp, t.options.timestamp !== undefined);
          if (t.options.timestamp) assert.deepEqual([info.tcpTsVal, info.tcpTsEcr], t.options.timestamp);
        } else if (t.kind === 'udp') {
          assert.ok(info.has(Layer.Udp));
          assert.deepEqual(
            [info.srcPort, info.dstPort, info.udpLength],
            [t.srcPort, t.dstPort, 8 + spec.payload.length],
          );
        } else {
          assert.ok(info.has(t.kind === 'icmp' ? Layer.Icmp : Layer.Icmpv6));
          assert.deepEqual([info.icmpType, info.icmpCode], [t.type, t.code]);
        }
        assert.equal(info.payloadLength, spec.payload.length);
        assert.deepEqual(frame.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), spec.payload);
        assert.equal(transportChecksumStatus(frame, info), CHECKSUM_GOOD);
        // Any change to a covered byte makes the checksum bad.
        const mutated = frame.slice();
        mutated[info.l4Offset + info.l4HeaderLength - 1]! ^= 0x01;
        decodeFrame(spec.raw ? 101 : 1, mutated, 0, mutated.length, info);
        assert.equal(transportChecksumStatus(mutated, info), CHECKSUM_BAD);
      }),
    );
  });

  it('every prefix of a frame decodes without throwing and a cut header or body is reported', () => {
    const info = new PacketInfo();
    fc.assert(
      fc.property(frameArb, (spec) => {
        fc.pre(fits(spec.transport));
        const frame = buildFrame({
          eth: { vlans: spec.vlans },
          ip: spec.ip,
          transport: spec.transport,
          payload: spec.payload,
        });
        for (let n = 0; n < frame.length; n++) {
          decodeFrame(1, frame, 0, n, info);
          assert.notEqual(info.problem, Problem.None, `prefix ${n} of ${frame.length}`);
          assert.equal(info.problem, Problem.Truncated);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('TCP options that do not fit the 40 bytes of a header are refused', () => {
    assert.throws(
      () =>
        encodeTcpOptions({
          sackPermitted: true,
          timestamp: [1, 2],
          sack: [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
        }),
      RangeError,
    );
  });

  it('random bytes decode without throwing for every link type', () => {
    const info = new PacketInfo();
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 127),
        fc.uint8Array({ maxLength: 200 }),
        (lt, b) => {
          decodeFrame(lt, b, 0, b.length, info);
          describeFrame(lt, b, 0, b.length);
          JSON.stringify(decodeToJson(lt, b, 0, b.length));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('decode details', () => {
  it('IPv6 extension headers are walked to the upper layer', () => {
    const frame = buildFrame({
      ip: {
        version: 6,
        src: 'fe80::1',
        dst: 'ff02::1',
        extensions: [{ type: 0 }, { type: 43, data: Uint8Array.of(0, 2, 0, 0, 0, 0) }, { type: 44 }, { type: 60 }],
      },
      transport: { kind: 'udp', srcPort: 546, dstPort: 547 },
      payload: Uint8Array.of(1, 2, 3),
    });
    const info = decodeFrame(1, frame, 0, frame.length, new PacketInfo());
    assert.equal(info.ip6NextHeader, 0);
    assert.equal(info.ipProtocol, 17);
    assert.equal(info.ip6ExtensionCount, 4);
    assert.equal(info.ip6Extensions, IP6_EXT_HOPOPTS | IP6_EXT_ROUTING | IP6_EXT_FRAGMENT | IP6_EXT_DSTOPTS);
    assert.equal(info.ip6RoutingType, 0);
    assert.equal(info.ip6SegmentsLeft, 2);
    assert.equal(info.ipHeaderLength, 40 + 8 + 8 + 8 + 8);
    assert.equal(info.dstPort, 547);
    assert.equal(transportChecksumStatus(frame, info), CHECKSUM_GOOD);
  });

  it('IPv4 options are walked; a bad option length is reported, not thrown', () => {
    const frame = buildFrame({
      ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2', options: Uint8Array.of(1, 0x94, 4, 0, 0) },
      transport: { kind: 'udp', srcPort: 1, dstPort: 2 },
    });
    const info = decodeFrame(1, frame, 0, frame.length, new PacketInfo());
    assert.equal(info.ipHeaderLength, 28);
    assert.equal(info.ipOptionCount, 2); // NOP and router alert
    assert.equal(ipv4ChecksumStatus(frame, info), CHECKSUM_GOOD);
    frame[14 + 22] = 40; // router alert length runs past the header
    decodeFrame(1, frame, 0, frame.length, info);
    assert.equal(info.problem, Problem.BadOption);
    assert.equal(info.problemLayer, Layer.Ipv4);
    assert.ok(info.has(Layer.Udp));
  });

  it('UDP over IPv4 with checksum 0 has no checksum; a computed 0 is sent as 0xffff', () => {
    const frame = buildFrame({
      ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2' },
      transport: { kind: 'udp', srcPort: 1, dstPort: 2 },
    });
    const info = decodeFrame(1, frame, 0, frame.length, new PacketInfo());
    assert.notEqual(info.l4Checksum, 0);
    write16(frame, info.l4Offset + 6, 0);
    decodeFrame(1, frame, 0, frame.length, info);
    assert.equal(transportChecksumStatus(frame, info), CHECKSUM_NOT_PRESENT);
  });

  it('802.3 frames carry LLC (and SNAP with an EtherType inside)', () => {
    const stp = Uint8Array.from([...new Array(12).fill(1), 0, 38, 0x42, 0x42, 0x03, ...new Array(35).fill(0)]);
    const info = decodeFrame(1, stp, 0, stp.length, new PacketInfo());
    assert.equal(info.ethLength, 38);
    assert.deepEqual([info.llcDsap, info.llcSsap, info.llcControl], [0x42, 0x42, 3]);
    const ip = buildFrame({
      ip: { version: 4, src: '1.2.3.4', dst: '5.6.7.8' },
      transport: { kind: 'none', protocol: 99 },
    });
    const snap = new Uint8Array(ip.length + 8);
    snap.set(ip.subarray(0, 12), 0);
    write16(snap, 12, ip.length - 14 + 8);
    snap.set([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], 14);
    snap.set(ip.subarray(14), 22);
    decodeFrame(1, snap, 0, snap.length, info);
    assert.equal(info.snapOui, 0);
    assert.equal(info.ipProtocol, 99);
    assert.equal(formatIpv4(info.ipDst), '5.6.7.8');
  });

  it('ARP requests and replies', () => {
    const frame = buildArp({ op: 1, senderMac: '02:00:00:00:00:0a', senderIp: '10.1.1.1', targetIp: '10.1.1.2' });
    const info = decodeFrame(1, frame, 0, frame.length, new PacketInfo());
    assert.equal(info.arpOp, 1);
    assert.equal(formatMac(frame, info.arpShaOffset), '02:00:00:00:00:0a');
    assert.equal(describeFrame(1, frame, 0, frame.length), 'ARP, Request who-has 10.1.1.2 tell 10.1.1.1, length 42');
  });

  it('null/loopback (either byte order), Linux cooked v1 and v2, raw IPv4/IPv6 links', () => {
    const ip4 = buildFrame({
      link: 'raw',
      ip: { version: 4, src: '127.0.0.1', dst: '127.0.0.1' },
      transport: { kind: 'udp', srcPort: 5, dstPort: 6 },
    });
    const ip6 = buildFrame({
      link: 'raw',
      ip: { version: 6, src: '::1', dst: '::1' },
      transport: { kind: 'tcp', srcPort: 5, dstPort: 6 },
    });
    const wrap = (head: number[], body: Uint8Array) => Uint8Array.from([...head, ...body]);
    const info = new PacketInfo();
    const cases: [number, Uint8Array, number][] = [
      [0, wrap([2, 0, 0, 0], ip4), 4],
      [0, wrap([0, 0, 0, 2], ip4), 4],
      [0, wrap([30, 0, 0, 0], ip6), 6],
      [108, wrap([0, 0, 0, 24], ip6), 6],
      [113, wrap([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00], ip4), 4],
      [276, wrap([0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0], ip6), 6],
      [101, ip6, 6],
      [228, ip4, 4],
      [229, ip6, 6],
    ];
    for (const [lt, frame, version] of cases) {
      decodeFrame(lt, frame, 0, frame.length, info);
      assert.equal(info.problem, Problem.None, `link ${lt}`);
      assert.equal(info.ipVersion, version, `link ${lt}`);
      assert.equal(transportChecksumStatus(frame, info), CHECKSUM_GOOD, `link ${lt}`);
    }
    decodeFrame(228, ip6, 0, ip6.length, info);
    assert.equal(info.problem, Problem.BadVersion);
  });

  it('a non-first fragment has no transport header', () => {
    const frame = buildFrame({
      ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2', flags: 1, fragmentOffset: 1480 },
      transport: { kind: 'none', protocol: 17 },
      payload: new Uint8Array(16),
    });
    const info = decodeFrame(1, frame, 0, frame.length, new PacketInfo());
    assert.ok(info.ipIsFragment);
    assert.equal(info.ipFragmentOffset, 1480);
    assert.equal(info.l4Offset, -1);
    assert.equal(info.ipProtocol, 17);
  });

  it('describe prints a tcpdump-style line; decodeToJson a tree with the problem per layer', () => {
    const frame = buildFrame({
      ip: { version: 4, src: '192.168.0.1', dst: '192.168.0.2' },
      transport: {
        kind: 'tcp',
        srcPort: 40000,
        dstPort: 80,
        seq: 1000,
        flags: TCP_SYN,
        window: 64240,
        options: { mss: 1460, sackPermitted: true, windowScale: 7 },
      },
    });
    assert.equal(
      describeFrame(1, frame, 0, frame.length),
      'IP 192.168.0.1.40000 > 192.168.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,nop,nop,sackOK,nop,wscale 7], length 0',
    );
    const tree = decodeToJson(1, frame, 0, 40);
    assert.deepEqual(tree['problem'], { layer: 'ipv4', problem: 'truncated' });
    assert.equal((tree['ipv4'] as Record<string, unknown>)['src'], '192.168.0.1');
    const ack = buildFrame({
      ip: { version: 6, src: '2001:db8::1', dst: '2001:db8::2' },
      transport: { kind: 'tcp', srcPort: 1, dstPort: 2, seq: 5, ack: 9, flags: TCP_ACK },
      payload: new Uint8Array(10),
    });
    assert.equal(
      describeFrame(1, ack, 0, ack.length),
      'IP6 2001:db8::1.1 > 2001:db8::2.2: Flags [.], seq 5:15, ack 9, win 65535, length 10',
    );
    assert.equal(read16(ack, 12), 0x86dd);
  });
});

describe('IPv6 routing header and the pseudo-header (RFC 8200 section 8.1)', () => {
  it('with segments left, the checksum covers the final destination from the routing header', () => {
    const finalDst = parseIpv6('2001:db8::99');
    // Type 0 routing header with one address (the final destination) and one segment left.
    const data = new Uint8Array(22);
    data[0] = 0; // routing type 0
    data[1] = 1; // segments left
    data.set(finalDst, 6);
    const spec = {
      ip: { version: 6 as const, src: '2001:db8::1', dst: '2001:db8::2', extensions: [{ type: 43, data }] },
      transport: { kind: 'udp' as const, srcPort: 7, dstPort: 9 },
      payload: Uint8Array.of(1, 2, 3, 4),
    };
    const info = new PacketInfo();
    // Build with the final destination in the IPv6 header, so the checksum is computed over it...
    const reference = buildFrame({ ...spec, ip: { ...spec.ip, dst: '2001:db8::99', extensions: [] } });
    decodeFrame(1, reference, 0, reference.length, info);
    const checksum = info.l4Checksum;
    // ...then the same datagram on its way, with the next hop in the header: the checksum must still verify.
    const onTheWay = buildFrame({ ...spec, noChecksums: true });
    decodeFrame(1, onTheWay, 0, onTheWay.length, info);
    assert.equal(info.ip6RoutingType, 0);
    assert.equal(info.ip6SegmentsLeft, 1);
    assert.deepEqual(onTheWay.subarray(info.ip6FinalDstOffset, info.ip6FinalDstOffset + 16), finalDst);
    write16(onTheWay, info.l4Offset + 6, checksum);
    assert.equal(transportChecksumStatus(onTheWay, info), CHECKSUM_GOOD);
  });
});
