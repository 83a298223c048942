import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesAt } from '../../src/kernel/memory.js';
import { resetSystem } from '../../src/kernel/system.js';
import { TcpIpChecksumNetBufferListInfo } from '../../src/ndis/info.js';
import {
  NDIS_CSUM_RX_IP_CHECKSUM_FAILED,
  NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED,
  NDIS_CSUM_RX_UDP_CHECKSUM_FAILED,
  NDIS_CSUM_RX_UDP_CHECKSUM_SUCCEEDED,
} from '../../src/packet/offload.js';
import { parseIpv4 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { type ClassifyRequest, DIRECTION_OUTBOUND, Verdict } from '../../src/stack/filters.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/stack/headers.js';
import { Layer } from '../../src/stack/layers.js';
import { DataPosition, LAYER_DATA_OFFSET } from '../../src/wfp/layers.js';
import { arp, checksumOk, fragment, fragment6, frame, pseudo4, u16 } from './frames.js';
import { A_MAC, B_MAC, MAC1, MAC2, testHost } from './host.js';
import type { TapAdapter } from './tap.js';

/** A router between 10.0.1.0/24 (if 1) and 10.0.2.0/24 (if 2), fd00:1::/64 and fd00:2::/64 (see host.ts). */
function router(options: { neighbours?: boolean } = {}) {
  return testHost(options);
}

function send(tap: TapAdapter, bytes: Uint8Array) {
  assert.ok(tap.indicate(bytes, 0, bytes.length));
}

describe('host IP layer: forwarding', () => {
  beforeEach(() => resetSystem());

  it('forwards IPv4 between adapters: TTL - 1, checksum patched (RFC 1624), MACs rewritten', () => {
    const r = router();
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 64, dstMac: MAC1 }));
    assert.equal(r.out.length, 1);
    const f = r.out[0]!;
    assert.equal(f.ifIndex, 2);
    assert.equal(f.bytes[14 + 8], 63);
    assert.ok(checksumOk(f.bytes, 14, 34), 'IP header checksum still verifies');
    assert.deepEqual(Array.from(f.bytes.subarray(0, 12)), [2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 2, 1]);
    assert.equal(r.host.counters.forwarded, 1);
    r.finish();
  });

  it('forwards IPv6 with the hop limit decremented', () => {
    const r = router();
    send(r.if2, frame({ protocol: 'udp', src: 'fd00:2::20', dst: 'fd00:1::10', ttl: 2, dstMac: MAC2, srcMac: B_MAC }));
    assert.equal(r.out.length, 1);
    assert.equal(r.out[0]!.ifIndex, 1);
    assert.equal(r.out[0]!.bytes[14 + 7], 1);
    r.finish();
  });

  it('TTL expiring in transit: dropped with its reason and ICMP time exceeded to the source (v4 and v6)', () => {
    const r = router();
    const original = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 1, dstMac: MAC1 });
    send(r.if1, original);
    send(r.if1, frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:2::20', ttl: 1, dstMac: MAC1 }));
    assert.equal(r.host.counters.dropped[DropReason.TtlExpired], 2);
    assert.equal(r.out.length, 2);
    const e4 = r.out[0]!.bytes;
    assert.equal(r.out[0]!.ifIndex, 1);
    assert.equal(e4[14 + 9], 1, 'ICMP');
    assert.equal(e4[34], 11, 'time exceeded');
    assert.equal([...e4.subarray(14 + 16, 14 + 20)].join('.'), '10.0.1.10');
    assert.equal([...e4.subarray(14 + 12, 14 + 16)].join('.'), '10.0.1.1', 'from the arrival interface');
    assert.deepEqual(e4.subarray(42, 42 + 20), original.subarray(14, 34), 'quotes the original IP header');
    assert.ok(checksumOk(e4, 34, e4.length), 'ICMP checksum');
    const e6 = r.out[1]!.bytes;
    assert.equal(e6[14 + 6], 58);
    assert.equal(e6[54], 3, 'ICMPv6 time exceeded');
    r.finish();
  });

  it('a link with a smaller MTU: DF set gets ICMP fragmentation needed with the MTU (RFC 1191); DF clear is fragmented (RFC 791) and reassembles to the original', () => {
    const r = router();
    r.if2.mtu = 576;
    const payload = Uint8Array.from({ length: 1200 }, (_, i) => i & 0xff);
    const clear = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', payload, dstMac: MAC1 });
    const df = clear.slice();
    df[14 + 6] = 0x40; // DF
    df[14 + 10] = df[14 + 11] = 0;
    let c = 0;
    for (let i = 14; i < 34; i += 2) c += (df[i]! << 8) | df[i + 1]!;
    while (c > 0xffff) c = (c & 0xffff) + (c >>> 16);
    df[14 + 10] = (~c >> 8) & 0xff;
    df[14 + 11] = ~c & 0xff;
    send(r.if1, df);
    const err = r.out[0]!.bytes;
    assert.equal(err[34], 3);
    assert.equal(err[35], 4);
    assert.equal(u16(err, 40), 576, 'next-hop MTU');
    assert.equal(r.host.counters.dropped[DropReason.TooBig], 1);
    send(r.if1, clear);
    const pieces = r.out.slice(1).map((o) => o.bytes);
    assert.equal(pieces.length, 3, '1208 payload bytes in 552-byte steps');
    let rebuilt: number[] = [];
    for (const p of pieces) {
      assert.ok(p.length - 14 <= 576);
      assert.ok(checksumOk(p, 14, 34));
      const word = u16(p, 20);
      assert.equal((word & 0x1fff) * 8, rebuilt.length);
      rebuilt = rebuilt.concat(Array.from(p.subarray(34)));
    }
    assert.deepEqual(rebuilt, Array.from(clear.subarray(34)));
    assert.equal(u16(pieces[2]!, 20) & 0x2000, 0, 'the last has MF clear');
    assert.equal(r.host.counters.fragmented, 1);
    r.finish();
  });

  it('no route: dropped and ICMP destination unreachable (net) to the source', () => {
    const r = router();
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '192.0.2.1', dstMac: MAC1 }));
    assert.equal(r.host.counters.dropped[DropReason.NoRoute], 1);
    assert.equal(r.out[0]!.bytes[34], 3);
    assert.equal(r.out[0]!.bytes[35], 0);
    r.finish();
  });

  it('no ICMP error about an ICMP error, a broadcast, or a non-first fragment (RFC 1122 3.2.2)', () => {
    const r = router();
    send(r.if1, frame({ protocol: 'icmp', icmpType: 3, src: '10.0.1.10', dst: '192.0.2.1', dstMac: MAC1 }));
    send(
      r.if1,
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 1, dstMac: MAC1, fragmentOffset: 5 }),
    );
    assert.equal(r.out.length, 0);
    assert.equal(r.host.counters.totalDropped(), 2);
    r.finish();
  });

  it('unknown next hop: ARP request out, packet held, released by the reply', () => {
    const r = router({ neighbours: false });
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }));
    assert.equal(r.out.length, 1);
    const req = r.out[0]!.bytes;
    assert.equal(u16(req, 12), 0x0806);
    assert.equal(u16(req, 20), 1, 'request');
    assert.equal([...req.subarray(38, 42)].join('.'), '10.0.2.20');
    assert.deepEqual(r.host.held(), [{ owner: 'neighbour cache (waiting for ARP / ND)', count: 1 }]);
    assert.equal(r.host.counters.balance(1), 0, 'balanced with the held packet counted');
    send(r.if2, arp(2, B_MAC, '10.0.2.20', MAC2, '10.0.2.1', MAC2));
    assert.equal(r.out.length, 2);
    assert.equal(r.out[1]!.ifIndex, 2);
    assert.equal(u16(r.out[1]!.bytes, 12), 0x0800);
    r.finish();
  });

  it('a packet never resolved is dropped as neighbour unreachable when the host stops', () => {
    const r = router({ neighbours: false });
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.99', dstMac: MAC1 }));
    r.host.stop();
    assert.equal(r.host.counters.dropped[DropReason.NeighborUnreachable], 1);
    r.finish();
  });

  it('answers ARP requests for its own address', () => {
    const r = router();
    send(r.if1, arp(1, A_MAC, '10.0.1.10', 0, '10.0.1.1'));
    assert.equal(r.out.length, 1);
    const rep = r.out[0]!.bytes;
    assert.equal(u16(rep, 20), 2);
    assert.deepEqual(Array.from(rep.subarray(22, 28)), [2, 0, 0, 0, 1, 1]);
    assert.equal(r.host.counters.delivered, 1);
    r.finish();
  });
});

