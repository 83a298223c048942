/**
 * Builders of test and host frames: Ethernet (with VLAN / QinQ tags), ARP, IPv4 (with options), IPv6 (with
 * extension headers), TCP (with options), UDP, ICMP, ICMPv6, with every length and checksum computed.
 * They allocate (one Uint8Array per frame); they are not on the hot path.
 */
import { parseIpv4, parseIpv6, parseMac } from './address.js';
import { write16, write32 } from './checksum.js';
import { fillChecksums } from './checksum-status.js';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  IPPROTO_FRAGMENT,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
} from './constants.js';
import { decodeFrame } from './decode.js';
import { PacketInfo } from './packet-info.js';

/** Ethernet header of a frame to build. */
export interface EthernetSpec {
  /** Destination MAC (text or 6 bytes); default 02:00:00:00:00:02. */
  dst?: string | Uint8Array;
  /** Source MAC; default 02:00:00:00:00:01. */
  src?: string | Uint8Array;
  /** VLAN tags, outermost first, as TCI values (VID in the low 12 bits). Two tags make QinQ (outer 0x88a8). */
  vlans?: number[];
}

/** IPv4 header of a packet to build. */
export interface Ipv4Spec {
  version: 4;
  /** Source (dotted text or uint32). */
  src: string | number;
  /** Destination. */
  dst: string | number;
  /** TTL, default 64. */
  ttl?: number;
  /** Identification, default 0. */
  id?: number;
  /** DSCP/ECN byte, default 0. */
  tos?: number;
  /** Flags (3 bits, 2 = DF), default 2. */
  flags?: number;
  /** Fragment offset in bytes (a multiple of 8), default 0. */
  fragmentOffset?: number;
  /** Options bytes (padded to 4 with EOL). */
  options?: Uint8Array;
  /** Protocol number; default from the transport. */
  protocol?: number;
}

/** An IPv6 extension header to build (its length byte is computed; `data` is padded to 8 bytes). */
export interface Ipv6ExtensionSpec {
  /** 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options. */
  type: number;
  /** Bytes after the next-header and length bytes (for a fragment header: the 6 bytes after next-header+reserved). */
  data?: Uint8Array;
}

/** IPv6 header of a packet to build. */
export interface Ipv6Spec {
  version: 6;
  /** Source (text). */
  src: string;
  /** Destination. */
  dst: string;
  /** Hop limit, default 64. */
  hopLimit?: number;
  /** Traffic class. */
  trafficClass?: number;
  /** Flow label. */
  flowLabel?: number;
  /** Extension headers in order. */
  extensions?: Ipv6ExtensionSpec[];
}

/** TCP options to build (encoded in the usual order, padded with NOP/EOL). */
export interface TcpOptionsSpec {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  /** SACK blocks as [left, right] edges. */
  sack?: [number, number][];
  /** TSval and TSecr. */
  timestamp?: [number, number];
}

/** A transport header to build. */
export type TransportSpec =
  | {
      kind: 'tcp';
      srcPort: number;
      dstPort: number;
      seq?: number;
      ack?: number;
      /** TCP_* flag bits; default ACK. */
      flags?: number;
      window?: number;
      urgent?: number;
      options?: TcpOptionsSpec;
    }
  | { kind: 'udp'; srcPort: number; dstPort: number }
  | { kind: 'icmp'; type: number; code: number; id?: number; seq?: number }
  | { kind: 'icmpv6'; type: number; code: number; id?: number; seq?: number }
  | { kind: 'none'; protocol: number };

/** A whole frame to build. */
export interface FrameSpec {
  /** `ethernet` (default) or `raw` (LINKTYPE_RAW: the frame starts with the IP header). */
  link?: 'ethernet' | 'raw';
  /** Ethernet header fields. */
  eth?: EthernetSpec;
  /** The IP header. */
  ip: Ipv4Spec | Ipv6Spec;
  /** The transport header. */
  transport: TransportSpec;
  /** Application payload. */
  payload?: Uint8Array;
  /** Leave the checksums zero (to build frames for checksum offload); default false. */
  noChecksums?: boolean;
}

