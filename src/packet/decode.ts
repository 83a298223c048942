/**
 * Zero-copy, allocation-free decoding of a frame into a reusable {@link PacketInfo}: link (Ethernet II / 802.3
 * LLC+SNAP / VLAN and QinQ / Linux cooked v1 and v2 / null and loopback / raw IP), ARP, IPv4 with options, IPv6
 * with extension headers, TCP with options, UDP, ICMP, ICMPv6. A truncated or malformed header is recorded in
 * `problem` / `problemLayer`; nothing is thrown.
 */
import { read16, read32 } from './checksum.js';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_MIN,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_ESP,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_ROUTING,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
} from './constants.js';
import {
  IP6_EXT_AH,
  IP6_EXT_DSTOPTS,
  IP6_EXT_ESP,
  IP6_EXT_FRAGMENT,
  IP6_EXT_HOPOPTS,
  IP6_EXT_ROUTING,
  type Layer,
  type PacketInfo,
  type Problem,
} from './packet-info.js';

// Layer and problem numbers (mirroring the Layer and Problem enums of packet-info.ts) as local constants: the
// hot path reads no imported enum object for them.
const L_LINK = 1; // Layer.Link
const L_VLAN = 2; // Layer.Vlan
const L_LLC = 3; // Layer.Llc
const L_ARP = 4; // Layer.Arp
const L_IPV4 = 5; // Layer.Ipv4
const L_IPV6 = 6; // Layer.Ipv6
const L_IPV6EXTENSION = 7; // Layer.Ipv6Extension
const L_TCP = 8; // Layer.Tcp
const L_UDP = 9; // Layer.Udp
const L_ICMP = 10; // Layer.Icmp
const L_ICMPV6 = 11; // Layer.Icmpv6
const P_NONE = 0; // Problem.None
const P_TRUNCATED = 1; // Problem.Truncated
const P_BAD_VERSION = 2; // Problem.BadVersion
const P_BAD_HEADER_LENGTH = 3; // Problem.BadHeaderLength
const P_BAD_LENGTH = 4; // Problem.BadLength
const P_BAD_OPTION = 5; // Problem.BadOption
const P_UNKNOWN_LINK_TYPE = 6; // Problem.UnknownLinkType

/** Address families a null/loopback header may carry for IPv6 (BSDs differ). */
const AF_INET = 2;
const AF_INET6_VALUES = [10, 24, 28, 30];

/** Most IPv6 extension headers followed before giving up (a loop guard; RFC 8200 expects only a few). */
const MAX_IP6_EXTENSIONS = 16;

function problem(info: PacketInfo, layer: Layer, p: Problem): void {
  if (info.problem === P_NONE) {
    info.problem = p;
    info.problemLayer = layer;
  }
}

function found(info: PacketInfo, layer: Layer): void {
  info.layers |= 1 << layer;
  info.lastLayer = layer;
}

/** Length of the frame on the wire for the decode in progress (the captured length may be less). */
let wireLength = 0;

/**
 * Decodes the frame `bytes[offset, offset+length)` of link type `linkType` (LINKTYPE_*) into `info` (reset
 * first) and returns it. `origlen`, the length on the wire, defaults to `length`.
 */