describe('host IP layer: local delivery and ICMP', () => {
  beforeEach(() => resetSystem());

  it('delivers UDP to a bound sink; an unbound port gets ICMP port unreachable', () => {
    const r = router();
    const dns = r.host.endpoints.bind(IPPROTO_UDP, 53);
    send(
      r.if1,
      frame({
        protocol: 'udp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        dstPort: 53,
        payload: new Uint8Array(12),
        dstMac: MAC1,
      }),
    );
    assert.equal(dns.packets, 1);
    assert.equal(dns.bytes, 12);
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 54, dstMac: MAC1 }));
    assert.equal(r.host.counters.dropped[DropReason.PortUnreachable], 1);
    assert.equal(r.out[0]!.bytes[34], 3);
    assert.equal(r.out[0]!.bytes[35], 3);
    r.finish();
  });

  it('a SYN to a closed TCP port gets RST+ACK acknowledging SEQ+1 (RFC 793), with a valid checksum', () => {
    const r = router();
    send(
      r.if1,
      frame({
        protocol: 'tcp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        dstPort: 23,
        seq: 5000,
        tcpFlags: 0x02,
        dstMac: MAC1,
      }),
    );
    const rst = r.out[0]!.bytes;
    assert.equal(rst[14 + 9], 6);
    assert.equal(rst[34 + 13], 0x14, 'RST|ACK');
    assert.equal(((rst[42]! << 24) | (rst[43]! << 16) | (rst[44]! << 8) | rst[45]!) >>> 0, 5001);
    assert.equal(u16(rst, 34), 23);
    assert.ok(checksumOk(rst, 34, rst.length, pseudo4(rst, 14, 6, rst.length - 34)));
    // A reset is never answered.
    send(
      r.if1,
      frame({ protocol: 'tcp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 23, tcpFlags: 0x04, dstMac: MAC1 }),
    );
    assert.equal(r.out.length, 1);
    r.finish();
  });

  it('TCP to a bound sink: a SYN is answered with a SYN-ACK, and data reaches the sink once the connection is open', () => {
    const r = router();
    const telnet = r.host.endpoints.bind(IPPROTO_TCP, 23);
    const segment = (flags: number, seq: number, ack: number, payload = new Uint8Array(0)) =>
      frame({
        protocol: 'tcp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        dstPort: 23,
        tcpFlags: flags,
        seq,
        ack,
        payload,
        dstMac: MAC1,
      });
    send(r.if1, segment(0x02, 1000, 0, new Uint8Array([9, 9])));
    assert.equal(telnet.bytes, 0, 'data on a SYN is not taken');
    assert.equal(r.out.length, 1);
    const synAck = r.out[0]!.bytes;
    assert.equal(synAck[34 + 13], 0x12, 'SYN+ACK');
    const iss = ((synAck[38]! << 24) | (synAck[39]! << 16) | (synAck[40]! << 8) | synAck[41]!) >>> 0;
    send(r.if1, segment(0x10, 1001, (iss + 1) >>> 0));
    send(r.if1, segment(0x18, 1001, (iss + 1) >>> 0, new Uint8Array([1, 2, 3])));
    assert.equal(telnet.bytes, 3);
    assert.equal(telnet.packets, 1);
    assert.equal(r.out.length, 2, 'the data was acknowledged');
    r.finish();
  });

  it('reassembles IPv4 fragments arriving out of order (RFC 791) and delivers the datagram once, whole', () => {
    const r = router();
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    const got: number[] = [];
    sink.onReceive = (va, length) => got.push(...bytesAt(va, length));
    const payload = Uint8Array.from({ length: 100 }, (_, i) => i);
    const whole = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 53, payload, dstMac: MAC1 });
    const parts = fragment(whole, [40, 40, 28]);
    for (const i of [2, 0, 1]) send(r.if1, parts[i]!);
    assert.equal(sink.packets, 1);
    assert.deepEqual(got, Array.from(payload));
    assert.equal(r.host.counters.fragmentsMerged, 3);
    assert.equal(r.host.counters.reassembled, 1);
    assert.equal(r.host.held().length, 0);
    r.finish();
  });

  it('reassembles IPv6 fragments (RFC 8200 4.5): the Fragment header goes, its Next Header takes its place', () => {
    const r = router();
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    const got: number[] = [];
    sink.onReceive = (va, length) => got.push(...bytesAt(va, length));
    const payload = Uint8Array.from({ length: 90 }, (_, i) => 255 - i);
    const whole = frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:1::1', dstPort: 53, payload, dstMac: MAC1 });
    const parts = fragment6(whole, [48, 50]);
    send(r.if1, parts[1]!);
    send(r.if1, parts[0]!);
    assert.equal(sink.packets, 1, 'the UDP checksum over the rebuilt datagram verified');
    assert.deepEqual(got, Array.from(payload));
    assert.equal(r.host.counters.reassembled, 1);
    r.finish();
  });

  it('an overlapping fragment discards the whole datagram (RFC 5722 rule); an incomplete one is dropped at the end', () => {
    const r = router();
    r.host.endpoints.bind(IPPROTO_UDP, 53);
    const whole = frame({
      protocol: 'udp',
      src: '10.0.1.10',
      dst: '10.0.1.1',
      dstPort: 53,
      payload: new Uint8Array(64),
      dstMac: MAC1,
    });
    const [a] = fragment(whole, [40, 32]);
    const overlapping = fragment(whole, [16, 56])[1]!; // starts inside the first fragment
    send(r.if1, a!);
    send(r.if1, overlapping);
    assert.equal(r.host.counters.dropped[DropReason.FragmentOverlap], 2);
    const other = frame({
      protocol: 'udp',
      src: '10.0.1.10',
      dst: '10.0.1.1',
      dstPort: 53,
      payload: new Uint8Array(64),
      dstMac: MAC1,
    });
    other[14 + 5] = 2; // another identification
    send(r.if1, fragment(other, [40, 32])[0]!);
    assert.deepEqual(r.host.held(), [{ owner: 'reassembly (fragments waiting)', count: 1 }]);
    r.host.stop();
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyIncomplete], 1);
    r.finish();
  });

  it('answers echo requests (v4 and v6)', () => {
    const r = router();
    send(
      r.if1,
      frame({ protocol: 'icmp', src: '10.0.1.10', dst: '10.0.1.1', payload: new Uint8Array(32).fill(7), dstMac: MAC1 }),
    );
    send(
      r.if1,
      frame({ protocol: 'icmp', src: 'fd00:1::10', dst: 'fd00:1::1', payload: new Uint8Array(8), dstMac: MAC1 }),
    );
    assert.equal(r.out.length, 2);
    const e = r.out[0]!.bytes;
    assert.equal(e[34], 0);
    assert.equal(e.length, 14 + 20 + 8 + 32);
    assert.ok(checksumOk(e, 34, e.length));
    assert.equal(r.out[1]!.bytes[54], 129);
    r.finish();
  });

  it('answers neighbour solicitations for its address with a solicited advertisement', () => {
    const r = router();
    const ns = frame({
      protocol: 'icmp',
      icmpType: 135,
      src: 'fd00:1::10',
      dst: 'ff02::1:ff00:1',
      ttl: 255,
      payload: Uint8Array.from([0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 0x0a]),
      dstMac: 0x3333ff000001,
    });
    send(r.if1, ns);
    assert.equal(r.out.length, 1);
    const na = r.out[0]!.bytes;
    assert.equal(na[54], 136);
    assert.equal(na[14 + 7], 255);
    r.finish();
  });

  it("TcpIpChecksumNetBufferListInfo: the NIC's receive verdict is trusted (succeeded skips the check, failed drops); transmits request no offload", () => {
    const r = router();
    const bad = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', badIpChecksum: true, dstMac: MAC1 });
    assert.ok(r.if1.indicate(bad, 0, bad.length, NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED));
    assert.equal(r.out.length, 1, 'forwarded: the NIC vouched for the header');
    const good = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 });
    assert.ok(r.if1.indicate(good, 0, good.length, NDIS_CSUM_RX_IP_CHECKSUM_FAILED));
    r.host.endpoints.bind(IPPROTO_UDP, 53);
    const udp = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 53, dstMac: MAC1 });
    assert.ok(r.if1.indicate(udp, 0, udp.length, NDIS_CSUM_RX_UDP_CHECKSUM_FAILED));
    assert.equal(r.host.counters.dropped[DropReason.BadHeaderChecksum], 1);
    assert.equal(r.host.counters.dropped[DropReason.BadTransportChecksum], 1);
    const sent: number[] = [];
    r.if2.transmit = ((orig) => (nbl) => {
      sent.push(nbl.NetBufferListInfo[TcpIpChecksumNetBufferListInfo] as number);
      orig(nbl);
    })(r.if2.transmit.bind(r.if2));
    assert.ok(
      r.if1.indicate(bad, 0, bad.length, NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED | NDIS_CSUM_RX_UDP_CHECKSUM_SUCCEEDED),
    );
    assert.deepEqual(sent, [0], 'the receive bits are not passed down as transmit requests');
    r.finish();
  });

  it('verifies the IPv4 header checksum over the whole header, options included, whatever byte is spoiled (RFC 791, RFC 1071)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 15 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (ihl, where, xor, spoil) => {
          resetSystem();
          const r = router();
          const base = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 64, dstMac: MAC1 });
          const hlen = ihl * 4;
          // The frame again with hlen - 20 bytes of NOP options after the fixed header.
          const f = new Uint8Array(base.length + hlen - 20);
          f.set(base.subarray(0, 34), 0);
          f.fill(1, 34, 14 + hlen);
          f.set(base.subarray(34), 14 + hlen);
          f[14] = 0x40 | ihl;
          const total = f.length - 14;
          f[16] = total >> 8;
          f[17] = total & 0xff;
          f[24] = f[25] = 0;
          let sum = 0;
          for (let i = 14; i < 14 + hlen; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
          while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
          f[24] = (~sum >> 8) & 0xff;
          f[25] = ~sum & 0xff;
          // Spoil a byte the checks before the checksum do not read (version and length, total length, TTL).
          const at =
            14 + [1, ...Array.from({ length: hlen - 4 }, (_, i) => i + 4)].filter((i) => i !== 8)[where % (hlen - 4)]!;
          if (spoil) f[at]! ^= xor;
          send(r.if1, f);
          const valid = checksumOk(f, 14, 14 + hlen);
          assert.equal(r.host.counters.dropped[DropReason.BadHeaderChecksum] ?? 0, valid ? 0 : 1);
          if (!spoil || xor === 0) assert.equal(r.host.counters.forwarded, 1, 'an unspoiled header is forwarded');
          r.finish();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('drops a bad IP header checksum and a malformed header with their reasons', () => {
    const r = router();
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', badIpChecksum: true, dstMac: MAC1 }));
    const short = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }).subarray(0, 30);
    send(r.if1, short);
    assert.equal(r.host.counters.dropped[DropReason.BadHeaderChecksum], 1);
    assert.equal(r.host.counters.dropped[DropReason.Malformed], 1);
    r.finish();
  });
});

