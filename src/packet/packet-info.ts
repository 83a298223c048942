/** The reusable result of decoding a frame: numeric fields only, so decoding allocates nothing. */

/** Layer ids (decode.ts mirrors these values), used in {@link PacketInfo.layers} (as bits `1 << id`) and to say where a problem is. */
export enum Layer {
  None = 0,
  Link = 1,
  Vlan = 2,
  Llc = 3,
  Arp = 4,
  Ipv4 = 5,
  Ipv6 = 6,
  Ipv6Extension = 7,
  Tcp = 8,
  Udp = 9,
  Icmp = 10,
  Icmpv6 = 11,
}

/** Names of {@link Layer} values. */
export const LAYER_NAMES = [
  'none',
  'link',
  'vlan',
  'llc',
  'arp',
  'ipv4',
  'ipv6',
  'ipv6-extension',
  'tcp',
  'udp',
  'icmp',
  'icmpv6',
] as const;

/** What can be wrong with a layer. */
export enum Problem {
  None = 0,
  /** The capture ends inside the header (or inside the length the header announces). */
  Truncated = 1,
  /** IP version nibble does not match the link's protocol. */
  BadVersion = 2,
  /** Header length field below the minimum (IPv4 IHL < 5, TCP data offset < 5). */
  BadHeaderLength = 3,
  /** Total / payload / UDP length smaller than the header. */
  BadLength = 4,
  /** An option with a bad length (IPv4, TCP, IPv6 extension). */
  BadOption = 5,
  /** The link type is not one this codec decodes. */
  UnknownLinkType = 6,
}

/** Text for {@link Problem} values. */
export const PROBLEM_TEXT = [
  'ok',
  'truncated',
  'bad version',
  'bad header length',
  'bad length',
  'bad option',
  'link type not decoded',
] as const;

/** Bits of {@link PacketInfo.ip6Extensions}. */
export const IP6_EXT_HOPOPTS = 1;
/** Routing header seen. */
export const IP6_EXT_ROUTING = 2;
/** Fragment header seen. */
export const IP6_EXT_FRAGMENT = 4;
/** Destination options seen. */
export const IP6_EXT_DSTOPTS = 8;
/** Authentication header seen. */
export const IP6_EXT_AH = 16;
/** ESP seen (its contents are opaque). */
export const IP6_EXT_ESP = 32;

/**
 * A decoded frame. Offsets index the decoded Uint8Array; -1 means "not present". Reset by every decode.
 */
export class PacketInfo {
  /** Bit set of the layers found (`1 << Layer.X`). */
  layers = 0;
  /** The innermost layer decoded. */
  lastLayer = Layer.None;
  /** The first problem found, and its layer (decoding stops there, or continues as far as it can). */
  problem = Problem.None;
  /** Layer of {@link problem}. */
  problemLayer = Layer.None;

  /** Link type the frame was decoded as. */
  linkType = 0;
  /** Offset of the frame start, and end (offset + captured length). */
  frameOffset = 0;
  /** One past the last captured byte. */
  frameEnd = 0;

  /** Ethernet destination MAC offset (-1 when no Ethernet header). */
  ethDstOffset = -1;
  /** Ethernet source MAC offset. */
  ethSrcOffset = -1;
  /** The EtherType carried (after VLAN tags and SNAP), or the link's protocol for cooked/null/raw links. */
  etherType = 0;
  /** 802.3 length field when the frame is 802.3/LLC (else -1). */
  ethLength = -1;
  /** Number of VLAN tags. */
  vlanCount = 0;
  /** Outer tag TPID (0x8100 or 0x88a8) and TCI. */
  vlanTpid0 = 0;
  /** Outer tag TCI (PCP 3 bits, DEI 1, VID 12). */
  vlanTci0 = 0;
  /** Inner tag TCI (QinQ). */
  vlanTci1 = 0;
  /** LLC DSAP / SSAP / control (-1 when not LLC). */
  llcDsap = -1;
  /** LLC SSAP. */
  llcSsap = -1;
  /** LLC control. */
  llcControl = -1;
  /** SNAP OUI (-1 when not SNAP). */
  snapOui = -1;
  /** Linux cooked packet type (SLL/SLL2), -1 otherwise. */
  sllPacketType = -1;
  /** Null/loopback address family, -1 otherwise. */
  loopbackFamily = -1;

