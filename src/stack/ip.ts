/**
 * The IP layer of one host, for IPv4 and IPv6: receive, local delivery, forwarding, sending, ICMP errors, ARP
 * and neighbour discovery, with the firewall hook and the WFP layers called where tcpip calls them.
 *
 * Packets travel as NET_BUFFER_LISTs with one NET_BUFFER and are never copied on the way through (one exception:
 * an injected packet whose headers a callout split across MDLs is worked on as a copy, Origin.InjectedCopy). A list that
 * carries several NET_BUFFERs (NDIS allows it: a native 802.11 miniport's receive, a callout's injection of
 * several segments) is split into one part per NET_BUFFER (Origin.Part); each part is one packet from then on,
 * and the list goes back to its owner once every part is done: a received
 * frame is validated in place and forwarded in place (TTL and MACs rewritten in its own buffer, sent as a clone
 * that shares its MDLs, since a protocol may not send what it was indicated), and the original goes back to its
 * adapter when the clone's send completes. Each list records in ProtocolReserved where it came from, so that
 * whatever happens to it, it goes back to its owner: the adapter that indicated it (NdisReturnNetBufferLists),
 * the host's own pool, or the callout that injected it. Injected packets wait until the packet being processed is
 * done: a callout's injection never re-enters the host mid-packet.
 *
 * The data offset moves as on Windows: at the link header on receive, advanced to the IP header, to the
 * transport header for INBOUND_IPPACKET, to the payload for INBOUND_TRANSPORT and DATAGRAM_DATA; retreated to the
 * transport header for OUTBOUND_TRANSPORT, to the IP header for OUTBOUND_IPPACKET and IPFORWARD.
 *
 * Every packet that enters ends in one bucket of {@link HostCounters}; nothing is silently lost.
 */

import { firewallHooksRegistered } from '../fwhook/registry.js';
import { ARENA_BASE, memory, memoryView } from '../kernel/arena.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../kernel/pool.js';
import { poolTag } from '../kernel/tags.js';
import { copyOut } from '../ndis/chain.js';
import { NdisAllocateCloneNetBufferList, NdisFreeCloneNetBufferList } from '../ndis/derived.js';
import { TcpIpChecksumNetBufferListInfo } from '../ndis/info.js';
import { NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS } from '../ndis/macros.js';
import { sumNetBufferData } from '../ndis/nbData.js';
import { NdisAllocateNetBufferPool, NdisFreeNetBufferPool } from '../ndis/netBuffer.js';
import { NdisAllocateNetBufferList, NdisFreeNetBufferList, NdisFreeNetBufferListPool } from '../ndis/netBufferList.js';
import type { NetBufferListPool, NetBufferPool } from '../ndis/pools.js';
import { NdisAdvanceNetBufferDataStart, NdisRetreatNetBufferDataStart } from '../ndis/retreat.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_PROTOCOL_ID_TCP_IP,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  type NET_BUFFER,
  type NET_BUFFER_LIST,
  NET_BUFFER_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
} from '../ndis/structures.js';
import {
  finishChecksum,
  foldSum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  sumWords,
  updateChecksum16,
} from '../packet/checksum.js';
import {
  NDIS_CSUM_RX_IP_CHECKSUM_FAILED,
  NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED,
  NDIS_CSUM_RX_TCP_CHECKSUM_FAILED,
  NDIS_CSUM_RX_TCP_CHECKSUM_SUCCEEDED,
  NDIS_CSUM_RX_UDP_CHECKSUM_FAILED,
  NDIS_CSUM_RX_UDP_CHECKSUM_SUCCEEDED,
} from '../packet/offload.js';
import { netBufferListReferences } from '../wfp/packets.js';
import {
  isGroupMacAt,
  MAC_BROADCAST,
  macEquals,
  readIpv6Words,
  readMac,
  writeIpv6Words,
  writeMac,
  writeMacHalves,
} from './addr.js';
import { DropReason, HostCounters } from './counters.js';
import { type Endpoint, EndpointTable } from './endpoints.js';
import {
  type Classifier,
  ClassifyRequest,
  DIRECTION_INBOUND,
  DIRECTION_OUTBOUND,
  DROP,
  type FirewallHookCall,
  FORWARD,
  FWPS_DISCARD_FIREWALL_POLICY,
  FWPS_DISCARD_MODULE_GENERAL,
  FWPS_DISCARD_MODULE_NETWORK,
  FWPS_DISCARD_MODULE_TRANSPORT,
  ICMP_ON_DROP,
  Verdict,
} from './filters.js';
import { FlowTable } from './flows.js';
import * as H from './headers.js';
import { Layer } from './layers.js';
import { byteAt, put16Data } from './nb-sum.js';
import { contiguous, discardLayerOf, nicChecksumVerdict, restoreOffset, setDiscardLayer } from './nbl-view.js';
import { NeighborCache, RETRANS_TIMER_SECONDS, type ResolutionActions } from './neighbors.js';
import { allocateListPool } from './pools.js';
import { KEY_WORDS, Reassembled, ReassemblyQueue } from './reassembly.js';
import { RouteTable } from './route.js';
import { DEFAULT_MAX_CONNECTIONS, type HALF_OPEN_SECONDS, RECEIVE_WINDOW, TcpCheck, TcpConnections } from './tcp.js';

/** Where a NET_BUFFER_LIST came from (ProtocolReserved[0]), which decides how it is given back. */
export const Origin = {
  /** Indicated by an adapter: returned with NdisReturnNetBufferLists. */
  Received: 1,
  /** Allocated by the host from its own pool: freed with NdisFreeNetBufferList. */
  Own: 2,
  /** Injected by a callout: completed back to the injector. */
  Injected: 3,
  /**
   * A clone (original MDLs) the host sends in place of a received list: a protocol may not send a list it
   * received from below. Freed with NdisFreeCloneNetBufferList when the send completes; then the original
   * (ProtocolReserved[1]) is given back.
   */
  ForwardClone: 4,
  /**
   * One NET_BUFFER of a list that carries several (each NET_BUFFER is one packet), cloned into a list of its own
   * that shares the original MDLs, so that it travels, is classified and is dropped alone. ProtocolReserved[1] is
   * the list it came from: that list goes back to its owner when its last part is done (its ChildRefCount counts
   * the parts). Freed with NdisFreeCloneNetBufferList.
   */
  Part: 5,
  /**
   * A contiguous copy the host made of an injected packet whose headers lie across MDLs (ProtocolReserved[1] is the
   * injected list). Freed with NdisFreeNetBufferList; then the injected list is completed.
   */
  InjectedCopy: 6,
} as const;

/** The host's own pool tag for the packets it builds: "IPst" in poolmon (decided). */
export const TAG_HOST_PACKETS = poolTag('tsPI');

/** Bytes of data in each of the host's own small packet buffers (room for a full Ethernet frame and headers). */
const SMALL_DATA = 2048;
/** Bytes of data in each large buffer (the biggest IPv4 packet, its link header and slack). */
const LARGE_DATA = 65536 + 128;

/** The adapter as the IP layer sees it: an NDIS binding. */
export interface IpInterface {
  /** Interface index (IF_INDEX), 1-based. */
  readonly ifIndex: number;
  /** Its MAC address (48-bit number). */
  readonly mac: number;
  /** Largest IP packet it sends. */
  mtu: number;
  /** Accepts frames for any MAC (a replay tap, or a bridge port). */
  promiscuous: boolean;
  /** Hands a frame (data at the Ethernet header) to the adapter: NdisSendNetBufferLists. */
  transmit(nbl: NET_BUFFER_LIST): void;
  /** Gives a received frame back to the adapter that indicated it: NdisReturnNetBufferLists. */
  returnReceived(nbl: NET_BUFFER_LIST): void;
}

/** Completes an injected packet back to the callout that injected it. */
export interface InjectionOwner {
  /** Called once the host is done with the injected list (sent, delivered, or dropped). */
  complete(nbl: NET_BUFFER_LIST, status: number): void;
}

/** An address the host owns. */
interface Address4 {
  address: number;
  length: number;
  ifIndex: number;
}

/** Options of a host. */
export interface IpLayerOptions {
  /** Forward packets not addressed to the host (a router). Default false. */
  forwarding?: boolean;
  /** Learn neighbours from the source of every received IP frame (capture replay: static neighbours). */
  learnFromTraffic?: boolean;
  /** Bound on TCP connections (default {@link DEFAULT_MAX_CONNECTIONS}): a SYN past it is dropped, counted. */
  maxTcpConnections?: number;
}

const scratch6 = new Uint32Array(4);
/** A remote address as four words (IPv4 mapped: 0, 0, 0xffff, address) for the flow table. */
const remoteWords = new Uint32Array(4);
const nextHop6 = new Uint32Array(4);
/** ff02::1, all nodes (RFC 4291 2.7.1). */
const ALL_NODES = Uint32Array.of(0xff020000, 0, 0, 1);
/** The solicited-node group ff02::1:ffXX:XXXX of an address (RFC 4291 2.7.1); the last word is set per use. */
const solicitedNode = Uint32Array.of(0xff020000, 0, 1, 0);
const solicit = { value: false };
const replacementBox: { value: NET_BUFFER_LIST | null } = { value: null };

/** The IP layer of one host. */
export class IpLayer {
  readonly counters = new HostCounters();
  readonly routes = new RouteTable();
  readonly neighbors = new NeighborCache<NET_BUFFER_LIST>();
  readonly endpoints = new EndpointTable();
  /** Flows the ALE layers have authorized. */
  readonly flows = new FlowTable();
  /** TCP connections to the host's bound TCP ports. */
  readonly tcp: TcpConnections;
  /** IPv4 and IPv6 datagrams being reassembled. */
  readonly reassembly = new ReassemblyQueue();
  /**
   * The host's clock, in seconds (set with {@link tick}; the replay sets it from each frame's capture timestamp,
   * so what times out does so at the same packet on every run).
   */
  now = 0;
  forwarding: boolean;
  learnFromTraffic: boolean;
  /** The WFP layers, once the host is bound to a filter engine. */
  classifier: Classifier | null = null;
  /** The firewall hook, once one is registered. */
  firewallHook: FirewallHookCall | null = null;
  /** Observer of packet life events (the trace): kind, list, detail. */
  onEvent: ((kind: string, nbl: NET_BUFFER_LIST, detail: string) => void) | null = null;