export function decodeFrame(
  linkType: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
  info: PacketInfo,
  origlen = length,
): PacketInfo {
  info.reset();
  wireLength = Math.max(origlen, length);
  info.linkType = linkType;
  info.frameOffset = offset;
  const end = Math.min(offset + length, bytes.length);
  info.frameEnd = end;
  switch (linkType) {
    case 1:
      decodeEthernet(bytes, offset, end, info);
      break;
    case 0:
    case 108: {
      if (offset + 4 > end) return truncated(info, L_LINK);
      found(info, L_LINK);
      let family = linkType === 108 ? read32(bytes, offset) : readLe32(bytes, offset);
      // A null header is in the writer's byte order; a value above 16 bits means the other order.
      if (family > 0xffff) family = swap32(family);
      info.loopbackFamily = family;
      if (family === AF_INET) decodeNetwork(ETHERTYPE_IPV4, bytes, offset + 4, end, info);
      else if (AF_INET6_VALUES.includes(family)) decodeNetwork(ETHERTYPE_IPV6, bytes, offset + 4, end, info);
      break;
    }
    case 12:
    case 14:
    case 101:
    case 228:
    case 229: {
      if (offset + 1 > end) return truncated(info, L_LINK);
      const version = bytes[offset]! >>> 4;
      const type =
        linkType === 228 ? ETHERTYPE_IPV4 : linkType === 229 ? ETHERTYPE_IPV6 : version === 6 ? ETHERTYPE_IPV6 : 0x0800;
      decodeNetwork(type, bytes, offset, end, info);
      break;
    }
    case 113: {
      if (offset + 16 > end) return truncated(info, L_LINK);
      found(info, L_LINK);
      info.sllPacketType = read16(bytes, offset);
      decodeCooked(read16(bytes, offset + 2), read16(bytes, offset + 14), bytes, offset + 16, end, info);
      break;
    }
    case 276: {
      if (offset + 20 > end) return truncated(info, L_LINK);
      found(info, L_LINK);
      info.sllPacketType = bytes[offset + 10]!;
      decodeCooked(read16(bytes, offset + 8), read16(bytes, offset), bytes, offset + 20, end, info);
      break;
    }
    default:
      problem(info, L_LINK, P_UNKNOWN_LINK_TYPE);
  }
  return info;
}

function truncated(info: PacketInfo, layer: Layer): PacketInfo {
  problem(info, layer, P_TRUNCATED);
  return info;
}

function readLe32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

const ARPHRD_NETLINK = 824;

function decodeCooked(hatype: number, protocol: number, b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (hatype === ARPHRD_NETLINK) return; // netlink messages, not a network protocol
  info.etherType = protocol;
  if (protocol >= ETHERTYPE_MIN) decodeEtherType(protocol, b, p, end, info);
  else if (protocol === 0x0004) decodeLlc(b, p, end, info); // 802.2 frames
}

function decodeEthernet(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 14 > end) {
    truncated(info, L_LINK);
    return;
  }
  found(info, L_LINK);
  info.ethDstOffset = p;
  info.ethSrcOffset = p + 6;
  const typeOrLength = read16(b, p + 12);
  if (typeOrLength < ETHERTYPE_MIN) {
    // 802.3: a length, the frame carries LLC; anything after the length is padding.
    info.ethLength = typeOrLength;
    if (typeOrLength <= 1500) decodeLlc(b, p + 14, Math.min(end, p + 14 + typeOrLength), info);
    return;
  }
  decodeEtherType(typeOrLength, b, p + 14, end, info);
}

function decodeEtherType(type: number, b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) {
    if (p + 4 > end) {
      truncated(info, L_VLAN);
      return;
    }
    found(info, L_VLAN);
    const tci = read16(b, p);
    if (info.vlanCount === 0) {
      info.vlanTpid0 = type;
      info.vlanTci0 = tci;
    } else if (info.vlanCount === 1) info.vlanTci1 = tci;
    info.vlanCount++;
    type = read16(b, p + 2);
    p += 4;
    if (type < ETHERTYPE_MIN) {
      info.ethLength = type;
      decodeLlc(b, p, end, info);
      return;
    }
  }
  info.etherType = type;
  if (type === ETHERTYPE_ARP) decodeArp(b, p, end, info);
  else decodeNetwork(type, b, p, end, info);
}

function decodeLlc(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 3 > end) {
    truncated(info, L_LLC);
    return;
  }
  found(info, L_LLC);
  info.llcDsap = b[p]!;
  info.llcSsap = b[p + 1]!;
  info.llcControl = b[p + 2]!;
  if (info.llcDsap === 0xaa && info.llcSsap === 0xaa) {
    if (p + 8 > end) {
      truncated(info, L_LLC);
      return;
    }
    info.snapOui = (b[p + 3]! << 16) | (b[p + 4]! << 8) | b[p + 5]!;
    const pid = read16(b, p + 6);
    info.etherType = pid;
    // SNAP with the zero OUI carries an EtherType (RFC 1042).
    if (info.snapOui === 0) decodeEtherType(pid, b, p + 8, end, info);
  }
}