describe('host IP layer: WFP layers', () => {
  beforeEach(() => resetSystem());

  /** Records every classify: layer, data offset, and the header sizes the metadata carries. */
  function record(r: ReturnType<typeof router>) {
    const seen: { layer: number; offset: number; ip: number; transport: number }[] = [];
    r.host.classifier = (req: ClassifyRequest) => {
      const nb = req.nbl!.FirstNetBuffer!;
      // The host's own replies (a SYN-ACK) are outbound: this table is for received frames.
      if (
        req.direction === DIRECTION_OUTBOUND &&
        req.layerId !== Layer.Ipforward4 &&
        req.layerId !== Layer.Ipforward6
      ) {
        return Verdict.Permit;
      }
      seen.push({
        layer: req.layerId,
        offset: nb.DataOffset,
        ip: req.ipHeaderSize,
        transport: req.transportHeaderSize,
      });
      return Verdict.Permit;
    };
    return seen;
  }

  /** Where the WFP table says the data starts, for a received frame whose IP header is at offset 14. */
  function expected(layer: number, ip: number, transport: number): number {
    switch (LAYER_DATA_OFFSET[layer]) {
      case DataPosition.IpHeader:
        return 14;
      case DataPosition.TransportHeader:
        return 14 + ip;
      case DataPosition.TransportPayload:
      case DataPosition.PayloadInTransportHeaderOut:
        return 14 + ip + transport;
      case DataPosition.InnerIpHeader:
        return 14 + ip + 8;
      default:
        return -1;
    }
  }

  it("inbound: data starts where the filter engine's LAYER_DATA_OFFSET says at every layer visited (IPPACKET, TRANSPORT, ALE, DATAGRAM_DATA, ICMP_ERROR, IPFORWARD; v4 and v6)", () => {
    const r = router();
    const seen = record(r);
    r.host.endpoints.bind(IPPROTO_UDP, 53);
    r.host.endpoints.bind(IPPROTO_TCP, 80);
    send(
      r.if1,
      frame({
        protocol: 'udp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        dstPort: 53,
        payload: new Uint8Array(5),
        dstMac: MAC1,
      }),
    );
    send(
      r.if1,
      frame({
        protocol: 'tcp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        dstPort: 80,
        payload: new Uint8Array(3),
        dstMac: MAC1,
      }),
    );
    send(r.if1, frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:1::1', dstPort: 53, dstMac: MAC1 }));
    send(
      r.if1,
      frame({
        protocol: 'icmp',
        icmpType: 3,
        src: '10.0.1.10',
        dst: '10.0.1.1',
        payload: new Uint8Array(28),
        dstMac: MAC1,
      }),
    );
    send(
      r.if1,
      frame({
        protocol: 'icmp',
        icmpType: 1,
        src: 'fd00:1::10',
        dst: 'fd00:1::1',
        payload: new Uint8Array(48),
        dstMac: MAC1,
      }),
    );
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }));
    send(r.if1, frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:2::20', dstMac: MAC1 }));
    const layers = new Set(seen.map((s) => s.layer));
    for (const l of [
      Layer.InboundIppacket4,
      Layer.InboundTransport4,
      Layer.AleAuthRecvAccept4,
      Layer.AleFlowEstablished4,
      Layer.DatagramData4,
      Layer.InboundIcmpError4,
      Layer.Ipforward4,
      Layer.InboundIppacket6,
      Layer.InboundTransport6,
      Layer.DatagramData6,
      Layer.InboundIcmpError6,
      Layer.Ipforward6,
    ]) {
      assert.ok(layers.has(l), `layer ${l} classified`);
    }
    for (const s of seen) assert.equal(s.offset, expected(s.layer, s.ip, s.transport), `layer ${s.layer}`);
    assert.equal(seen.filter((s) => s.layer === Layer.AleAuthRecvAccept4).length, 2, 'ALE once per flow');
    r.finish();
  });

  it('inbound UDP: TRANSPORT, ALE and DATAGRAM_DATA describe the same ports and sizes; only DATAGRAM_DATA carries the flow handle', () => {
    const r = router();
    const seen: { layer: number; local: number; remote: number; ip: number; transport: number; flow: number }[] = [];
    r.host.classifier = (req: ClassifyRequest) => {
      seen.push({
        layer: req.layerId,
        local: req.localPort,
        remote: req.remotePort,
        ip: req.ipHeaderSize,
        transport: req.transportHeaderSize,
        flow: req.flowHandle,
      });
      return Verdict.Permit;
    };
    r.host.endpoints.bind(IPPROTO_UDP, 53);
    send(
      r.if1,
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', srcPort: 5000, dstPort: 53, dstMac: MAC1 }),
    );
    const at = (layer: number) => seen.find((s) => s.layer === layer)!;
    for (const layer of [
      Layer.InboundTransport4,
      Layer.AleAuthRecvAccept4,
      Layer.AleFlowEstablished4,
      Layer.DatagramData4,
    ]) {
      const s = at(layer);
      assert.ok(s !== undefined, `layer ${layer} classified`);
      assert.deepEqual([s.local, s.remote, s.ip, s.transport], [53, 5000, 20, 8], `layer ${layer}`);
      assert.equal(s.flow !== 0, layer === Layer.DatagramData4, `flow handle at layer ${layer}`);
    }
    r.finish();
  });

  it('ALE authorizes only the first packet of a flow', () => {
    const r = router();
    const seen = record(r);
    r.host.endpoints.bind(IPPROTO_UDP, 53);
    for (let i = 0; i < 3; i++) {
      send(
        r.if1,
        frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', srcPort: 5000, dstPort: 53, dstMac: MAC1 }),
      );
    }
    send(
      r.if1,
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', srcPort: 5001, dstPort: 53, dstMac: MAC1 }),
    );
    assert.equal(seen.filter((s) => s.layer === Layer.AleAuthRecvAccept4).length, 2);
    assert.equal(seen.filter((s) => s.layer === Layer.InboundTransport4).length, 4);
    r.finish();
  });

  it('outbound: ALE_AUTH_CONNECT, ALE_FLOW_ESTABLISHED, DATAGRAM_DATA and OUTBOUND_TRANSPORT at the transport header, then OUTBOUND_IPPACKET at the IP header', () => {
    const r = router();
    const order: [number, number][] = [];
    r.host.classifier = (req) => {
      order.push([req.layerId, req.nbl!.FirstNetBuffer!.DataOffset]);
      return Verdict.Permit;
    };
    assert.ok(r.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4('10.0.2.20'), 53, new Uint8Array(4)));
    assert.deepEqual(
      order.map(([l]) => l),
      [
        Layer.AleAuthConnect4,
        Layer.AleFlowEstablished4,
        Layer.DatagramData4,
        Layer.OutboundTransport4,
        Layer.OutboundIppacket4,
      ],
    );
    const transport = order[3]![1];
    for (const [l, offset] of order.slice(0, 4)) assert.equal(offset, transport, `layer ${l} at the transport header`);
    assert.equal(transport - order[4]![1], 20);
    assert.equal(r.out.length, 1);
    assert.equal(u16(r.out[0]!.bytes, 36), 53);
    r.finish();
  });

  it('drops are classified at the DISCARD layer where processing stopped, with the discard module and reason', () => {
    const r = router();
    const seen: { layer: number; module: number; reason: number }[] = [];
    r.host.classifier = (req) => {
      if (req.discardModule >= 0)
        seen.push({ layer: req.layerId, module: req.discardModule, reason: req.discardReason });
      // Block UDP to port 9 at INBOUND_TRANSPORT (a filter).
      return req.layerId === Layer.InboundTransport4 && req.localPort === 9 ? Verdict.Block : Verdict.Permit;
    };
    r.host.endpoints.bind(IPPROTO_UDP, 9);
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', badIpChecksum: true, dstMac: MAC1 }));
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 1, dstMac: MAC1 }));
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 9, dstMac: MAC1 }));
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 10, dstMac: MAC1 }));
    assert.deepEqual(seen, [
      { layer: Layer.InboundIppacket4 + 1, module: 0, reason: DropReason.BadHeaderChecksum },
      { layer: Layer.Ipforward4 + 1, module: 0, reason: DropReason.TtlExpired },
      { layer: Layer.InboundTransport4 + 1, module: 2, reason: 0 },
      { layer: Layer.InboundTransport4 + 1, module: 1, reason: DropReason.PortUnreachable },
    ]);
    assert.equal(r.host.counters.totalDropped(), 4);
    r.finish();
  });

  it('a callout that absorbs at a DISCARD layer takes the packet: counted absorbed, not dropped', () => {
    const r = router();
    r.host.classifier = (req) => {
      if (req.discardModule < 0) return Verdict.Permit;
      req.absorbedBy = 'auditor';
      return Verdict.Absorb;
    };
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '192.0.2.1', dstMac: MAC1 }));
    assert.equal(r.host.counters.absorbedBy.get('auditor'), 1);
    assert.equal(r.host.counters.totalDropped(), 0);
    r.finish();
  });

  it('BLOCK drops with the WFP reason; ABSORB is counted as absorbed by the callout', () => {
    const r = router();
    let verdict: number = Verdict.Block;
    r.host.classifier = (req) => {
      if (verdict === Verdict.Absorb) req.absorbedBy = 'inspect';
      return verdict;
    };
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }));
    verdict = Verdict.Absorb;
    send(r.if1, frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }));
    assert.equal(r.host.counters.dropped[DropReason.WfpBlock], 1);
    assert.equal(r.host.counters.absorbed, 1);
    assert.equal(r.host.counters.absorbedBy.get('inspect'), 1);
    assert.equal(r.out.length, 0);
    r.finish();
  });
});

