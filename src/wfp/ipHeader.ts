/**
 * FwpsConstructIpHeaderForTransportPacket0: puts an IP header in front of a transport-layer packet (or replaces
 * the one it has), so a callout can inject at the network layer what it took at the transport layer.
 *
 * Addresses (`sourceAddress`, `remoteAddress`: `const UCHAR*` in C, network byte order) are accepted as an
 * address in simulated memory (a number, per the pinned conventions) or, for convenience, as bytes.
 */

import { ARENA_BASE, memory } from '../kernel/arena.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import { checkAccess } from '../kernel/memory.js';
import { STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../kernel/status.js';
import { putNetBufferByte, sumNetBufferData, writeNetBufferData } from '../ndis/nbData.js';
import { checkLiveNbl } from '../ndis/netBufferList.js';
import { NdisAdvanceNetBufferDataStart, NdisRetreatNetBufferDataStart } from '../ndis/retreat.js';
import type { NET_BUFFER, NET_BUFFER_LIST } from '../ndis/structures.js';
import { finishChecksum, internetChecksum, sumWords } from '../packet/checksum.js';
import { AF_INET, AF_INET6 } from './constants.js';
import { WFP_RULE_IRQL_PACKET } from './packets.js';

/** TTL / hop limit of a constructed header (decided: Windows' default of 128). */
export const CONSTRUCTED_HOP_LIMIT = 128;

/** An address argument: a pointer into simulated memory, or the bytes themselves. */
export type AddressArg = number | Uint8Array;

/**
 * Preallocated scratch, so a call makes no JavaScript objects in steady state: the header being built (IPv6's 40
 * bytes at most) and the two addresses, copied once per call. Copying them first also means an address that
 * points into the packet itself (its old header) is read before the new header overwrites it.
 */
const header = new Uint8Array(40);
const source = new Uint8Array(16);
const remote = new Uint8Array(16);

/** Copies an address argument of `length` bytes into `into`; false when it is NULL or the wrong size. */
function copyAddress(a: AddressArg, length: number, into: Uint8Array): boolean {
  if (a instanceof Uint8Array) {
    if (a.length !== length) return false;
    for (let i = 0; i < length; i++) into[i] = a[i]!;
    return true;
  }
  if (typeof a !== 'number' || a === 0) return false;
  checkAccess(a, length, false);
  const at = a - ARENA_BASE;
  for (let i = 0; i < length; i++) into[i] = memory[at + i]!;
  return true;
}

/**
 * FwpsConstructIpHeaderForTransportPacket0: for each NET_BUFFER of `netBufferList` (data at the transport
 * header; with `headerIncludeHeaderLength` > 0, at an IP header of that length, which is replaced), retreats the
 * data by the size of an IPv4 (20) or IPv6 (40) header and writes one: `sourceAddress` to `remoteAddress`,
 * protocol `nextProtocol`, lengths from the data. The IPv4 header checksum is computed, and so - decided, so
 * that the packet can be injected as is - is a TCP or UDP checksum. Returns STATUS_SUCCESS,
 * STATUS_INVALID_PARAMETER for a bad family, address or flags, or the status of the retreat.
 *
 * The data is read and written in place, across whatever MDLs hold it; the only allocation is NDIS's own, when
 * a NET_BUFFER has too little backfill and the retreat takes a new MDL and data (charged as any retreat is).
 */
export function FwpsConstructIpHeaderForTransportPacket0(
  netBufferList: NET_BUFFER_LIST,
  headerIncludeHeaderLength: number,
  addressFamily: number,
  sourceAddress: AddressArg,
  remoteAddress: AddressArg,
  nextProtocol: number,
  endpointHandle: number,
  controlData: unknown,
  controlDataLength: number,
  flags: number,
  reserved: unknown,
  interfaceIndex: number,
  subInterfaceIndex: number,
): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'FwpsConstructIpHeaderForTransportPacket0', WFP_RULE_IRQL_PACKET);
  void endpointHandle;
  void controlData;
  void controlDataLength;
  void interfaceIndex;
  void subInterfaceIndex;
  if (!netBufferList || flags !== 0 || (reserved !== null && reserved !== undefined)) return STATUS_INVALID_PARAMETER;
  if (addressFamily !== AF_INET && addressFamily !== AF_INET6) return STATUS_INVALID_PARAMETER;
  checkLiveNbl(netBufferList, 'FwpsConstructIpHeaderForTransportPacket0');
  const alen = addressFamily === AF_INET ? 4 : 16;
  if (
    !copyAddress(sourceAddress, alen, source) ||
    !copyAddress(remoteAddress, alen, remote) ||
    !Number.isInteger(nextProtocol) ||
    nextProtocol < 0 ||
    nextProtocol > 255
  ) {
    return STATUS_INVALID_PARAMETER;
  }
  const hlen = addressFamily === AF_INET ? 20 : 40;
  for (let nb = netBufferList.FirstNetBuffer; nb !== null; nb = nb.Next) {
    if (headerIncludeHeaderLength > 0) {
      if (headerIncludeHeaderLength > nb.DataLength) return STATUS_INVALID_PARAMETER;
      NdisAdvanceNetBufferDataStart(nb, headerIncludeHeaderLength, false, null);
    }
    fixTransportChecksum(nb, nextProtocol, alen);
    const status = NdisRetreatNetBufferDataStart(nb, hlen, 0, null);
    if (status !== STATUS_SUCCESS) return status;
    header.fill(0);
    if (addressFamily === AF_INET) {
      const total = nb.DataLength;
      header[0] = 0x45;
      header[2] = total >> 8;
      header[3] = total & 0xff;
      header[8] = CONSTRUCTED_HOP_LIMIT;
      header[9] = nextProtocol;
      for (let i = 0; i < 4; i++) {
        header[12 + i] = source[i]!;
        header[16 + i] = remote[i]!;
      }
      const c = internetChecksum(header, 0, 20);
      header[10] = c >> 8;
      header[11] = c & 0xff;
    } else {
      const payload = nb.DataLength - 40;
      header[0] = 0x60;
      header[4] = payload >> 8;
      header[5] = payload & 0xff;
      header[6] = nextProtocol;
      header[7] = CONSTRUCTED_HOP_LIMIT;
      for (let i = 0; i < 16; i++) {
        header[8 + i] = source[i]!;
        header[24 + i] = remote[i]!;
      }
    }
    writeNetBufferData(nb, 0, header, 0, hlen);
  }
  return STATUS_SUCCESS;
}

