/**
 * Generates samples/router.pcapng, the default input of `npm start`: the two interfaces of a router
 * (10.0.1.1/24 + fd00:1::1/64 and 10.0.2.1/24 + fd00:2::1/64, described by if_MACaddr / if_IPv4addr /
 * if_IPv6addr so the host configures itself from them) and what arrives on them from host A (10.0.1.10) and
 * host B (10.0.2.20): ARP and neighbour discovery, DNS-like UDP, a telnet session, pings through and to the
 * router, IPv6 UDP and echo, a packet that expires in transit, one with no route, and a few for closed ports.
 *
 * Run: node --import tsx scripts/make-sample.ts [path] [rounds]
 */

import { LINKTYPE_ETHERNET } from '../src/capture/linktype.js';
import { PcapngWriter } from '../src/capture/pcapng-writer.js';
import { FileSink } from '../src/capture/sink.js';
import { arp, type FrameSpec, frame } from '../test/stack/frames.js';

const R1 = 0x02_00_00_00_01_01;
const R2 = 0x02_00_00_00_02_01;
const A = 0x02_00_00_00_00_0a;
const B = 0x02_00_00_00_00_0b;

const path = process.argv[2] ?? new URL('../samples/router.pcapng', import.meta.url).pathname;
const rounds = Number(process.argv[3] ?? 40);

const text = (s: string) => new TextEncoder().encode(s);
const dnsQuery = (id: number, name: string) => {
  const labels = name.split('.').flatMap((l) => [l.length, ...text(l)]);
  return Uint8Array.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, 1, 0, 1]);
};
/** The answer to {@link dnsQuery}: the question, and one A record (192.0.2.80, TTL 300) pointing back at it. */
const dnsAnswer = (id: number, name: string) => {
  const q = dnsQuery(id, name);
  q[2] = 0x81;
  q[3] = 0x80;
  q[7] = 1;
  return Uint8Array.from([...q, 0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 80]);
};

const macBytes = (m: number) => Uint8Array.from([5, 4, 3, 2, 1, 0].map((i) => Math.floor(m / 2 ** (8 * i)) % 256));
const ipv6Option = (a: number[], len: number) => Uint8Array.from([...a, len]);

const sink = new FileSink(path);
const w = new PcapngWriter(sink);
w.writeSection({ options: [{ code: 4, value: 'wdknet scripts/make-sample.ts' }] });
for (const [name, mac, v4, v6] of [
  ['lan-a', R1, [10, 0, 1, 1], [0xfd, 0, 0, 1, ...new Array(11).fill(0), 1]],
  ['lan-b', R2, [10, 0, 2, 1], [0xfd, 0, 0, 2, ...new Array(11).fill(0), 1]],
] as const) {
  w.writeInterface({
    linkType: LINKTYPE_ETHERNET,
    snaplen: 65535,
    options: [
      { code: 2, value: name },
      { code: 4, value: Uint8Array.from([...v4, 255, 255, 255, 0]) },
      { code: 5, value: ipv6Option([...v6], 64) },
      { code: 6, value: macBytes(mac) },
      { code: 9, value: 6 },
    ],
  });
}

const t = 1_767_225_600; // 2026-01-01T00:00:00Z
let us = 0;
const put = (iface: 0 | 1, bytes: Uint8Array) => {
  us += 137;
  w.writePacket(iface, t + Math.floor(us / 1e6), (us % 1e6) * 1000, bytes, 0, bytes.length);
};
const onA = (spec: Omit<FrameSpec, 'srcMac' | 'dstMac'>) => put(0, frame({ ...spec, srcMac: A, dstMac: R1 }));
const onB = (spec: Omit<FrameSpec, 'srcMac' | 'dstMac'>) => put(1, frame({ ...spec, srcMac: B, dstMac: R2 }));

// Neighbours first: A and B resolve the router.
put(0, arp(1, A, '10.0.1.10', 0, '10.0.1.1'));
put(1, arp(1, B, '10.0.2.20', 0, '10.0.2.1'));
const r1v6 = [0xfd, 0, 0, 1, ...new Array(11).fill(0), 1];
const r2v6 = [0xfd, 0, 0, 2, ...new Array(11).fill(0), 1];
put(
  0,
  frame({
    protocol: 'icmp',
    icmpType: 135,
    src: 'fd00:1::10',
    dst: 'ff02::1:ff00:1',
    ttl: 255,
    payload: Uint8Array.from([...r1v6, 1, 1, ...macBytes(A)]),
    srcMac: A,
    dstMac: 0x3333ff000001,
  }),
);
put(
  1,
  frame({
    protocol: 'icmp',
    icmpType: 135,
    src: 'fd00:2::20',
    dst: 'ff02::1:ff00:1',
    ttl: 255,
    payload: Uint8Array.from([...r2v6, 1, 1, ...macBytes(B)]),
    srcMac: B,
    dstMac: 0x3333ff000001,
  }),
);