describe('host IP layer: conservation', () => {
  beforeEach(() => resetSystem());

  it('any sequence of frames, valid or mangled, is fully accounted for and leaves no pool behind (property)', () => {
    const base = [
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }),
      frame({ protocol: 'tcp', src: '10.0.1.10', dst: '10.0.1.1', dstMac: MAC1 }),
      frame({ protocol: 'icmp', src: '10.0.1.10', dst: '10.0.1.1', dstMac: MAC1 }),
      frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:2::20', dstMac: MAC1 }),
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.77', ttl: 1, dstMac: MAC1 }),
      arp(1, A_MAC, '10.0.1.10', 0, '10.0.1.1'),
    ];
    const mutation = fc.record({
      which: fc.integer({ min: 0, max: base.length - 1 }),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat(),
      iface: fc.constantFrom(1, 2),
    });
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 30 }), fc.boolean(), (ms, neighbours) => {
        resetSystem();
        const r = router({ neighbours });
        for (const m of ms) {
          const f = base[m.which]!.slice();
          f[m.at % f.length] = m.value;
          const length = Math.max(1, f.length - (m.cut % 8));
          (m.iface === 1 ? r.if1 : r.if2).indicate(f, 0, length);
        }
        const total = r.host.counters;
        r.finish();
        assert.equal(total.received, ms.length);
      }),
      { numRuns: 150 },
    );
  });
});
