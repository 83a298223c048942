/**
 * What happened to every packet: the conservation ledger of a host. Every frame that enters (received from an
 * adapter, or injected by a callout) and every packet the host originates ends in exactly one bucket: delivered
 * to a local endpoint or protocol handler, transmitted, dropped with a named reason, absorbed by a callout, or
 * still held by a named owner. {@link HostCounters.balance} checks the identity.
 */

/** Why a packet was dropped. The names are what the report prints. */
export const DropReason = {
  NoProtocol: 0,
  NotForThisHost: 1,
  Malformed: 2,
  BadHeaderChecksum: 3,
  BadTransportChecksum: 4,
  TtlExpired: 5,
  NoRoute: 6,
  PortUnreachable: 7,
  ProtocolUnreachable: 8,
  NestedFragment: 9,
  FirewallHook: 10,
  WfpBlock: 11,
  NeighborUnreachable: 12,
  NeighborQueueFull: 13,
  TooBig: 14,
  NoResources: 15,
  SendFailed: 16,
  Martian: 17,
  FragmentOverlap: 18,
  ReassemblyIncomplete: 19,
  ReassemblyTimeout: 20,
  ReassemblyLimit: 21,
  TcpTableFull: 22,
  TcpNotAcceptable: 23,
} as const;

/** The printable name of each {@link DropReason}. */
export const DROP_REASON_NAMES: readonly string[] = [
  'no protocol for ethertype',
  'not for this host',
  'malformed header',
  'bad IP header checksum',
  'bad transport checksum',
  'TTL / hop limit expired',
  'no route to destination',
  'port unreachable',
  'protocol unreachable',
  'fragment inside a fragment',
  'firewall hook DROP',
  'WFP BLOCK',
  'neighbour unreachable',
  'neighbour queue full',
  'larger than the MTU',
  'out of resources',
  'send failed',
  'martian source address',
  'overlapping fragment',
  'reassembly incomplete',
  'reassembly time exceeded',
  'reassembly memory limit',
  'TCP connection table full',
  'TCP segment not acceptable',
];

/** Counters of one host. Plain numbers and a typed array: updating them allocates nothing. */
export class HostCounters {
  /** Frames received from adapters. */
  received = 0;
  /** Packets injected by callouts (they re-enter the IP layer). */
  injected = 0;
  /** Packets the host built itself (replies, ICMP errors, ARP and ND, endpoint sends). */
  originated = 0;
  /** Packets consumed locally (an endpoint, ICMP, ARP or ND took them). */
  delivered = 0;
  /** Frames handed to adapters for transmission. */
  transmitted = 0;
  /** Of those, how many were forwarded. */
  forwarded = 0;
  /** Packets absorbed by callouts (now the callouts' to account for). */
  absorbed = 0;
  /** Packets the firewall hook replaced: the original is gone, its replacement goes on in its place. */
  replaced = 0;
  /** Fragments merged into reassembled datagrams (they leave; the datagram enters). */
  fragmentsMerged = 0;
  /** Datagrams reassembled from fragments (IPv4 and IPv6). */
  reassembled = 0;
  /** Forwarded IPv4 packets split into fragments for the next link (they leave; their fragments are originated). */
  fragmented = 0;
  /** Dropped, by {@link DropReason}. */
  readonly dropped = new Float64Array(DROP_REASON_NAMES.length);
  /** Absorbed, by the callout (name) that absorbed it. */
  readonly absorbedBy = new Map<string, number>();

  /** Counts a drop of `packets` packets (a list of several NET_BUFFERs dropped whole counts each). */
  drop(reason: number, packets = 1): void {
    this.dropped[reason]! += packets;
  }

  /** All drops. */
  totalDropped(): number {
    let n = 0;
    for (let i = 0; i < this.dropped.length; i++) n += this.dropped[i]!;
    return n;
  }

  /** Counts `packets` packets (default one) absorbed by `callout`. */
  absorb(callout: string, packets = 1): void {
    this.absorbed += packets;
    this.absorbedBy.set(callout, (this.absorbedBy.get(callout) ?? 0) + packets);
  }

  /**
   * What entered minus what is accounted for, given `held` packets still held by owners. Zero when every packet
   * is accounted for.
   */
  balance(held: number): number {
    const entered = this.received + this.injected + this.originated + this.reassembled;
    const left =
      this.delivered +
      this.transmitted +
      this.totalDropped() +
      this.absorbed +
      this.replaced +
      this.fragmentsMerged +
      this.fragmented +
      held;
    return entered - left;
  }

  /** Drops by reason name, nonzero only. */
  dropsByReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.dropped.length; i++)
      if (this.dropped[i]! > 0) out[DROP_REASON_NAMES[i]!] = this.dropped[i]!;
    return out;
  }

  /** Adds another host's counters into these (for a multi-host total). */
  add(other: HostCounters): void {
    this.received += other.received;
    this.injected += other.injected;
    this.originated += other.originated;
    this.delivered += other.delivered;
    this.transmitted += other.transmitted;
    this.forwarded += other.forwarded;
    this.absorbed += other.absorbed;
    this.replaced += other.replaced;
    this.fragmentsMerged += other.fragmentsMerged;
    this.reassembled += other.reassembled;
    this.fragmented += other.fragmented;
    for (let i = 0; i < this.dropped.length; i++) this.dropped[i]! += other.dropped[i]!;
    for (const [k, v] of other.absorbedBy) this.absorbedBy.set(k, (this.absorbedBy.get(k) ?? 0) + v);
  }
}
