/** Verifying and filling in the checksums of a decoded packet (IPv4 header, TCP, UDP, ICMP, ICMPv6). */
import {
  finishChecksum,
  foldSum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  read16,
  sumWords,
  write16,
} from './checksum.js';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';
import { Layer, type PacketInfo } from './packet-info.js';

/** The checksum does not match. (Values as Wireshark numbers its checksum status.) */
export const CHECKSUM_BAD = 0;
/** The checksum matches. */
export const CHECKSUM_GOOD = 1;
/** The checksum cannot be checked (data not all captured, a non-first fragment, no such layer). */
export const CHECKSUM_UNVERIFIED = 2;
/** The sender did not compute one (UDP over IPv4 with checksum 0). */
export const CHECKSUM_NOT_PRESENT = 3;

/** Status of the IPv4 header checksum of a decoded packet. */
export function ipv4ChecksumStatus(bytes: Uint8Array, info: PacketInfo): number {
  if (!info.has(Layer.Ipv4) || info.ipHeaderLength < 20) return CHECKSUM_UNVERIFIED;
  if (info.l3Offset + info.ipHeaderLength > info.frameEnd) return CHECKSUM_UNVERIFIED;
  return foldSum(sumWords(bytes, info.l3Offset, info.ipHeaderLength)) === 0xffff ? CHECKSUM_GOOD : CHECKSUM_BAD;
}

/**
 * The sum of the pseudo-header and the whole transport segment, or -1 when the segment is not all captured.
 * Shared by verification and computation.
 */
function transportSum(bytes: Uint8Array, info: PacketInfo): number {
  const protocol = info.ipProtocol;
  const p = info.l4Offset;
  if (p < 0 || info.ipIsFragment) return -1;
  let length = info.l4Length;
  if (protocol === IPPROTO_UDP && info.udpLength >= 8) length = info.udpLength;
  if (length < info.l4HeaderLength || p + length > info.frameEnd) return -1;
  let sum = 0;
  if (info.ipVersion === 4) {
    if (protocol === IPPROTO_TCP || protocol === IPPROTO_UDP) {
      sum = pseudoHeaderSumV4(info.ipSrc, info.ipDst, protocol, length);
    }
  } else if (protocol === IPPROTO_TCP || protocol === IPPROTO_UDP || protocol === IPPROTO_ICMPV6) {
    const dst = info.ip6FinalDstOffset >= 0 ? info.ip6FinalDstOffset : info.ipDstOffset;
    sum = pseudoHeaderSumV6(bytes, info.ipSrcOffset, dst, protocol, length);
  }
  return sumWords(bytes, p, length, sum);
}

/** Status of the TCP / UDP / ICMP / ICMPv6 checksum of a decoded packet. */
export function transportChecksumStatus(bytes: Uint8Array, info: PacketInfo): number {
  if (info.l4Offset < 0) return CHECKSUM_UNVERIFIED;
  if (info.has(Layer.Udp) && info.ipVersion === 4 && info.l4Checksum === 0) return CHECKSUM_NOT_PRESENT;
  const sum = transportSum(bytes, info);
  if (sum < 0) return CHECKSUM_UNVERIFIED;
  return foldSum(sum) === 0xffff ? CHECKSUM_GOOD : CHECKSUM_BAD;
}

/** Offset of the checksum field of the transport header, or -1. */
function checksumFieldOffset(info: PacketInfo): number {
  if (info.has(Layer.Tcp)) return info.l4Offset + 16;
  if (info.has(Layer.Udp)) return info.l4Offset + 6;
  if (info.has(Layer.Icmp) || info.has(Layer.Icmpv6)) return info.l4Offset + 2;
  return -1;
}

/**
 * Computes and writes the IPv4 header checksum and the transport checksum of a decoded packet in place (what a
 * NIC does for checksum offload). Returns false when the transport segment is not all present.
 */
export function fillChecksums(bytes: Uint8Array, info: PacketInfo): boolean {
  if (info.has(Layer.Ipv4) && info.l3Offset + info.ipHeaderLength <= info.frameEnd) {
    write16(bytes, info.l3Offset + 10, 0);
    write16(bytes, info.l3Offset + 10, finishChecksum(sumWords(bytes, info.l3Offset, info.ipHeaderLength)));
    info.ipChecksum = read16(bytes, info.l3Offset + 10);
  }
  const field = checksumFieldOffset(info);
  if (field < 0) return true;
  write16(bytes, field, 0);
  const sum = transportSum(bytes, info);
  if (sum < 0) return false;
  let c = finishChecksum(sum);
  // A computed UDP checksum of 0 is sent as all ones (0 means "none" over IPv4, RFC 768).
  if (c === 0 && info.has(Layer.Udp)) c = 0xffff;
  write16(bytes, field, c);
  info.l4Checksum = c;
  return true;
}
