/**
 * Playing captures taken on links without Ethernet headers (raw IP, Linux cooked SLL and SLL2, BSD null and
 * loopback) into the host's Ethernet NICs. Decided: such a frame arrives as the Ethernet frame its network-layer
 * protocol calls for, as if the capture had been taken on an Ethernet link: the EtherType from the link header
 * (SLL's protocol field, the null header's address family, the IP version), the sender's MAC from SLL's link-layer
 * address when it is six bytes, and otherwise a stand-in MAC for the link's other end. What the host sends back out
 * is Ethernet, and the output capture says so.
 */
import {
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_BSD12,
  LINKTYPE_RAW_BSD14,
} from '../capture/linktype.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_ARP = 0x0806;
/** The null / loopback header's address families for IPv4 and IPv6 (IPv6's differs between BSDs). */
const AF_INET = 2;
const AF_INET6 = [10, 24, 28, 30];
/** SLL packet types: sent to us, broadcast, multicast, to someone else, sent by us. */
const SLL_BROADCAST = 1;
const SLL_MULTICAST = 2;

/** Where a frame's network-layer packet is and what Ethernet header stands for its link header. */
export class EthernetEquivalent {
  /** Offset of the network-layer packet in the frame, and its length. */
  payload = 0;
  length = 0;
  etherType = 0;
  /** The sender's MAC as upper and lower 24 bits, or -1 when the link header does not carry one. */
  sourceHigh = -1;
  sourceLow = 0;
  /** The link header said the frame went to every station (SLL broadcast or multicast). */
  broadcast = false;
}

/** True for the link types {@link toEthernet} can play into an Ethernet NIC. */
export function hasEthernetEquivalent(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD12:
    case LINKTYPE_RAW_BSD14:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}

/**
 * Reads the link header of the frame at `data[at..at+length)` (link type `linkType`) into `out`. Returns false
 * when the frame carries nothing an Ethernet NIC could indicate: a header cut short, a protocol that is not one of
 * IPv4, IPv6 or ARP (netlink messages, 802.2 frames, an unknown address family).
 */
export function toEthernet(
  linkType: number,
  data: Uint8Array,
  at: number,
  length: number,
  out: EthernetEquivalent,
): boolean {
  out.sourceHigh = -1;
  out.sourceLow = 0;
  out.broadcast = false;
  let header: number;
  let type: number;
  switch (linkType) {
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      header = 4;
      if (length < header) return false;
      // LOOP is big-endian; NULL is in the capturing host's order, told apart by which half is zero.
      const be = ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
      const le = ((data[at + 3]! << 24) | (data[at + 2]! << 16) | (data[at + 1]! << 8) | data[at]!) >>> 0;
      const family = linkType === LINKTYPE_LOOP || be <= 0xffff ? be : le;
      type = family === AF_INET ? ETHERTYPE_IPV4 : AF_INET6.includes(family) ? ETHERTYPE_IPV6 : 0;
      break;
    }
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_LINUX_SLL2: {
      const v2 = linkType === LINKTYPE_LINUX_SLL2;
      header = v2 ? 20 : 16;
      if (length < header) return false;
      type = v2 ? (data[at]! << 8) | data[at + 1]! : (data[at + 14]! << 8) | data[at + 15]!;
      const packetType = v2 ? data[at + 10]! : (data[at]! << 8) | data[at + 1]!;
      out.broadcast = packetType === SLL_BROADCAST || packetType === SLL_MULTICAST;
      const addressLength = v2 ? data[at + 11]! : (data[at + 4]! << 8) | data[at + 5]!;
      const address = at + (v2 ? 12 : 6);
      if (addressLength === 6) {
        out.sourceHigh = (data[address]! << 16) | (data[address + 1]! << 8) | data[address + 2]!;
        out.sourceLow = (data[address + 3]! << 16) | (data[address + 4]! << 8) | data[address + 5]!;
      }
      break;
    }
    default: {
      header = 0;
      if (length < 1) return false;
      const version = data[at]! >>> 4;
      if (linkType === LINKTYPE_IPV4) type = ETHERTYPE_IPV4;
      else if (linkType === LINKTYPE_IPV6) type = ETHERTYPE_IPV6;
      else type = version === 4 ? ETHERTYPE_IPV4 : version === 6 ? ETHERTYPE_IPV6 : 0;
    }
  }
  if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6 && type !== ETHERTYPE_ARP) return false;
  out.payload = at + header;
  out.length = length - header;
  out.etherType = type;
  return true;
}
