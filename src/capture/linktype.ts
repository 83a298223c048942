/** Link-layer header types (LINKTYPE_* values as they appear in pcap and pcapng files). */

/** BSD loopback: a 4-byte address family in the byte order of the host that wrote it. */
export const LINKTYPE_NULL = 0;
/** Ethernet (10 Mb and up). */
export const LINKTYPE_ETHERNET = 1;
/** Raw IP on some BSDs (DLT_RAW is 12 on them). */
export const LINKTYPE_RAW_BSD12 = 12;
/** Raw IP on some other BSDs (DLT_RAW is 14 on them). */
export const LINKTYPE_RAW_BSD14 = 14;
/** Raw IPv4 or IPv6, told apart by the version nibble. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: a 4-byte address family in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Linux "cooked" capture, version 1 (16-byte header). */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6 only. */
export const LINKTYPE_IPV6 = 229;
/** Linux "cooked" capture, version 2 (20-byte header). */
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * Link types whose frames this project decodes. Any other type is carried as an opaque frame: read, kept and
 * written back unchanged.
 */
export function isDecodedLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_RAW_BSD12:
    case LINKTYPE_RAW_BSD14:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}

const NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'ETHERNET',
  12: 'RAW',
  14: 'RAW',
  101: 'RAW',
  105: 'IEEE802_11',
  108: 'LOOP',
  113: 'LINUX_SLL',
  127: 'IEEE802_11_RADIOTAP',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

/** A short name for a link type (`ETHERNET`, `LINUX_SLL`, ...) or `LINKTYPE_<n>` when it has none here. */
export function linkTypeName(linkType: number): string {
  return NAMES[linkType] ?? `LINKTYPE_${linkType}`;
}