  /** ARP operation (1 request, 2 reply), -1 when not ARP. */
  arpOp = -1;
  /** ARP hardware type, protocol type, and address lengths. */
  arpHardwareType = 0;
  /** ARP protocol type. */
  arpProtocolType = 0;
  /** ARP hardware address length. */
  arpHardwareLength = 0;
  /** ARP protocol address length. */
  arpProtocolLength = 0;
  /** Offsets of the sender/target hardware and protocol addresses. */
  arpShaOffset = -1;
  /** Sender protocol address offset. */
  arpSpaOffset = -1;
  /** Target hardware address offset. */
  arpThaOffset = -1;
  /** Target protocol address offset. */
  arpTpaOffset = -1;

  /** Offset of the IP header (-1 when none). */
  l3Offset = -1;
  /** IP version (4 or 6; 0 when no IP). */
  ipVersion = 0;
  /** IPv4 header length in bytes / IPv6 40 plus extension headers. */
  ipHeaderLength = 0;
  /** IPv4 total length / IPv6 40 + payload length (as the header says). */
  ipTotalLength = 0;
  /** TTL / hop limit. */
  ipTtl = 0;
  /** The upper-layer protocol (after IPv6 extension headers). */
  ipProtocol = -1;
  /** IPv4 identification / IPv6 fragment identification. */
  ipId = 0;
  /** IPv4 DSCP+ECN byte / IPv6 traffic class. */
  ipTos = 0;
  /** IPv4 flags (3 bits: reserved, DF, MF). */
  ipFlags = 0;
  /** Fragment offset in bytes (IPv4 or the IPv6 fragment header). */
  ipFragmentOffset = 0;
  /** True when more fragments follow, or the offset is not 0. */
  ipIsFragment = false;
  /** IPv4 header checksum field. */
  ipChecksum = 0;
  /** IPv4 source / destination as uint32 numbers. */
  ipSrc = 0;
  /** IPv4 destination. */
  ipDst = 0;
  /** Offsets of the source / destination addresses (4 or 16 bytes). */
  ipSrcOffset = -1;
  /** Destination address offset. */
  ipDstOffset = -1;
  /** IPv4 options length in bytes, and count. */
  ipOptionsLength = 0;
  /** Number of IPv4 options (NOPs included, EOL not). */
  ipOptionCount = 0;
  /** IPv6 flow label. */
  ip6FlowLabel = 0;
  /** The next-header field of the fixed IPv6 header. */
  ip6NextHeader = -1;
  /** Bit set of the IPv6 extension headers seen (IP6_EXT_*). */
  ip6Extensions = 0;
  /** Number of IPv6 extension headers. */
  ip6ExtensionCount = 0;
  /** Routing header type and segments left (-1 when none). */
  ip6RoutingType = -1;
  /** Segments left. */
  ip6SegmentsLeft = -1;
  /**
   * Offset of the destination the upper-layer checksum covers: the IPv6 routing header's final destination when
   * segments are left, else the header's destination (-1 when no IP).
   */
  ip6FinalDstOffset = -1;
  /** One past the end of the IP packet in the buffer (bounded by the capture). */
  ipEnd = 0;

