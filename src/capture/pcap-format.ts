/** Constants of the classic libpcap file format. */

/** Magic number of a pcap file with microsecond timestamps, as read in the writer's byte order. */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
/** Magic number of a pcap file with nanosecond timestamps. */
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
/** Magic number of the "modified" (Kuznetzov) pcap format: microseconds, 24-byte record headers. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
/** Major version written and accepted. */
export const PCAP_VERSION_MAJOR = 2;
/** Minor version written; minors up to it are accepted (as libpcap does). */
export const PCAP_VERSION_MINOR = 4;
/** Size of the file header. */
export const PCAP_FILE_HEADER_SIZE = 24;
/** Size of a record header. */
export const PCAP_RECORD_HEADER_SIZE = 16;
/** Size of a record header in the modified format. */
export const PCAP_MODIFIED_RECORD_HEADER_SIZE = 24;
/** Bits of the link-type field that must be zero (16..25); 26..31 carry FCS information. */
export const PCAP_LINKTYPE_RESERVED_MASK = 0x03ff0000;
/** Bits of the link-type field that hold the link type itself. */
export const PCAP_LINKTYPE_MASK = 0x0000ffff;

/** The decoded file header of a pcap file. */
export interface PcapHeader {
  /** Magic in the writer's order: {@link PCAP_MAGIC_MICROSECONDS}, ..._NANOSECONDS or ..._MODIFIED. */
  magic: number;
  /** True when the file was written big-endian. */
  bigEndian: boolean;
  /** True when timestamps are in nanoseconds. */
  nanoseconds: boolean;
  /** Format version. */
  versionMajor: number;
  /** Format version. */
  versionMinor: number;
  /** GMT-to-local correction field (always 0 in practice). */
  thiszone: number;
  /** Accuracy field (always 0 in practice). */
  sigfigs: number;
  /** Snapshot length. */
  snaplen: number;
  /** Link type (LINKTYPE_*), the low 16 bits of the field. */
  linkType: number;
  /** The whole link-type field, FCS bits included (written back unchanged). */
  linkTypeField: number;
}
