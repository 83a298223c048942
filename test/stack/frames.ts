/** Frame builders for the host tests: Ethernet around IPv4 / IPv6 with TCP, UDP or ICMP, checksums correct. */

/** What a test frame carries. */
export interface FrameSpec {
  version?: 4 | 6;
  protocol: 'tcp' | 'udp' | 'icmp' | number;
  src: string;
  dst: string;
  srcMac?: number;
  dstMac?: number;
  srcPort?: number;
  dstPort?: number;
  ttl?: number;
  payload?: Uint8Array;
  /** ICMP type (default echo request). */
  icmpType?: number;
  tcpFlags?: number;
  seq?: number;
  /** TCP acknowledgment number. */
  ack?: number;
  /** ICMP echo identifier and sequence number. */
  echoId?: number;
  echoSeq?: number;
  /** Spoil the IP header checksum. */
  badIpChecksum?: boolean;
  fragmentOffset?: number;
}

function v4(text: string): number[] {
  return text.split('.').map(Number);
}

function v6(text: string): number[] {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':').filter((x) => x !== '') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function sum(bytes: number[] | Uint8Array, from = 0, to = bytes.length, initial = 0): number {
  let s = initial;
  for (let i = from; i < to; i += 2) s += (bytes[i]! << 8) | (i + 1 < to ? bytes[i + 1]! : 0);
  return s;
}

