/**
 * Test packets for the example drivers: IPv4 datagrams carrying TCP, UDP or ICMP, with correct header and
 * transport checksums, as plain byte arrays, and Ethernet frames around them for the NDIS and host tests.
 */
import {
  fixIpv4Checksum,
  fixTransportChecksum,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  write16,
  write32,
} from '../../examples/lib/inet.js';

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

/** Builds an IPv4 datagram (20-byte header, no options) with valid checksums. */
export function ipv4Packet(spec: PacketSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const l4 = spec.protocol === 'tcp' ? 20 : 8;
  const total = 20 + l4 + payload.length;
  const b = new Uint8Array(total);
  b[0] = 0x45;
  write16(b, 2, total);
  write16(b, 4, spec.id ?? 1);
  write16(b, 6, 0x4000); // DF
  b[8] = spec.ttl ?? 64;
  b[9] = spec.protocol === 'tcp' ? IPPROTO_TCP : spec.protocol === 'udp' ? IPPROTO_UDP : IPPROTO_ICMP;
  write32(b, 12, spec.source);
  write32(b, 16, spec.destination);
  if (spec.protocol === 'icmp') {
    b[20] = 8; // echo request
    write16(b, 24, spec.id ?? 1);
  } else {
    write16(b, 20, spec.sourcePort ?? 1024);
    write16(b, 22, spec.destinationPort ?? 80);
    if (spec.protocol === 'tcp') {
      write32(b, 24, 1000);
      b[32] = 0x50; // data offset 5
      b[33] = 0x18; // PSH ACK
      write16(b, 34, 8192);
    } else {
      write16(b, 24, 8 + payload.length);
      write16(b, 26, 0xffff); // nonzero: a checksum is present and fixTransportChecksum computes it
    }
  }
  b.set(payload, 20 + l4);
  fixIpv4Checksum(b);
  if (spec.protocol === 'icmp') {
    let sum = 0;
    for (let i = 20; i < total; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    write16(b, 22, ~sum & 0xffff);
  } else {
    fixTransportChecksum(b);
  }
  return b;
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