  /** Offset of the transport header (-1 when none). */
  l4Offset = -1;
  /** Transport header length. */
  l4HeaderLength = 0;
  /** Transport length as the IP header says (header + data). */
  l4Length = 0;
  /** Source / destination port (TCP, UDP). */
  srcPort = -1;
  /** Destination port. */
  dstPort = -1;
  /** TCP sequence and acknowledgment numbers. */
  tcpSeq = 0;
  /** Acknowledgment number. */
  tcpAck = 0;
  /** TCP flags (9 bits, TCP_* constants). */
  tcpFlags = 0;
  /** TCP window (unscaled). */
  tcpWindow = 0;
  /** TCP urgent pointer. */
  tcpUrgent = 0;
  /** Transport checksum field (TCP, UDP, ICMP, ICMPv6). */
  l4Checksum = 0;
  /** TCP MSS option (-1 when absent). */
  tcpMss = -1;
  /** TCP window-scale shift (-1 when absent). */
  tcpWindowScale = -1;
  /** TCP SACK-permitted option present. */
  tcpSackPermitted = false;
  /** Number of SACK blocks, and the offset of the first. */
  tcpSackBlocks = 0;
  /** Offset of the first SACK block (-1 when none). */
  tcpSackOffset = -1;
  /** TCP timestamp option present, and its values. */
  tcpHasTimestamp = false;
  /** TSval. */
  tcpTsVal = 0;
  /** TSecr. */
  tcpTsEcr = 0;
  /** UDP length field. */
  udpLength = 0;
  /** ICMP / ICMPv6 type and code (-1 when none). */
  icmpType = -1;
  /** ICMP code. */
  icmpCode = -1;
  /** ICMP echo identifier and sequence (echo request/reply only). */
  icmpId = -1;
  /** Echo sequence. */
  icmpSeq = -1;

  /** Offset and length of the application payload (bounded by the capture). */
  payloadOffset = -1;
  /** Payload length. */
  payloadLength = 0;

  /** True when layer `layer` was found. */
  has(layer: Layer): boolean {
    return (this.layers & (1 << layer)) !== 0;
  }

  /** Clears every field for a new decode. */
  reset(): void {
    this.layers = 0;
    this.lastLayer = Layer.None;
    this.problem = Problem.None;
    this.problemLayer = Layer.None;
    this.ethDstOffset = -1;
    this.ethSrcOffset = -1;
    this.etherType = 0;
    this.ethLength = -1;
    this.vlanCount = 0;
    this.vlanTpid0 = 0;
    this.vlanTci0 = 0;
    this.vlanTci1 = 0;
    this.llcDsap = -1;
    this.llcSsap = -1;
    this.llcControl = -1;
    this.snapOui = -1;
    this.sllPacketType = -1;
    this.loopbackFamily = -1;
    this.arpOp = -1;
    this.arpShaOffset = this.arpSpaOffset = this.arpThaOffset = this.arpTpaOffset = -1;
    this.l3Offset = -1;
    this.ipVersion = 0;
    this.ipHeaderLength = 0;
    this.ipTotalLength = 0;
    this.ipTtl = 0;
    this.ipProtocol = -1;
    this.ipId = 0;
    this.ipTos = 0;
    this.ipFlags = 0;
    this.ipFragmentOffset = 0;
    this.ipIsFragment = false;
    this.ipChecksum = 0;
    this.ipSrc = 0;
    this.ipDst = 0;
    this.ipSrcOffset = -1;
    this.ipDstOffset = -1;
    this.ipOptionsLength = 0;
    this.ipOptionCount = 0;
    this.ip6FlowLabel = 0;
    this.ip6NextHeader = -1;
    this.ip6Extensions = 0;
    this.ip6ExtensionCount = 0;
    this.ip6RoutingType = -1;
    this.ip6SegmentsLeft = -1;
    this.ip6FinalDstOffset = -1;
    this.ipEnd = 0;
    this.l4Offset = -1;
    this.l4HeaderLength = 0;
    this.l4Length = 0;
    this.srcPort = -1;
    this.dstPort = -1;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpFlags = 0;
    this.tcpWindow = 0;
    this.tcpUrgent = 0;
    this.l4Checksum = 0;
    this.tcpMss = -1;
    this.tcpWindowScale = -1;
    this.tcpSackPermitted = false;
    this.tcpSackBlocks = 0;
    this.tcpSackOffset = -1;
    this.tcpHasTimestamp = false;
    this.tcpTsVal = 0;
    this.tcpTsEcr = 0;
    this.udpLength = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = -1;
    this.icmpSeq = -1;
    this.payloadOffset = -1;
    this.payloadLength = 0;
  }
}
