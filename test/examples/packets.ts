/**
 * Test packets for the example drivers: IPv4 datagrams carrying TCP, UDP or ICMP, built by the packet layer's
 * builder (so the drivers' own checksum code is checked against an independent one), and Ethernet frames around
 * them for the NDIS tests.
 */
import { write16 } from '../../examples/lib/inet.js';
import { buildFrame, TCP_ACK, TCP_PSH, type TransportSpec } from '../../src/packet/index.js';

/** What a test packet carries. */
export interface PacketSpec {
  protocol: 'tcp' | 'udp' | 'icmp';
  source: number;
  destination: number;
  sourcePort?: number;
  destinationPort?: number;
  ttl?: number;
  payload?: Uint8Array;
  /** IP identification (default 1). */
  id?: number;
}

/** Builds an IPv4 datagram (20-byte header, no options) with valid checksums, with the packet layer's builder. */
export function ipv4Packet(spec: PacketSpec): Uint8Array {
  const transport: TransportSpec =
    spec.protocol === 'tcp'
      ? {
          kind: 'tcp',
          srcPort: spec.sourcePort ?? 1024,
          dstPort: spec.destinationPort ?? 80,
          seq: 1000,
          flags: TCP_PSH | TCP_ACK,
          window: 8192,
        }
      : spec.protocol === 'udp'
        ? { kind: 'udp', srcPort: spec.sourcePort ?? 1024, dstPort: spec.destinationPort ?? 80 }
        : { kind: 'icmp', type: 8, code: 0, id: spec.id ?? 1, seq: 1 };
  return buildFrame({
    link: 'raw',
    ip: { version: 4, src: spec.source, dst: spec.destination, ttl: spec.ttl ?? 64, id: spec.id ?? 1, flags: 2 },
    transport,
    payload: spec.payload ?? new Uint8Array(0),
  });
}

/** Wraps an IPv4 datagram in an Ethernet II frame (EtherType 0x0800). */
export function ethernetFrame(ip: Uint8Array, destinationMac = 0x02_00_00_00_00_02, sourceMac = 0x02_00_00_00_00_01) {
  const frame = new Uint8Array(14 + ip.length);
  for (let i = 0; i < 6; i++) {
    frame[i] = Math.floor(destinationMac / 2 ** (8 * (5 - i))) & 0xff;
    frame[6 + i] = Math.floor(sourceMac / 2 ** (8 * (5 - i))) & 0xff;
  }
  write16(frame, 12, 0x0800);
  frame.set(ip, 14);
  return frame;
}

/** a.b.c.d as a 32-bit number. */
export function ip(text: string): number {
  return text.split('.').reduce((v, part) => v * 256 + Number(part), 0) >>> 0;
}