const mac = (m: string | Uint8Array | undefined, dflt: string): Uint8Array =>
  m === undefined ? parseMac(dflt) : typeof m === 'string' ? parseMac(m) : m;

/** Encodes TCP options, padded to a multiple of 4. */
export function encodeTcpOptions(o: TcpOptionsSpec): Uint8Array {
  const out: number[] = [];
  if (o.mss !== undefined) out.push(TCPOPT_MSS, 4, o.mss >>> 8, o.mss & 0xff);
  if (o.sackPermitted) out.push(TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERMITTED, 2);
  if (o.timestamp !== undefined) {
    const t = new Uint8Array(8);
    write32(t, 0, o.timestamp[0]);
    write32(t, 4, o.timestamp[1]);
    out.push(TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, 10, ...t);
  }
  if (o.windowScale !== undefined) out.push(TCPOPT_NOP, TCPOPT_WSCALE, 3, o.windowScale);
  if (o.sack !== undefined && o.sack.length > 0) {
    out.push(TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 2 + 8 * o.sack.length);
    for (const [l, r] of o.sack) {
      const t = new Uint8Array(8);
      write32(t, 0, l);
      write32(t, 4, r);
      out.push(...t);
    }
  }
  while (out.length % 4 !== 0) out.push(0);
  if (out.length > 40) throw new RangeError(`TCP options need ${out.length} bytes; a header holds at most 40`);
  return Uint8Array.from(out);
}

function transportHeader(t: TransportSpec): { protocol: number; header: Uint8Array } {
  switch (t.kind) {
    case 'tcp': {
      const opts = t.options ? encodeTcpOptions(t.options) : new Uint8Array(0);
      const h = new Uint8Array(20 + opts.length);
      write16(h, 0, t.srcPort);
      write16(h, 2, t.dstPort);
      write32(h, 4, t.seq ?? 0);
      write32(h, 8, t.ack ?? 0);
      const flags = t.flags ?? 0x10;
      h[12] = (((20 + opts.length) / 4) << 4) | ((flags >>> 8) & 1);
      h[13] = flags & 0xff;
      write16(h, 14, t.window ?? 65535);
      write16(h, 18, t.urgent ?? 0);
      h.set(opts, 20);
      return { protocol: IPPROTO_TCP, header: h };
    }
    case 'udp': {
      const h = new Uint8Array(8);
      write16(h, 0, t.srcPort);
      write16(h, 2, t.dstPort);
      return { protocol: IPPROTO_UDP, header: h };
    }
    case 'icmp':
    case 'icmpv6': {
      const h = new Uint8Array(8);
      h[0] = t.type;
      h[1] = t.code;
      write16(h, 4, t.id ?? 0);
      write16(h, 6, t.seq ?? 0);
      return { protocol: t.kind === 'icmp' ? IPPROTO_ICMP : IPPROTO_ICMPV6, header: h };
    }
    default:
      return { protocol: t.protocol, header: new Uint8Array(0) };
  }
}

function ipv4Header(ip: Ipv4Spec, protocol: number, payloadLength: number): Uint8Array {
  const opts = ip.options ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const h = new Uint8Array(20 + optLen);
  h[0] = 0x40 | ((20 + optLen) / 4);
  h[1] = ip.tos ?? 0;
  write16(h, 2, h.length + payloadLength);
  write16(h, 4, ip.id ?? 0);
  write16(h, 6, ((ip.flags ?? 2) << 13) | ((ip.fragmentOffset ?? 0) >>> 3));
  h[8] = ip.ttl ?? 64;
  h[9] = ip.protocol ?? protocol;
  write32(h, 12, typeof ip.src === 'number' ? ip.src : parseIpv4(ip.src));
  write32(h, 16, typeof ip.dst === 'number' ? ip.dst : parseIpv4(ip.dst));
  h.set(opts, 20);
  return h;
}