for (let i = 0; i < rounds; i++) {
  const port = 40000 + i;
  // DNS-like query from A to B and B's answer.
  onA({
    protocol: 'udp',
    src: '10.0.1.10',
    dst: '10.0.2.20',
    srcPort: port,
    dstPort: 53,
    payload: dnsQuery(i, 'www.example.com'),
  });
  onB({
    protocol: 'udp',
    src: '10.0.2.20',
    dst: '10.0.1.10',
    srcPort: 53,
    dstPort: port,
    payload: dnsAnswer(i, 'www.example.com'),
  });
  // A telnet session from A to B.
  const c = { src: '10.0.1.10', dst: '10.0.2.20', srcPort: port, dstPort: 23 } as const;
  const s = { src: '10.0.2.20', dst: '10.0.1.10', srcPort: 23, dstPort: port } as const;
  onA({ protocol: 'tcp', ...c, seq: 1000, tcpFlags: 0x02 });
  onB({ protocol: 'tcp', ...s, seq: 9000, ack: 1001, tcpFlags: 0x12 });
  onA({ protocol: 'tcp', ...c, seq: 1001, ack: 9001, tcpFlags: 0x10 });
  onB({ protocol: 'tcp', ...s, seq: 9001, ack: 1001, tcpFlags: 0x18, payload: text('login: ') });
  onA({ protocol: 'tcp', ...c, seq: 1001, ack: 9008, tcpFlags: 0x18, payload: text('guest\r\n') });
  onB({ protocol: 'tcp', ...s, seq: 9008, ack: 1008, tcpFlags: 0x11 });
  onA({ protocol: 'tcp', ...c, seq: 1008, ack: 9009, tcpFlags: 0x11 });
  // Pings through the router and to it.
  const ping = { echoId: 0x77, echoSeq: i, payload: new Uint8Array(56).fill(i & 0xff) };
  onA({ protocol: 'icmp', src: '10.0.1.10', dst: '10.0.2.20', ...ping });
  onB({ protocol: 'icmp', icmpType: 0, src: '10.0.2.20', dst: '10.0.1.10', ...ping });
  onA({ protocol: 'icmp', src: '10.0.1.10', dst: '10.0.1.1', echoId: 0x78, echoSeq: i, payload: new Uint8Array(32) });
  // IPv6: UDP and echo between A and B, and a DNS-like query to the router's own sink.
  onA({
    protocol: 'udp',
    src: 'fd00:1::10',
    dst: 'fd00:2::20',
    srcPort: port,
    dstPort: 53,
    payload: dnsQuery(i, 'ipv6.example'),
  });
  onB({
    protocol: 'icmp',
    src: 'fd00:2::20',
    dst: 'fd00:1::10',
    echoId: 0x79,
    echoSeq: i,
    payload: new Uint8Array(16),
  });
  onA({
    protocol: 'icmp',
    icmpType: 129,
    src: 'fd00:1::10',
    dst: 'fd00:2::20',
    echoId: 0x79,
    echoSeq: i,
    payload: new Uint8Array(16),
  });
  onA({
    protocol: 'udp',
    src: 'fd00:1::10',
    dst: 'fd00:1::1',
    srcPort: port,
    dstPort: 53,
    payload: dnsQuery(i, 'router.lan'),
  });
  if (i % 8 === 0) {
    // The odd ones out: expires in transit, no route, closed ports on the router.
    onA({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 1, srcPort: port, dstPort: 33434 });
    onA({ protocol: 'udp', src: '10.0.1.10', dst: '192.0.2.1', srcPort: port, dstPort: 33434 });
    onA({ protocol: 'tcp', src: '10.0.1.10', dst: '10.0.1.1', srcPort: port, dstPort: 23, tcpFlags: 0x02 });
    onA({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', srcPort: port, dstPort: 9999 });
    onA({
      protocol: 'udp',
      src: '10.0.1.10',
      dst: '10.0.1.1',
      srcPort: port,
      dstPort: 53,
      payload: dnsQuery(i, 'router.lan'),
    });
  }
}
w.close();
console.log(`wrote ${w.packetsWritten} packets to ${path}`);