function csum(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

function mac(m: number): number[] {
  const out: number[] = [];
  for (let i = 5; i >= 0; i--) out.push(Math.floor(m / 2 ** (8 * i)) % 256);
  return out;
}

const PROTO: Record<string, number> = { tcp: 6, udp: 17 };

/** Builds one Ethernet frame. */
export function frame(spec: FrameSpec): Uint8Array {
  const version = spec.version ?? (spec.src.includes(':') ? 6 : 4);
  const payload = Array.from(spec.payload ?? new Uint8Array(0));
  const proto =
    typeof spec.protocol === 'number'
      ? spec.protocol
      : spec.protocol === 'icmp'
        ? version === 4
          ? 1
          : 58
        : PROTO[spec.protocol]!;
  let l4: number[];
  if (proto === 6) {
    l4 = new Array(20).fill(0);
    l4[0] = (spec.srcPort ?? 1024) >> 8;
    l4[1] = (spec.srcPort ?? 1024) & 0xff;
    l4[2] = (spec.dstPort ?? 80) >> 8;
    l4[3] = (spec.dstPort ?? 80) & 0xff;
    const seq = spec.seq ?? 1000;
    l4[4] = seq >>> 24;
    l4[5] = (seq >>> 16) & 0xff;
    l4[6] = (seq >>> 8) & 0xff;
    l4[7] = seq & 0xff;
    const ack = spec.ack ?? 0;
    l4[8] = ack >>> 24;
    l4[9] = (ack >>> 16) & 0xff;
    l4[10] = (ack >>> 8) & 0xff;
    l4[11] = ack & 0xff;
    l4[12] = 0x50;
    l4[13] = spec.tcpFlags ?? 0x02;
    l4[14] = 0x20;
    l4.push(...payload);
  } else if (proto === 17) {
    l4 = new Array(8).fill(0);
    l4[0] = (spec.srcPort ?? 1024) >> 8;
    l4[1] = (spec.srcPort ?? 1024) & 0xff;
    l4[2] = (spec.dstPort ?? 53) >> 8;
    l4[3] = (spec.dstPort ?? 53) & 0xff;
    l4[4] = (8 + payload.length) >> 8;
    l4[5] = (8 + payload.length) & 0xff;
    l4.push(...payload);
  } else if (proto === 1 || proto === 58) {
    const id = spec.echoId ?? 7;
    const sq = spec.echoSeq ?? 1;
    l4 = [spec.icmpType ?? (proto === 1 ? 8 : 128), 0, 0, 0, id >> 8, id & 0xff, sq >> 8, sq & 0xff, ...payload];
  } else {
    l4 = [...payload];
  }
  const src = version === 4 ? v4(spec.src) : v6(spec.src);
  const dst = version === 4 ? v4(spec.dst) : v6(spec.dst);
  const pseudo = version === 4 ? sum([...src, ...dst]) + proto + l4.length : sum([...src, ...dst]) + proto + l4.length;
  const at = proto === 6 ? 16 : proto === 17 ? 6 : 2;
  if (proto === 6 || proto === 17 || proto === 58 || proto === 1) {
    const s = csum(sum(l4, 0, l4.length, proto === 1 ? 0 : pseudo));
    l4[at] = s >> 8;
    l4[at + 1] = s & 0xff;
  }
  let ip: number[];
  if (version === 4) {
    ip = [
      0x45,
      0,
      (20 + l4.length) >> 8,
      (20 + l4.length) & 0xff,
      0,
      1,
      0,
      0,
      spec.ttl ?? 64,
      proto,
      0,
      0,
      ...src,
      ...dst,
    ];
    const off = spec.fragmentOffset ?? 0;
    ip[6] = off >> 8;
    ip[7] = off & 0xff;
    const s = csum(sum(ip));
    ip[10] = s >> 8;
    ip[11] = (s & 0xff) ^ (spec.badIpChecksum ? 1 : 0);
  } else {
    ip = [0x60, 0, 0, 0, l4.length >> 8, l4.length & 0xff, proto, spec.ttl ?? 64, ...src, ...dst];
  }
  const eth = [
    ...mac(spec.dstMac ?? 0x02_00_00_00_01_01),
    ...mac(spec.srcMac ?? 0x02_00_00_00_00_0a),
    version === 4 ? 0x08 : 0x86,
    version === 4 ? 0x00 : 0xdd,
  ];
  return Uint8Array.from([...eth, ...ip, ...l4]);
}

/** An ARP packet in an Ethernet frame. */
export function arp(
  op: 1 | 2,
  senderMac: number,
  senderIp: string,
  targetMac: number,
  targetIp: string,
  dstMac = 0xffff_ffff_ffff,
) {
  return Uint8Array.from([
    ...mac(dstMac),
    ...mac(senderMac),
    0x08,
    0x06,
    0,
    1,
    8,
    0,
    6,
    4,
    0,
    op,
    ...mac(senderMac),
    ...v4(senderIp),
    ...mac(targetMac),
    ...v4(targetIp),
  ]);
}

/** Big-endian 16-bit read. */
export function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** The Internet checksum of b[from, to) verifies (with an optional pseudo-header sum). */
export function checksumOk(b: Uint8Array, from: number, to: number, initial = 0): boolean {
  return csum(sum(b, from, to, initial)) === 0;
}

/** Pseudo-header sum for IPv4 addresses at b[12..20) of the IP header starting at `ip`. */
export function pseudo4(b: Uint8Array, ip: number, proto: number, length: number): number {
  return sum(b, ip + 12, ip + 20) + proto + length;
}

/**
 * Splits the IPv4 packet in an Ethernet frame into fragments whose payloads have the given sizes (multiples of 8
 * except the last), with MF, offsets, total lengths and header checksums set. Returns the fragment frames.
 */
export function fragment(full: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const ipStart = 14;
  const hlen = (full[ipStart]! & 0xf) * 4;
  const payload = full.subarray(ipStart + hlen);
  const out: Uint8Array[] = [];
  let offset = 0;
  sizes.forEach((size, i) => {
    const last = i === sizes.length - 1;
    const f = new Uint8Array(ipStart + hlen + size);
    f.set(full.subarray(0, ipStart + hlen));
    f.set(payload.subarray(offset, offset + size), ipStart + hlen);
    const total = hlen + size;
    f[ipStart + 2] = total >> 8;
    f[ipStart + 3] = total & 0xff;
    const word = (last ? 0 : 0x2000) | (offset >> 3);
    f[ipStart + 6] = word >> 8;
    f[ipStart + 7] = word & 0xff;
    f[ipStart + 10] = f[ipStart + 11] = 0;
    const c = csum(sum(f, ipStart, ipStart + hlen));
    f[ipStart + 10] = c >> 8;
    f[ipStart + 11] = c & 0xff;
    out.push(f);
    offset += size;
  });
  return out;
}

/**
 * Splits the IPv6 packet in an Ethernet frame (no extension headers) into fragments with a Fragment header each,
 * payloads of the given sizes (multiples of 8 except the last), identification `id`.
 */
export function fragment6(full: Uint8Array, sizes: readonly number[], id = 0x1234): Uint8Array[] {
  const next = full[14 + 6]!;
  const payload = full.subarray(14 + 40);
  const out: Uint8Array[] = [];
  let offset = 0;
  sizes.forEach((size, i) => {
    const last = i === sizes.length - 1;
    const f = new Uint8Array(14 + 40 + 8 + size);
    f.set(full.subarray(0, 14 + 40));
    f[14 + 4] = (8 + size) >> 8;
    f[14 + 5] = (8 + size) & 0xff;
    f[14 + 6] = 44;
    const word = offset | (last ? 0 : 1);
    f.set([next, 0, word >> 8, word & 0xff, id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff], 54);
    f.set(payload.subarray(offset, offset + size), 62);
    out.push(f);
    offset += size;
  });
  return out;
}
