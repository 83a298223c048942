/** Protocol numbers used by the codecs. */

/** EtherType: IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType: ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType: 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** EtherType: 802.1ad service VLAN tag (QinQ outer tag). */
export const ETHERTYPE_QINQ = 0x88a8;
/** EtherType: IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Ethernet type/length values below this are 802.3 lengths (the frame carries LLC). */
export const ETHERTYPE_MIN = 0x0600;

/** IP protocol: IPv6 hop-by-hop options. */
export const IPPROTO_HOPOPTS = 0;
/** IP protocol: ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol: TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol: UDP. */
export const IPPROTO_UDP = 17;
/** IP protocol: IPv6 routing header. */
export const IPPROTO_ROUTING = 43;
/** IP protocol: IPv6 fragment header. */
export const IPPROTO_FRAGMENT = 44;
/** IP protocol: ESP. */
export const IPPROTO_ESP = 50;
/** IP protocol: AH. */
export const IPPROTO_AH = 51;
/** IP protocol: ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IP protocol: no next header. */
export const IPPROTO_NONE = 59;
/** IP protocol: IPv6 destination options. */
export const IPPROTO_DSTOPTS = 60;

/** TCP flag bits (the low 9 bits of the flags field: NS CWR ECE URG ACK PSH RST SYN FIN). */
export const TCP_FIN = 0x01;
/** SYN. */
export const TCP_SYN = 0x02;
/** RST. */
export const TCP_RST = 0x04;
/** PSH. */
export const TCP_PSH = 0x08;
/** ACK. */
export const TCP_ACK = 0x10;
/** URG. */
export const TCP_URG = 0x20;
/** ECE. */
export const TCP_ECE = 0x40;
/** CWR. */
export const TCP_CWR = 0x80;
/** NS (accurate ECN). */
export const TCP_NS = 0x100;

/** TCP option kinds. */
export const TCPOPT_EOL = 0;
/** No operation. */
export const TCPOPT_NOP = 1;
/** Maximum segment size. */
export const TCPOPT_MSS = 2;
/** Window scale. */
export const TCPOPT_WSCALE = 3;
/** SACK permitted. */
export const TCPOPT_SACK_PERMITTED = 4;
/** SACK blocks. */
export const TCPOPT_SACK = 5;
/** Timestamps. */
export const TCPOPT_TIMESTAMP = 8;
