/**
 * What a network driver keeps in its own "netheaders.h": IPv4, TCP and UDP header offsets and the Internet
 * checksum, working straight on packet bytes in simulated memory (a `Uint8Array` view from `bytesAt`). Nothing
 * here allocates: the drivers call these once per packet on their hot path.
 */

/** IP protocol numbers (RFC 790 / IANA). */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;

/** Offsets in an IPv4 header. */
export const IPV4_TTL = 8;
/** Offset of the protocol byte. */
export const IPV4_PROTOCOL = 9;
/** Offset of the header checksum. */
export const IPV4_CHECKSUM = 10;
/** Offset of the source address. */
export const IPV4_SOURCE = 12;
/** Offset of the destination address. */
export const IPV4_DESTINATION = 16;
/** Offsets in a TCP or UDP header (ports are where both keep them). */
export const L4_SOURCE_PORT = 0;
/** Offset of the destination port. */
export const L4_DESTINATION_PORT = 2;
/** Offset of the UDP length. */
export const UDP_LENGTH = 4;
/** Offset of the UDP checksum. */
export const UDP_CHECKSUM = 6;
/** Offset of the TCP checksum. */
export const TCP_CHECKSUM = 16;
/** Smallest headers. */
export const IPV4_MIN_HEADER = 20;
/** Bytes of a UDP header. */
export const UDP_HEADER = 8;
/** Bytes of a TCP header without options. */
export const TCP_MIN_HEADER = 20;

/** Big-endian 16-bit read. */
export function read16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** Big-endian 16-bit write. */
export function write16(b: Uint8Array, at: number, value: number): void {
  b[at] = (value >>> 8) & 0xff;
  b[at + 1] = value & 0xff;
}

/** Big-endian 32-bit read, as an unsigned number. */
export function read32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Big-endian 32-bit write. */
export function write32(b: Uint8Array, at: number, value: number): void {
  b[at] = (value >>> 24) & 0xff;
  b[at + 1] = (value >>> 16) & 0xff;
  b[at + 2] = (value >>> 8) & 0xff;
  b[at + 3] = value & 0xff;
}

/** True when `b[0..]` starts with a plausible IPv4 header (version 4, IHL >= 5, lengths inside `b`). */
export function isIpv4(b: Uint8Array): boolean {
  if (b.length < IPV4_MIN_HEADER || b[0]! >>> 4 !== 4) return false;
  const ihl = ipv4HeaderLength(b);
  return ihl >= IPV4_MIN_HEADER && ihl <= b.length;
}

/** IPv4 header length in bytes (IHL * 4). */
export function ipv4HeaderLength(b: Uint8Array): number {
  return (b[0]! & 0x0f) << 2;
}

/** IPv4 Total Length. */
export function ipv4TotalLength(b: Uint8Array): number {
  return read16(b, 2);
}

/** True when the datagram is a later fragment (offset != 0): it carries no transport header. */
export function isLaterFragment(b: Uint8Array): boolean {
  return (read16(b, 6) & 0x1fff) !== 0;
}

/** Ones'-complement sum of `length` bytes of `b` from `at`, folded to 16 bits, added to `sum`. */
export function onesSum(b: Uint8Array, at: number, length: number, sum: number): number {
  const end = at + length;
  let i = at;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Recomputes the IPv4 header checksum of the header at `b[0..]`. */
export function fixIpv4Checksum(b: Uint8Array): void {
  write16(b, IPV4_CHECKSUM, 0);
  write16(b, IPV4_CHECKSUM, ~onesSum(b, 0, ipv4HeaderLength(b), 0) & 0xffff);
}

/** True when the IPv4 header checksum at `b[0..]` verifies. */
export function ipv4ChecksumOk(b: Uint8Array): boolean {
  return onesSum(b, 0, ipv4HeaderLength(b), 0) === 0xffff;
}

/**
 * Recomputes the TCP or UDP checksum of the IPv4 datagram at `b[0..]` (pseudo-header + segment). A UDP checksum
 * that comes out 0 is sent as 0xFFFF (RFC 768); a UDP datagram that had no checksum (0) keeps none.
 */
export function fixTransportChecksum(b: Uint8Array): void {
  const ihl = ipv4HeaderLength(b);
  const protocol = b[IPV4_PROTOCOL]!;
  const segment = ipv4TotalLength(b) - ihl;
  const field = protocol === IPPROTO_TCP ? TCP_CHECKSUM : protocol === IPPROTO_UDP ? UDP_CHECKSUM : -1;
  if (field < 0 || segment < field + 2) return;
  if (protocol === IPPROTO_UDP && read16(b, ihl + UDP_CHECKSUM) === 0) return;
  write16(b, ihl + field, 0);
  let sum = onesSum(b, IPV4_SOURCE, 8, 0);
  sum += protocol + segment;
  sum = onesSum(b, ihl, segment, sum);
  let checksum = ~sum & 0xffff;
  if (checksum === 0 && protocol === IPPROTO_UDP) checksum = 0xffff;
  write16(b, ihl + field, checksum);
}

/** True when the TCP or UDP checksum of the IPv4 datagram at `b[0..]` verifies (a UDP checksum of 0 is none). */
export function transportChecksumOk(b: Uint8Array): boolean {
  const ihl = ipv4HeaderLength(b);
  const protocol = b[IPV4_PROTOCOL]!;
  const segment = ipv4TotalLength(b) - ihl;
  if (protocol === IPPROTO_UDP && read16(b, ihl + UDP_CHECKSUM) === 0) return true;
  let sum = onesSum(b, IPV4_SOURCE, 8, 0);
  sum += protocol + segment;
  return onesSum(b, ihl, segment, sum) === 0xffff;
}

/**
 * Incremental checksum update (RFC 1624, eqn. 3): the checksum field value after one 16-bit word covered by it
 * changes from `oldWord` to `newWord`. Lets a driver fix a TCP/UDP checksum without touching the payload.
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Rewrites a 32-bit address at `b[at]` and a 16-bit port at `b[portAt]` of an IPv4 datagram and fixes the UDP or
 * TCP checksum at `b[checksumAt]` incrementally (a UDP checksum of 0, "none", stays 0). The caller fixes the IP
 * header checksum (see {@link fixIpv4Checksum}).
 */
export function rewriteAddressAndPort(
  b: Uint8Array,
  at: number,
  address: number,
  portAt: number,
  port: number,
  checksumAt: number,
  udp: boolean,
): void {
  let checksum = read16(b, checksumAt);
  const keep = udp && checksum === 0;
  checksum = updateChecksum(checksum, read16(b, at), address >>> 16);
  checksum = updateChecksum(checksum, read16(b, at + 2), address & 0xffff);
  checksum = updateChecksum(checksum, read16(b, portAt), port);
  write32(b, at, address);
  write16(b, portAt, port);
  if (!keep) write16(b, checksumAt, udp && checksum === 0 ? 0xffff : checksum);
}
