/** Constants of the pcapng format: block types, option codes and how each option's value is encoded. */

/** Section Header Block. */
export const BT_SHB = 0x0a0d0d0a;
/** Interface Description Block. */
export const BT_IDB = 0x00000001;
/** Packet Block (obsolete). */
export const BT_PB = 0x00000002;
/** Simple Packet Block. */
export const BT_SPB = 0x00000003;
/** Name Resolution Block. */
export const BT_NRB = 0x00000004;
/** Interface Statistics Block. */
export const BT_ISB = 0x00000005;
/** Enhanced Packet Block. */
export const BT_EPB = 0x00000006;
/** Decryption Secrets Block. */
export const BT_DSB = 0x0000000a;
/** Byte-order magic of the SHB as written by the file's writer. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Major version accepted and written. */
export const PCAPNG_VERSION_MAJOR = 1;
/** Minor version written (minor 2 is also read, as libpcap does). */
export const PCAPNG_VERSION_MINOR = 0;

/** opt_endofopt: ends the option list. */
export const OPT_ENDOFOPT = 0;
/** opt_comment: UTF-8 comment, any block. */
export const OPT_COMMENT = 1;
/** shb_hardware. */
export const SHB_HARDWARE = 2;
/** shb_os. */
export const SHB_OS = 3;
/** shb_userappl. */
export const SHB_USERAPPL = 4;
/** if_name. */
export const IF_NAME = 2;
/** if_description. */
export const IF_DESCRIPTION = 3;
/** if_snaplen is not an option (the IDB has a field); if_tsresol: timestamp resolution. */
export const IF_TSRESOL = 9;
/** if_fcslen: FCS length. */
export const IF_FCSLEN = 13;
/** if_tsoffset: seconds added to every timestamp of the interface. */
export const IF_TSOFFSET = 14;
/** epb_flags: direction, reception type, FCS length, link-layer errors. */
export const EPB_FLAGS = 2;
/** epb_dropcount. */
export const EPB_DROPCOUNT = 4;

/** How an option's value is encoded. */
export type OptionKind = 'string' | 'bytes' | 'u8' | 'u32' | 'u64' | 'i64' | 'timestamp' | 'ipv4' | 'ipv6';

type OptionTable = Record<number, [name: string, kind: OptionKind]>;

const COMMON: OptionTable = {
  1: ['opt_comment', 'string'],
  2988: ['opt_custom', 'bytes'],
  2989: ['opt_custom', 'bytes'],
  19372: ['opt_custom', 'bytes'],
  19373: ['opt_custom', 'bytes'],
};

const BY_BLOCK: Record<number, OptionTable> = {
  [BT_SHB]: { 2: ['shb_hardware', 'string'], 3: ['shb_os', 'string'], 4: ['shb_userappl', 'string'] },
  [BT_IDB]: {
    2: ['if_name', 'string'],
    3: ['if_description', 'string'],
    4: ['if_IPv4addr', 'bytes'],
    5: ['if_IPv6addr', 'bytes'],
    6: ['if_MACaddr', 'bytes'],
    7: ['if_EUIaddr', 'bytes'],
    8: ['if_speed', 'u64'],
    9: ['if_tsresol', 'u8'],
    10: ['if_tzone', 'u32'],
    11: ['if_filter', 'bytes'],
    12: ['if_os', 'string'],
    13: ['if_fcslen', 'u8'],
    14: ['if_tsoffset', 'i64'],
    15: ['if_hardware', 'string'],
    16: ['if_txspeed', 'u64'],
    17: ['if_rxspeed', 'u64'],
    18: ['if_iana_tzname', 'string'],
  },
  [BT_EPB]: {
    2: ['epb_flags', 'u32'],
    3: ['epb_hash', 'bytes'],
    4: ['epb_dropcount', 'u64'],
    5: ['epb_packetid', 'u64'],
    6: ['epb_queue', 'u32'],
    7: ['epb_verdict', 'bytes'],
  },
  [BT_PB]: { 2: ['pack_flags', 'u32'], 3: ['pack_hash', 'bytes'] },
  [BT_NRB]: { 2: ['ns_dnsname', 'string'], 3: ['ns_dnsIP4addr', 'ipv4'], 4: ['ns_dnsIP6addr', 'ipv6'] },
  [BT_ISB]: {
    2: ['isb_starttime', 'timestamp'],
    3: ['isb_endtime', 'timestamp'],
    4: ['isb_ifrecv', 'u64'],
    5: ['isb_ifdrop', 'u64'],
    6: ['isb_filteraccept', 'u64'],
    7: ['isb_osdrop', 'u64'],
    8: ['isb_usrdeliv', 'u64'],
  },
};

/** The name and value encoding of option `code` in a block of type `blockType` (`bytes` when not standard). */
export function optionInfo(blockType: number, code: number): [name: string, kind: OptionKind] {
  return BY_BLOCK[blockType]?.[code] ?? COMMON[code] ?? [`opt_${code}`, 'bytes'];
}

/** A short name for a block type. */
export function blockTypeName(type: number): string {
  switch (type) {
    case BT_SHB:
      return 'SHB';
    case BT_IDB:
      return 'IDB';
    case BT_PB:
      return 'PB';
    case BT_SPB:
      return 'SPB';
    case BT_NRB:
      return 'NRB';
    case BT_ISB:
      return 'ISB';
    case BT_EPB:
      return 'EPB';
    case BT_DSB:
      return 'DSB';
    default:
      return `block 0x${(type >>> 0).toString(16)}`;
  }
}