function decodeArp(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 8 > end) {
    truncated(info, L_ARP);
    return;
  }
  found(info, L_ARP);
  info.arpHardwareType = read16(b, p);
  info.arpProtocolType = read16(b, p + 2);
  const hl = b[p + 4]!;
  const pl = b[p + 5]!;
  info.arpHardwareLength = hl;
  info.arpProtocolLength = pl;
  info.arpOp = read16(b, p + 6);
  if (p + 8 + 2 * hl + 2 * pl > end) {
    truncated(info, L_ARP);
    return;
  }
  info.arpShaOffset = p + 8;
  info.arpSpaOffset = p + 8 + hl;
  info.arpThaOffset = p + 8 + hl + pl;
  info.arpTpaOffset = p + 8 + 2 * hl + pl;
}

function decodeNetwork(type: number, b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  info.etherType = type;
  if (type === ETHERTYPE_IPV4) decodeIpv4(b, p, end, info);
  else if (type === ETHERTYPE_IPV6) decodeIpv6(b, p, end, info);
  else if (type === ETHERTYPE_ARP) decodeArp(b, p, end, info);
}

function decodeIpv4(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 20 > end) {
    truncated(info, L_IPV4);
    return;
  }
  const version = b[p]! >>> 4;
  if (version !== 4) {
    problem(info, L_IPV4, P_BAD_VERSION);
    return;
  }
  found(info, L_IPV4);
  const ihl = (b[p]! & 0x0f) * 4;
  info.l3Offset = p;
  info.ipVersion = 4;
  info.ipHeaderLength = ihl;
  info.ipTos = b[p + 1]!;
  info.ipTotalLength = read16(b, p + 2);
  info.ipId = read16(b, p + 4);
  const ff = read16(b, p + 6);
  info.ipFlags = ff >>> 13;
  info.ipFragmentOffset = (ff & 0x1fff) * 8;
  info.ipIsFragment = (ff & 0x3fff) !== 0;
  info.ipTtl = b[p + 8]!;
  info.ipProtocol = b[p + 9]!;
  info.ipChecksum = read16(b, p + 10);
  info.ipSrc = read32(b, p + 12);
  info.ipDst = read32(b, p + 16);
  info.ipSrcOffset = p + 12;
  info.ipDstOffset = p + 16;
  if (ihl < 20) {
    problem(info, L_IPV4, P_BAD_HEADER_LENGTH);
    return;
  }
  if (p + ihl > end) {
    truncated(info, L_IPV4);
    return;
  }
  if (info.ipTotalLength === 0) {
    // Decided as Wireshark does: a zero total length is a TCP segmentation offload (large send) frame captured
    // before the NIC split it; the packet runs to the end of the frame on the wire.
    info.ipTotalLength = Math.max(ihl, info.frameOffset + wireLength - p);
  } else if (info.ipTotalLength < ihl) {
    problem(info, L_IPV4, P_BAD_LENGTH);
    return;
  }
  info.ipOptionsLength = ihl - 20;
  if (ihl > 20 && !walkIpv4Options(b, p + 20, p + ihl, info)) problem(info, L_IPV4, P_BAD_OPTION);
  const ipEnd = p + info.ipTotalLength;
  if (ipEnd > end) problem(info, L_IPV4, P_TRUNCATED);
  info.ipEnd = Math.min(ipEnd, end);
  // Only a first fragment carries the transport header.
  if (info.ipFragmentOffset !== 0) return;
  decodeTransport(info.ipProtocol, b, p + ihl, info.ipEnd, info.ipTotalLength - ihl, info);
}

function walkIpv4Options(b: Uint8Array, p: number, end: number, info: PacketInfo): boolean {
  while (p < end) {
    const kind = b[p]!;
    if (kind === 0) return true; // end of option list
    info.ipOptionCount++;
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 2 > end) return false;
    const len = b[p + 1]!;
    if (len < 2 || p + len > end) return false;
    p += len;
  }
  return true;
}

