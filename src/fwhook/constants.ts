/**
 * Constants of the firewall-hook interface (ipfirewall.h, and the IPRcvBuf owner and flag values of the
 * TCP/IP driver that defines the structure), the tags its memory is charged to, and how misuse is reported.
 */
import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { CTL_CODE, FILE_DEVICE_NETWORK, FILE_WRITE_ACCESS, METHOD_BUFFERED } from '../kernel/driver.js';
import { poolTag } from '../kernel/tags.js';

/** The invalid interface index. */
export const INVALID_IF_INDEX = 0xffffffff;
/** The local interface index (packets delivered to this host). */
export const LOCAL_IF_INDEX = 0;

/** DIRECTION_E: whether the packet is being transmitted or received. */
export const IP_TRANSMIT = 0;
export const IP_RECEIVE = 1;

/** FORWARD_ACTION: what a firewall hook returns. */
export const FORWARD = 0;
export const DROP = 1;
export const ICMP_ON_DROP = 2;

/** Destination types (the hook's *pDestinationType). DEST_INVALID from a hook: the destination was rewritten. */
export const DEST_LOCAL = 0;
export const DEST_BCAST = 1;
export const DEST_SN_BCAST = 3;
export const DEST_MCAST = 5;
export const DEST_REMOTE = 8;
export const DEST_REM_BCAST = 11;
export const DEST_REM_MCAST = 13;
export const DEST_INVALID = 0xff;
export const DEST_PROMIS = 0x20;
export const DEST_BCAST_BIT = 0x01;
export const DEST_OFFNET_BIT = 0x10;
export const DEST_MCAST_BIT = 0x05;

/** IPRcvBuf.ipr_owner: who owns the buffer ipr_buffer points to. */
export const IPR_OWNER_IP = 0;
export const IPR_OWNER_ICMP = 1;
export const IPR_OWNER_UDP = 2;
export const IPR_OWNER_TCP = 3;
/** A buffer IPAllocBuff allocated for a firewall hook. */
export const IPR_OWNER_FIREWALL = 4;
export const IPR_OWNER_STACK = 5;

/** IPRcvBuf.ipr_flags */
export const IPR_FLAG_PROMISCUOUS = 0x00000001;
export const IPR_FLAG_CHECKSUM_OFFLOAD = 0x00000002;
export const IPR_FLAG_IPSEC_TRANSFORMED = 0x00000004;
export const IPR_FLAG_BUFFER_UNCHANGED = 0x00000008;
export const IPR_FLAG_LOOPBACK_PACKET = 0x00000010;

/** IPROUTEINFOCLASS */
export const IPRouteNoInformation = 0;
export const IPRouteOutgoingFirewallContext = 1;
export const IPRouteOutgoingFilterContext = 2;
export const MaxIPRouteInfoClass = 3;

/** The IP device that firewall hooks register with. */
export const DD_IP_DEVICE_NAME = '\\Device\\Ip';
/** FSCTL_IP_BASE */
export const FSCTL_IP_BASE = FILE_DEVICE_NETWORK;
/** IOCTL_IP_SET_FIREWALL_HOOK: _IP_CTL_CODE(12, METHOD_BUFFERED, FILE_WRITE_ACCESS) = 0x00128030. */
export const IOCTL_IP_SET_FIREWALL_HOOK = CTL_CODE(FSCTL_IP_BASE, 12, METHOD_BUFFERED, FILE_WRITE_ACCESS);

/** The tag the documentation tells hooks to allocate IPRcvBuf descriptors with: 'fPCT', "TCPf" in poolmon. */
export const TAG_IPRCVBUF = poolTag('fPCT');
/**
 * The tag of the buffer memory IPAllocBuff allocates: 'bPCT', "TCPb" in poolmon. Decided here (the
 * documentation does not say): TCP/IP's own memory, told apart from the descriptors so poolmon shows both.
 */
export const TAG_FIREWALL_BUFFER = poolTag('bPCT');
/** The tag of the buffers the IP layer copies a received packet into for the hooks: 'rPCT', "TCPr". Decided here. */
export const TAG_IP_RECEIVE_BUFFER = poolTag('rPCT');
/** The tag TCP/IP uses for its array of registered firewall hooks: 'mICT', "TCIm". */
export const TAG_FIREWALL_HOOKS = poolTag('mICT');

/**
 * DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 values for firewall-hook rules (wdknet rule ids, next to the
 * kernel's 0x1011.. and NDIS 5's 0x1050..).
 */
export const FirewallViolation = {
  /** IPAllocBuff on a descriptor that is not the start of an allocated nonpaged block of sizeof(IPRcvBuf). P2 address. */
  DescriptorNotFromPool: 0x1060,
  /** A hook returned something other than FORWARD, DROP or ICMP_ON_DROP. P2 the value. */
  InvalidAction: 0x1061,
  /** A hook returned FORWARD but left no packet (*pData NULL and no replacement). */
  PacketLost: 0x1062,
} as const;

/** Raises a firewall-hook rule violation. */
export function firewallViolation(rule: number, p2: number, p3: number, p4: number, reason: string): never {
  return bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, rule, p2, p3, p4, reason);
}
