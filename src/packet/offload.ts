/**
 * NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO: the checksum-offload information a NET_BUFFER_LIST carries in its
 * TcpIpChecksumNetBufferListInfo slot, as the pointer-sized value NDIS stores there. The bit fields are
 * allocated from the least significant bit, as the Microsoft compiler lays out ULONG bit fields.
 * Pure encode/decode: the NDIS layer puts the value in the NBL info slot.
 */

/** Transmit bits. */
export const NDIS_CSUM_TX_IS_IPV4 = 1 << 0;
/** Transmit: the packet has IPv6 addresses. */
export const NDIS_CSUM_TX_IS_IPV6 = 1 << 1;
/** Transmit: the NIC computes the TCP checksum. */
export const NDIS_CSUM_TX_TCP_CHECKSUM = 1 << 2;
/** Transmit: the NIC computes the UDP checksum. */
export const NDIS_CSUM_TX_UDP_CHECKSUM = 1 << 3;
/** Transmit: the NIC computes the IP header checksum. */
export const NDIS_CSUM_TX_IP_HEADER_CHECKSUM = 1 << 4;
/** Transmit: shift and width of TcpHeaderOffset (bits 16..25; bits 5..15 are Reserved). */
export const NDIS_CSUM_TX_TCP_HEADER_OFFSET_SHIFT = 16;
/** Width mask of TcpHeaderOffset (10 bits). */
export const NDIS_CSUM_TX_TCP_HEADER_OFFSET_MASK = 0x3ff;

/** Receive: the TCP checksum the NIC computed does not match. */
export const NDIS_CSUM_RX_TCP_CHECKSUM_FAILED = 1 << 0;
/** Receive: UDP checksum failed. */
export const NDIS_CSUM_RX_UDP_CHECKSUM_FAILED = 1 << 1;
/** Receive: IP checksum failed. */
export const NDIS_CSUM_RX_IP_CHECKSUM_FAILED = 1 << 2;
/** Receive: TCP checksum succeeded. */
export const NDIS_CSUM_RX_TCP_CHECKSUM_SUCCEEDED = 1 << 3;
/** Receive: UDP checksum succeeded. */
export const NDIS_CSUM_RX_UDP_CHECKSUM_SUCCEEDED = 1 << 4;
/** Receive: IP checksum succeeded. */
export const NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED = 1 << 5;
/** Receive: the packet was looped back. */
export const NDIS_CSUM_RX_LOOPBACK = 1 << 6;
/** Receive: the TCP checksum field has an invalid value. */
export const NDIS_CSUM_RX_TCP_CHECKSUM_VALUE_INVALID = 1 << 7;
/** Receive: the IP checksum field has an invalid value. */
export const NDIS_CSUM_RX_IP_CHECKSUM_VALUE_INVALID = 1 << 8;

/** The Transmit view of the value. Flags are 0 or 1, as C bit fields read. */
export interface ChecksumTransmitInfo {
  IsIPv4: number;
  IsIPv6: number;
  TcpChecksum: number;
  UdpChecksum: number;
  IpHeaderChecksum: number;
  Reserved: number;
  TcpHeaderOffset: number;
}

/** The Receive view of the value. */
export interface ChecksumReceiveInfo {
  TcpChecksumFailed: number;
  UdpChecksumFailed: number;
  IpChecksumFailed: number;
  TcpChecksumSucceeded: number;
  UdpChecksumSucceeded: number;
  IpChecksumSucceeded: number;
  Loopback: number;
  TcpChecksumValueInvalid: number;
  IpChecksumValueInvalid: number;
}

const bit = (value: number, mask: number): number => ((value & mask) !== 0 ? 1 : 0);

/** Encodes the Transmit bit fields into the value (each field is cut to its width, as a C bit field is). */
export function encodeChecksumTransmit(t: Partial<ChecksumTransmitInfo>): number {
  return (
    ((t.IsIPv4 ?? 0) & 1) |
    (((t.IsIPv6 ?? 0) & 1) << 1) |
    (((t.TcpChecksum ?? 0) & 1) << 2) |
    (((t.UdpChecksum ?? 0) & 1) << 3) |
    (((t.IpHeaderChecksum ?? 0) & 1) << 4) |
    (((t.Reserved ?? 0) & 0x7ff) << 5) |
    (((t.TcpHeaderOffset ?? 0) & NDIS_CSUM_TX_TCP_HEADER_OFFSET_MASK) << NDIS_CSUM_TX_TCP_HEADER_OFFSET_SHIFT)
  );
}