  private readonly interfaces: (IpInterface | undefined)[] = [];
  /** Each interface's MAC as upper and lower 24 bits, by interface index (compared per frame without a number). */
  private ifMacHigh = new Int32Array(8);
  private ifMacLow = new Int32Array(8);
  private readonly addresses4: Address4[] = [];
  /** The same addresses for {@link isLocal4}: each as a signed word, then its subnet's host bits (0 on /31, /32). */
  private local4 = new Int32Array(0);
  /** IPv6 unicast addresses: four words each, and their interfaces. */
  private addresses6 = new Uint32Array(0);
  private readonly addresses6If: number[] = [];
  private readonly request = new ClassifyRequest();
  /** The transport send being classified (an application's, or a transport send injection). */
  private readonly outbound = new OutboundSend();
  /** 32 bytes of kernel memory where a transport send injection's IPv6 addresses wait for their IP header. */
  private addressScratch = 0;
  private smallPool: NetBufferListPool | null = null;
  private largePool: NetBufferListPool | null = null;
  /** Pools for the clones that carry forwarded received packets. */
  private clonePool: NetBufferListPool | null = null;
  private cloneNbPool: NetBufferPool | null = null;
  /** Lists absorbed by callouts that still have clones outstanding (ChildRefCount > 0). */
  private readonly absorbedPending: NET_BUFFER_LIST[] = [];
  /** Sends handed to adapters and not yet completed. */
  private inFlight = 0;
  /** Injected packets waiting their turn (processed after the current one, never re-entrantly). */
  private readonly injectQueue: NET_BUFFER_LIST[] = [];
  private readonly injectPoint: number[] = [];
  /** Per queued injection: the endpoint of a transport send (else null), its remote scope, its remote address. */
  private readonly injectEndpoint: (Endpoint | null)[] = [];
  private readonly injectScope: number[] = [];
  private injectRemote = new Uint8Array(16 * 8);
  private processingDepth = 0;
  /** The part of a send list that OUTBOUND_IPPACKET classified whole now going out (not classified again). */
  private classifiedPart: NET_BUFFER_LIST | null = null;
  /** Parts of split lists waiting to run (a stack: each split runs its own parts before returning). */
  private readonly parts: NET_BUFFER_LIST[] = [];
  /** When the neighbour cache next needs its timers run (Infinity when nothing is being resolved). */
  private resolutionDue = Number.POSITIVE_INFINITY;
  /** What the neighbour cache's timers do: solicit again, or answer a packet whose next hop never answered. */
  private readonly resolution: ResolutionActions<NET_BUFFER_LIST> = {
    resolicit: (ifIndex, words) => {
      const out = this.interfaces[ifIndex];
      if (out === undefined) return;
      if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
        this.sendArp(out, H.ARP_REQUEST, MAC_BROADCAST, this.sourceFor4(out.ifIndex), 0, words[3]!);
      } else this.sendNeighborSolicit(out, words);
    },
    failed: (nbl) => {
      // A packet forwarded for someone else: tell its source (RFC 4861 7.2.2, RFC 1812 4.3.3.1). The host's own
      // packets and injected ones have no one to tell on the wire.
      const arrival = nbl.ProtocolReserved[1] as IpInterface | null;
      if (nbl.ProtocolReserved[0] === Origin.Received && arrival !== null) {
        const ip = contiguous(nbl.FirstNetBuffer!, 1);
        if (H.get8(ip) >>> 4 === 4) this.sendIcmpError(arrival, 4, ip, H.ICMP_DEST_UNREACH, H.ICMP_HOST_UNREACH, 0);
        else this.sendIcmpError(arrival, 6, ip, H.ICMPV6_DEST_UNREACH, H.ICMPV6_ADDR_UNREACH, 0);
      }
      this.drop(nbl, DropReason.NeighborUnreachable);
    },
  };

  constructor(options: IpLayerOptions = {}) {
    this.forwarding = options.forwarding ?? false;
    this.learnFromTraffic = options.learnFromTraffic ?? false;
    this.tcp = new TcpConnections(options.maxTcpConnections ?? DEFAULT_MAX_CONNECTIONS);
  }

  private runResolutionTimers(): void {
    this.resolutionDue = Number.POSITIVE_INFINITY;
    this.processingDepth++;
    try {
      const next = this.neighbors.due(this.now, this.resolution);
      if (next < this.resolutionDue) this.resolutionDue = next;
    } finally {
      this.processingDepth--;
    }
    if (this.processingDepth === 0 && this.injectQueue.length > 0) this.runInjected();
  }

  /** A neighbour entry began resolving now: its first retry is due one RETRANS_TIMER later. */
  private resolving(): void {
    const due = this.now + RETRANS_TIMER_SECONDS;
    if (due < this.resolutionDue) this.resolutionDue = due;
  }

  // --- configuration ---------------------------------------------------------------------------------------

  /** Attaches an adapter. */
  addInterface(iface: IpInterface): void {
    if (this.interfaces[iface.ifIndex] !== undefined) throw new Error(`interface ${iface.ifIndex} already exists`);
    this.interfaces[iface.ifIndex] = iface;
    // Every IPv6 interface has a link-local address made from its MAC (RFC 4291 appendix A, modified EUI-64).
    const hi = Math.floor(iface.mac / 0x1000000);
    const lo = iface.mac % 0x1000000;
    if (iface.ifIndex >= this.ifMacHigh.length) {
      const size = Math.max(2 * this.ifMacHigh.length, iface.ifIndex + 1);
      const high = new Int32Array(size);
      const low = new Int32Array(size);
      high.set(this.ifMacHigh);
      low.set(this.ifMacLow);
      this.ifMacHigh = high;
      this.ifMacLow = low;
    }
    this.ifMacHigh[iface.ifIndex] = hi;
    this.ifMacLow[iface.ifIndex] = lo;
    const eui = [((hi ^ 0x020000) << 8) | 0xff, 0xfe000000 | lo];
    this.addAddress6(iface.ifIndex, [0xfe800000, 0, eui[0]! >>> 0, eui[1]! >>> 0], 64, false);
  }

  /**
   * Detaches an adapter (its binding closed): its routes and addresses go, so nothing is sent to it any more.
   * Packets already held for its neighbours are dropped when the host stops.
   */
  removeInterface(ifIndex: number): void {
    this.interfaces[ifIndex] = undefined;
    this.routes.removeInterface(ifIndex);
    for (let i = this.addresses4.length - 1; i >= 0; i--) {
      if (this.addresses4[i]!.ifIndex === ifIndex) this.addresses4.splice(i, 1);
    }
    this.indexAddresses4();
    const keep = this.addresses6If.map((x, i) => (x === ifIndex ? -1 : i)).filter((i) => i >= 0);
    const words = new Uint32Array(4 * keep.length);
    for (const [to, from] of keep.entries()) words.set(this.addresses6.subarray(4 * from, 4 * from + 4), 4 * to);
    const owners = keep.map((i) => this.addresses6If[i]!);
    this.addresses6 = words;
    this.addresses6If.length = 0;
    this.addresses6If.push(...owners);
  }

  /** The adapter with index `ifIndex`. */
  interfaceAt(ifIndex: number): IpInterface | undefined {
    return this.interfaces[ifIndex];
  }

  /** Every adapter. */
  interfaceList(): IpInterface[] {
    return this.interfaces.filter((i): i is IpInterface => i !== undefined);
  }

  /** Assigns an IPv4 address with its prefix to an interface, and adds the on-link route for the prefix. */
  addAddress4(ifIndex: number, address: number, length: number): void {
    this.addresses4.push({ address: address >>> 0, length, ifIndex });
    this.indexAddresses4();
    this.routes.add({ family: 'ipv4', prefix: address, length, ifIndex, metric: 256 });
  }

  /** Assigns an IPv6 address with its prefix to an interface, and (unless told not to) its on-link route. */
  addAddress6(ifIndex: number, words: ArrayLike<number>, length: number, route = true): void {
    const grown = new Uint32Array(this.addresses6.length + 4);
    grown.set(this.addresses6);
    for (let i = 0; i < 4; i++) grown[this.addresses6.length + i] = words[i]! >>> 0;
    this.addresses6 = grown;
    this.addresses6If.push(ifIndex);
    this.routes.add({ family: 'ipv6', prefix: words, length: route ? length : 128, ifIndex, metric: 256 });
  }

  /** The host's IPv4 addresses. */
  ipv4Addresses(): readonly { address: number; length: number; ifIndex: number }[] {
    return this.addresses4;
  }

  /** The host's IPv6 addresses (link-local ones included), four words each. */
  ipv6Addresses(): { words: number[]; ifIndex: number }[] {
    return this.addresses6If.map((ifIndex, i) => ({
      words: Array.from(this.addresses6.subarray(4 * i, 4 * i + 4)),
      ifIndex,
    }));
  }

  /** Makes the host's packet pools. Called once before traffic. */
  start(): void {
    if (this.smallPool !== null) return;
    this.smallPool = allocateListPool(TAG_HOST_PACKETS, SMALL_DATA, true, NDIS_PROTOCOL_ID_TCP_IP);
    this.largePool = allocateListPool(TAG_HOST_PACKETS, LARGE_DATA, true, NDIS_PROTOCOL_ID_TCP_IP);
    // The clone pool holds only descriptors: its NET_BUFFERs come from the NET_BUFFER pool.
    this.clonePool = allocateListPool(TAG_HOST_PACKETS, 0, false, NDIS_PROTOCOL_ID_TCP_IP);
    this.cloneNbPool = makeNbPool();
    this.addressScratch = ExAllocatePoolWithTag(NonPagedPoolNx, 32, TAG_HOST_PACKETS);
    const pools = [this.smallPool, this.largePool, this.clonePool, this.cloneNbPool];
    if (pools.includes(null) || this.addressScratch === 0) {
      throw new Error('the host cannot allocate its packet pools');
    }
  }

  /**
   * Ends the run: every packet still waiting for a neighbour is dropped (neighbour unreachable), every list a
   * callout absorbed and released is given back, and the pools are freed when nothing from them is outstanding.
   */
  stop(): void {
    for (const nbl of this.neighbors.releaseHeld()) this.drop(nbl, DropReason.NeighborUnreachable);
    for (const nbl of this.reassembly.drain()) this.drop(nbl, DropReason.ReassemblyIncomplete);
    this.reapAbsorbed();
    if (this.addressScratch !== 0) ExFreePoolWithTag(this.addressScratch, TAG_HOST_PACKETS);
    this.addressScratch = 0;
    if (this.inFlight === 0 && this.absorbedPending.length === 0) {
      for (const pool of [this.smallPool, this.largePool, this.clonePool]) {
        if (pool !== null && pool.outstanding === 0) NdisFreeNetBufferListPool(pool);
      }
      if (this.cloneNbPool !== null && this.cloneNbPool.outstanding === 0) NdisFreeNetBufferPool(this.cloneNbPool);
      this.smallPool = this.largePool = this.clonePool = null;
      this.cloneNbPool = null;
    }
  }

  /** Packets still held, by owner (for the conservation identity and the report). */
  held(): { owner: string; count: number }[] {
    const out: { owner: string; count: number }[] = [];
    const n = this.neighbors.heldCount();
    if (n > 0) out.push({ owner: 'neighbour cache (waiting for ARP / ND)', count: n });
    if (this.absorbedPending.length > 0) {
      out.push({
        owner: 'callout clones or references outstanding (absorbed originals)',
        count: this.absorbedPending.length,
      });
    }
    if (this.injectQueue.length > 0) out.push({ owner: 'injection queue', count: this.injectQueue.length });
    const fragments = this.reassembly.heldCount();
    if (fragments > 0) out.push({ owner: 'reassembly (fragments waiting)', count: fragments });
    return out;
  }

  /** Sends handed to adapters whose completion has not come back yet. */
  sendsInFlight(): number {
    return this.inFlight;
  }

  // --- ownership ---------------------------------------------------------------------------------------------

  private event(kind: string, nbl: NET_BUFFER_LIST, detail: string) {
    this.onEvent?.(kind, nbl, detail);
  }

  /**
   * An event whose detail is `before`, the number `n`, then `after`: the string is only built when someone
   * listens, so the per-packet path allocates nothing for its trace.
   */
  private eventN(kind: string, nbl: NET_BUFFER_LIST, before: string, n: number, after: string) {
    if (this.onEvent !== null) this.onEvent(kind, nbl, before + n + after);
  }

  /** Gives a list back to whoever owns it. The host is done with it. */
  private release(nbl: NET_BUFFER_LIST, status: number) {
    if (nbl.ProtocolReserved[0] === Origin.Part) return this.releasePart(nbl, status);
    if (nbl.ProtocolReserved[0] === Origin.InjectedCopy) {
      const injected = nbl.ProtocolReserved[1] as NET_BUFFER_LIST;
      nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = null;
      setDiscardLayer(nbl, -1);
      this.event('freed', nbl, 'host pool (copy of an injected list)');
      NdisFreeNetBufferList(nbl);
      this.release(injected, status);
      return;
    }
    if (nbl.ProtocolReserved[0] === Origin.ForwardClone) {
      const original = nbl.ProtocolReserved[1] as NET_BUFFER_LIST;
      nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = null;
      setDiscardLayer(nbl, -1);
      NdisFreeCloneNetBufferList(nbl, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
      nbl = original;
    }
    const origin = nbl.ProtocolReserved[0] as number;
    if (origin === Origin.Received) {
      this.returnReceived(nbl);
    } else if (origin === Origin.Injected) {
      setDiscardLayer(nbl, -1);
      // A header the host put in front of an injected list (a transport send's IP header) comes off first, freeing
      // the MDL the retreat may have had to allocate: restoreOffset cannot tell such a retreat from none.
      const nb = nbl.FirstNetBuffer!;
      const front = nb.ProtocolReserved[1];
      if (typeof front === 'number') {
        nb.ProtocolReserved[1] = null;
        NdisAdvanceNetBufferDataStart(nb, front, true, null);
      }
      restoreOffset(nbl);
      const owner = nbl.ProtocolReserved[1] as InjectionOwner;
      nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = nbl.ProtocolReserved[2] = null;
      nbl.Status = status;
      this.event('completed', nbl, 'injection');
      owner.complete(nbl, status);
    } else {
      setDiscardLayer(nbl, -1);
      nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = nbl.ProtocolReserved[2] = nbl.ProtocolReserved[3] = null;
      this.event('freed', nbl, 'host pool');
      NdisFreeNetBufferList(nbl);
    }
  }

  /** Gives a list received from an adapter back to it, its data as it came. */
  private returnReceived(nbl: NET_BUFFER_LIST) {
    setDiscardLayer(nbl, -1);
    restoreOffset(nbl);
    const iface = nbl.ProtocolReserved[1] as IpInterface;
    nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = nbl.ProtocolReserved[2] = null;
    // The event's arguments are read only when someone listens (each is a load and a map check per frame).
    if (this.onEvent !== null) this.eventN('returned', nbl, 'to adapter ', iface.ifIndex, '');
    iface.returnReceived(nbl);
  }

  /** A part is done: freed, and the list it came from goes back to its owner when it was the last. */
  private releasePart(part: NET_BUFFER_LIST, status: number) {
    const parent = part.ProtocolReserved[1] as NET_BUFFER_LIST;
    setDiscardLayer(part, -1);
    restoreOffset(part);
    part.ProtocolReserved[0] = part.ProtocolReserved[1] = part.ProtocolReserved[2] = null;
    part.ParentNetBufferList = null;
    this.event('freed', part, 'part');
    NdisFreeCloneNetBufferList(part, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
    this.partDone(parent, status);
  }

  /**
   * One hold on a split list ends (a part, or the host's own hold while it makes and runs the parts). The list
   * completes with the first failure any of its packets had (an injector sees one status per list), else success.
   */
  private partDone(parent: NET_BUFFER_LIST, status: number) {
    if (status !== 0 && parent.Status === 0) parent.Status = status;
    if (--parent.ChildRefCount === 0) this.release(parent, parent.Status);
  }

  /**
   * Splits a list with several NET_BUFFERs into parts, one per NET_BUFFER (a clone of that NET_BUFFER alone,
   * original MDLs), appended to {@link parts}. The list is held once by each part and once by the host until
   * {@link partDone} (the caller's, after running the parts). A NET_BUFFER that cannot be cloned (no resources)
   * is counted as dropped. Returns how many NET_BUFFERs the list has: each is one packet for the counters.
   */
  private split(nbl: NET_BUFFER_LIST): number {
    nbl.Status = 0;
    nbl.ChildRefCount++;
    const first = nbl.FirstNetBuffer!;
    const checksums = nbl.NetBufferListInfo[TcpIpChecksumNetBufferListInfo];
    let n = 0;
    for (let nb: NET_BUFFER | null = first; nb !== null; ) {
      const next: NET_BUFFER | null = nb.Next;
      n++;
      // Clone this NET_BUFFER alone: the list is seen with it as its only one for the length of the call.
      nbl.FirstNetBuffer = nb;
      nb.Next = null;
      let part: NET_BUFFER_LIST | null;
      try {
        part = NdisAllocateCloneNetBufferList(
          nbl,
          this.clonePool,
          this.cloneNbPool,
          NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
        );
      } finally {
        nb.Next = next;
        nbl.FirstNetBuffer = first;
      }
      nb = next;
      if (part === null) {
        this.counters.drop(DropReason.NoResources);
        if (nbl.Status === 0) nbl.Status = STATUS_DROPPED;
        continue;
      }
      // NDIS leaves a clone's generation links to the caller (NET_BUFFER_LIST generations).
      part.ParentNetBufferList = nbl;
      nbl.ChildRefCount++;
      const pnb = part.FirstNetBuffer!;
      part.ProtocolReserved[0] = Origin.Part;
      part.ProtocolReserved[1] = nbl;
      part.ProtocolReserved[2] = pnb.DataOffset;
      part.ProtocolReserved[3] = pnb.DataOffset + pnb.DataLength;
      // What the list's info says (the NIC's checksum verdict) applies to each of its packets.
      part.NetBufferListInfo[TcpIpChecksumNetBufferListInfo] = checksums;
      this.parts.push(part);
    }
    return n;
  }

  private drop(nbl: NET_BUFFER_LIST, reason: number) {
    // Where tcpip discards a packet, the layer's DISCARD layer is classified (callouts audit drops there); a callout
    // that absorbs it there takes it over. Drops outside a packet's own processing (a neighbour queue displacing
    // an older packet, the end of the run) have no layer.
    if (this.classifier !== null && reason !== DropReason.NeighborQueueFull && discardLayerOf(nbl) >= 0) {
      if (this.classifyDiscard(nbl, reason)) return;
    }
    this.counters.drop(reason, packetsIn(nbl));
    this.eventN('dropped', nbl, '', reason, '');
    this.release(nbl, STATUS_DROPPED);
  }

  private deliver(nbl: NET_BUFFER_LIST) {
    this.counters.delivered++;
    this.event('delivered', nbl, '');
    this.release(nbl, 0);
  }

  private absorbed(nbl: NET_BUFFER_LIST) {
    this.counters.absorb(this.request.absorbedBy || 'callout', packetsIn(nbl));
    this.event('absorbed', nbl, this.request.absorbedBy);
    // The callout may have cloned the list to inject later, or taken a reference with FwpsReferenceNetBufferList0
    // to keep it: the original goes back once no clone and no reference holds it.
    if (stillHeldByCallout(nbl)) this.absorbedPending.push(nbl);
    else this.release(nbl, 0);
  }

  /** Gives back absorbed originals whose clones are gone. Called between packets. */
  reapAbsorbed(): void {
    const list = this.absorbedPending;
    if (list.length === 0) return;
    let w = 0;
    for (let r = 0; r < list.length; r++) {
      const nbl = list[r]!;
      if (stillHeldByCallout(nbl)) list[w++] = nbl;
      else this.release(nbl, 0);
    }
    list.length = w;
  }

  /** The adapter's completion of a send (SendNetBufferListsCompleteHandler). */
  sendComplete(nbl: NET_BUFFER_LIST, status: number): void {
    this.inFlight--;
    const origin = nbl.ProtocolReserved[0];
    // A forwarded packet's clone first: it is the common completion.
    if (origin === Origin.ForwardClone) {
      const original = nbl.ProtocolReserved[1] as NET_BUFFER_LIST;
      nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = null;
      NdisFreeCloneNetBufferList(nbl, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
      this.event('send-complete', original, '');
      // Only a list received from an adapter is sent as a clone (transmitFrame): it goes straight back.
      this.returnReceived(original);
      return;
    }
    if (origin === Origin.Injected || origin === Origin.Part) {
      // Undo the link header the send put in front. A list injected without backfill (W-5: dataOffset 0) needed
      // an MDL for it, which the advance frees (FreeMdl TRUE); the injector then frees its list as it built it.
      // restoreOffset cannot see that retreat: DataOffset after an allocating retreat says nothing of the old one.
      NdisAdvanceNetBufferDataStart(nbl.FirstNetBuffer!, H.ETH_HEADER, true, null);
    }
    this.event('send-complete', nbl, '');
    this.release(nbl, status);
  }

  // --- receive -----------------------------------------------------------------------------------------------

  /**
   * A frame from adapter `iface` (ReceiveNetBufferListsHandler, one list). The data starts at the Ethernet
   * header. The host owns the list until it gives it back through `iface.returnReceived`.
   */
  receive(iface: IpInterface, nbl: NET_BUFFER_LIST): void {
    this.counters.received++;
    nbl.ProtocolReserved[0] = Origin.Received;
    nbl.ProtocolReserved[1] = iface;
    nbl.Scratch = null; // the host's now (the DISCARD layer mark, see setDiscardLayer): none yet
    nbl.ProtocolReserved[2] = nbl.FirstNetBuffer!.DataOffset;
    nbl.ProtocolReserved[3] = nbl.FirstNetBuffer!.DataOffset + nbl.FirstNetBuffer!.DataLength;
    if (this.onEvent !== null) this.eventN('received', nbl, 'adapter ', iface.ifIndex, '');
    this.processingDepth++;
    try {
      if (nbl.FirstNetBuffer!.Next === null) this.receiveFrame(iface, nbl);
      else this.receiveEach(iface, nbl);
    } finally {
      this.processingDepth--;
    }
    if (this.processingDepth === 0 && this.injectQueue.length > 0) this.runInjected();
  }

  /**
   * A received list with several NET_BUFFERs: each is a frame of its own (NDIS: a miniport should indicate one
   * NET_BUFFER per list, but some, native 802.11 ones, attach several). Each part is received, classified and
   * dropped alone; the list goes back to the adapter when all are done. The docs do not say how tcpip classifies
   * such a receive at the inbound layers; each NET_BUFFER is classified in a list of its own here (decided: WFP
   * indicates one list per classify, and inbound the packets of one indication need not share a flow).
   */
  private receiveEach(iface: IpInterface, nbl: NET_BUFFER_LIST) {
    const base = this.parts.length;
    this.counters.received += this.split(nbl) - 1;
    try {
      for (let i = base; i < this.parts.length; i++) {
        const part = this.parts[i]!;
        this.eventN('received', part, 'part of a list from adapter ', iface.ifIndex, '');
        this.receiveFrame(iface, part);
      }
    } finally {
      this.parts.length = base;
    }
    this.partDone(nbl, 0);
  }

  private receiveFrame(iface: IpInterface, nbl: NET_BUFFER_LIST) {
    const nb = nbl.FirstNetBuffer!;
    const frame = contiguous(nb, H.ETH_HEADER);
    if (frame === 0) return this.drop(nbl, DropReason.Malformed);
    // A promiscuous interface takes every frame: only others compare the destination with their MAC. (`!== true`:
    // a plain test of the field compiles to a generic truthiness check, false, '', numbers and bigints.)
    if (
      iface.promiscuous !== true &&
      !isGroupMacAt(frame + H.ETH_DST) &&
      !macEquals(frame + H.ETH_DST, this.ifMacHigh[iface.ifIndex]!, this.ifMacLow[iface.ifIndex]!)
    ) {
      return this.drop(nbl, DropReason.NotForThisHost);
    }
    const type = H.get16(frame + H.ETH_TYPE);
    if (type === H.ETHERTYPE_ARP) return this.receiveArp(iface, nbl, frame);
    if (type !== H.ETHERTYPE_IPV4 && type !== H.ETHERTYPE_IPV6) return this.drop(nbl, DropReason.NoProtocol);
    NdisAdvanceNetBufferDataStart(nb, H.ETH_HEADER, false, null);
    // The sender's MAC is passed by address: as a 48-bit number it would be allocated on each call.
    if (type === H.ETHERTYPE_IPV4) this.receive4(iface, nbl, frame + H.ETH_SRC);
    else this.receive6(iface, nbl, frame + H.ETH_SRC);
  }

  /**
   * IPv4 receive, data at the IP header (also where injected receives come in). `srcMacVa` is where the sender's
   * MAC lies in the frame, or 0 when there is no link header.
   */
  private receive4(iface: IpInterface, nbl: NET_BUFFER_LIST, srcMacVa: number) {
    setDiscardLayer(nbl, Layer.InboundIppacket4 + 1);
    const nb = nbl.FirstNetBuffer!;
    const ip = contiguous(nb, H.IPV4_HEADER);
    if (ip === 0) return this.drop(nbl, DropReason.Malformed);
    // Version, header length and total length from the header's first word (one load).
    const first = H.get32(ip);
    const vihl = first >>> 24;
    const hlen = (vihl & 0x0f) << 2;
    const total = first & 0xffff;
    if (vihl >>> 4 !== 4 || hlen < H.IPV4_HEADER || total < hlen || total > nb.DataLength) {
      return this.drop(nbl, DropReason.Malformed);
    }
    if (hlen > H.IPV4_HEADER && contiguous(nb, hlen) === 0) return this.drop(nbl, DropReason.Malformed);
    // The addresses are read once, before the checksum check, which sums them too.
    const src = H.get32(ip + H.IPV4_SOURCE);
    const dst = H.get32(ip + H.IPV4_DESTINATION);
    const ipVerdict = nicChecksumVerdict(nbl, NDIS_CSUM_RX_IP_CHECKSUM_FAILED, NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED);
    if (ipVerdict < 0 || (ipVerdict === 0 && !headerVerifies(ip, hlen, first, src, dst))) {
      return this.drop(nbl, DropReason.BadHeaderChecksum);
    }
    nb.DataLength = total; // link-layer padding is not part of the packet
    if (src >>> 24 === 127 || src >>> 28 === 0xe) return this.drop(nbl, DropReason.Martian);
    // `=== true`: the flags are booleans, and a field declared without a value starts undefined, so V8 would test
    // it with a generic truthiness check on every packet.
    if (this.learnFromTraffic === true && srcMacVa !== 0 && src !== 0) {
      const waiting = this.neighbors.learn4At(iface.ifIndex, src, srcMacVa);
      if (waiting !== null) this.transmitResolved(iface, waiting, readMac(srcMacVa));
    }

    if (this.hooked() && !this.runFirewallHook(DIRECTION_INBOUND, nbl, iface.ifIndex, 4)) return;

    const local = this.isLocal4(dst);
    if (local) return this.deliver4(iface, nbl, ip, hlen);
    if (dst === 0xffffffff || dst >>> 28 === 0xe || this.forwarding !== true) {
      return this.drop(nbl, DropReason.NotForThisHost);
    }
    this.forward4(iface, nbl, ip, hlen);
  }

  /** IPv6 receive, data at the IP header; `srcMacVa` as for {@link receive4}. */
  private receive6(iface: IpInterface, nbl: NET_BUFFER_LIST, srcMacVa: number) {
    setDiscardLayer(nbl, Layer.InboundIppacket6 + 1);
    const nb = nbl.FirstNetBuffer!;
    const ip = contiguous(nb, H.IPV6_HEADER);
    if (ip === 0 || H.get8(ip) >>> 4 !== 6) return this.drop(nbl, DropReason.Malformed);
    const payload = H.get16(ip + H.IPV6_PAYLOAD_LENGTH);
    // A payload length of zero announces a jumbogram (RFC 2675), which Windows does not support.
    if (payload === 0 && H.get8(ip + H.IPV6_NEXT_HEADER) === H.IPPROTO_HOPOPTS && nb.DataLength > H.IPV6_HEADER) {
      return this.drop(nbl, DropReason.Malformed);
    }
    if (H.IPV6_HEADER + payload > nb.DataLength) return this.drop(nbl, DropReason.Malformed);
    nb.DataLength = H.IPV6_HEADER + payload;
    if (H.get8(ip + H.IPV6_SOURCE) === 0xff) return this.drop(nbl, DropReason.Martian);
    if (this.learnFromTraffic && srcMacVa !== 0) {
      readIpv6Words(ip + H.IPV6_SOURCE, scratch6);
      if ((scratch6[0]! | scratch6[1]! | scratch6[2]! | scratch6[3]!) !== 0) {
        const waiting = this.neighbors.learn6At(iface.ifIndex, scratch6, 0, srcMacVa);
        if (waiting !== null) this.transmitResolved(iface, waiting, readMac(srcMacVa));
      }
    }
    if (this.hooked() && !this.runFirewallHook(DIRECTION_INBOUND, nbl, iface.ifIndex, 6)) return;
    readIpv6Words(ip + H.IPV6_DESTINATION, scratch6);
    if (this.isLocal6(scratch6)) return this.deliver6(iface, nbl, ip);
    if (scratch6[0]! >>> 24 === 0xff || !this.forwarding) return this.drop(nbl, DropReason.NotForThisHost);
    // Link-local sources and destinations are never forwarded (RFC 4291 2.5.6).
    if (scratch6[0]! >>> 22 === 0x3fa || H.get16(ip + H.IPV6_SOURCE) >>> 6 === 0x3fa) {
      return this.drop(nbl, DropReason.NotForThisHost);
    }
    this.forward6(iface, nbl, ip);
  }

  /** Is `dst` one of the host's IPv4 addresses, a directed broadcast of one of its subnets, or limited broadcast? */
  isLocal4(dst: number): boolean {
    if (dst === 0xffffffff) return true;
    if (dst >>> 28 === 0xe) return dst === 0xe0000001; // all-hosts; other groups are not joined
    // Over the (address, host bits) pairs of local4 as signed words: one load each, no object per address.
    const d = dst | 0;
    const l = this.local4;
    for (let i = 0; i < l.length; i += 2) {
      const a = l[i]!;
      const host = l[i + 1]!;
      if (a === d || ((d | host) === d && (d & ~host) === (a & ~host))) return true;
    }
    return false;
  }

  /** Rebuilds {@link local4} from the IPv4 address list (configuration time). */
  private indexAddresses4(): void {
    const list = this.addresses4;
    const l = new Int32Array(2 * list.length);
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      l[2 * i] = a.address | 0;
      // The subnet's directed broadcast (host bits all ones) is local too, except on /31 and /32 (RFC 3021), where
      // 0 leaves only the address itself to match.
      l[2 * i + 1] = a.length >= 31 ? 0 : a.length === 0 ? -1 : (0xffffffff >>> a.length) | 0;
    }
    this.local4 = l;
  }

  /** Is the address in `w` one of the host's IPv6 addresses, all-nodes, or the solicited-node group of one? */
  isLocal6(w: Uint32Array): boolean {
    if (w[0] === 0xff020000 && w[1] === 0 && w[2] === 0 && w[3] === 1) return true;
    const a = this.addresses6;
    const solicited = w[0] === 0xff020000 && w[1] === 0 && w[2] === 1 && w[3]! >>> 24 === 0xff;
    for (let i = 0; i < a.length; i += 4) {
      if (solicited) {
        if ((a[i + 3]! & 0xffffff) === (w[3]! & 0xffffff)) return true;
      } else if (a[i] === w[0] && a[i + 1] === w[1] && a[i + 2] === w[2] && a[i + 3] === w[3]) {
        return true;
      }
    }
    return false;
  }

  // --- local delivery ----------------------------------------------------------------------------------------

  private deliver4(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number, hlen: number) {
    const nb = nbl.FirstNetBuffer!;
    const frag = H.get16(ip + H.IPV4_FRAGMENT);
    const protocol = H.get8(ip + H.IPV4_PROTOCOL);
    // INBOUND_IPPACKET: data at the transport header.
    NdisAdvanceNetBufferDataStart(nb, hlen, false, null);
    const r = this.fill(Layer.InboundIppacket4, 4, DIRECTION_INBOUND, nbl, iface.ifIndex, protocol);
    r.localAddressVa = ip + H.IPV4_DESTINATION;
    r.remoteAddressVa = ip + H.IPV4_SOURCE;
    r.ipHeaderSize = hlen;
    if (!this.classify(nbl)) return;
    if ((frag & (H.IPV4_MF | H.IPV4_OFFSET_MASK)) !== 0) return this.reassemble4(iface, nbl, ip, hlen, protocol, frag);
    this.deliverTransport(iface, nbl, 4, ip, hlen, protocol);
  }

  /**
   * A fragment of a datagram for this host (data at its payload): held until the datagram is whole, then the
   * datagram is rebuilt in a list of the host's own and delivered; the fragments go back to their owners.
   */
  private reassemble4(
    iface: IpInterface,
    nbl: NET_BUFFER_LIST,
    ip: number,
    hlen: number,
    protocol: number,
    frag: number,
  ) {
    const nb = nbl.FirstNetBuffer!;
    const length = nb.DataLength;
    const offset = (frag & H.IPV4_OFFSET_MASK) << 3;
    const more = (frag & H.IPV4_MF) !== 0;
    const payloadVa = contiguous(nb, length);
    // Every fragment but the last carries a multiple of 8 bytes; no datagram exceeds 65535 bytes (RFC 791).
    if (payloadVa === 0 || (more && length % 8 !== 0) || hlen + offset + length > 65535) {
      return this.drop(nbl, DropReason.Malformed);
    }
    // RFC 791: source, destination, protocol and identification name the datagram.
    const q = this.reassembly;
    const k = q.key;
    k[0] = (4 << 8) | protocol;
    k[1] = k[2] = k[3] = k[5] = k[6] = k[7] = 0;
    k[4] = H.get32(ip + H.IPV4_SOURCE);
    k[8] = H.get32(ip + H.IPV4_DESTINATION);
    k[9] = H.get16(ip + H.IPV4_ID);
    const status = q.add(this.now, iface.ifIndex, nbl, payloadVa, offset, length, ip, hlen, 0, 0, more, hlen + length);
    const d = this.completed(nbl, status, 'IPv4 reassembly');
    if (d < 0) return;
    const whole = this.rebuild(d);
    if (whole === null) return;
    const first = q.first(d);
    const headerLength = q.headerLength[first]!;
    const wnb = whole.FirstNetBuffer!;
    const wip = contiguous(wnb, wnb.DataLength);
    H.put16(wip + H.IPV4_TOTAL_LENGTH, wnb.DataLength);
    H.put16(wip + H.IPV4_FRAGMENT, 0);
    H.put16(wip + H.IPV4_CHECKSUM, 0);
    H.put16(wip + H.IPV4_CHECKSUM, finishChecksum(sumAt(wip, headerLength)));
    this.releaseFragments(d);
    NdisAdvanceNetBufferDataStart(wnb, headerLength, false, null);
    this.deliverTransport(iface, whole, 4, wip, headerLength, protocol);
  }

  private deliver6(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number) {
    const nb = nbl.FirstNetBuffer!;
    const hlen = walk6(nb, ip, H.get8(ip + H.IPV6_NEXT_HEADER), H.IPV6_HEADER, H.IPV6_NEXT_HEADER);
    if (hlen === ROUTING_SEGMENTS_LEFT) {
      this.sendIcmpError(iface, 6, ip, H.ICMPV6_PARAMETER_PROBLEM, 0, walked.nextAt);
      return this.drop(nbl, DropReason.Malformed);
    }
    if (hlen < 0) return this.drop(nbl, DropReason.Malformed);
    const next = walked.next;
    const nextAt = walked.nextAt;
    NdisAdvanceNetBufferDataStart(nb, hlen, false, null);
    const r = this.fill(Layer.InboundIppacket6, 6, DIRECTION_INBOUND, nbl, iface.ifIndex, next);
    r.localAddressVa = ip + H.IPV6_DESTINATION;
    r.remoteAddressVa = ip + H.IPV6_SOURCE;
    r.ipHeaderSize = hlen;
    if (!this.classify(nbl)) return;
    if (next === H.IPPROTO_FRAGMENT) return this.reassemble6(iface, nbl, ip, hlen, nextAt);
    if (next === H.IPPROTO_NONE) return this.deliver(nbl);
    this.deliverTransport(iface, nbl, 6, ip, hlen, next);
  }

  /**
   * An IPv6 fragment for this host (RFC 8200 4.5), data at its Fragment header: held until the datagram is whole,
   * then rebuilt (the unfragmentable part of the first fragment, its Next Header taken from the Fragment header,
   * the payloads in order) and delivered; the fragments go back to their owners.
   */
  private reassemble6(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number, hlen: number, nextAt: number) {
    const nb = nbl.FirstNetBuffer!;
    if (nb.DataLength < 8 || contiguous(nb, nb.DataLength) === 0) return this.drop(nbl, DropReason.Malformed);
    const fh = ip + hlen;
    const word = H.get16(fh + 2);
    const offset = word & 0xfff8;
    const more = (word & 1) !== 0;
    const length = nb.DataLength - 8;
    if ((more && length % 8 !== 0) || offset + length > 65535) return this.drop(nbl, DropReason.Malformed);
    // RFC 8200 4.5: source, destination and identification name the datagram. A fragment that is a whole
    // datagram (offset 0, M clear: an atomic fragment) is processed alone, apart from any datagram with its key.
    const q = this.reassembly;
    const k = q.key;
    k[0] = (6 << 8) | (offset === 0 && !more ? 1 : 0);
    for (let i = 0; i < 8; i++) k[1 + i] = H.get32(ip + H.IPV6_SOURCE + 4 * i);
    k[KEY_WORDS - 1] = H.get32(fh + 4);
    const status = q.add(
      this.now,
      iface.ifIndex,
      nbl,
      fh + 8,
      offset,
      length,
      ip,
      hlen,
      nextAt,
      H.get8(fh),
      more,
      hlen + nb.DataLength,
    );
    const d = this.completed(nbl, status, 'IPv6 reassembly');
    if (d < 0) return;
    const whole = this.rebuild(d);
    if (whole === null) return;
    const first = q.first(d);
    const headerLength = q.headerLength[first]!;
    const nextHeader = q.nextHeader[first]!;
    const nextHeaderAt = q.nextHeaderAt[first]!;
    const wnb = whole.FirstNetBuffer!;
    const wip = contiguous(wnb, wnb.DataLength);
    H.put8(wip + nextHeaderAt, nextHeader);
    H.put16(wip + H.IPV6_PAYLOAD_LENGTH, wnb.DataLength - H.IPV6_HEADER);
    this.releaseFragments(d);
    const whlen = walk6(wnb, wip, nextHeader, headerLength, nextHeaderAt);
    if (whlen < 0) return this.drop(whole, DropReason.Malformed);
    if (walked.next === H.IPPROTO_FRAGMENT) return this.drop(whole, DropReason.NestedFragment);
    NdisAdvanceNetBufferDataStart(wnb, whlen, false, null);
    if (walked.next === H.IPPROTO_NONE) return this.deliver(whole);
    this.deliverTransport(iface, whole, 6, wip, whlen, walked.next);
  }

  /**
   * What became of the fragment `nbl` just added: -1 while the datagram is still incomplete (held), when the
   * fragments overlap (all dropped, counted, the datagram forgotten) or when the memory bound refused it (it
   * alone dropped, counted); otherwise the complete datagram, still in the queue.
   */
  private completed(nbl: NET_BUFFER_LIST, status: number, what: string): number {
    if (status === Reassembled.Held) {
      this.event('held', nbl, what);
      return -1;
    }
    if (status === Reassembled.OverLimit) {
      this.drop(nbl, DropReason.ReassemblyLimit);
      return -1;
    }
    const q = this.reassembly;
    const d = q.datagram;
    if (status === Reassembled.Overlap) {
      this.dropDatagram(d, DropReason.FragmentOverlap);
      this.drop(nbl, DropReason.FragmentOverlap);
      return -1;
    }
    return d;
  }

  /** Drops every fragment of datagram `d` with `reason` and forgets it. */
  private dropDatagram(d: number, reason: number): void {
    const q = this.reassembly;
    // Collect first: a drop may reach a callout, which may inject, but the queue is not touched until done.
    const base = this.parts.length;
    for (let f = q.first(d); f >= 0; f = q.next[f]!) this.parts.push(q.nbl[f]!);
    q.remove(d);
    try {
      for (let i = base; i < this.parts.length; i++) this.drop(this.parts[i]!, reason);
    } finally {
      this.parts.length = base;
    }
  }

  /**
   * A list of the host's own holding the complete datagram `d`: the first fragment's header part, then every
   * payload at its offset. Null (fragments dropped, counted, the datagram forgotten) when no list can be had.
   */
  private rebuild(d: number): NET_BUFFER_LIST | null {
    const q = this.reassembly;
    const first = q.first(d);
    const headerLength = q.headerLength[first]!;
    const payload = q.payloadBytes(d);
    const whole = this.newPacket(headerLength + payload);
    if (whole === null) {
      this.dropDatagram(d, DropReason.NoResources);
      return null;
    }
    const wip = contiguous(whole.FirstNetBuffer!, headerLength + payload);
    H.move(wip, q.headerVa[first]!, headerLength);
    for (let f = first; f >= 0; f = q.next[f]!)
      H.move(wip + headerLength + q.offset[f]!, q.payloadVa[f]!, q.length[f]!);
    return whole;
  }

  /** The fragments of `d` are merged: counted, and given back to their owners; the datagram enters. */
  private releaseFragments(d: number): void {
    const q = this.reassembly;
    this.counters.fragmentsMerged += q.fragmentCount(d);
    const base = this.parts.length;
    for (let f = q.first(d); f >= 0; f = q.next[f]!) this.parts.push(q.nbl[f]!);
    q.remove(d);
    try {
      for (let i = base; i < this.parts.length; i++) {
        const nbl = this.parts[i]!;
        this.event('reassembled', nbl, '');
        this.release(nbl, 0);
      }
    } finally {
      this.parts.length = base;
    }
    this.counters.reassembled++;
  }

  /**
   * Sets the host's clock to `now` (seconds) and abandons what has waited too long: a datagram still incomplete
   * {@link ReassemblyQueue.timeoutSeconds} after its first-arriving fragment has its fragments dropped
   * (reassembly time exceeded) and, when its first fragment (offset 0) is among them, the source gets ICMP time
   * exceeded, code 1, fragment reassembly time exceeded (RFC 792; ICMPv6 code 1, RFC 8200 4.5); a TCP
   * connection half-open too long is abandoned ({@link HALF_OPEN_SECONDS}); address resolution that is due is
   * retried or given up. Call it between packets; the clock never goes back.
   */
  tick(now: number): void {
    if (now > this.now) this.now = now;
    this.runTimers();
  }

  /**
   * {@link tick} for a caller with the time as seconds and nanoseconds (a replay, per frame): the fields are read
   * here, and the timers run only when one is due, so a frame costs no allocation and no timer scan.
   */
  tickAt(time: Readonly<{ seconds: number; nanoseconds: number }>): void {
    const now = time.seconds + time.nanoseconds / 1e9;
    if (now > this.now) this.now = now;
    const t = this.now;
    if (t >= this.tcp.nextGiveUp || t >= this.reassembly.nextDeadline || t >= this.resolutionDue) this.runTimers();
  }

  private runTimers(): void {
    if (this.now >= this.resolutionDue) this.runResolutionTimers();
    this.tcp.expire(this.now);
    const q = this.reassembly;
    if (this.now < q.nextDeadline) return;
    this.processingDepth++;
    try {
      for (let d = q.expired(this.now); d >= 0; d = q.expired(this.now)) this.expire(d);
    } finally {
      this.processingDepth--;
    }
    if (this.processingDepth === 0 && this.injectQueue.length > 0) this.runInjected();
  }

  private expire(d: number): void {
    const q = this.reassembly;
    const first = q.first(d);
    const iface = this.interfaces[q.ifIndexOf(d)];
    if (first >= 0 && q.offset[first] === 0 && iface !== undefined) {
      // The error quotes the first fragment, still held: it is sent before the fragments go back.
      const v4 = q.versionOf(d) === 4;
      this.sendIcmpError(
        iface,
        v4 ? 4 : 6,
        q.headerVa[first]!,
        v4 ? H.ICMP_TIME_EXCEEDED : H.ICMPV6_TIME_EXCEEDED,
        1,
        0,
      );
    }
    // The drop happens outside any packet's processing (a timer): no DISCARD layer applies (decided, as for the
    // neighbour queue).
    for (let f = first; f >= 0; f = q.next[f]!) setDiscardLayer(q.nbl[f]!, -1);
    this.dropDatagram(d, DropReason.ReassemblyTimeout);
  }

  /** Transport delivery. Data at the transport header; `ip` and `hlen` locate the IP header. */
  private deliverTransport(
    iface: IpInterface,
    nbl: NET_BUFFER_LIST,
    version: number,
    ip: number,
    hlen: number,
    protocol: number,
  ) {
    const nb = nbl.FirstNetBuffer!;
    const t = ip + hlen;
    const length = nb.DataLength;
    const srcVa = ip + (version === 4 ? H.IPV4_SOURCE : H.IPV6_SOURCE);
    const dstVa = ip + (version === 4 ? H.IPV4_DESTINATION : H.IPV6_DESTINATION);
    const pseudo =
      version === 4
        ? pseudoHeaderSumV4(H.get32(srcVa), H.get32(dstVa), protocol, length)
        : pseudoSumAt6(srcVa, dstVa, protocol, length);
    if (contiguous(nb, length) === 0) return this.drop(nbl, DropReason.Malformed);

    if (protocol === H.IPPROTO_ICMP || protocol === H.IPPROTO_ICMPV6) {
      if ((version === 4) !== (protocol === H.IPPROTO_ICMP)) return this.protocolUnreachable(iface, nbl, version, ip);
      if (length < H.ICMP_HEADER) return this.drop(nbl, DropReason.Malformed);
      const sum = version === 4 ? sumAt(t, length) : pseudo + sumAt(t, length);
      // NICs offload TCP, UDP and IP checksums, not ICMP's: the host always checks it.
      if (!verifies(sum)) {
        return this.drop(nbl, DropReason.BadTransportChecksum);
      }
      return version === 4 ? this.receiveIcmp4(iface, nbl, ip, hlen) : this.receiveIcmp6(iface, nbl, ip, hlen);
    }
    if (protocol !== H.IPPROTO_UDP && protocol !== H.IPPROTO_TCP) {
      return this.protocolUnreachable(iface, nbl, version, ip);
    }
    const minimum = protocol === H.IPPROTO_UDP ? H.UDP_HEADER : H.TCP_MIN_HEADER;
    if (length < minimum) return this.drop(nbl, DropReason.Malformed);
    const thlen = protocol === H.IPPROTO_UDP ? H.UDP_HEADER : (H.get8(t + H.TCP_OFFSET) >>> 4) << 2;
    if (thlen < minimum || thlen > length) return this.drop(nbl, DropReason.Malformed);
    if (
      protocol === H.IPPROTO_UDP &&
      (H.get16(t + H.UDP_LENGTH) < H.UDP_HEADER || H.get16(t + H.UDP_LENGTH) > length)
    ) {
      return this.drop(nbl, DropReason.Malformed);
    }
    const zeroUdp = protocol === H.IPPROTO_UDP && version === 4 && H.get16(t + H.UDP_CHECKSUM) === 0;
    const udp = protocol === H.IPPROTO_UDP;
    const l4Verdict = nicChecksumVerdict(
      nbl,
      udp ? NDIS_CSUM_RX_UDP_CHECKSUM_FAILED : NDIS_CSUM_RX_TCP_CHECKSUM_FAILED,
      udp ? NDIS_CSUM_RX_UDP_CHECKSUM_SUCCEEDED : NDIS_CSUM_RX_TCP_CHECKSUM_SUCCEEDED,
    );
    if (l4Verdict < 0 || (l4Verdict === 0 && !zeroUdp && !verifies(pseudo + sumAt(t, length)))) {
      return this.drop(nbl, DropReason.BadTransportChecksum);
    }
    // TCP is unicast: a segment to a broadcast or multicast address is dropped without a word (RFC 1122 4.2.3.10).
    if (protocol === H.IPPROTO_TCP && !this.unicastTo(version, dstVa))
      return this.drop(nbl, DropReason.TcpNotAcceptable);
    const localPort = H.get16(t + 2);
    const remotePort = H.get16(t);
    const endpoint = this.endpoints.lookup(protocol, localPort);
    const transportLayer = version === 4 ? Layer.InboundTransport4 : Layer.InboundTransport6;
    this.describeInbound(
      transportLayer,
      version,
      nbl,
      iface.ifIndex,
      protocol,
      dstVa,
      srcVa,
      localPort,
      remotePort,
      hlen,
      thlen,
      0,
    );
    if (endpoint !== undefined) this.request.endpointHandle = endpoint.handle;
    if (endpoint === undefined) {
      // Nobody listens: Windows answers from the transport (TCP RST / ICMP port unreachable).
      if (protocol === H.IPPROTO_TCP) {
        // The segment is indicated at INBOUND_TRANSPORT_DISCARD before the RST goes (WFP "TCP Packet Flows"); a
        // callout that blocks it there keeps the stack from answering ("Preventing Port Scanning": stealth).
        const verdict = this.discardFirst(nbl, DropReason.PortUnreachable);
        if (verdict === Verdict.Absorb) return;
        if (verdict === Verdict.Permit) this.sendReset(iface, version, ip, t, length);
      } else
        this.sendIcmpError(
          iface,
          version,
          ip,
          version === 4 ? H.ICMP_DEST_UNREACH : H.ICMPV6_DEST_UNREACH,
          version === 4 ? H.ICMP_PORT_UNREACH : H.ICMPV6_PORT_UNREACH,
          0,
        );
      return this.drop(nbl, DropReason.PortUnreachable);
    }
    // INBOUND_TRANSPORT: data at the payload.
    NdisAdvanceNetBufferDataStart(nb, thlen, false, null);
    if (!this.classify(nbl)) return;
    if (protocol === H.IPPROTO_TCP) return this.receiveTcp(iface, nbl, version, ip, t, thlen, endpoint, srcVa);
    // The first packet of a flow is authorized at ALE_AUTH_RECV_ACCEPT, then ALE_FLOW_ESTABLISHED (data at the
    // payload for both, inbound). For UDP both run on a flow's first packet, as the ALE layers page says of non-TCP
    // traffic (TCP went to receiveTcp above: AUTH_RECV_ACCEPT on the SYN, FLOW_ESTABLISHED on the handshake's ACK).
    if (version === 4) {
      remoteWords[0] = remoteWords[1] = 0;
      remoteWords[2] = 0xffff;
      remoteWords[3] = H.get32(srcVa);
    } else readIpv6Words(srcVa, remoteWords);
    let flow = this.flows.find(protocol, localPort, remotePort, remoteWords);
    if (flow === 0) {
      for (const layer of version === 4 ? ALE_INBOUND_4 : ALE_INBOUND_6) {
        this.redescribe(layer, 0);
        if (!this.classify(nbl)) return;
      }
      flow = this.flows.add(protocol, localPort, remotePort, remoteWords);
    }
    if (protocol === H.IPPROTO_UDP) {
      const datagramLayer = version === 4 ? Layer.DatagramData4 : Layer.DatagramData6;
      this.redescribe(datagramLayer, flow);
      if (!this.classify(nbl)) return;
    }
    endpoint.packets++;
    endpoint.bytes += nb.DataLength;
    endpoint.onReceive?.(t + thlen, nb.DataLength);
    this.deliver(nbl);
  }

  /**
   * A segment for a bound TCP port, after INBOUND_TRANSPORT (data at its payload; the request still describes
   * it). The port listens: a SYN is authorized at ALE_AUTH_RECV_ACCEPT and answered with a SYN-ACK; the ACK that
   * completes the handshake is classified at ALE_FLOW_ESTABLISHED; then data in order reaches the endpoint and
   * is acknowledged, as the WFP "TCP packet flows" page orders it (connection teardown is indicated at no
   * layer). What the connection does not take is dropped as not acceptable, after the reply RFC 9293 asks for.
   */
  private receiveTcp(
    iface: IpInterface,
    nbl: NET_BUFFER_LIST,
    version: number,
    ip: number,
    t: number,
    thlen: number,
    endpoint: Endpoint,
    srcVa: number,
  ) {
    const nb = nbl.FirstNetBuffer!;
    const length = nb.DataLength;
    const flags = H.get8(t + H.TCP_FLAGS);
    const seq = H.get32(t + H.TCP_SEQ);
    const localPort = H.get16(t + 2);
    const remotePort = H.get16(t);
    if (version === 4) {
      remoteWords[0] = remoteWords[1] = 0;
      remoteWords[2] = 0xffff;
      remoteWords[3] = H.get32(srcVa);
    } else readIpv6Words(srcVa, remoteWords);
    const tcp = this.tcp;
    const reply = tcp.reply;
    const c = tcp.find(version, localPort, remotePort, remoteWords);
    if (c < 0) {
      // LISTEN (RFC 9293 3.10.7.2): a reset is ignored, an ACK reset, anything but a SYN ignored.
      if ((flags & (H.TCP_RST | H.TCP_ACK_FLAG | H.TCP_SYN)) !== H.TCP_SYN) {
        const verdict = this.discardFirst(nbl, DropReason.TcpNotAcceptable);
        if (verdict === Verdict.Absorb) return;
        if (verdict === Verdict.Permit && (flags & H.TCP_RST) === 0 && (flags & H.TCP_ACK_FLAG) !== 0) {
          this.sendTcp(iface, version, ip, t, H.TCP_RST, H.get32(t + H.TCP_ACK), 0, false, 0);
        }
        return this.drop(nbl, DropReason.TcpNotAcceptable);
      }
      this.redescribe(version === 4 ? Layer.AleAuthRecvAccept4 : Layer.AleAuthRecvAccept6, 0);
      if (!this.classify(nbl)) return;
      // Data on a SYN is not taken (no TCP Fast Open): the peer sends it again once the connection is open.
      const opened = tcp.open(version, localPort, remotePort, remoteWords, seq, this.now);
      if (opened < 0) return this.drop(nbl, DropReason.TcpTableFull);
      this.sendTcp(iface, version, ip, t, reply.flags, reply.seq, reply.ack, true, 0);
      return this.deliver(nbl);
    }
    const check = tcp.check(c, seq, H.get32(t + H.TCP_ACK), flags, length);
    if (check === TcpCheck.Drop) {
      // The reply is decided now; it goes after the DISCARD layer, if that lets it.
      const rflags = reply.flags;
      const rseq = reply.seq;
      const rack = reply.ack;
      const rmss = reply.mss;
      const verdict = this.discardFirst(nbl, DropReason.TcpNotAcceptable);
      if (verdict === Verdict.Absorb) return;
      if (verdict === Verdict.Permit && rflags !== 0) {
        this.sendTcp(iface, version, ip, t, rflags, rseq, rack, rmss, tcp.flowOf(c));
      }
      return this.drop(nbl, DropReason.TcpNotAcceptable);
    }
    if (check === TcpCheck.Closed) return this.deliver(nbl);
    if (check === TcpCheck.Established) {
      this.redescribe(version === 4 ? Layer.AleFlowEstablished4 : Layer.AleFlowEstablished6, 0);
      if (!this.classify(nbl)) {
        // The flow was refused: the connection goes without a word (decided).
        tcp.close(c);
        return;
      }
      tcp.setFlow(c, this.flows.add(H.IPPROTO_TCP, localPort, remotePort, remoteWords));
    }
    const taken = tcp.data(c, seq, flags, length);
    const flow = tcp.flowOf(c);
    if (!taken) {
      // Out of order: the ACK of what is expected goes after the DISCARD layer, if that lets it.
      const rseq = reply.seq;
      const rack = reply.ack;
      const verdict = this.discardFirst(nbl, DropReason.TcpNotAcceptable);
      if (verdict === Verdict.Absorb) return;
      if (verdict === Verdict.Permit) this.sendTcp(iface, version, ip, t, H.TCP_ACK_FLAG, rseq, rack, false, flow);
      return this.drop(nbl, DropReason.TcpNotAcceptable);
    }
    if (reply.flags !== 0) this.sendTcp(iface, version, ip, t, reply.flags, reply.seq, reply.ack, false, flow);
    if (tcp.deliverLength > 0) {
      endpoint.packets++;
      endpoint.bytes += tcp.deliverLength;
      endpoint.onReceive?.(t + thlen + tcp.deliverOffset, tcp.deliverLength);
    }
    this.deliver(nbl);
  }

  /** Fills the request for an inbound transport-level layer (INBOUND_TRANSPORT, ALE receive, DATAGRAM_DATA). */
  private describeInbound(
    layer: number,
    version: number,
    nbl: NET_BUFFER_LIST,
    ifIndex: number,
    protocol: number,
    dstVa: number,
    srcVa: number,
    localPort: number,
    remotePort: number,
    hlen: number,
    thlen: number,
    flow: number,
  ): void {
    const r = this.fill(layer, version, DIRECTION_INBOUND, nbl, ifIndex, protocol);
    r.localAddressVa = dstVa;
    r.remoteAddressVa = srcVa;
    r.localPort = localPort;
    r.remotePort = remotePort;
    r.ipHeaderSize = hlen;
    r.transportHeaderSize = thlen;
    r.flowHandle = flow;
  }

  /**
   * The packet the request already describes (from {@link describeInbound}, nothing classified in between but
   * its own layers) at another layer: the same addresses, ports and sizes, with flow handle `flow`.
   */
  private redescribe(layer: number, flow: number): void {
    const r = this.request;
    setDiscardLayer(r.nbl!, layer + 1);
    r.layerId = layer;
    r.flowHandle = flow;
    r.absorbedBy = '';
    r.discardFilterId = 0;
  }

  private protocolUnreachable(iface: IpInterface, nbl: NET_BUFFER_LIST, version: number, ip: number) {
    if (version === 4) this.sendIcmpError(iface, 4, ip, H.ICMP_DEST_UNREACH, H.ICMP_PROTO_UNREACH, 0);
    else {
      // RFC 8200 4: the pointer is the offset of the unrecognized Next Header value, past any extension headers.
      const pointer = upperLayer6(ip, H.IPV6_HEADER + H.get16(ip + H.IPV6_PAYLOAD_LENGTH)) < 0 ? 6 : walked.nextAt;
      this.sendIcmpError(iface, 6, ip, H.ICMPV6_PARAMETER_PROBLEM, H.ICMPV6_UNKNOWN_NEXT_HEADER, pointer);
    }
    this.drop(nbl, DropReason.ProtocolUnreachable);
  }

  private receiveIcmp4(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number, hlen: number) {
    const t = ip + hlen;
    const type = H.get8(t);
    const length = nbl.FirstNetBuffer!.DataLength;
    if (type === H.ICMP_ECHO) {
      this.reply(iface, 4, ip, t, length, H.ICMP_ECHO_REPLY);
    } else if (type === H.ICMP_DEST_UNREACH || type === H.ICMP_TIME_EXCEEDED || type === H.ICMP_PARAMETER_PROBLEM) {
      if (!this.classifyIcmpError(iface, nbl, 4, ip, hlen)) return;
    }
    this.deliver(nbl);
  }

  /**
   * INBOUND_ICMP_ERROR for an ICMP error the host received (the ICMP type and code in the port fields, as WFP
   * defines them), data at the IP header of the packet the error quotes. True when it goes on.
   */
  private classifyIcmpError(iface: IpInterface, nbl: NET_BUFFER_LIST, version: number, ip: number, hlen: number) {
    const v4 = version === 4;
    const t = ip + hlen;
    this.describeInbound(
      v4 ? Layer.InboundIcmpError4 : Layer.InboundIcmpError6,
      version,
      nbl,
      iface.ifIndex,
      v4 ? H.IPPROTO_ICMP : H.IPPROTO_ICMPV6,
      ip + (v4 ? H.IPV4_DESTINATION : H.IPV6_DESTINATION),
      ip + (v4 ? H.IPV4_SOURCE : H.IPV6_SOURCE),
      H.get8(t),
      H.get8(t + 1),
      hlen,
      H.ICMP_HEADER,
      0,
    );
    NdisAdvanceNetBufferDataStart(nbl.FirstNetBuffer!, H.ICMP_HEADER, false, null);
    return this.classify(nbl);
  }

  private receiveIcmp6(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number, hlen: number) {
    const t = ip + hlen;
    const type = H.get8(t);
    const length = nbl.FirstNetBuffer!.DataLength;
    if (type === H.ICMPV6_NEIGHBOR_SOLICIT || type === H.ICMPV6_NEIGHBOR_ADVERT) {
      // RFC 4861 7.1: a hop limit other than 255 means the message crossed a router; it is ignored.
      if (H.get8(ip + H.IPV6_HOP_LIMIT) !== 255 || length < 24) return this.drop(nbl, DropReason.Malformed);
      return this.receiveNd(iface, nbl, ip, t, length, type);
    }
    if (type === H.ICMPV6_ECHO_REQUEST) {
      this.reply(iface, 6, ip, t, length, H.ICMPV6_ECHO_REPLY);
    } else if (type < 128) {
      if (!this.classifyIcmpError(iface, nbl, 6, ip, hlen)) return;
    }
    this.deliver(nbl);
  }

  // --- ARP and neighbour discovery ------------------------------------------------------------------------------

  private receiveArp(iface: IpInterface, nbl: NET_BUFFER_LIST, frame: number) {
    const nb = nbl.FirstNetBuffer!;
    if (nb.DataLength < H.ETH_HEADER + H.ARP_PACKET || contiguous(nb, H.ETH_HEADER + H.ARP_PACKET) === 0) {
      return this.drop(nbl, DropReason.Malformed);
    }
    const a = frame + H.ETH_HEADER;
    if (H.get16(a) !== 1 || H.get16(a + 2) !== H.ETHERTYPE_IPV4 || H.get8(a + 4) !== 6 || H.get8(a + 5) !== 4) {
      return this.drop(nbl, DropReason.Malformed);
    }
    const op = H.get16(a + 6);
    const senderMac = readMac(a + 8);
    const senderIp = H.get32(a + 14);
    const targetIp = H.get32(a + 24);
    const forMe = this.ownsAddress4(targetIp, iface.ifIndex);
    if (senderIp !== 0 && (forMe || this.learnFromTraffic || this.neighbors.mac4(iface.ifIndex, senderIp) >= 0)) {
      const waiting = this.neighbors.learn4(iface.ifIndex, senderIp, senderMac);
      if (waiting !== null) this.transmitResolved(iface, waiting, senderMac);
    }
    if (op === H.ARP_REQUEST && forMe) this.sendArp(iface, H.ARP_REPLY, senderMac, targetIp, senderMac, senderIp);
    this.deliver(nbl);
  }

  /** Is the destination at `dstVa` one of the host's unicast addresses (not a broadcast or multicast)? */
  private unicastTo(version: number, dstVa: number): boolean {
    if (version === 6) return H.get8(dstVa) !== 0xff;
    const dst = H.get32(dstVa);
    const list = this.addresses4;
    for (let i = 0; i < list.length; i++) if (list[i]!.address === dst) return true;
    return false;
  }

  private ownsAddress4(address: number, ifIndex: number): boolean {
    for (const a of this.addresses4) if (a.address === address && a.ifIndex === ifIndex) return true;
    return false;
  }

  private receiveNd(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number, t: number, length: number, type: number) {
    const targetVa = t + 8;
    // Options: source (1) or target (2) link-layer address.
    let optionMac = -1;
    for (let o = 24; o + 8 <= length; ) {
      const kind = H.get8(t + o);
      const len = H.get8(t + o + 1) << 3;
      if (len === 0) return this.drop(nbl, DropReason.Malformed);
      if ((kind === 1 || kind === 2) && len >= 8) optionMac = readMac(t + o + 2);
      o += len;
    }
    if (type === H.ICMPV6_NEIGHBOR_SOLICIT) {
      readIpv6Words(targetVa, scratch6);
      if (!this.isLocal6(scratch6)) return this.deliver(nbl);
      readIpv6Words(ip + H.IPV6_SOURCE, nextHop6);
      const unspecified = (nextHop6[0]! | nextHop6[1]! | nextHop6[2]! | nextHop6[3]!) === 0;
      if (!unspecified && optionMac >= 0) {
        const waiting = this.neighbors.learn6(iface.ifIndex, nextHop6, 0, optionMac);
        if (waiting !== null) this.transmitResolved(iface, waiting, optionMac);
      }
      this.sendNeighborAdvert(iface, targetVa, ip + H.IPV6_SOURCE, unspecified);
    } else if (optionMac >= 0) {
      readIpv6Words(targetVa, scratch6);
      const waiting = this.neighbors.learn6(iface.ifIndex, scratch6, 0, optionMac);
      if (waiting !== null) this.transmitResolved(iface, waiting, optionMac);
    }
    this.deliver(nbl);
  }

  // --- forwarding --------------------------------------------------------------------------------------------

  private forward4(arrival: IpInterface, nbl: NET_BUFFER_LIST, ip: number, hlen: number) {
    // The packet is at IPFORWARD from here: its DISCARD layer is marked where a drop can come before fill() marks
    // it (TTL, route), not on every forwarded packet.
    const ttl = H.get8(ip + H.IPV4_TTL);
    if (ttl <= 1) {
      setDiscardLayer(nbl, Layer.Ipforward4 + 1);
      this.sendIcmpError(arrival, 4, ip, H.ICMP_TIME_EXCEEDED, 0, 0);
      return this.drop(nbl, DropReason.TtlExpired);
    }
    const dst = H.get32(ip + H.IPV4_DESTINATION);
    const route = this.routes.lookup4(dst);
    if (route < 0) {
      setDiscardLayer(nbl, Layer.Ipforward4 + 1);
      this.sendIcmpError(arrival, 4, ip, H.ICMP_DEST_UNREACH, H.ICMP_NET_UNREACH, 0);
      return this.drop(nbl, DropReason.NoRoute);
    }
    const out = this.interfaces[this.routes.interface4(route)]!;
    // A forwarded fragment is classified alone. WFP indicates the fragments of a datagram as one chain (a list
    // each) only when tcpip groups forwarded fragments (Set-NetIPv4Protocol -GroupForwardedFragments); this host
    // does not group them (decided).
    const r = this.fill(Layer.Ipforward4, 4, DIRECTION_OUTBOUND, nbl, arrival.ifIndex, H.get8(ip + H.IPV4_PROTOCOL));
    r.localAddressVa = ip + H.IPV4_SOURCE;
    r.remoteAddressVa = ip + H.IPV4_DESTINATION;
    r.destinationInterfaceIndex = out.ifIndex;
    r.ipHeaderSize = hlen;
    if (!this.classify(nbl)) return;
    const total = nbl.FirstNetBuffer!.DataLength;
    if (total > out.mtu && (H.get16(ip + H.IPV4_FRAGMENT) & H.IPV4_DF) !== 0) {
      this.sendIcmpError(arrival, 4, ip, H.ICMP_DEST_UNREACH, H.ICMP_FRAG_NEEDED, out.mtu);
      return this.drop(nbl, DropReason.TooBig);
    }
    // Decrement the TTL in place and patch the header checksum (RFC 1624); the TTL is the high byte of its word.
    const oldWord = H.get16(ip + H.IPV4_TTL);
    H.put8(ip + H.IPV4_TTL, ttl - 1);
    H.put16(ip + H.IPV4_CHECKSUM, updateChecksum16(H.get16(ip + H.IPV4_CHECKSUM), oldWord, oldWord - 0x100));
    this.counters.forwarded++;
    if (total > out.mtu) return this.fragment4(out, nbl, ip, hlen, this.routes.nextHop4(route, dst));
    this.output4(out, nbl, this.routes.nextHop4(route, dst));
  }

  /**
   * Splits a forwarded IPv4 packet that does not fit the next link (DF clear) into fragments (RFC 791): each
   * carries the header (options too: decided, as the first fragment does) and a multiple of 8 payload bytes, the
   * offsets and MF set. The fragments are the host's own lists; the original is finished as fragmented.
   */
  private fragment4(out: IpInterface, nbl: NET_BUFFER_LIST, ip: number, hlen: number, nextHop: number) {
    const total = nbl.FirstNetBuffer!.DataLength;
    const payload = total - hlen;
    const step = (out.mtu - hlen) & ~7;
    const word = H.get16(ip + H.IPV4_FRAGMENT);
    const base = (word & H.IPV4_OFFSET_MASK) << 3;
    const moreAfter = (word & H.IPV4_MF) !== 0;
    if (step <= 0) return this.drop(nbl, DropReason.TooBig);
    for (let at = 0; at < payload; at += step) {
      const size = Math.min(step, payload - at);
      const piece = this.allocate(hlen + size);
      if (piece === null) continue; // counted as originated and dropped for lack of resources
      const f = contiguous(piece.FirstNetBuffer!, hlen + size);
      H.move(f, ip, hlen);
      H.move(f + hlen, ip + hlen + at, size);
      const last = at + size >= payload;
      H.put16(f + H.IPV4_TOTAL_LENGTH, hlen + size);
      H.put16(f + H.IPV4_FRAGMENT, (word & H.IPV4_DF) | (last && !moreAfter ? 0 : H.IPV4_MF) | ((base + at) >> 3));
      H.put16(f + H.IPV4_CHECKSUM, 0);
      H.put16(f + H.IPV4_CHECKSUM, finishChecksum(sumAt(f, hlen)));
      this.output4(out, piece, nextHop);
    }
    this.counters.fragmented++;
    this.eventN('fragmented', nbl, '', Math.ceil(payload / step), ' fragments');
    this.release(nbl, 0);
  }

  private forward6(arrival: IpInterface, nbl: NET_BUFFER_LIST, ip: number) {
    setDiscardLayer(nbl, Layer.Ipforward6 + 1);
    const hop = H.get8(ip + H.IPV6_HOP_LIMIT);
    if (hop <= 1) {
      this.sendIcmpError(arrival, 6, ip, H.ICMPV6_TIME_EXCEEDED, 0, 0);
      return this.drop(nbl, DropReason.TtlExpired);
    }
    readIpv6Words(ip + H.IPV6_DESTINATION, scratch6);
    const route = this.routes.lookup6(scratch6);
    if (route < 0) {
      this.sendIcmpError(arrival, 6, ip, H.ICMPV6_DEST_UNREACH, H.ICMPV6_NO_ROUTE, 0);
      return this.drop(nbl, DropReason.NoRoute);
    }
    const out = this.interfaces[this.routes.interface6(route)]!;
    const r = this.fill(Layer.Ipforward6, 6, DIRECTION_OUTBOUND, nbl, arrival.ifIndex, H.get8(ip + H.IPV6_NEXT_HEADER));
    r.localAddressVa = ip + H.IPV6_SOURCE;
    r.remoteAddressVa = ip + H.IPV6_DESTINATION;
    r.destinationInterfaceIndex = out.ifIndex;
    r.ipHeaderSize = H.IPV6_HEADER;
    if (!this.classify(nbl)) return;
    if (nbl.FirstNetBuffer!.DataLength > out.mtu) {
      this.sendIcmpError(arrival, 6, ip, H.ICMPV6_PACKET_TOO_BIG, 0, out.mtu);
      return this.drop(nbl, DropReason.TooBig);
    }
    H.put8(ip + H.IPV6_HOP_LIMIT, hop - 1);
    this.counters.forwarded++;
    this.routes.nextHop6(route, scratch6, 0, nextHop6);
    this.output6(out, nbl, nextHop6);
  }

  // --- output --------------------------------------------------------------------------------------------------

  /** Resolves the IPv4 next hop and sends; data at the IP header. */
  private output4(out: IpInterface, nbl: NET_BUFFER_LIST, nextHop: number) {
    if (nextHop === 0xffffffff) return this.transmitFrame(out, nbl, 0xffffff, 0xffffff, H.ETHERTYPE_IPV4);
    // RFC 1112 6.4: 01:00:5e and the group's low 23 bits.
    if (nextHop >>> 28 === 0xe) return this.transmitFrame(out, nbl, 0x01005e, nextHop & 0x7fffff, H.ETHERTYPE_IPV4);
    const slot = this.neighbors.reachable4(out.ifIndex, nextHop);
    if (slot < 0) {
      const displaced = this.neighbors.hold4(out.ifIndex, nextHop, nbl, solicit, this.now);
      this.event('held', nbl, 'neighbour cache');
      if (displaced !== null) this.drop(displaced, DropReason.NeighborQueueFull);
      if (solicit.value) {
        this.resolving();
        this.sendArp(out, H.ARP_REQUEST, MAC_BROADCAST, this.sourceFor4(out.ifIndex), 0, nextHop);
      }
      return;
    }
    this.transmitFrame(out, nbl, this.neighbors.macHigh(slot), this.neighbors.macLow(slot), H.ETHERTYPE_IPV4);
  }

  /** Resolves the IPv6 next hop (words in `hop`) and sends; data at the IP header. */
  private output6(out: IpInterface, nbl: NET_BUFFER_LIST, hop: Uint32Array) {
    // RFC 2464 7: 33:33 and the group's last 32 bits.
    if (hop[0]! >>> 24 === 0xff) {
      return this.transmitFrame(out, nbl, 0x333300 | (hop[3]! >>> 24), hop[3]! & 0xffffff, H.ETHERTYPE_IPV6);
    }
    const slot = this.neighbors.reachable6(out.ifIndex, hop);
    if (slot < 0) {
      const displaced = this.neighbors.hold6(out.ifIndex, hop, 0, nbl, solicit, this.now);
      this.event('held', nbl, 'neighbour cache');
      if (displaced !== null) this.drop(displaced, DropReason.NeighborQueueFull);
      if (solicit.value) {
        this.resolving();
        this.sendNeighborSolicit(out, hop);
      }
      return;
    }
    this.transmitFrame(out, nbl, this.neighbors.macHigh(slot), this.neighbors.macLow(slot), H.ETHERTYPE_IPV6);
  }

  /** A held packet whose neighbour answered. Its data is at the IP header. */
  private transmitResolved(out: IpInterface, nbl: NET_BUFFER_LIST, mac: number) {
    const ip = contiguous(nbl.FirstNetBuffer!, 1);
    const high = (mac / 0x1000000) | 0;
    const type = H.get8(ip) >>> 4 === 4 ? H.ETHERTYPE_IPV4 : H.ETHERTYPE_IPV6;
    this.transmitFrame(out, nbl, high, mac - high * 0x1000000, type);
  }

  /**
   * Puts the Ethernet header in front (retreat) and hands the frame to the adapter. A list received from below
   * is sent as a clone that shares its MDLs (a protocol never sends what it was indicated). The destination MAC
   * comes as its upper and lower 24 bits.
   */
  private transmitFrame(out: IpInterface, nbl: NET_BUFFER_LIST, dstHigh: number, dstLow: number, type: number) {
    const packet = nbl; // the list whose life the trace follows
    if (nbl.ProtocolReserved[0] === Origin.Received) {
      const clone = NdisAllocateCloneNetBufferList(
        nbl,
        this.clonePool,
        this.cloneNbPool,
        NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
      );
      if (clone === null) return this.drop(nbl, DropReason.NoResources);
      clone.ProtocolReserved[0] = Origin.ForwardClone;
      clone.ProtocolReserved[1] = nbl;
      nbl = clone;
    }
    // Every checksum is computed in software (the virtual NICs offload nothing), so no offload is requested; and
    // a forwarded packet's receive verdict must not be read by the miniport as transmit requests.
    nbl.NetBufferListInfo[TcpIpChecksumNetBufferListInfo] = 0;
    const nb = nbl.FirstNetBuffer!;
    if (NdisRetreatNetBufferDataStart(nb, H.ETH_HEADER, 0, null) !== 0) {
      return this.drop(nbl, DropReason.NoResources);
    }
    const frame = contiguous(nb, H.ETH_HEADER);
    writeMacHalves(frame + H.ETH_DST, dstHigh, dstLow);
    writeMacHalves(frame + H.ETH_SRC, this.ifMacHigh[out.ifIndex]!, this.ifMacLow[out.ifIndex]!);
    H.put16(frame + H.ETH_TYPE, type);
    this.counters.transmitted++;
    this.inFlight++;
    this.eventN('sent', packet, 'adapter ', out.ifIndex, '');
    out.transmit(nbl);
  }

  // --- packets the host builds --------------------------------------------------------------------------------

  /**
   * A fresh list with `length` bytes of data and room in front for the IP and link headers, from the host's
   * pool. Returns null when the pool is exhausted: the packet the host meant to build is then counted as
   * originated and dropped for lack of resources.
   */
  private allocate(length: number): NET_BUFFER_LIST | null {
    const nbl = this.newPacket(length);
    this.counters.originated++;
    if (nbl === null) this.counters.drop(DropReason.NoResources);
    return nbl;
  }

  /** True when `nbl` is a list of the host's own pools (from {@link newPacket}). */
  ownsList(nbl: NET_BUFFER_LIST): boolean {
    const pool = nbl.NdisPoolHandle;
    return pool !== null && (pool === this.smallPool || pool === this.largePool);
  }

  /** Frees a list that came from {@link newPacket} and never entered the data path (or has left it). */
  releaseOwn(nbl: NET_BUFFER_LIST): void {
    nbl.ProtocolReserved[0] = nbl.ProtocolReserved[1] = nbl.ProtocolReserved[2] = nbl.ProtocolReserved[3] = null;
    NdisFreeNetBufferList(nbl);
  }

  /**
   * A list from the host's own pool with `length` bytes of data (contiguous, one MDL) and room in front for
   * headers, or null when none can be had. Not counted: the caller accounts for what it builds.
   */
  newPacket(length: number): NET_BUFFER_LIST | null {
    const pool = length + 64 + H.ETH_HEADER <= SMALL_DATA ? this.smallPool : this.largePool;
    const nbl = pool === null || length + 64 + H.ETH_HEADER > LARGE_DATA ? null : NdisAllocateNetBufferList(pool, 0, 0);
    if (nbl === null) return null;
    NdisAdvanceNetBufferDataStart(nbl.FirstNetBuffer!, pool!.DataSize - length, false, null);
    nbl.ProtocolReserved[0] = Origin.Own;
    nbl.ProtocolReserved[1] = null;
    nbl.ProtocolReserved[2] = 0;
    this.eventN('allocated', nbl, '', length, ' bytes');
    return nbl;
  }

  /** The host's IPv4 address on an interface (the first), or 0 when it has none. */
  sourceFor4(ifIndex: number): number {
    for (const a of this.addresses4) if (a.ifIndex === ifIndex) return a.address;
    return this.addresses4.length > 0 ? this.addresses4[0]!.address : 0;
  }

  /** Writes the host's IPv6 source for an interface at `va`: a global address there if any, else link-local. */
  /**
   * Writes the source address for a packet out of `ifIndex` at `va`. RFC 6724 rule 2 (prefer appropriate scope), as
   * Windows selects: to a link-scoped destination (at `dstVa`: fe80::/10, or a multicast group of node or link
   * scope) the interface's link-local address; to any other, or when `dstVa` is 0, an address of larger scope when
   * the interface has one.
   */
  private writeSource6(ifIndex: number, va: number, dstVa: number) {
    const a = this.addresses6;
    const wantLinkLocal = dstVa !== 0 && linkScopedAt(dstVa);
    let pick = -1;
    for (let i = 0; i < this.addresses6If.length; i++) {
      if (this.addresses6If[i] !== ifIndex) continue;
      if (pick < 0) pick = i;
      else if ((a[4 * pick]! >>> 22 === 0x3fa) !== wantLinkLocal && (a[4 * i]! >>> 22 === 0x3fa) === wantLinkLocal) {
        pick = i;
      }
    }
    writeIpv6Words(va, a, 4 * Math.max(pick, 0));
  }

  /**
   * Sends a transport packet the host built (data at the transport header) from `src` to `dst` in IPv4: the
   * IP header goes in front, then the outbound layers and the route. Used by replies and endpoint sources.
   */
  private send4(nbl: NET_BUFFER_LIST, protocol: number, src: number, dst: number, ttl: number) {
    const nb = nbl.FirstNetBuffer!;
    const t = contiguous(nb, nb.DataLength);
    const length = nb.DataLength;
    // Transport checksum (the host computes it; no offload on the simulated adapters).
    if (protocol === H.IPPROTO_UDP) {
      H.put16(t + H.UDP_CHECKSUM, 0);
      H.put16(
        t + H.UDP_CHECKSUM,
        finishChecksum(pseudoHeaderSumV4(src, dst, protocol, length) + sumAt(t, length)) || 0xffff,
      );
    } else if (protocol === H.IPPROTO_TCP) {
      H.put16(t + H.TCP_CHECKSUM, 0);
      H.put16(t + H.TCP_CHECKSUM, finishChecksum(pseudoHeaderSumV4(src, dst, protocol, length) + sumAt(t, length)));
    } else if (protocol === H.IPPROTO_ICMP) {
      H.put16(t + H.ICMP_CHECKSUM, 0);
      H.put16(t + H.ICMP_CHECKSUM, finishChecksum(sumAt(t, length)));
    }
    NdisRetreatNetBufferDataStart(nb, H.IPV4_HEADER, 0, null);
    const ip = t - H.IPV4_HEADER;
    H.put8(ip, 0x45);
    H.put8(ip + 1, 0);
    H.put16(ip + H.IPV4_TOTAL_LENGTH, length + H.IPV4_HEADER);
    H.put16(ip + H.IPV4_ID, this.nextId++ & 0xffff);
    H.put16(ip + H.IPV4_FRAGMENT, 0);
    H.put8(ip + H.IPV4_TTL, ttl);
    H.put8(ip + H.IPV4_PROTOCOL, protocol);
    H.put16(ip + H.IPV4_CHECKSUM, 0);
    H.put32(ip + H.IPV4_SOURCE, src);
    H.put32(ip + H.IPV4_DESTINATION, dst);
    H.put16(ip + H.IPV4_CHECKSUM, finishChecksum(sumAt(ip, H.IPV4_HEADER)));
    this.sendIp4(nbl, ip);
  }

  private nextId = 1;

  /** Outbound IPv4 from the host, data at the IP header: route, hook, OUTBOUND_IPPACKET, neighbour, adapter. */
  private sendIp4(nbl: NET_BUFFER_LIST, ip: number) {
    setDiscardLayer(nbl, Layer.OutboundIppacket4 + 1);
    const dst = H.get32(ip + H.IPV4_DESTINATION);
    const route = dst === 0xffffffff ? -2 : this.routes.lookup4(dst);
    if (route === -1) return this.drop(nbl, DropReason.NoRoute);
    // Limited broadcast leaves through the first interface (decided: the host has no per-socket interface choice).
    const out = route === -2 ? this.interfaceList()[0] : this.interfaces[this.routes.interface4(route)];
    if (out === undefined) return this.drop(nbl, DropReason.NoRoute);
    if (this.hooked() && !this.runFirewallHook(DIRECTION_OUTBOUND, nbl, out.ifIndex, 4)) return;
    const r = this.fill(Layer.OutboundIppacket4, 4, DIRECTION_OUTBOUND, nbl, out.ifIndex, H.get8(ip + H.IPV4_PROTOCOL));
    r.localAddressVa = ip + H.IPV4_SOURCE;
    r.remoteAddressVa = ip + H.IPV4_DESTINATION;
    r.ipHeaderSize = (H.get8(ip) & 0xf) << 2;
    if (nbl !== this.classifiedPart && !this.classify(nbl)) return;
    this.output4(out, nbl, route === -2 ? dst : this.routes.nextHop4(route, dst));
  }

  /** As {@link send4} for IPv6; the addresses are copied from `srcVa` / `dstVa` (they may lie in another packet). */
  private send6(nbl: NET_BUFFER_LIST, protocol: number, srcVa: number, dstVa: number, hopLimit: number) {
    const nb = nbl.FirstNetBuffer!;
    const length = nb.DataLength;
    NdisRetreatNetBufferDataStart(nb, H.IPV6_HEADER, 0, null);
    const ip = contiguous(nb, H.IPV6_HEADER + length);
    const t = ip + H.IPV6_HEADER;
    H.put32(ip, 0x60000000);
    H.put16(ip + H.IPV6_PAYLOAD_LENGTH, length);
    H.put8(ip + H.IPV6_NEXT_HEADER, protocol);
    H.put8(ip + H.IPV6_HOP_LIMIT, hopLimit);
    H.move(ip + H.IPV6_SOURCE, srcVa, 16);
    H.move(ip + H.IPV6_DESTINATION, dstVa, 16);
    const pseudo = pseudoSumAt6(ip + H.IPV6_SOURCE, ip + H.IPV6_DESTINATION, protocol, length);
    const at = protocol === H.IPPROTO_UDP ? H.UDP_CHECKSUM : protocol === H.IPPROTO_TCP ? H.TCP_CHECKSUM : 2;
    H.put16(t + at, 0);
    const sum = finishChecksum(pseudo + sumAt(t, length));
    H.put16(t + at, protocol === H.IPPROTO_UDP && sum === 0 ? 0xffff : sum);
    this.sendIp6(nbl, ip);
  }

  /** Outbound IPv6 from the host, data at the IP header. */
  private sendIp6(nbl: NET_BUFFER_LIST, ip: number) {
    setDiscardLayer(nbl, Layer.OutboundIppacket6 + 1);
    readIpv6Words(ip + H.IPV6_DESTINATION, scratch6);
    let out: IpInterface | undefined;
    if (scratch6[0]! >>> 24 === 0xff || scratch6[0]! >>> 22 === 0x3fa) {
      // Multicast and link-local destinations leave through the interface the source address belongs to.
      readIpv6Words(ip + H.IPV6_SOURCE, nextHop6);
      out = this.interfaces[this.interfaceOf6(nextHop6)];
      nextHop6.set(scratch6);
    } else {
      const route = this.routes.lookup6(scratch6);
      if (route >= 0) {
        out = this.interfaces[this.routes.interface6(route)];
        this.routes.nextHop6(route, scratch6, 0, nextHop6);
      }
    }
    if (out === undefined) return this.drop(nbl, DropReason.NoRoute);
    if (this.hooked() && !this.runFirewallHook(DIRECTION_OUTBOUND, nbl, out.ifIndex, 6)) return;
    const r = this.fill(
      Layer.OutboundIppacket6,
      6,
      DIRECTION_OUTBOUND,
      nbl,
      out.ifIndex,
      H.get8(ip + H.IPV6_NEXT_HEADER),
    );
    r.localAddressVa = ip + H.IPV6_SOURCE;
    r.remoteAddressVa = ip + H.IPV6_DESTINATION;
    r.ipHeaderSize = H.IPV6_HEADER;
    if (nbl !== this.classifiedPart && !this.classify(nbl)) return;
    this.output6(out, nbl, nextHop6);
  }

  private interfaceOf6(w: Uint32Array): number {
    const a = this.addresses6;
    for (let i = 0; i < this.addresses6If.length; i++) {
      const b = 4 * i;
      if (a[b] === w[0] && a[b + 1] === w[1] && a[b + 2] === w[2] && a[b + 3] === w[3]) return this.addresses6If[i]!;
    }
    return this.interfaceList()[0]?.ifIndex ?? 0;
  }

  /** Echo reply (ICMP type 0 / ICMPv6 129) to the request at `t` (ICMP message of `length` bytes). */
  private reply(iface: IpInterface, version: number, ip: number, t: number, length: number, type: number) {
    const nbl = this.allocate(length);
    if (nbl === null) return;
    const r = contiguous(nbl.FirstNetBuffer!, length);
    H.move(r, t, length);
    H.put8(r, type);
    H.put8(r + 1, 0);
    if (version === 4) {
      const src = H.get32(ip + H.IPV4_DESTINATION);
      const dst = H.get32(ip + H.IPV4_SOURCE);
      // A reply to a broadcast ping comes from the interface address (RFC 1122 3.2.2.6).
      this.send4(nbl, H.IPPROTO_ICMP, src === 0xffffffff ? this.sourceFor4(iface.ifIndex) : src, dst, 128);
    } else {
      this.send6(nbl, H.IPPROTO_ICMPV6, ip + H.IPV6_DESTINATION, ip + H.IPV6_SOURCE, 128);
    }
  }

  /**
   * An ICMP error about the packet at `ip` (RFC 1122 3.2.2 / RFC 4443 2.4): never about an ICMP error, a
   * broadcast or multicast, a non-first fragment, or an unspecified / multicast source. The error goes through
   * the OUTBOUND_ICMP_ERROR layer first. `extra` is the MTU (too big) or the pointer (parameter problem).
   */
  private sendIcmpError(
    iface: IpInterface,
    version: number,
    ip: number,
    type: number,
    code: number,
    extra: number,
  ): void {
    if (version === 4) {
      const src = H.get32(ip + H.IPV4_SOURCE);
      const dst = H.get32(ip + H.IPV4_DESTINATION);
      if (src === 0 || src >>> 28 === 0xe || dst === 0xffffffff || dst >>> 28 === 0xe) return;
      if ((H.get16(ip + H.IPV4_FRAGMENT) & H.IPV4_OFFSET_MASK) !== 0) return;
      const hlen = (H.get8(ip) & 0xf) << 2;
      if (H.get8(ip + H.IPV4_PROTOCOL) === H.IPPROTO_ICMP) {
        // Only queries and replies draw errors; the error types, and types unknown to the host (decided, to be
        // safe), never do (RFC 1122 3.2.2, RFC 1812 4.3.2.7).
        if (!ICMP_INFORMATIONAL.has(H.get8(ip + hlen))) return;
      }
      const from = this.sourceFor4(iface.ifIndex);
      if (from === 0) return;
      // RFC 1812 4.3.2.3: as much of the original as fits in 576 bytes.
      const quoted = Math.min(H.get16(ip + H.IPV4_TOTAL_LENGTH), 576 - H.IPV4_HEADER - H.ICMP_HEADER);
      const nbl = this.allocate(H.ICMP_HEADER + quoted);
      if (nbl === null) return;
      const t = contiguous(nbl.FirstNetBuffer!, H.ICMP_HEADER + quoted);
      H.put8(t, type);
      H.put8(t + 1, code);
      H.put32(t + 4, type === H.ICMP_DEST_UNREACH && code === H.ICMP_FRAG_NEEDED ? extra & 0xffff : 0);
      H.move(t + H.ICMP_HEADER, ip, quoted);
      const r = this.fill(Layer.OutboundIcmpError4, 4, DIRECTION_OUTBOUND, nbl, iface.ifIndex, H.IPPROTO_ICMP);
      r.localAddressVa = ip + H.IPV4_DESTINATION;
      r.remoteAddressVa = ip + H.IPV4_SOURCE;
      r.localPort = type;
      r.remotePort = code;
      r.transportHeaderSize = H.ICMP_HEADER;
      if (!this.classify(nbl)) return;
      this.send4(nbl, H.IPPROTO_ICMP, from, src, 128);
    } else {
      readIpv6Words(ip + H.IPV6_SOURCE, scratch6);
      if ((scratch6[0]! | scratch6[1]! | scratch6[2]! | scratch6[3]!) === 0 || scratch6[0]! >>> 24 === 0xff) return;
      // Errors about multicast destinations only for packet-too-big and parameter problem code 2.
      if (H.get8(ip + H.IPV6_DESTINATION) === 0xff && type !== H.ICMPV6_PACKET_TOO_BIG) return;
      const total = H.IPV6_HEADER + H.get16(ip + H.IPV6_PAYLOAD_LENGTH);
      // Never about an ICMPv6 error (RFC 4443 2.4(e)), also when extension headers come before it.
      const upper = upperLayer6(ip, total);
      if (upper >= 0 && upper < total && walked.next === H.IPPROTO_ICMPV6 && H.get8(ip + upper) < 128) return;
      // RFC 4443 2.4(c): the error must not exceed the minimum IPv6 MTU.
      const quoted = Math.min(total, 1280 - H.IPV6_HEADER - H.ICMP_HEADER);
      const nbl = this.allocate(H.ICMP_HEADER + quoted + 16);
      if (nbl === null) return;
      const nb = nbl.FirstNetBuffer!;
      // 16 bytes of scratch at the end hold our source address until the IP header is written.
      const t = contiguous(nb, nb.DataLength);
      H.put8(t, type);
      H.put8(t + 1, code);
      H.put16(t + 2, 0);
      H.put32(t + 4, extra);
      H.move(t + H.ICMP_HEADER, ip, quoted);
      const fromVa = t + H.ICMP_HEADER + quoted;
      this.writeSource6(iface.ifIndex, fromVa, ip + H.IPV6_SOURCE);
      nb.DataLength -= 16;
      const r = this.fill(Layer.OutboundIcmpError6, 6, DIRECTION_OUTBOUND, nbl, iface.ifIndex, H.IPPROTO_ICMPV6);
      r.localAddressVa = fromVa;
      r.remoteAddressVa = ip + H.IPV6_SOURCE;
      r.localPort = type;
      r.remotePort = code;
      r.transportHeaderSize = H.ICMP_HEADER;
      if (!this.classify(nbl)) return;
      this.send6(nbl, H.IPPROTO_ICMPV6, fromVa, ip + H.IPV6_SOURCE, 255);
    }
  }

  /** RFC 793 reset for a segment to a closed port (never in answer to a reset). */
  private sendReset(iface: IpInterface, version: number, ip: number, t: number, length: number) {
    const flags = H.get8(t + H.TCP_FLAGS);
    if ((flags & H.TCP_RST) !== 0) return;
    const dataLength = length - ((H.get8(t + H.TCP_OFFSET) >>> 4) << 2);
    if ((flags & H.TCP_ACK_FLAG) !== 0) {
      this.sendTcp(iface, version, ip, t, H.TCP_RST, H.get32(t + H.TCP_ACK), 0, false, 0);
    } else {
      const segLen = dataLength + ((flags & H.TCP_SYN) !== 0 ? 1 : 0) + ((flags & H.TCP_FIN) !== 0 ? 1 : 0);
      const ack = (H.get32(t + H.TCP_SEQ) + segLen) >>> 0;
      this.sendTcp(iface, version, ip, t, H.TCP_RST | H.TCP_ACK_FLAG, 0, ack, false, 0);
    }
  }

  /**
   * A TCP segment (no data) the host's TCP sends in answer to the segment at `t` (its IP header at `ip`): ports
   * and addresses swapped, `flags`, `seq`, `ack`, the receive window (none on a reset) and, with `mss`, an MSS
   * option (RFC 9293 3.7.1: the interface MTU less the IP and TCP headers). It goes through OUTBOUND_TRANSPORT
   * (data at the transport header, flow handle `flow`) and OUTBOUND_IPPACKET, as the WFP "TCP packet flows"
   * page lists for a SYN-ACK and a reset.
   */
  private sendTcp(
    iface: IpInterface,
    version: number,
    ip: number,
    t: number,
    flags: number,
    seq: number,
    ack: number,
    mss: boolean,
    flow: number,
  ) {
    const header = mss ? H.TCP_MIN_HEADER + 4 : H.TCP_MIN_HEADER;
    // IPv6: 32 bytes after the segment hold the addresses until the IP header is written.
    const nbl = this.allocate(header + (version === 6 ? 32 : 0));
    if (nbl === null) return;
    const nb = nbl.FirstNetBuffer!;
    const r = contiguous(nb, nb.DataLength);
    const localPort = H.get16(t + 2);
    const remotePort = H.get16(t);
    H.put16(r, localPort);
    H.put16(r + 2, remotePort);
    H.put32(r + H.TCP_SEQ, seq);
    H.put32(r + H.TCP_ACK, ack);
    H.put8(r + H.TCP_OFFSET, (header >> 2) << 4);
    H.put8(r + H.TCP_FLAGS, flags);
    H.put16(r + H.TCP_WINDOW, (flags & H.TCP_RST) !== 0 ? 0 : RECEIVE_WINDOW);
    H.put32(r + H.TCP_CHECKSUM, 0); // checksum and urgent pointer
    if (mss) {
      H.put16(r + H.TCP_MIN_HEADER, 0x0204); // kind 2, length 4
      H.put16(r + H.TCP_MIN_HEADER + 2, Math.min(iface.mtu - (version === 4 ? 40 : 60), 65535));
    }
    const layer = version === 4 ? Layer.OutboundTransport4 : Layer.OutboundTransport6;
    // The listening endpoint's handle when the port is bound; a reset from a closed port has none.
    const endpoint = this.endpoints.lookup(H.IPPROTO_TCP, localPort)?.handle ?? 0;
    if (version === 4) {
      const src = H.get32(ip + H.IPV4_DESTINATION);
      const dst = H.get32(ip + H.IPV4_SOURCE);
      this.outbound.set(false, iface.ifIndex, H.IPPROTO_TCP, localPort, remotePort, header, 0, src, dst, endpoint, 0);
      this.describeSend(layer, nbl, flow);
      if (!this.classify(nbl)) return;
      this.send4(nbl, H.IPPROTO_TCP, src, dst, 128);
    } else {
      const a = r + header;
      H.move(a, ip + H.IPV6_DESTINATION, 16);
      H.move(a + 16, ip + H.IPV6_SOURCE, 16);
      nb.DataLength -= 32;
      this.outbound.set(true, iface.ifIndex, H.IPPROTO_TCP, localPort, remotePort, header, a, 0, 0, endpoint, 0);
      this.describeSend(layer, nbl, flow);
      if (!this.classify(nbl)) return;
      this.send6(nbl, H.IPPROTO_TCP, a, a + 16, 128);
    }
  }

  private sendArp(out: IpInterface, op: number, dstMac: number, senderIp: number, targetMac: number, targetIp: number) {
    const nbl = this.allocate(H.ARP_PACKET);
    if (nbl === null) return;
    const a = contiguous(nbl.FirstNetBuffer!, H.ARP_PACKET);
    H.put16(a, 1);
    H.put16(a + 2, H.ETHERTYPE_IPV4);
    H.put8(a + 4, 6);
    H.put8(a + 5, 4);
    H.put16(a + 6, op);
    writeMac(a + 8, out.mac);
    H.put32(a + 14, senderIp);
    writeMac(a + 18, targetMac);
    H.put32(a + 24, targetIp);
    const high = (dstMac / 0x1000000) | 0;
    this.transmitFrame(out, nbl, high, dstMac - high * 0x1000000, H.ETHERTYPE_ARP);
  }

  private sendNeighborSolicit(out: IpInterface, target: Uint32Array) {
    // 24 bytes of message, 8 of source link-layer option, 32 of scratch for the addresses.
    const nbl = this.allocate(32 + 32);
    if (nbl === null) return;
    const nb = nbl.FirstNetBuffer!;
    const t = contiguous(nb, nb.DataLength);
    H.put32(t, H.ICMPV6_NEIGHBOR_SOLICIT << 24);
    H.put32(t + 4, 0);
    writeIpv6Words(t + 8, target);
    H.put8(t + 24, 1);
    H.put8(t + 25, 1);
    writeMac(t + 26, out.mac);
    const src = t + 32;
    const dst = t + 48;
    // The solicitation's source is not chosen by its (link-scoped) destination: RFC 4861 7.2.2 lets any of the
    // interface's addresses be used, and the host keeps its preferred one.
    this.writeSource6(out.ifIndex, src, 0);
    solicitedNode[3] = 0xff000000 | (target[3]! & 0xffffff);
    writeIpv6Words(dst, solicitedNode);
    nb.DataLength = 32;
    this.send6(nbl, H.IPPROTO_ICMPV6, src, dst, 255);
  }

  private sendNeighborAdvert(out: IpInterface, targetVa: number, toVa: number, toAllNodes: boolean) {
    const nbl = this.allocate(32 + 32);
    if (nbl === null) return;
    const nb = nbl.FirstNetBuffer!;
    const t = contiguous(nb, nb.DataLength);
    H.put32(t, H.ICMPV6_NEIGHBOR_ADVERT << 24);
    // Router flag when forwarding, Solicited unless answering a DAD probe, Override (RFC 4861 4.4).
    H.put32(t + 4, ((this.forwarding ? 0x80000000 : 0) | (toAllNodes ? 0 : 0x40000000) | 0x20000000) >>> 0);
    H.move(t + 8, targetVa, 16);
    H.put8(t + 24, 2);
    H.put8(t + 25, 1);
    writeMac(t + 26, out.mac);
    const src = t + 32;
    const dst = t + 48;
    H.move(src, targetVa, 16);
    if (toAllNodes) writeIpv6Words(dst, ALL_NODES);
    else H.move(dst, toVa, 16);
    nb.DataLength = 32;
    this.send6(nbl, H.IPPROTO_ICMPV6, src, dst, 255);
  }

  // --- endpoints sending -------------------------------------------------------------------------------------

  /**
   * An application's send from a bound (or ephemeral) port: a UDP datagram or a bare TCP segment with `payload`.
   * The first packet of a flow goes through ALE_AUTH_CONNECT and ALE_FLOW_ESTABLISHED; a datagram through
   * DATAGRAM_DATA; then OUTBOUND_TRANSPORT (data at the transport header) and the IP output path.
   */
  sendFrom(
    protocol: number,
    srcPort: number,
    dst: number | Uint32Array,
    dstPort: number,
    payload: Uint8Array,
    tcpFlags = H.TCP_ACK_FLAG,
  ): boolean {
    this.processingDepth++;
    let sent: boolean;
    try {
      sent = this.originate(protocol, srcPort, dst, dstPort, payload, tcpFlags);
    } finally {
      this.processingDepth--;
    }
    if (this.processingDepth === 0 && this.injectQueue.length > 0) this.runInjected();
    return sent;
  }

  private originate(
    protocol: number,
    srcPort: number,
    dst: number | Uint32Array,
    dstPort: number,
    payload: Uint8Array,
    tcpFlags: number,
  ): boolean {
    const v6 = typeof dst !== 'number';
    const header = protocol === H.IPPROTO_UDP ? H.UDP_HEADER : H.TCP_MIN_HEADER;
    // 32 bytes after the segment hold the IPv6 addresses until the IP header exists.
    const nbl = this.allocate(header + payload.length + 32);
    if (nbl === null) return false;
    const nb = nbl.FirstNetBuffer!;
    const t = contiguous(nb, nb.DataLength);
    memory.fill(0, t - ARENA_BASE, t - ARENA_BASE + header);
    H.put16(t, srcPort);
    H.put16(t + 2, dstPort);
    if (protocol === H.IPPROTO_UDP) H.put16(t + H.UDP_LENGTH, header + payload.length);
    else {
      H.put8(t + H.TCP_OFFSET, 5 << 4);
      H.put8(t + H.TCP_FLAGS, tcpFlags);
      H.put16(t + H.TCP_WINDOW, 65535);
    }
    memory.set(payload, t + header - ARENA_BASE);
    const length = header + payload.length;
    nb.DataLength = length;
    const out = v6 ? this.routes.lookup6(dst) : this.routes.lookup4(dst);
    const ifIndex = out < 0 ? 0 : v6 ? this.routes.interface6(out) : this.routes.interface4(out);
    const addresses = t + length;
    let src4 = 0;
    if (v6) {
      writeIpv6Words(addresses + 16, dst);
      this.writeSource6(ifIndex, addresses, addresses + 16);
    } else src4 = this.sourceFor4(ifIndex);
    const d4 = v6 ? 0 : (dst as number) >>> 0;
    // The application's socket: the endpoint bound to the port, or the send-only one of a port never bound.
    const endpoint = this.endpoints.sender(protocol, srcPort)!;
    const scope = v6 && scopedAt(addresses + 16) ? ifIndex : 0;
    const send = this.outbound;
    send.set(v6, ifIndex, protocol, srcPort, dstPort, header, addresses, src4, d4, endpoint.handle, scope);
    if (!this.classifySend(nbl)) return false;
    if (v6) this.send6(nbl, protocol, addresses, addresses + 16, 128);
    else this.send4(nbl, protocol, src4, d4, 128);
    return true;
  }

  /**
   * The transport-level layers of the send {@link outbound} describes (data at the transport header): ALE_AUTH_CONNECT
   * and ALE_FLOW_ESTABLISHED for a flow's first packet, DATAGRAM_DATA for UDP, then OUTBOUND_TRANSPORT. True when the
   * packet goes on (else it was dropped or absorbed).
   */
  private classifySend(nbl: NET_BUFFER_LIST): boolean {
    const s = this.outbound;
    if (s.v6) readIpv6Words(s.addresses + 16, remoteWords);
    else {
      remoteWords[0] = remoteWords[1] = 0;
      remoteWords[2] = 0xffff;
      remoteWords[3] = s.dst4;
    }
    let flow = this.flows.find(s.protocol, s.srcPort, s.dstPort, remoteWords);
    if (flow === 0) {
      for (const layer of s.v6 ? ALE_OUTBOUND_6 : ALE_OUTBOUND_4) {
        const r = this.describeSend(layer, nbl, 0);
        // ALE_FLOW_ESTABLISHED carries no remote scope.
        if (layer === Layer.AleFlowEstablished4 || layer === Layer.AleFlowEstablished6) r.remoteScopeId = -1;
        if (!this.classify(nbl)) return false;
      }
      flow = this.flows.add(s.protocol, s.srcPort, s.dstPort, remoteWords);
    }
    if (s.protocol === H.IPPROTO_UDP) {
      this.describeSend(s.v6 ? Layer.DatagramData6 : Layer.DatagramData4, nbl, flow);
      if (!this.classify(nbl)) return false;
    }
    this.describeSend(s.v6 ? Layer.OutboundTransport6 : Layer.OutboundTransport4, nbl, flow);
    return this.classify(nbl);
  }

  /** Fills the request for an outbound transport-level layer of the send {@link outbound} describes; returns it. */
  private describeSend(layer: number, nbl: NET_BUFFER_LIST, flow: number): ClassifyRequest {
    const s = this.outbound;
    const r = this.fill(layer, s.v6 ? 6 : 4, DIRECTION_OUTBOUND, nbl, s.ifIndex, s.protocol);
    r.localPort = s.srcPort;
    r.remotePort = s.dstPort;
    r.transportHeaderSize = s.header;
    r.flowHandle = flow;
    r.endpointHandle = s.endpoint;
    r.remoteScopeId = s.scope;
    if (s.v6) {
      r.localAddressVa = s.addresses;
      r.remoteAddressVa = s.addresses + 16;
    } else {
      r.localAddress4 = s.src4;
      r.remoteAddress4 = s.dst4;
    }
    return r;
  }

  // --- injection -----------------------------------------------------------------------------------------------

  /**
   * A callout injects a packet (the WFP injection sink calls this). `point` says where it re-enters:
   * 'receive' (network receive, data at the IP header), 'send' (network send, data at the IP header),
   * 'forward' (data at the IP header) or 'transport-receive' (data at the IP header of a locally destined
   * packet, delivered into the transport). The packet is processed after the current one, never re-entrantly,
   * and completed back to `owner`. Transport sends come in through {@link injectTransportSend}.
   */
  inject(nbl: NET_BUFFER_LIST, point: InjectPoint, owner: InjectionOwner, ifIndex: number): void {
    this.enqueueInjected(nbl, point, owner, ifIndex, null, 0);
  }

  /**
   * FwpsInjectTransportSendAsync0's packet: data at the transport header, sent from `endpoint` (one of this host's)
   * to `remote` (4 or 16 bytes, network order, copied now: the caller may reuse them) with scope `scopeId`. The
   * host builds the IP header, runs the send's transport layers again and sends it down the IP output path.
   */
  injectTransportSend(
    nbl: NET_BUFFER_LIST,
    endpoint: Endpoint,
    remote: Uint8Array,
    scopeId: number,
    owner: InjectionOwner,
  ): void {
    const slot = this.injectQueue.length;
    if (this.injectRemote.length < 16 * (slot + 1)) {
      const grown = new Uint8Array(2 * this.injectRemote.length);
      grown.set(this.injectRemote);
      this.injectRemote = grown;
    }
    this.injectRemote.fill(0, 16 * slot, 16 * slot + 16);
    this.injectRemote.set(remote, 16 * slot);
    this.enqueueInjected(nbl, remote.length === 4 ? 'transport-send' : 'transport-send6', owner, 0, endpoint, scopeId);
  }

  private enqueueInjected(
    nbl: NET_BUFFER_LIST,
    point: InjectPoint,
    owner: InjectionOwner,
    ifIndex: number,
    endpoint: Endpoint | null,
    scopeId: number,
  ): void {
    this.counters.injected += packetsIn(nbl);
    nbl.ProtocolReserved[0] = Origin.Injected;
    nbl.ProtocolReserved[1] = owner;
    nbl.Scratch = null; // the host's now (the DISCARD layer mark, see setDiscardLayer): none yet
    nbl.ProtocolReserved[2] = nbl.FirstNetBuffer!.DataOffset;
    nbl.ProtocolReserved[3] = ifIndex;
    this.event('injected', nbl, point);
    this.injectQueue.push(nbl);
    this.injectPoint.push(INJECT_POINTS.indexOf(point));
    this.injectEndpoint.push(endpoint);
    this.injectScope.push(scopeId);
    if (this.processingDepth === 0) this.runInjected();
  }

  private runInjected() {
    this.processingDepth++;
    try {
      for (let i = 0; i < this.injectQueue.length; i++) {
        const nbl = this.injectQueue[i]!;
        const point = INJECT_POINTS[this.injectPoint[i]!]!;
        const ifIndex = nbl.ProtocolReserved[3] as number;
        nbl.ProtocolReserved[3] = nbl.FirstNetBuffer!.DataOffset + nbl.FirstNetBuffer!.DataLength;
        if (point === 'transport-send' || point === 'transport-send6') {
          this.sendInjectedTransport(
            nbl,
            point === 'transport-send6',
            this.injectEndpoint[i]!,
            i,
            this.injectScope[i]!,
          );
          continue;
        }
        const iface = this.interfaces[ifIndex] ?? this.interfaceList()[0];
        if (iface === undefined) {
          this.drop(nbl, DropReason.NoRoute);
          continue;
        }
        if (nbl.FirstNetBuffer!.Next === null) {
          this.injectOne(nbl, point, iface);
          continue;
        }
        if (point === 'send') {
          this.sendEach(nbl);
          continue;
        }
        // Several NET_BUFFERs, each an IP packet, entering the receive or forward path: each part takes its own
        // path and verdicts (decided, as for a receive: the docs describe several NET_BUFFERs per classify only
        // for outgoing data), and the list completes to its injector once all are done.
        const base = this.parts.length;
        this.split(nbl);
        try {
          for (let p = base; p < this.parts.length; p++) this.injectOne(this.parts[p]!, point, iface);
        } finally {
          this.parts.length = base;
        }
        this.partDone(nbl, 0);
      }
    } finally {
      this.injectQueue.length = 0;
      this.injectPoint.length = 0;
      this.injectEndpoint.length = 0;
      this.injectScope.length = 0;
      this.processingDepth--;
    }
  }

  /**
   * A transport send injection (data at the transport header) from `endpoint` to the address in slot `slot` of
   * the queue. As tcpip does for a send from a socket: the route gives the interface and the source address; the
   * packet goes through the transport layers of its flow again (ALE only if the flow is new, DATAGRAM_DATA,
   * OUTBOUND_TRANSPORT: the injector's callout sees it there as FWPS_PACKET_INJECTED_BY_SELF); then the transport
   * checksum is computed over the data as the layers left it, the IP header goes in front (TTL / hop limit 128,
   * the endpoint's protocol) and it goes down the IP output path (firewall hook, OUTBOUND_IPPACKET, neighbour,
   * adapter).
   */
  private sendInjectedTransport(nbl: NET_BUFFER_LIST, v6: boolean, endpoint: Endpoint, slot: number, scope: number) {
    const nb = nbl.FirstNetBuffer!;
    setDiscardLayer(nbl, (v6 ? Layer.OutboundTransport6 : Layer.OutboundTransport4) + 1);
    // The endpoint may have closed between the injection call and now: nothing to send from.
    if (!endpoint.isOpen) return this.drop(nbl, DropReason.SendFailed);
    const protocol = endpoint.protocol;
    const length = nb.DataLength;
    // The transport header may lie across MDLs in a list the callout built: read it byte by byte.
    const tcpHeader = length >= H.TCP_MIN_HEADER ? (byteAt(nb, H.TCP_OFFSET) >>> 4) << 2 : 0;
    const header = protocol === H.IPPROTO_UDP ? H.UDP_HEADER : tcpHeader;
    if (header < (protocol === H.IPPROTO_UDP ? H.UDP_HEADER : H.TCP_MIN_HEADER) || header > length) {
      return this.drop(nbl, DropReason.Malformed);
    }
    const srcPort = (byteAt(nb, 0) << 8) | byteAt(nb, 1);
    const dstPort = (byteAt(nb, 2) << 8) | byteAt(nb, 3);
    const remote = this.injectRemote;
    const at = 16 * slot;
    let ifIndex = 0;
    let d4 = 0;
    if (v6) {
      for (let w = 0; w < 4; w++) {
        const b = at + 4 * w;
        scratch6[w] = ((remote[b]! << 24) | (remote[b + 1]! << 16) | (remote[b + 2]! << 8) | remote[b + 3]!) >>> 0;
      }
      // A link-scoped destination leaves through the interface its scope names (the socket's sin6_scope_id).
      const scoped = scratch6[0]! >>> 22 === 0x3fa || scratch6[0]! >>> 24 === 0xff;
      if (scoped && this.interfaces[scope] !== undefined) ifIndex = scope;
      else {
        const route = this.routes.lookup6(scratch6);
        if (route >= 0) ifIndex = this.routes.interface6(route);
      }
    } else {
      d4 = ((remote[at]! << 24) | (remote[at + 1]! << 16) | (remote[at + 2]! << 8) | remote[at + 3]!) >>> 0;
      const route = d4 === 0xffffffff ? -2 : this.routes.lookup4(d4);
      if (route >= 0) ifIndex = this.routes.interface4(route);
      else if (route === -2) ifIndex = this.interfaceList()[0]?.ifIndex ?? 0;
    }
    if (this.interfaces[ifIndex] === undefined) return this.drop(nbl, DropReason.NoRoute);
    // The transport layers point at the addresses: IPv6 ones in the host's scratch until the IP header exists.
    const addresses = this.addressScratch;
    if (addresses === 0) return this.drop(nbl, DropReason.NoResources); // the host has stopped
    const src4 = v6 ? 0 : this.sourceFor4(ifIndex);
    if (v6) {
      writeIpv6Words(addresses + 16, scratch6);
      this.writeSource6(ifIndex, addresses, addresses + 16);
    }
    const scopeId = v6 && scopedAt(addresses + 16) ? ifIndex : 0;
    const send = this.outbound;
    send.set(v6, ifIndex, protocol, srcPort, dstPort, header, addresses, src4, d4, endpoint.handle, scopeId);
    if (!this.classifySend(nbl)) return;
    // The checksum over the pseudo-header and the segment as the layers left it (the NICs offload nothing).
    const field = protocol === H.IPPROTO_UDP ? H.UDP_CHECKSUM : H.TCP_CHECKSUM;
    put16Data(nb, field, 0);
    const pseudo = v6
      ? pseudoSumAt6(addresses, addresses + 16, protocol, length)
      : pseudoHeaderSumV4(src4, d4, protocol, length);
    const sum = finishChecksum(sumNetBufferData(nb, 0, length, pseudo));
    put16Data(nb, field, protocol === H.IPPROTO_UDP && sum === 0 ? 0xffff : sum);
    // The IP header in front; the list records it, so that it comes off again before the list goes back.
    const hlen = v6 ? H.IPV6_HEADER : H.IPV4_HEADER;
    if (NdisRetreatNetBufferDataStart(nb, hlen, 0, null) !== 0) return this.drop(nbl, DropReason.NoResources);
    nb.ProtocolReserved[1] = hlen;
    const ip = contiguous(nb, hlen);
    if (ip === 0) return this.drop(nbl, DropReason.NoResources);
    if (v6) {
      H.put32(ip, 0x60000000);
      H.put16(ip + H.IPV6_PAYLOAD_LENGTH, length);
      H.put8(ip + H.IPV6_NEXT_HEADER, protocol);
      H.put8(ip + H.IPV6_HOP_LIMIT, 128);
      H.move(ip + H.IPV6_SOURCE, addresses, 32);
      this.sendIp6(nbl, ip);
    } else {
      H.put8(ip, 0x45);
      H.put8(ip + 1, 0);
      H.put16(ip + H.IPV4_TOTAL_LENGTH, length + H.IPV4_HEADER);
      H.put16(ip + H.IPV4_ID, this.nextId++ & 0xffff);
      H.put16(ip + H.IPV4_FRAGMENT, 0);
      H.put8(ip + H.IPV4_TTL, 128);
      H.put8(ip + H.IPV4_PROTOCOL, protocol);
      H.put16(ip + H.IPV4_CHECKSUM, 0);
      H.put32(ip + H.IPV4_SOURCE, src4);
      H.put32(ip + H.IPV4_DESTINATION, d4);
      H.put16(ip + H.IPV4_CHECKSUM, finishChecksum(sumAt(ip, H.IPV4_HEADER)));
      this.sendIp4(nbl, ip);
    }
  }

  /**
   * A transport receive injection (data at the IP header): delivered into the transport, past the IP layers - no
   * IP validation, firewall hook or INBOUND_IPPACKET again. Decided: the function's page says it injects into the
   * receive path from the transport, datagram and ICMP error layers, and the list starts at the IP header only so
   * the transport can read the addresses; the "Packet Injection Functions" page's example has such a packet
   * traverse "the network layer" again, which this host reads as the IP header being parsed, not re-filtered.
   * The transport checks it as any arrival (checksum, port) and classifies INBOUND_TRANSPORT, the ALE receive
   * layers for a new flow and DATAGRAM_DATA, then the endpoint takes it.
   */
  private receiveInjectedTransport(iface: IpInterface, nbl: NET_BUFFER_LIST, ip: number, v4: boolean) {
    const nb = nbl.FirstNetBuffer!;
    setDiscardLayer(nbl, (v4 ? Layer.InboundTransport4 : Layer.InboundTransport6) + 1);
    if (v4) {
      if (contiguous(nb, H.IPV4_HEADER) === 0) return this.drop(nbl, DropReason.Malformed);
      const hlen = (H.get8(ip) & 0x0f) << 2;
      const total = H.get16(ip + H.IPV4_TOTAL_LENGTH);
      if (hlen < H.IPV4_HEADER || total < hlen || total > nb.DataLength || contiguous(nb, hlen) === 0) {
        return this.drop(nbl, DropReason.Malformed);
      }
      // A transport injection carries a whole datagram (decided: fragments are the network layer's).
      if ((H.get16(ip + H.IPV4_FRAGMENT) & (H.IPV4_MF | H.IPV4_OFFSET_MASK)) !== 0) {
        return this.drop(nbl, DropReason.Malformed);
      }
      nb.DataLength = total;
      NdisAdvanceNetBufferDataStart(nb, hlen, false, null);
      return this.deliverTransport(iface, nbl, 4, ip, hlen, H.get8(ip + H.IPV4_PROTOCOL));
    }
    if (H.get8(ip) >>> 4 !== 6 || contiguous(nb, H.IPV6_HEADER) === 0) return this.drop(nbl, DropReason.Malformed);
    const payload = H.get16(ip + H.IPV6_PAYLOAD_LENGTH);
    if (H.IPV6_HEADER + payload > nb.DataLength) return this.drop(nbl, DropReason.Malformed);
    nb.DataLength = H.IPV6_HEADER + payload;
    const hlen = walk6(nb, ip, H.get8(ip + H.IPV6_NEXT_HEADER), H.IPV6_HEADER, H.IPV6_NEXT_HEADER);
    if (hlen < 0 || walked.next === H.IPPROTO_FRAGMENT) return this.drop(nbl, DropReason.Malformed);
    const next = walked.next;
    NdisAdvanceNetBufferDataStart(nb, hlen, false, null);
    if (next === H.IPPROTO_NONE) return this.deliver(nbl);
    this.deliverTransport(iface, nbl, 6, ip, hlen, next);
  }

  /**
   * An injected send of several IP packets in one list (data at the first one's IP header). For outgoing data WFP
   * classifies such a list once, whole (packet indication format: a list at classifyFn "can contain more than one
   * NET_BUFFER, each of which describes an IP packet", and a callout that wants only some of them blocks the
   * list and injects a new one), with the metadata of its first packet ("IP and transport headers are always
   * described by the first NET_BUFFER"). So OUTBOUND_IPPACKET sees the list once, on the interface of its first
   * packet's route; a BLOCK or ABSORB takes every packet. Past it each packet finds its own route, firewall hook
   * verdict and neighbour, and the list completes to its injector once all are done.
   */
  private sendEach(nbl: NET_BUFFER_LIST) {
    const nb = nbl.FirstNetBuffer!;
    const ip = contiguous(nb, H.IPV6_HEADER) || contiguous(nb, H.IPV4_HEADER);
    const version = ip === 0 ? 0 : H.get8(ip) >>> 4;
    if (version !== 4 && version !== 6) return this.drop(nbl, DropReason.Malformed);
    const v4 = version === 4;
    let ifIndex = 0;
    if (v4) {
      const route = this.routes.lookup4(H.get32(ip + H.IPV4_DESTINATION));
      if (route >= 0) ifIndex = this.routes.interface4(route);
    } else {
      readIpv6Words(ip + H.IPV6_DESTINATION, scratch6);
      const route = this.routes.lookup6(scratch6);
      if (route >= 0) ifIndex = this.routes.interface6(route);
    }
    const r = this.fill(
      v4 ? Layer.OutboundIppacket4 : Layer.OutboundIppacket6,
      version,
      DIRECTION_OUTBOUND,
      nbl,
      ifIndex,
      H.get8(ip + (v4 ? H.IPV4_PROTOCOL : H.IPV6_NEXT_HEADER)),
    );
    r.localAddressVa = ip + (v4 ? H.IPV4_SOURCE : H.IPV6_SOURCE);
    r.remoteAddressVa = ip + (v4 ? H.IPV4_DESTINATION : H.IPV6_DESTINATION);
    r.ipHeaderSize = v4 ? (H.get8(ip) & 0xf) << 2 : H.IPV6_HEADER;
    if (!this.classify(nbl)) return;
    const base = this.parts.length;
    this.split(nbl);
    try {
      for (let p = base; p < this.parts.length; p++) {
        this.classifiedPart = this.parts[p]!;
        this.injectOne(this.classifiedPart, 'send', undefined);
      }
    } finally {
      this.classifiedPart = null;
      this.parts.length = base;
    }
    this.partDone(nbl, 0);
  }

  /** One injected packet (a list with one NET_BUFFER, data at the IP header) enters at `point`. */
  private injectOne(nbl: NET_BUFFER_LIST, point: InjectPoint, iface: IpInterface | undefined) {
    if (iface === undefined && point !== 'send') return this.drop(nbl, DropReason.NoRoute);
    const data = nbl.FirstNetBuffer!;
    if (data.DataLength > 0 && contiguous(data, headerBytes(data)) === 0) {
      // A callout may split its packet anywhere across MDLs, inside its headers too. tcpip reads headers with
      // NdisGetDataBuffer; the host, whose layers read headers in place, works on a contiguous copy then (decided)
      // and completes the injected list when the copy is done. Data split after the headers is used in place.
      const copy = this.contiguousCopy(nbl);
      if (copy === null) return this.drop(nbl, DropReason.NoResources);
      nbl = copy;
    }
    const ip = contiguous(nbl.FirstNetBuffer!, 1);
    const v4 = ip !== 0 && H.get8(ip) >>> 4 === 4;
    if (ip === 0) this.drop(nbl, DropReason.Malformed);
    else if (point === 'send') v4 ? this.sendIp4(nbl, ip) : this.sendIp6(nbl, ip);
    else if (point === 'forward') {
      if (v4) this.forward4(iface!, nbl, ip, (H.get8(ip) & 0xf) << 2);
      else this.forward6(iface!, nbl, ip);
    } else if (point === 'transport-receive') this.receiveInjectedTransport(iface!, nbl, ip, v4);
    else if (v4) this.receive4(iface!, nbl, 0);
    else this.receive6(iface!, nbl, 0);
  }

  /** A contiguous copy of `injected`'s data from the host's pool (Origin.InjectedCopy), or null when none. */
  private contiguousCopy(injected: NET_BUFFER_LIST): NET_BUFFER_LIST | null {
    const nb = injected.FirstNetBuffer!;
    const length = nb.DataLength;
    const copy = this.newPacket(length);
    if (copy === null) return null;
    copyOut(nb, 0, contiguous(copy.FirstNetBuffer!, length), length);
    copy.ProtocolReserved[0] = Origin.InjectedCopy;
    copy.ProtocolReserved[1] = injected;
    return copy;
  }

  // --- filters -------------------------------------------------------------------------------------------------

  private fill(
    layer: number,
    version: number,
    direction: number,
    nbl: NET_BUFFER_LIST,
    ifIndex: number,
    protocol: number,
  ): ClassifyRequest {
    const r = this.request;
    setDiscardLayer(nbl, layer + 1); // each FWPS layer's DISCARD layer is the next id
    r.layerId = layer;
    r.ipVersion = version;
    r.direction = direction;
    r.nbl = nbl;
    r.interfaceIndex = ifIndex;
    r.destinationInterfaceIndex = 0;
    r.protocol = protocol;
    r.localPort = r.remotePort = 0;
    r.ipHeaderSize = r.transportHeaderSize = 0;
    r.flowHandle = 0;
    r.endpointHandle = 0;
    r.remoteScopeId = -1;
    r.localAddressVa = r.remoteAddressVa = 0;
    r.localAddress4 = r.remoteAddress4 = 0;
    r.absorbedBy = '';
    r.discardFilterId = 0;
    return r;
  }

  /**
   * Classifies the DISCARD layer where processing of `nbl` stopped, with the discard metadata. Returns true when a
   * callout absorbed the packet there (then it is counted as absorbed, not dropped).
   */
  private classifyDiscard(nbl: NET_BUFFER_LIST, reason: number): boolean {
    if (this.discardVerdict(nbl, reason) !== Verdict.Absorb) return false;
    this.absorbed(nbl);
    return true;
  }

  /**
   * The DISCARD layer's verdict on a packet about to be dropped, classified before the drop so that what the
   * transport owes in answer (a reset, an ACK) goes only if it permits: a callout that blocks there silences the
   * answer ("Preventing Port Scanning"); one that absorbs takes the packet (counted absorbed). Permit when no
   * layer applies. The drop that follows does not classify again.
   */
  private discardFirst(nbl: NET_BUFFER_LIST, reason: number): number {
    if (this.classifier === null || discardLayerOf(nbl) < 0) return Verdict.Permit;
    const verdict = this.discardVerdict(nbl, reason);
    if (verdict === Verdict.Absorb) this.absorbed(nbl);
    return verdict;
  }

  /**
   * The verdict of the DISCARD layer where processing of `nbl` stopped (classified once: the mark is cleared, so
   * the drop that follows does not classify it again). An ABSORB is the caller's to honour.
   */
  private discardVerdict(nbl: NET_BUFFER_LIST, reason: number): number {
    const layer = discardLayerOf(nbl);
    setDiscardLayer(nbl, -1);
    const r = this.request;
    if (r.nbl !== nbl) {
      // Dropped before any layer described it: only what the layer itself implies is known.
      const v6 =
        layer === Layer.InboundIppacket6 + 1 || layer === Layer.OutboundIppacket6 + 1 || layer === Layer.Ipforward6 + 1;
      this.fill(
        layer,
        v6 ? 6 : 4,
        layer === Layer.InboundIppacket4 + 1 || layer === Layer.InboundIppacket6 + 1
          ? DIRECTION_INBOUND
          : DIRECTION_OUTBOUND,
        nbl,
        0,
        0,
      );
    }
    r.layerId = layer;
    const byFilter = reason === DropReason.WfpBlock;
    r.discardModule = byFilter
      ? FWPS_DISCARD_MODULE_GENERAL
      : layer >= Layer.InboundTransport4
        ? FWPS_DISCARD_MODULE_TRANSPORT
        : FWPS_DISCARD_MODULE_NETWORK;
    r.discardReason = byFilter ? FWPS_DISCARD_FIREWALL_POLICY : reason;
    this.eventN('classify', nbl, '', layer, '');
    this.processingDepth++;
    let verdict: number;
    try {
      verdict = this.classifier!(r);
    } finally {
      this.processingDepth--;
      r.discardModule = -1;
    }
    return verdict;
  }

  /** Runs the layer in `this.request`; true when the packet goes on, else it has been dropped or absorbed. */
  private classify(nbl: NET_BUFFER_LIST): boolean {
    if (this.classifier === null) return true;
    if (this.onEvent !== null) this.eventN('classify', nbl, '', this.request.layerId, '');
    // A callout may inject from its classifyFn: the injected packet waits until this one is done.
    this.processingDepth++;
    let verdict: number;
    try {
      verdict = this.classifier(this.request);
    } finally {
      this.processingDepth--;
    }
    if (verdict === Verdict.Permit) return true;
    if (verdict === Verdict.Absorb) this.absorbed(nbl);
    else this.drop(nbl, DropReason.WfpBlock);
    return false;
  }

  /**
   * Whether packets go to the firewall hooks: the host is bound to them and one is registered. Tested on every
   * packet before {@link runFirewallHook}, whose binding call V8 does not always inline.
   */
  private hooked(): boolean {
    return this.firewallHook !== null && firewallHooksRegistered();
  }

  /** Runs the firewall hook; true when the packet goes on (possibly replaced in place of `nbl`). */
  private runFirewallHook(direction: number, nbl: NET_BUFFER_LIST, ifIndex: number, version: number): boolean {
    replacementBox.value = null;
    const action = this.firewallHook!(direction, nbl, ifIndex, replacementBox);
    const replaced = replacementBox.value !== null;
    this.event('firewall-hook', nbl, action === FORWARD ? (replaced ? 'FORWARD, replaced' : 'FORWARD') : 'DROP');
    if (action === FORWARD && !replaced) return true;
    if (action === DROP || action === ICMP_ON_DROP) {
      if (action === ICMP_ON_DROP && direction === DIRECTION_INBOUND) {
        const ip = contiguous(nbl.FirstNetBuffer!, 1);
        const iface = this.interfaces[ifIndex]!;
        if (version === 4) this.sendIcmpError(iface, 4, ip, H.ICMP_DEST_UNREACH, 13, 0);
        else this.sendIcmpError(iface, 6, ip, H.ICMPV6_DEST_UNREACH, 1, 0);
      }
      this.drop(nbl, DropReason.FirewallHook);
      return false;
    }
    // The hook rewrote the packet: the original is finished and the replacement travels the same path.
    const replacement = replacementBox.value!;
    replacementBox.value = null;
    this.counters.replaced++;
    this.release(nbl, 0);
    replacement.ProtocolReserved[0] = Origin.Own;
    this.counters.originated++;
    this.afterHook(direction, version, this.interfaces[ifIndex]!, replacement);
    return false;
  }

  /** Carries a hook's replacement on along the path its original was on, without running the hooks again. */
  private afterHook(direction: number, version: number, iface: IpInterface, nbl: NET_BUFFER_LIST): void {
    const saved = this.firewallHook;
    this.firewallHook = null;
    try {
      const ip = contiguous(nbl.FirstNetBuffer!, 1);
      if (direction === DIRECTION_INBOUND) {
        if (version === 4) this.receive4(iface, nbl, 0);
        else this.receive6(iface, nbl, 0);
      } else if (version === 4) this.sendIp4(nbl, ip);
      else this.sendIp6(nbl, ip);
    } finally {
      this.firewallHook = saved;
    }
  }
}

/** What the outbound transport-level layers of one send are told (preallocated per host, reused per send). */
class OutboundSend {
  v6 = false;
  ifIndex = 0;
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  /** Bytes of the transport header. */
  header = 0;
  /** IPv6: the address of the local address bytes, the remote ones right after. */
  addresses = 0;
  /** IPv4: the addresses as numbers. */
  src4 = 0;
  dst4 = 0;
  /** The sending endpoint's handle. */
  endpoint = 0;
  /** The remote address's scope (metadata remoteScopeId). */
  scope = 0;

  set(
    v6: boolean,
    ifIndex: number,
    protocol: number,
    srcPort: number,
    dstPort: number,
    header: number,
    addresses: number,
    src4: number,
    dst4: number,
    endpoint: number,
    scope: number,
  ): void {
    this.v6 = v6;
    this.ifIndex = ifIndex;
    this.protocol = protocol;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    this.header = header;
    this.addresses = addresses;
    this.src4 = src4;
    this.dst4 = dst4;
    this.endpoint = endpoint;
    this.scope = scope;
  }
}

const ALE_INBOUND_4 = [Layer.AleAuthRecvAccept4, Layer.AleFlowEstablished4];
const ALE_INBOUND_6 = [Layer.AleAuthRecvAccept6, Layer.AleFlowEstablished6];
const ALE_OUTBOUND_4 = [Layer.AleAuthConnect4, Layer.AleFlowEstablished4];
const ALE_OUTBOUND_6 = [Layer.AleAuthConnect6, Layer.AleFlowEstablished6];

/** The unfolded Internet sum of `length` bytes at simulated address `va` (the packet layer's, over memory). */
function sumAt(va: number, length: number): number {
  return sumWords(memory, va - ARENA_BASE, length);
}

/** The IPv6 pseudo-header sum, the addresses at simulated addresses `srcVa` / `dstVa`. */
function pseudoSumAt6(srcVa: number, dstVa: number, protocol: number, length: number): number {
  return pseudoHeaderSumV6(memory, srcVa - ARENA_BASE, dstVa - ARENA_BASE, protocol, length);
}

/** Is the IPv6 address at `va` scoped to a link (link-local fe80::/10, or multicast)? */
/**
 * How many bytes from the start of `nb`'s data its IP and transport headers take (read across MDLs): the IPv4
 * header and a TCP, UDP or ICMP header after it, or the IPv6 fixed header and one of those; never past the data.
 */
function headerBytes(nb: NET_BUFFER): number {
  const first = byteAt(nb, 0);
  let ip = 1;
  let protocol = -1;
  if (first >>> 4 === 4) {
    ip = (first & 0x0f) << 2;
    protocol = byteAt(nb, H.IPV4_PROTOCOL);
  } else if (first >>> 4 === 6) {
    ip = H.IPV6_HEADER;
    protocol = byteAt(nb, H.IPV6_NEXT_HEADER);
  }
  let transport = 0;
  if (protocol === H.IPPROTO_TCP) transport = Math.max(H.TCP_MIN_HEADER, (byteAt(nb, ip + H.TCP_OFFSET) >>> 4) << 2);
  else if (protocol === H.IPPROTO_UDP || protocol === H.IPPROTO_ICMP || protocol === H.IPPROTO_ICMPV6) transport = 8;
  return Math.max(1, Math.min(nb.DataLength, ip + transport));
}

/** Is the IPv6 address at `va` link-scoped: link-local unicast, or multicast of interface- or link-local scope? */
function linkScopedAt(va: number): boolean {
  const first = H.get16(va);
  return first >>> 6 === 0x3fa || (first >>> 8 === 0xff && (first & 0xf) <= 2);
}

function scopedAt(va: number): boolean {
  const first = H.get16(va);
  return first >>> 6 === 0x3fa || first >>> 8 === 0xff;
}

/**
 * Does the IPv4 header of `length` bytes (at most 60) at `va` verify? The header checksum on every received
 * packet, summed in place: 30 words at most cannot overflow, so two folds at the end suffice. `w0`, `w3` and `w4`
 * are the header's first word and its source and destination addresses (bytes 0, 12 and 16, big-endian), which
 * the caller has read already.
 */
function headerVerifies(va: number, length: number, w0: number, w3: number, w4: number): boolean {
  const v = memoryView;
  const o = va - ARENA_BASE;
  // The 20 bytes every header has as five 32-bit words (each a load and a byte swap; this runs on every received
  // packet), each adding its two 16-bit words, then any options.
  const w1 = v.getUint32(o + 4);
  const w2 = v.getUint32(o + 8);
  let sum =
    (w0 >>> 16) +
    (w0 & 0xffff) +
    (w1 >>> 16) +
    (w1 & 0xffff) +
    (w2 >>> 16) +
    (w2 & 0xffff) +
    (w3 >>> 16) +
    (w3 & 0xffff) +
    (w4 >>> 16) +
    (w4 & 0xffff);
  for (let i = 20; i < length; i += 2) sum += v.getUint16(o + i);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** Does the data a sum covers (its checksum field included) verify? */
function verifies(sum: number): boolean {
  return foldSum(sum) === 0xffff;
}

/**
 * {@link walk6}'s answer for a routing header with segments left (the pointer to its Routing Type is then in
 * `walked.nextAt`); callers that do not answer it take it, as any negative answer, for a malformed packet.
 */
const ROUTING_SEGMENTS_LEFT = -2;

/**
 * ICMPv4 query and reply types: echo (0, 8), router advertisement / solicitation (9, 10), timestamp (13, 14),
 * information (15, 16), address mask (17, 18), extended echo (42, 43, RFC 8335).
 */
const ICMP_INFORMATIONAL = new Set([0, 8, 9, 10, 13, 14, 15, 16, 17, 18, 42, 43]);

/** What {@link walk6} found besides the header length: the upper-layer value and where its byte is. */
const walked = { next: 0, nextAt: 0 };

/**
 * Walks IPv6 extension headers (hop-by-hop, routing, destination options) from `hlen`, where header value `next`
 * starts (its byte at offset `nextAt`), to the first other header. Returns the offset of that header, with its
 * value and the offset of the byte that names it in {@link walked}; -1 when a header runs past the packet,
 * {@link ROUTING_SEGMENTS_LEFT} at a routing header this host would have to act on.
 */
function walk6(nb: NET_BUFFER, ip: number, next: number, hlen: number, nextAt: number): number {
  while (next === H.IPPROTO_HOPOPTS || next === H.IPPROTO_ROUTING || next === H.IPPROTO_DSTOPTS) {
    // Hop-by-hop options only right after the IPv6 header (RFC 8200 4.1); elsewhere 0 is unrecognized.
    if (next === H.IPPROTO_HOPOPTS && hlen !== H.IPV6_HEADER) break;
    if (hlen + 8 > nb.DataLength || contiguous(nb, hlen + 8) === 0) return -1;
    // A routing header with segments left asks this destination to route on. Windows routes no type (type 0 is
    // deprecated, RFC 5095), so: parameter problem, code 0, at the Routing Type (RFC 8200 4.4).
    if (next === H.IPPROTO_ROUTING && H.get8(ip + hlen + 3) !== 0) {
      walked.nextAt = hlen + 2;
      return ROUTING_SEGMENTS_LEFT;
    }
    nextAt = hlen;
    next = H.get8(ip + hlen);
    hlen += (H.get8(ip + hlen + 1) + 1) << 3;
    if (hlen > nb.DataLength) return -1;
  }
  walked.next = next;
  walked.nextAt = nextAt;
  return hlen;
}

/**
 * The upper-layer header of the IPv6 packet at `ip` (contiguous for its first `limit` bytes), past hop-by-hop,
 * routing and destination options headers: returns its offset and sets {@link walked}; -1 when the chain runs past
 * `limit`. For the error paths, which see packets whose headers {@link walk6} already checked or did not walk.
 */
function upperLayer6(ip: number, limit: number): number {
  let next = H.get8(ip + H.IPV6_NEXT_HEADER);
  let nextAt = H.IPV6_NEXT_HEADER;
  let at = H.IPV6_HEADER;
  while (next === H.IPPROTO_HOPOPTS || next === H.IPPROTO_ROUTING || next === H.IPPROTO_DSTOPTS) {
    if (next === H.IPPROTO_HOPOPTS && at !== H.IPV6_HEADER) break; // as walk6
    if (at + 8 > limit) return -1;
    nextAt = at;
    next = H.get8(ip + at);
    at += (H.get8(ip + at + 1) + 1) << 3;
  }
  walked.next = next;
  walked.nextAt = nextAt;
  return at;
}

/** Where an injected packet re-enters the IP layer ('transport-send' / 'transport-send6': IPv4 / IPv6). */
export type InjectPoint = 'receive' | 'send' | 'forward' | 'transport-receive' | 'transport-send' | 'transport-send6';
const INJECT_POINTS: readonly InjectPoint[] = [
  'receive',
  'send',
  'forward',
  'transport-receive',
  'transport-send',
  'transport-send6',
];

/** The status an injected packet completes with when the host dropped it (STATUS_UNSUCCESSFUL, decided). */
const STATUS_DROPPED = 0xc0000001 | 0;

function makeNbPool(): NetBufferPool | null {
  const p = new NET_BUFFER_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  );
  p.PoolTag = TAG_HOST_PACKETS;
  p.DataSize = 0;
  return NdisAllocateNetBufferPool(null, p);
}

/** How many packets a list carries: one per NET_BUFFER. */
function packetsIn(nbl: NET_BUFFER_LIST): number {
  let nb = nbl.FirstNetBuffer;
  if (nb === null || nb.Next === null) return 1;
  let n = 0;
  for (; nb !== null; nb = nb.Next) n++;
  return n;
}

/** An absorbed list stays with its callout while a clone of it or a FwpsReferenceNetBufferList0 reference is out. */
function stillHeldByCallout(nbl: NET_BUFFER_LIST): boolean {
  return nbl.ChildRefCount > 0 || netBufferListReferences(nbl) > 0;
}
