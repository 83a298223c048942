/**
 * Header layouts the IP layer reads and writes in place (offsets from the start of each header), and the small
 * big-endian accessors over simulated memory it uses on the per-packet path. Values are the RFCs' and IANA's.
 */
import { ARENA_BASE, memory, memoryView, moveWithinArena } from '../kernel/arena.js';

// The numbers the packet layer already names (IANA EtherTypes, IP protocols, TCP flags).
export {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_ACK as TCP_ACK_FLAG,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from '../packet/constants.js';

export const ETH_HEADER = 14;
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;

export const IPV4_HEADER = 20;
export const IPV4_TOTAL_LENGTH = 2;
export const IPV4_ID = 4;
export const IPV4_FRAGMENT = 6;
export const IPV4_TTL = 8;
export const IPV4_PROTOCOL = 9;
export const IPV4_CHECKSUM = 10;
export const IPV4_SOURCE = 12;
export const IPV4_DESTINATION = 16;
/** The More Fragments flag and the fragment offset mask, in the 16-bit flags/offset word. */
export const IPV4_MF = 0x2000;
export const IPV4_DF = 0x4000;
export const IPV4_OFFSET_MASK = 0x1fff;

export const IPV6_HEADER = 40;
export const IPV6_PAYLOAD_LENGTH = 4;
export const IPV6_NEXT_HEADER = 6;
export const IPV6_HOP_LIMIT = 7;
export const IPV6_SOURCE = 8;
export const IPV6_DESTINATION = 24;

export const UDP_HEADER = 8;
export const UDP_LENGTH = 4;
export const UDP_CHECKSUM = 6;
export const TCP_MIN_HEADER = 20;
export const TCP_SEQ = 4;
export const TCP_ACK = 8;
export const TCP_OFFSET = 12;
export const TCP_FLAGS = 13;
export const TCP_WINDOW = 14;
export const TCP_CHECKSUM = 16;

export const ICMP_HEADER = 8;
export const ICMP_CHECKSUM = 2;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP_NET_UNREACH = 0;
export const ICMP_PROTO_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_HOST_UNREACH = 1;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_ROUTER_SOLICIT = 133;
export const ICMPV6_ROUTER_ADVERT = 134;
export const ICMPV6_NEIGHBOR_SOLICIT = 135;
export const ICMPV6_NEIGHBOR_ADVERT = 136;
export const ICMPV6_NO_ROUTE = 0;
export const ICMPV6_PORT_UNREACH = 4;
export const ICMPV6_UNKNOWN_NEXT_HEADER = 1;
export const ICMPV6_ADDR_UNREACH = 3;

export const ARP_PACKET = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** Byte at `va`. */
export function get8(va: number): number {
  return memory[va - ARENA_BASE]!;
}

/** Big-endian 16-bit value at `va` (the packet layer's reader, over simulated memory). */
export function get16(va: number): number {
  // One DataView load (V8 compiles it to a load and a byte swap) rather than two byte loads: the data path reads
  // header fields on every packet.
  return memoryView.getUint16(va - ARENA_BASE);
}

/** Big-endian 32-bit value at `va`, unsigned. */
export function get32(va: number): number {
  return memoryView.getUint32(va - ARENA_BASE);
}

/** Writes a byte at `va`. */
export function put8(va: number, value: number): void {
  memory[va - ARENA_BASE] = value;
}

/** Writes a big-endian 16-bit value at `va`. */
export function put16(va: number, value: number): void {
  memoryView.setUint16(va - ARENA_BASE, value);
}

/** Writes a big-endian 32-bit value at `va`. */
export function put32(va: number, value: number): void {
  memoryView.setUint32(va - ARENA_BASE, value);
}

/** Copies `length` bytes between simulated addresses (ranges may overlap). */
export function move(dst: number, src: number, length: number): void {
  if (length > 0) moveWithinArena(dst - ARENA_BASE, src - ARENA_BASE, length);
}