function decodeIpv6(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 40 > end) {
    truncated(info, L_IPV6);
    return;
  }
  if (b[p]! >>> 4 !== 6) {
    problem(info, L_IPV6, P_BAD_VERSION);
    return;
  }
  found(info, L_IPV6);
  info.l3Offset = p;
  info.ipVersion = 6;
  const w0 = read32(b, p);
  info.ipTos = (w0 >>> 20) & 0xff;
  info.ip6FlowLabel = w0 & 0xfffff;
  const payloadLength = read16(b, p + 4);
  info.ipTotalLength = 40 + payloadLength;
  info.ip6NextHeader = b[p + 6]!;
  info.ipTtl = b[p + 7]!;
  info.ipSrcOffset = p + 8;
  info.ipDstOffset = p + 24;
  // Decided: a zero payload length (jumbogram, or a sender that leaves it to the link) runs to the capture's end.
  const ipEnd = payloadLength === 0 ? end : p + 40 + payloadLength;
  if (ipEnd > end) problem(info, L_IPV6, P_TRUNCATED);
  info.ipEnd = Math.min(ipEnd, end);
  let next = info.ip6NextHeader;
  let q = p + 40;
  for (;;) {
    let bit = 0;
    if (next === IPPROTO_HOPOPTS) bit = IP6_EXT_HOPOPTS;
    else if (next === IPPROTO_ROUTING) bit = IP6_EXT_ROUTING;
    else if (next === IPPROTO_FRAGMENT) bit = IP6_EXT_FRAGMENT;
    else if (next === IPPROTO_DSTOPTS) bit = IP6_EXT_DSTOPTS;
    else if (next === IPPROTO_AH) bit = IP6_EXT_AH;
    else if (next === IPPROTO_ESP) {
      info.ip6Extensions |= IP6_EXT_ESP;
      break; // encrypted: opaque
    }
    if (bit === 0) break;
    if (info.ip6ExtensionCount === MAX_IP6_EXTENSIONS) {
      problem(info, L_IPV6EXTENSION, P_BAD_OPTION);
      break;
    }
    if (q + 8 > info.ipEnd) {
      truncated(info, L_IPV6EXTENSION);
      info.ipProtocol = next;
      return;
    }
    found(info, L_IPV6EXTENSION);
    info.ip6Extensions |= bit;
    info.ip6ExtensionCount++;
    const len = next === IPPROTO_FRAGMENT ? 8 : next === IPPROTO_AH ? (b[q + 1]! + 2) * 4 : (b[q + 1]! + 1) * 8;
    if (next === IPPROTO_ROUTING) {
      info.ip6RoutingType = b[q + 2]!;
      info.ip6SegmentsLeft = b[q + 3]!;
      // RFC 8200 8.1: with segments left, the upper-layer checksum covers the final destination, which the
      // routing header holds: the last address of type 0, the home address of type 2, segment 0 of an SRH (4).
      if (info.ip6SegmentsLeft > 0 && q + len <= info.ipEnd) {
        const rt = info.ip6RoutingType;
        const addresses = b[q + 1]! >>> 1;
        if (rt === 0 && addresses > 0) info.ip6FinalDstOffset = q + 8 + 16 * (addresses - 1);
        else if ((rt === 2 || rt === 4) && addresses > 0) info.ip6FinalDstOffset = q + 8;
      }
    } else if (next === IPPROTO_FRAGMENT) {
      const off = read16(b, q + 2);
      info.ipFragmentOffset = off & 0xfff8;
      // An atomic fragment (offset 0, no more fragments; RFC 6946) is a whole packet.
      info.ipIsFragment = (off & 0xfff9) !== 0;
      info.ipFlags = off & 1;
      info.ipId = read32(b, q + 4);
    }
    next = b[q]!;
    if (q + len > info.ipEnd) {
      truncated(info, L_IPV6EXTENSION);
      info.ipProtocol = next;
      return;
    }
    q += len;
  }
  info.ipProtocol = next;
  info.ipHeaderLength = q - p;
  if (info.ipFragmentOffset !== 0 || (info.ip6Extensions & IP6_EXT_ESP) !== 0) return;
  decodeTransport(next, b, q, info.ipEnd, p + info.ipTotalLength - q, info);
}

function decodeTransport(
  protocol: number,
  b: Uint8Array,
  p: number,
  end: number,
  declaredLength: number,
  info: PacketInfo,
): void {
  info.l4Length = declaredLength;
  if (protocol === IPPROTO_TCP) decodeTcp(b, p, end, info);
  else if (protocol === IPPROTO_UDP) decodeUdp(b, p, end, info);
  else if (protocol === IPPROTO_ICMP) decodeIcmp(L_ICMP, b, p, end, info);
  else if (protocol === IPPROTO_ICMPV6) decodeIcmp(L_ICMPV6, b, p, end, info);
  else {
    info.payloadOffset = p;
    info.payloadLength = Math.max(0, end - p);
  }
}