function ipv6Header(ip: Ipv6Spec, protocol: number, payloadLength: number): Uint8Array {
  const exts = (ip.extensions ?? []).map((e) => {
    const data = e.data ?? new Uint8Array(6);
    const len = e.type === IPPROTO_FRAGMENT ? 8 : (2 + data.length + 7) & ~7;
    const b = new Uint8Array(len);
    if (e.type !== IPPROTO_FRAGMENT) b[1] = len / 8 - 1;
    b.set(data.subarray(0, len - 2), 2);
    return { type: e.type, bytes: b };
  });
  const extLen = exts.reduce((n, e) => n + e.bytes.length, 0);
  const h = new Uint8Array(40 + extLen);
  write32(h, 0, ((6 << 28) | ((ip.trafficClass ?? 0) << 20) | (ip.flowLabel ?? 0)) >>> 0);
  write16(h, 4, extLen + payloadLength);
  h[6] = exts.length > 0 ? exts[0]!.type : protocol;
  h[7] = ip.hopLimit ?? 64;
  h.set(parseIpv6(ip.src), 8);
  h.set(parseIpv6(ip.dst), 24);
  let p = 40;
  exts.forEach((e, i) => {
    e.bytes[0] = i + 1 < exts.length ? exts[i + 1]!.type : protocol;
    h.set(e.bytes, p);
    p += e.bytes.length;
  });
  return h;
}

const scratch = new PacketInfo();

/** Builds a frame with lengths and checksums filled in. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const { protocol, header: l4 } = transportHeader(spec.transport);
  if (spec.transport.kind === 'udp') write16(l4, 4, 8 + payload.length);
  const l3 =
    spec.ip.version === 4
      ? ipv4Header(spec.ip, protocol, l4.length + payload.length)
      : ipv6Header(spec.ip, protocol, l4.length + payload.length);
  const raw = spec.link === 'raw';
  const vlans = spec.eth?.vlans ?? [];
  const l2Len = raw ? 0 : 14 + 4 * vlans.length;
  const frame = new Uint8Array(l2Len + l3.length + l4.length + payload.length);
  if (!raw) writeEthernet(frame, spec.eth ?? {}, spec.ip.version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
  frame.set(l3, l2Len);
  frame.set(l4, l2Len + l3.length);
  frame.set(payload, l2Len + l3.length + l4.length);
  if (!spec.noChecksums) {
    decodeFrame(raw ? 101 : 1, frame, 0, frame.length, scratch);
    fillChecksums(frame, scratch);
  }
  return frame;
}

function writeEthernet(frame: Uint8Array, eth: EthernetSpec, etherType: number): number {
  frame.set(mac(eth.dst, '02:00:00:00:00:02'), 0);
  frame.set(mac(eth.src, '02:00:00:00:00:01'), 6);
  const vlans = eth.vlans ?? [];
  let p = 12;
  vlans.forEach((tci, i) => {
    write16(frame, p, vlans.length > 1 && i === 0 ? ETHERTYPE_QINQ : ETHERTYPE_VLAN);
    write16(frame, p + 2, tci);
    p += 4;
  });
  write16(frame, p, etherType);
  return p + 2;
}

/** An ARP packet for IPv4 over Ethernet to build. */
export interface ArpSpec {
  /** 1 request, 2 reply. */
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
  eth?: EthernetSpec;
}

/** Builds an Ethernet ARP frame (IPv4 over Ethernet). */
export function buildArp(spec: ArpSpec): Uint8Array {
  const vlans = spec.eth?.vlans ?? [];
  const frame = new Uint8Array(14 + 4 * vlans.length + 28);
  const p = writeEthernet(frame, { dst: 'ff:ff:ff:ff:ff:ff', src: spec.senderMac, ...spec.eth }, ETHERTYPE_ARP);
  write16(frame, p, 1);
  write16(frame, p + 2, ETHERTYPE_IPV4);
  frame[p + 4] = 6;
  frame[p + 5] = 4;
  write16(frame, p + 6, spec.op);
  frame.set(parseMac(spec.senderMac), p + 8);
  write32(frame, p + 14, parseIpv4(spec.senderIp));
  frame.set(parseMac(spec.targetMac ?? '00:00:00:00:00:00'), p + 18);
  write32(frame, p + 24, parseIpv4(spec.targetIp));
  return frame;
}