/** Decodes the Transmit bit fields of a value. */
export function decodeChecksumTransmit(value: number): ChecksumTransmitInfo {
  return {
    IsIPv4: bit(value, NDIS_CSUM_TX_IS_IPV4),
    IsIPv6: bit(value, NDIS_CSUM_TX_IS_IPV6),
    TcpChecksum: bit(value, NDIS_CSUM_TX_TCP_CHECKSUM),
    UdpChecksum: bit(value, NDIS_CSUM_TX_UDP_CHECKSUM),
    IpHeaderChecksum: bit(value, NDIS_CSUM_TX_IP_HEADER_CHECKSUM),
    Reserved: (value >>> 5) & 0x7ff,
    TcpHeaderOffset: (value >>> NDIS_CSUM_TX_TCP_HEADER_OFFSET_SHIFT) & NDIS_CSUM_TX_TCP_HEADER_OFFSET_MASK,
  };
}

/** Encodes the Receive bit fields into the value. */
export function encodeChecksumReceive(r: Partial<ChecksumReceiveInfo>): number {
  return (
    ((r.TcpChecksumFailed ?? 0) & 1) |
    (((r.UdpChecksumFailed ?? 0) & 1) << 1) |
    (((r.IpChecksumFailed ?? 0) & 1) << 2) |
    (((r.TcpChecksumSucceeded ?? 0) & 1) << 3) |
    (((r.UdpChecksumSucceeded ?? 0) & 1) << 4) |
    (((r.IpChecksumSucceeded ?? 0) & 1) << 5) |
    (((r.Loopback ?? 0) & 1) << 6) |
    (((r.TcpChecksumValueInvalid ?? 0) & 1) << 7) |
    (((r.IpChecksumValueInvalid ?? 0) & 1) << 8)
  );
}

/** Decodes the Receive bit fields of a value. */
export function decodeChecksumReceive(value: number): ChecksumReceiveInfo {
  return {
    TcpChecksumFailed: bit(value, NDIS_CSUM_RX_TCP_CHECKSUM_FAILED),
    UdpChecksumFailed: bit(value, NDIS_CSUM_RX_UDP_CHECKSUM_FAILED),
    IpChecksumFailed: bit(value, NDIS_CSUM_RX_IP_CHECKSUM_FAILED),
    TcpChecksumSucceeded: bit(value, NDIS_CSUM_RX_TCP_CHECKSUM_SUCCEEDED),
    UdpChecksumSucceeded: bit(value, NDIS_CSUM_RX_UDP_CHECKSUM_SUCCEEDED),
    IpChecksumSucceeded: bit(value, NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED),
    Loopback: bit(value, NDIS_CSUM_RX_LOOPBACK),
    TcpChecksumValueInvalid: bit(value, NDIS_CSUM_RX_TCP_CHECKSUM_VALUE_INVALID),
    IpChecksumValueInvalid: bit(value, NDIS_CSUM_RX_IP_CHECKSUM_VALUE_INVALID),
  };
}

/**
 * The structure with its WDK member names: `Transmit` and `Receive` are live views of `Value` (writing a
 * field updates `Value`, as the C union shares its storage).
 */
export class NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO {
  /** The whole value, as stored in the NBL info slot. */
  Value: number;
  /** The Transmit bit fields. */
  readonly Transmit: ChecksumTransmitInfo;
  /** The Receive bit fields. */
  readonly Receive: ChecksumReceiveInfo;

  /** Wraps `value` (default 0). */
  constructor(value = 0) {
    this.Value = value;
    this.Transmit = bitView(this, TRANSMIT_FIELDS) as unknown as ChecksumTransmitInfo;
    this.Receive = bitView(this, RECEIVE_FIELDS) as unknown as ChecksumReceiveInfo;
  }
}

type FieldTable = Record<string, [shift: number, width: number]>;

const TRANSMIT_FIELDS: FieldTable = {
  IsIPv4: [0, 1],
  IsIPv6: [1, 1],
  TcpChecksum: [2, 1],
  UdpChecksum: [3, 1],
  IpHeaderChecksum: [4, 1],
  Reserved: [5, 11],
  TcpHeaderOffset: [16, 10],
};

const RECEIVE_FIELDS: FieldTable = {
  TcpChecksumFailed: [0, 1],
  UdpChecksumFailed: [1, 1],
  IpChecksumFailed: [2, 1],
  TcpChecksumSucceeded: [3, 1],
  UdpChecksumSucceeded: [4, 1],
  IpChecksumSucceeded: [5, 1],
  Loopback: [6, 1],
  TcpChecksumValueInvalid: [7, 1],
  IpChecksumValueInvalid: [8, 1],
};

function bitView(owner: { Value: number }, fields: FieldTable): Record<string, number> {
  const view: Record<string, number> = {};
  for (const [name, [shift, width]] of Object.entries(fields)) {
    const mask = ((1 << width) - 1) << shift;
    Object.defineProperty(view, name, {
      enumerable: true,
      get: () => (owner.Value & mask) >>> shift,
      set: (v: number) => {
        owner.Value = ((owner.Value & ~mask) | ((v << shift) & mask)) >>> 0;
      },
    });
  }
  return view;
}
