/** The non-packet blocks of a pcapng file, as the reader reports them. */
import type { PcapngOption } from './pcapng-options.js';

/** What every reported block carries. */
export interface PcapngBlockBase {
  /** Block type. */
  type: number;
  /** File offset of the block. */
  fileOffset: number;
  /** Byte order of the section the block is in. */
  bigEndian: boolean;
  /** The block body as stored (a copy of the bytes between the two length fields). */
  body: Uint8Array;
}

/** A Section Header Block: starts a section; interfaces are numbered afresh in each. */
export interface SectionHeader extends PcapngBlockBase {
  kind: 'shb';
  /** Format version. */
  versionMajor: number;
  /** Format version. */
  versionMinor: number;
  /** Section length field (-1 when not given). */
  sectionLength: bigint;
  /** Options (shb_hardware, shb_os, shb_userappl, opt_comment, ...). */
  options: PcapngOption[];
}

/** An Interface Description Block. */
export interface InterfaceDescription extends PcapngBlockBase {
  kind: 'idb';
  /** Interface index within its section. */
  interfaceId: number;
  /** Link type (LINKTYPE_*). */
  linkType: number;
  /** Snapshot length (0: none). */
  snaplen: number;
  /** Timestamp units per second, from if_tsresol (default 1 000 000). */
  unitsPerSecond: number;
  /** Seconds added to timestamps, from if_tsoffset (default 0). */
  tsOffset: number;
  /** FCS length in bytes from if_fcslen, or -1 when not given. */
  fcsLength: number;
  /** if_name, or '' when not given. */
  name: string;
  /** Options. */
  options: PcapngOption[];
}

/** A Name Resolution Block record. */
export interface NameRecord {
  /** 1 IPv4, 2 IPv6, other values kept as given. */
  type: number;
  /** Address as text (dotted / colon-hex) for types 1 and 2. */
  address: string;
  /** Names given for the address. */
  names: string[];
  /** The record value as stored. */
  raw: Uint8Array;
}

/** A Name Resolution Block. */
export interface NameResolution extends PcapngBlockBase {
  kind: 'nrb';
  /** Its records. */
  records: NameRecord[];
  /** Options (ns_dnsname, ...). */
  options: PcapngOption[];
}

/** An Interface Statistics Block. */
export interface InterfaceStatistics extends PcapngBlockBase {
  kind: 'isb';
  /** Interface index. */
  interfaceId: number;
  /** Timestamp (interface units), high 32 bits. */
  tsHigh: number;
  /** Timestamp, low 32 bits. */
  tsLow: number;
  /** Options (isb_ifrecv, isb_ifdrop, ...). */
  options: PcapngOption[];
}

/** Any other block (Decryption Secrets, custom, systemd journal, unknown types): kept, not interpreted. */
export interface OtherBlock extends PcapngBlockBase {
  kind: 'other';
}

/** A non-packet block of a pcapng file. */
export type PcapngBlock = SectionHeader | InterfaceDescription | NameResolution | InterfaceStatistics | OtherBlock;