function decodeTcp(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 20 > end) {
    truncated(info, L_TCP);
    return;
  }
  found(info, L_TCP);
  info.l4Offset = p;
  info.srcPort = read16(b, p);
  info.dstPort = read16(b, p + 2);
  info.tcpSeq = read32(b, p + 4);
  info.tcpAck = read32(b, p + 8);
  const off = b[p + 12]! >>> 4;
  info.tcpFlags = ((b[p + 12]! & 1) << 8) | b[p + 13]!;
  info.tcpWindow = read16(b, p + 14);
  info.l4Checksum = read16(b, p + 16);
  info.tcpUrgent = read16(b, p + 18);
  const hl = off * 4;
  info.l4HeaderLength = hl;
  if (hl < 20) {
    problem(info, L_TCP, P_BAD_HEADER_LENGTH);
    return;
  }
  if (p + hl > end) {
    truncated(info, L_TCP);
    return;
  }
  if (hl > 20 && !walkTcpOptions(b, p + 20, p + hl, info)) problem(info, L_TCP, P_BAD_OPTION);
  info.payloadOffset = p + hl;
  info.payloadLength = end - (p + hl);
}

function walkTcpOptions(b: Uint8Array, p: number, end: number, info: PacketInfo): boolean {
  while (p < end) {
    const kind = b[p]!;
    if (kind === TCPOPT_EOL) return true;
    if (kind === TCPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 2 > end) return false;
    const len = b[p + 1]!;
    if (len < 2 || p + len > end) return false;
    if (kind === TCPOPT_MSS && len === 4) info.tcpMss = read16(b, p + 2);
    else if (kind === TCPOPT_WSCALE && len === 3) info.tcpWindowScale = b[p + 2]!;
    else if (kind === TCPOPT_SACK_PERMITTED && len === 2) info.tcpSackPermitted = true;
    else if (kind === TCPOPT_SACK && (len - 2) % 8 === 0) {
      info.tcpSackBlocks = (len - 2) / 8;
      info.tcpSackOffset = p + 2;
    } else if (kind === TCPOPT_TIMESTAMP && len === 10) {
      info.tcpHasTimestamp = true;
      info.tcpTsVal = read32(b, p + 2);
      info.tcpTsEcr = read32(b, p + 6);
    }
    p += len;
  }
  return true;
}

function decodeUdp(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 8 > end) {
    truncated(info, L_UDP);
    return;
  }
  found(info, L_UDP);
  info.l4Offset = p;
  info.l4HeaderLength = 8;
  info.srcPort = read16(b, p);
  info.dstPort = read16(b, p + 2);
  info.udpLength = read16(b, p + 4);
  info.l4Checksum = read16(b, p + 6);
  if (info.udpLength < 8) {
    // Decided: length 0 in IPv6 is a jumbogram's (RFC 2675); the datagram runs to the end of the IP payload.
    if (!(info.udpLength === 0 && info.ipVersion === 6)) problem(info, L_UDP, P_BAD_LENGTH);
    info.payloadOffset = p + 8;
    info.payloadLength = end - (p + 8);
    return;
  }
  if (p + info.udpLength > end) problem(info, L_UDP, P_TRUNCATED);
  info.payloadOffset = p + 8;
  info.payloadLength = Math.min(info.udpLength, end - p) - 8;
}

function decodeIcmp(layer: Layer, b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 4 > end) {
    truncated(info, layer);
    return;
  }
  found(info, layer);
  info.l4Offset = p;
  info.icmpType = b[p]!;
  info.icmpCode = b[p + 1]!;
  info.l4Checksum = read16(b, p + 2);
  // Every ICMP and ICMPv6 message has 4 bytes after the checksum (identifier/sequence, pointer, MTU, unused).
  if (p + 8 > end) {
    info.l4HeaderLength = 4;
    truncated(info, layer);
    return;
  }
  info.l4HeaderLength = 8;
  const t = info.icmpType;
  const echo = layer === L_ICMP ? t === 0 || t === 8 : t === 128 || t === 129;
  if (echo) {
    info.icmpId = read16(b, p + 4);
    info.icmpSeq = read16(b, p + 6);
  }
  info.payloadOffset = p + 8;
  info.payloadLength = end - (p + 8);
}
