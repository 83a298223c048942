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
import { mdlVa } from '../ndis/chain.js';
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

function addressBytes(a: AddressArg, length: number): Uint8Array | null {
  if (a instanceof Uint8Array) return a.length === length ? a : null;
  if (typeof a !== 'number' || a === 0) return null;
  checkAccess(a, length, false);
  return memory.subarray(a - ARENA_BASE, a - ARENA_BASE + length);
}

/** Copies `n` bytes of a NET_BUFFER's data, from `skip` bytes in, into `into` (walking its MDLs). */
export function readNb(nb: NET_BUFFER, skip: number, into: Uint8Array, n: number): number {
  return walk(nb, skip, n, (addr, at, len) =>
    into.set(memory.subarray(addr - ARENA_BASE, addr - ARENA_BASE + len), at),
  );
}

/** Writes `bytes` over a NET_BUFFER's data, from `skip` bytes in (walking its MDLs). */
export function writeNb(nb: NET_BUFFER, skip: number, bytes: Uint8Array): number {
  return walk(nb, skip, bytes.length, (addr, at, len) => memory.set(bytes.subarray(at, at + len), addr - ARENA_BASE));
}

function walk(nb: NET_BUFFER, skip: number, n: number, visit: (addr: number, at: number, len: number) => void): number {
  let off = nb.CurrentMdlOffset + skip;
  let done = 0;
  const want = Math.min(n, Math.max(0, nb.DataLength - skip));
  for (let m = nb.CurrentMdl; m !== null && done < want; m = m.Next) {
    if (off >= m.ByteCount) {
      off -= m.ByteCount;
      continue;
    }
    const take = Math.min(m.ByteCount - off, want - done);
    visit(mdlVa(m) + off, done, take);
    done += take;
    off = 0;
  }
  return done;
}

/**
 * FwpsConstructIpHeaderForTransportPacket0: for each NET_BUFFER of `netBufferList` (data at the transport
 * header; with `headerIncludeHeaderLength` > 0, at an IP header of that length, which is replaced), retreats the
 * data by the size of an IPv4 (20) or IPv6 (40) header and writes one: `sourceAddress` to `remoteAddress`,
 * protocol `nextProtocol`, lengths from the data. The IPv4 header checksum is computed, and so - decided, so
 * that the packet can be injected as is - is a TCP or UDP checksum. Returns STATUS_SUCCESS,
 * STATUS_INVALID_PARAMETER for a bad family, address or flags, or the status of the retreat.
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
  const src = addressBytes(sourceAddress, alen);
  const dst = addressBytes(remoteAddress, alen);
  if (!src || !dst || !Number.isInteger(nextProtocol) || nextProtocol < 0 || nextProtocol > 255)
    return STATUS_INVALID_PARAMETER;
  const hlen = addressFamily === AF_INET ? 20 : 40;
  for (let nb = netBufferList.FirstNetBuffer; nb !== null; nb = nb.Next) {
    if (headerIncludeHeaderLength > 0) {
      if (headerIncludeHeaderLength > nb.DataLength) return STATUS_INVALID_PARAMETER;
      NdisAdvanceNetBufferDataStart(nb, headerIncludeHeaderLength, false, null);
    }
    const transport = new Uint8Array(nb.DataLength);
    readNb(nb, 0, transport, transport.length);
    fixTransportChecksum(transport, nextProtocol, src, dst);
    writeNb(nb, 0, transport);
    const status = NdisRetreatNetBufferDataStart(nb, hlen, 0, null);
    if (status !== STATUS_SUCCESS) return status;
    const h = new Uint8Array(hlen);
    if (addressFamily === AF_INET) {
      const total = nb.DataLength;
      h[0] = 0x45;
      h[2] = total >> 8;
      h[3] = total & 0xff;
      h[8] = CONSTRUCTED_HOP_LIMIT;
      h[9] = nextProtocol;
      h.set(src, 12);
      h.set(dst, 16);
      const c = internetChecksum(h, 0, hlen);
      h[10] = c >> 8;
      h[11] = c & 0xff;
    } else {
      const payload = nb.DataLength - 40;
      h[0] = 0x60;
      h[4] = payload >> 8;
      h[5] = payload & 0xff;
      h[6] = nextProtocol;
      h[7] = CONSTRUCTED_HOP_LIMIT;
      h.set(src, 8);
      h.set(dst, 24);
    }
    writeNb(nb, 0, h);
  }
  return STATUS_SUCCESS;
}

/** Recomputes a TCP (6) or UDP (17) checksum over the pseudo-header and segment, in place. */
function fixTransportChecksum(seg: Uint8Array, protocol: number, src: Uint8Array, dst: Uint8Array): void {
  const at = protocol === 6 ? 16 : protocol === 17 ? 6 : -1;
  if (at < 0 || seg.length < at + 2) return;
  if (protocol === 17 && seg.length >= 6) {
    seg[4] = seg.length >> 8;
    seg[5] = seg.length & 0xff;
  }
  seg[at] = 0;
  seg[at + 1] = 0;
  let s = sumWords(src, 0, src.length);
  s = sumWords(dst, 0, dst.length, s);
  s += protocol + seg.length;
  s = sumWords(seg, 0, seg.length, s);
  let c = finishChecksum(s);
  if (protocol === 17 && c === 0) c = 0xffff;
  seg[at] = c >> 8;
  seg[at + 1] = c & 0xff;
}

/** Version-independent name. */
export const FwpsConstructIpHeaderForTransportPacket = FwpsConstructIpHeaderForTransportPacket0;
