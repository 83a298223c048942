/**
 * Binding a host to the legacy IP firewall hook: the host's {@link FirewallHookCall} hands each IPv4 packet to
 * the registered hooks as an IPRcvBuf chain (runFirewallHooks), as TCP/IP did on receive and on transmit. The
 * hook interface existed for IPv4 only, so IPv6 packets pass untouched (decided, as ipfirewall.h defined it).
 *
 * The chain is a copy of the packet. A hook that forwards without a replacement may have changed the chain in
 * place: the bytes are copied back into the packet. A replacement chain becomes a new packet from the host's
 * pool. The chains are freed here with IPFreeBuff, as TCP/IP freed them.
 */

import {
  buildRcvBufChainFromMdl,
  buildRcvBufChainFromMemory,
  copyRcvBufChain,
  flattenRcvBufChain,
  rcvBufChainLength,
} from '../fwhook/chain.js';
import {
  DEST_BCAST,
  DEST_LOCAL,
  DEST_MCAST,
  DEST_REMOTE,
  INVALID_IF_INDEX,
  IP_RECEIVE,
  IP_TRANSMIT,
} from '../fwhook/constants.js';
import { IPFreeBuff } from '../fwhook/iprcvbuf.js';
import { FIREWALL_CONTEXT_T } from '../fwhook/registry.js';
import { runFirewallHooks } from '../fwhook/run.js';
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { writeNetBufferData } from '../ndis/nbData.js';
import type { NET_BUFFER, NET_BUFFER_LIST } from '../ndis/structures.js';
import { DIRECTION_INBOUND, DROP, type FirewallHookCall, FORWARD } from './filters.js';
import { get8, get32, IPV4_DESTINATION } from './headers.js';
import type { IpLayer } from './ip.js';
import { byteAt } from './nb-sum.js';
import { contiguous } from './nbl-view.js';

const receiveContext = new FIREWALL_CONTEXT_T(IP_RECEIVE);
const transmitContext = new FIREWALL_CONTEXT_T(IP_TRANSMIT);

/**
 * Makes the host's firewall-hook call. The IP layer makes it only while a hook is registered (it tests
 * firewallHooksRegistered itself on every packet, a load where this call would be a closure call).
 */
export function firewallHookCall(host: IpLayer): FirewallHookCall {
  return (direction, nbl, ifIndex, replacement) => runHooks(host, direction, nbl, ifIndex, replacement);
}

/** Hands the packet to the registered hooks as an IPRcvBuf chain; see the file comment. */
function runHooks(
  host: IpLayer,
  direction: number,
  nbl: NET_BUFFER_LIST,
  ifIndex: number,
  replacement: { value: NET_BUFFER_LIST | null },
): number {
  const nb = nbl.FirstNetBuffer!;
  const length = nb.DataLength;
  // A packet a callout built may lie across several MDLs: its chain then has a descriptor per piece, as TCP/IP
  // made one per buffer.
  const ip = contiguous(nb, length);
  if ((ip === 0 ? byteAt(nb, 0) : get8(ip)) >>> 4 !== 4) return FORWARD;
  const dst = ip === 0 ? word32At(nb, IPV4_DESTINATION) : get32(ip + IPV4_DESTINATION);
  const type =
    dst === 0xffffffff ? DEST_BCAST : dst >>> 28 === 0xe ? DEST_MCAST : host.isLocal4(dst) ? DEST_LOCAL : DEST_REMOTE;
  const chain =
    ip === 0
      ? buildRcvBufChainFromMdl(nb.CurrentMdl, nb.CurrentMdlOffset, length)
      : buildRcvBufChainFromMemory(ip, length);
  if (chain === 0) return DROP; // no pool for the chain: TCP/IP dropped the packet too
  const inbound = direction === DIRECTION_INBOUND;
  const v = runFirewallHooks(
    chain,
    inbound ? ifIndex : INVALID_IF_INDEX,
    inbound ? INVALID_IF_INDEX : ifIndex,
    type,
    inbound ? receiveContext : transmitContext,
  );
  if (v.action !== FORWARD) return v.action;
  const out = v.chain;
  const outLength = rcvBufChainLength(out);
  if (!v.bufferChanged && outLength === length) {
    // In-place changes the hook made go back into the packet (through its MDLs when it is in pieces).
    if (ip !== 0) copyRcvBufChain(out, memory, ip - ARENA_BASE);
    else writeNetBufferData(nb, 0, flattenRcvBufChain(out), 0, length);
    IPFreeBuff(out);
    return FORWARD;
  }
  const fresh: NET_BUFFER_LIST | null = host.newPacket(outLength);
  if (fresh === null) {
    IPFreeBuff(out);
    return DROP;
  }
  copyRcvBufChain(out, memory, contiguous(fresh.FirstNetBuffer!, outLength) - ARENA_BASE);
  IPFreeBuff(out);
  replacement.value = fresh;
  return FORWARD;
}

/** The big-endian 32-bit word `skip` bytes into `nb`'s data, read across MDLs. */
function word32At(nb: NET_BUFFER, skip: number): number {
  return (
    ((byteAt(nb, skip) << 24) | (byteAt(nb, skip + 1) << 16) | (byteAt(nb, skip + 2) << 8) | byteAt(nb, skip + 3)) >>> 0
  );
}

/** Binds the host to the registered firewall hooks. */
export function bindToFirewallHooks(host: IpLayer): void {
  host.firewallHook = firewallHookCall(host);
}
