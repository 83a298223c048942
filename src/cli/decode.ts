/**
 * A small frame decoder for `wdknet inspect`: Ethernet (with 802.1Q tags), ARP, IPv4, IPv6 (extension headers
 * walked), TCP, UDP, ICMP and ICMPv6, into a flat summary, a one-line tcpdump-like text and a tree. It reads
 * plain byte arrays and never throws on short or malformed frames: what cannot be decoded is reported as such.
 */

/** What a frame holds, as far as it could be decoded. */
export interface FrameSummary {
  length: number;
  srcMac?: string;
  dstMac?: string;
  etherType?: number;
  vlan?: number[];
  arp?: { op: number; senderIp: string; targetIp: string; senderMac: string };
  ipVersion?: 4 | 6;
  src?: string;
  dst?: string;
  ttl?: number;
  /** Upper-layer protocol number (after IPv6 extension headers). */
  protocol?: number;
  ipLength?: number;
  fragment?: boolean;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  icmpType?: number;
  icmpCode?: number;
  payloadLength?: number;
  /** Why decoding stopped early, if it did. */
  truncated?: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

function mac(b: Uint8Array, at: number): string {
  return Array.from(b.subarray(at, at + 6), hex2).join(':');
}

function ipv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Uint8Array, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(u16(b, at + 2 * i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const h = (x: number[]) => x.map((v) => v.toString(16)).join(':');
  return best < 0 ? h(g) : `${h(g.slice(0, best))}::${h(g.slice(best + bestLen))}`;
}

/** Decodes an Ethernet frame. */
export function decodeEthernet(b: Uint8Array): FrameSummary {
  const s: FrameSummary = { length: b.length };
  if (b.length < 14) return { ...s, truncated: 'shorter than an Ethernet header' };
  s.dstMac = mac(b, 0);
  s.srcMac = mac(b, 6);
  let at = 12;
  let type = u16(b, at);
  while ((type === 0x8100 || type === 0x88a8) && at + 6 <= b.length) {
    (s.vlan ??= []).push(u16(b, at + 2) & 0xfff);
    at += 4;
    type = u16(b, at);
  }
  s.etherType = type;
  at += 2;
  if (type === 0x0806) {
    if (b.length < at + 28) return { ...s, truncated: 'ARP cut short' };
    s.arp = { op: u16(b, at + 6), senderMac: mac(b, at + 8), senderIp: ipv4(b, at + 14), targetIp: ipv4(b, at + 24) };
    return s;
  }
  if (type === 0x0800) return decodeIpv4(b, at, s);
  if (type === 0x86dd) return decodeIpv6(b, at, s);
  return s;
}

/**
 * Decodes a frame of another link type the capture layer names: raw IP (LINKTYPE_RAW, IPV4, IPV6), BSD and
 * OpenBSD loopback (a 4-byte address family), Linux cooked v1 and v2 (the protocol field). Others: length only.
 */
export function decodeLink(linkType: number, b: Uint8Array): FrameSummary {
  const s: FrameSummary = { length: b.length };
  let at: number;
  let type: number;
  switch (linkType) {
    case 101:
    case 228:
    case 229:
    case 12:
    case 14:
      at = 0;
      type = b.length > 0 && b[0]! >> 4 === 6 ? 0x86dd : 0x0800;
      break;
    case 0:
    case 108: {
      if (b.length < 4) return { ...s, truncated: 'loopback header cut short' };
      const le = b[0]! | (b[1]! << 8);
      const family = linkType === 108 || le === 0 ? (b[2]! << 8) | b[3]! : le;
      at = 4;
      type = family === 2 ? 0x0800 : 0x86dd;
      break;
    }
    case 113:
      if (b.length < 16) return { ...s, truncated: 'cooked header cut short' };
      at = 16;
      type = u16(b, 14);
      break;
    case 276:
      if (b.length < 20) return { ...s, truncated: 'cooked v2 header cut short' };
      at = 20;
      type = u16(b, 0);
      break;
    default:
      return s;
  }
  s.etherType = type;
  if (type === 0x0800) return decodeIpv4(b, at, s);
  if (type === 0x86dd) return decodeIpv6(b, at, s);
  return s;
}

function decodeIpv4(b: Uint8Array, at: number, s: FrameSummary): FrameSummary {
  if (b.length < at + 20) return { ...s, truncated: 'IPv4 header cut short' };
  if (b[at]! >> 4 !== 4) return { ...s, truncated: 'IP version is not 4' };
  const hlen = (b[at]! & 0xf) * 4;
  s.ipVersion = 4;
  s.ipLength = u16(b, at + 2);
  s.ttl = b[at + 8];
  s.protocol = b[at + 9];
  s.src = ipv4(b, at + 12);
  s.dst = ipv4(b, at + 16);
  const frag = u16(b, at + 6);
  s.fragment = (frag & 0x3fff) !== 0;
  if (hlen < 20) return { ...s, truncated: 'IPv4 header length below 20' };
  if ((frag & 0x1fff) !== 0) return s;
  const end = Math.min(b.length, at + Math.max(s.ipLength, hlen));
  return decodeTransport(b, at + hlen, end, s);
}

function decodeIpv6(b: Uint8Array, at: number, s: FrameSummary): FrameSummary {
  if (b.length < at + 40) return { ...s, truncated: 'IPv6 header cut short' };
  if (b[at]! >> 4 !== 6) return { ...s, truncated: 'IP version is not 6' };
  s.ipVersion = 6;
  s.ipLength = u16(b, at + 4) + 40;
  s.ttl = b[at + 7];
  s.src = ipv6(b, at + 8);
  s.dst = ipv6(b, at + 24);
  let next = b[at + 6]!;
  let p = at + 40;
  const end = Math.min(b.length, at + s.ipLength);
  while (next === 0 || next === 43 || next === 60 || next === 44) {
    if (p + 8 > end) {
      s.protocol = next;
      return { ...s, truncated: 'extension header cut short' };
    }
    if (next === 44) {
      s.fragment = true;
      s.protocol = b[p];
      if ((u16(b, p + 2) & 0xfff8) !== 0) return s;
      next = b[p]!;
      p += 8;
      continue;
    }
    const len = (b[p + 1]! + 1) * 8;
    next = b[p]!;
    p += len;
  }
  s.protocol = next;
  return decodeTransport(b, p, end, s);
}

function decodeTransport(b: Uint8Array, at: number, end: number, s: FrameSummary): FrameSummary {
  const p = s.protocol;
  if (p === 6) {
    if (end < at + 20) return { ...s, truncated: 'TCP header cut short' };
    s.srcPort = u16(b, at);
    s.dstPort = u16(b, at + 2);
    s.seq = u32(b, at + 4);
    s.ack = u32(b, at + 8);
    s.tcpFlags = b[at + 13]! | ((b[at + 12]! & 1) << 8);
    s.payloadLength = Math.max(0, end - at - (b[at + 12]! >> 4) * 4);
  } else if (p === 17) {
    if (end < at + 8) return { ...s, truncated: 'UDP header cut short' };
    s.srcPort = u16(b, at);
    s.dstPort = u16(b, at + 2);
    s.payloadLength = Math.max(0, u16(b, at + 4) - 8);
  } else if (p === 1 || p === 58) {
    if (end < at + 4) return { ...s, truncated: 'ICMP header cut short' };
    s.icmpType = b[at];
    s.icmpCode = b[at + 1];
  }
  return s;
}

const TCP_FLAG_NAMES: [number, string][] = [
  [0x02, 'S'],
  [0x01, 'F'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];

/** The frame on one line, in the manner of tcpdump. */
export function describeLine(s: FrameSummary): string {
  if (s.arp !== undefined) {
    return s.arp.op === 1
      ? `ARP, Request who-has ${s.arp.targetIp} tell ${s.arp.senderIp}, length ${s.length}`
      : s.arp.op === 2
        ? `ARP, Reply ${s.arp.senderIp} is-at ${s.arp.senderMac}, length ${s.length}`
        : `ARP, op ${s.arp.op}, length ${s.length}`;
  }
  if (s.ipVersion === undefined) {
    const t = s.etherType === undefined ? '' : `ethertype 0x${s.etherType.toString(16).padStart(4, '0')}, `;
    return `${s.srcMac ?? '?'} > ${s.dstMac ?? '?'}, ${t}length ${s.length}${s.truncated ? ` [${s.truncated}]` : ''}`;
  }
  const ip = s.ipVersion === 4 ? 'IP' : 'IP6';
  const port = (a: string, p?: number) => (p === undefined ? a : `${a}.${p}`);
  const head = `${ip} ${port(s.src!, s.srcPort)} > ${port(s.dst!, s.dstPort)}:`;
  let tail: string;
  if (s.protocol === 6 && s.tcpFlags !== undefined) {
    let f = TCP_FLAG_NAMES.filter(([bit]) => (s.tcpFlags! & bit) !== 0)
      .map(([, n]) => n)
      .join('');
    if ((s.tcpFlags & 0x10) !== 0) f += '.';
    tail = `Flags [${f}], seq ${s.seq}, ack ${s.ack}, length ${s.payloadLength}`;
  } else if (s.protocol === 17 && s.srcPort !== undefined) {
    tail = `UDP, length ${s.payloadLength}`;
  } else if ((s.protocol === 1 || s.protocol === 58) && s.icmpType !== undefined) {
    tail = `${s.protocol === 1 ? 'ICMP' : 'ICMP6'} ${icmpName(s.protocol, s.icmpType, s.icmpCode!)}, length ${s.ipLength}`;
  } else {
    tail = `ip-proto-${s.protocol}, length ${s.ipLength}`;
  }
  return `${head} ${tail}${s.truncated ? ` [${s.truncated}]` : ''}`;
}

function icmpName(protocol: number, type: number, code: number): string {
  const v4: Record<number, string> = {
    0: 'echo reply',
    3: 'unreachable',
    8: 'echo request',
    11: 'time exceeded in-transit',
    12: 'parameter problem',
  };
  const v6: Record<number, string> = {
    1: 'destination unreachable',
    2: 'packet too big',
    3: 'time exceeded in-transit',
    4: 'parameter problem',
    128: 'echo request',
    129: 'echo reply',
    133: 'router solicitation',
    134: 'router advertisement',
    135: 'neighbor solicitation',
    136: 'neighbor advertisement',
  };
  const name = (protocol === 1 ? v4 : v6)[type] ?? `type ${type}`;
  return code === 0 ? name : `${name} code ${code}`;
}

/** The frame as an indented tree (for `inspect -v`). */
export function describeTree(s: FrameSummary): string {
  const lines = [`Frame: ${s.length} bytes`];
  if (s.srcMac !== undefined) {
    lines.push(`  Ethernet: ${s.srcMac} > ${s.dstMac}, type 0x${(s.etherType ?? 0).toString(16).padStart(4, '0')}`);
  }
  if (s.vlan !== undefined) lines.push(`  802.1Q: VLAN ${s.vlan.join(', ')}`);
  if (s.arp !== undefined) {
    lines.push(`  ARP: op ${s.arp.op}, sender ${s.arp.senderIp} (${s.arp.senderMac}), target ${s.arp.targetIp}`);
  }
  if (s.ipVersion !== undefined) {
    lines.push(
      `    IPv${s.ipVersion}: ${s.src} > ${s.dst}, ${s.ipVersion === 4 ? 'ttl' : 'hop limit'} ${s.ttl}, protocol ${s.protocol}, length ${s.ipLength}${s.fragment ? ', fragment' : ''}`,
    );
  }
  if (s.srcPort !== undefined) {
    lines.push(
      `      ${s.protocol === 6 ? 'TCP' : 'UDP'}: ${s.srcPort} > ${s.dstPort}${s.protocol === 6 ? `, flags 0x${s.tcpFlags!.toString(16)}, seq ${s.seq}, ack ${s.ack}` : ''}, payload ${s.payloadLength}`,
    );
  }
  if (s.icmpType !== undefined) lines.push(`      ICMP: type ${s.icmpType}, code ${s.icmpCode}`);
  if (s.truncated !== undefined) lines.push(`  [${s.truncated}]`);
  return lines.join('\n');
}