/**
 * Recomputes a TCP (6) or UDP (17) checksum over the pseudo-header and the segment (the NET_BUFFER's data), in
 * place; for UDP the length field is set from the data first. Other protocols, and segments too short to hold
 * the checksum field, are left as they are.
 */
function fixTransportChecksum(nb: NET_BUFFER, protocol: number, alen: number): void {
  const at = protocol === 6 ? 16 : protocol === 17 ? 6 : -1;
  const length = nb.DataLength;
  if (at < 0 || length < at + 2) return;
  if (protocol === 17) {
    putNetBufferByte(nb, 4, (length >> 8) & 0xff);
    putNetBufferByte(nb, 5, length & 0xff);
  }
  putNetBufferByte(nb, at, 0);
  putNetBufferByte(nb, at + 1, 0);
  let s = sumWords(source, 0, alen);
  s = sumWords(remote, 0, alen, s);
  s += protocol + length;
  s = sumNetBufferData(nb, 0, length, s);
  let c = finishChecksum(s);
  if (protocol === 17 && c === 0) c = 0xffff;
  putNetBufferByte(nb, at, c >> 8);
  putNetBufferByte(nb, at + 1, c & 0xff);
}

/** Version-independent name. */
export const FwpsConstructIpHeaderForTransportPacket = FwpsConstructIpHeaderForTransportPacket0;
