/**
 * Playing a capture into a host. The host is a machine as Windows builds one: its IP layer is an NDIS protocol
 * driver ({@link IpProtocol}) bound to virtual NICs (the miniport in nic.ts), one per capture interface, each
 * plugged into its own wire. Each captured frame arrives at its interface's NIC as if off that wire; every frame
 * the host's NICs put on a wire is written to the output capture, with the timestamp of the frame being played.
 *
 * How the host is configured (decided):
 * - A pcapng interface that carries if_MACaddr and if_IPv4addr / if_IPv6addr options gives its NIC that MAC and
 *   the host those addresses and their on-link routes: the capture was taken on the host's own interfaces (the
 *   project's sample is written this way).
 * - Otherwise the host is a router in the middle of the capture: its NIC is promiscuous, the host owns the
 *   benchmarking address 198.18.0.1 (RFC 2544) and a link-local IPv6 address, everything is on-link, and
 *   neighbours are learned from the traffic (static neighbours). Frames addressed to others are forwarded.
 * The host forwards in both cases, and binds UDP sinks on 53 and 7 and a TCP sink on 80 (a DNS-like service, echo
 * and a web server) so that local delivery has endpoints to reach.
 */
import { LINKTYPE_ETHERNET } from '../capture/linktype.js';
import { PcapWriter } from '../capture/pcap-writer.js';
import type { InterfaceDescription, PcapngBlock } from '../capture/pcapng-blocks.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { openCapture } from '../capture/reader.js';
import { FileSink } from '../capture/sink.js';
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { drainDeferredWork, pendingDeferredWork } from '../kernel/deferred.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../kernel/pool.js';
import {
  NDIS_PACKET_TYPE_BROADCAST,
  NDIS_PACKET_TYPE_DIRECTED,
  NDIS_PACKET_TYPE_MULTICAST,
  NDIS_PACKET_TYPE_PROMISCUOUS,
} from '../ndis/driver-constants.js';
import { drainNdisPnpWork } from '../ndis/driver-lifecycle.js';
import { bindToFirewallHooks } from './fwhook-binding.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './headers.js';
import { IpLayer, TAG_HOST_PACKETS } from './ip.js';
import { NicCounters, unloadVirtualNicDriver, VirtualNic } from './nic.js';
import { findPeerIdentities, Peer } from './peers.js';
import { type IpBinding, IpProtocol } from './protocol.js';
import { bindToFilterEngine, unbindFromFilterEngine } from './wfp-binding.js';
import { OUTSIDE, Wire } from './wire.js';

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** The capture to play (path). */
  input: string;
  /** Where to write what the host transmits (.pcap or .pcapng), or undefined for nowhere. */
  output?: string;
  /** Called every `progressEvery` frames with the frames played so far and the file offset reached. */
  onProgress?: (frames: number, fileOffset: number) => void;
  /** How often to call `onProgress`. */
  progressEvery?: number;
  /** Called once the host exists, before the first frame (to attach filters and trace). */
  onHost?: (host: IpLayer) => void;
  /** Called once, when every adapter is up and just before the first frame plays (fault injection starts here). */
  onFirstFrame?: () => void;
  /** Hosts in all: 1 (the default) is the machine under test alone; more add peers (see peers.ts). */
  hosts?: number;
}

/** What a replay did. */
export interface ReplayResult {
  /** The host (its counters, routes, neighbours). */
  host: IpLayer;
  /** Frames read from the capture. */
  framesRead: number;
  /** Frames on link types the host has no adapter for (not Ethernet), by link type. */
  notAttached: Map<number, number>;
  /** Frames the capture cut short (caplen below the length on the wire): no adapter ever receives half a frame. */
  cutShort: number;
  /** What the NICs counted, summed over the host's NICs. */
  nics: NicCounters;
  /** Frames written to the output. */
  framesWritten: number;
  /** True when the capture's own interface options configured the host. */
  configuredFromCapture: boolean;
  /** Hosts 2..n. */
  peers: Peer[];
}

/** Router MACs in auto mode: locally administered 02:57:44:4b:00:<if> ("WDK"). */
const AUTO_MAC = 0x02_57_44_4b_00_00;
/** RFC 2544 benchmarking address the auto-configured host owns. */
const AUTO_IPV4 = 0xc6_12_00_01;
/** The NICs take any frame an IP packet fits in (the largest IPv4 packet). */
const NIC_MTU = 65535;
/** Staging memory for the frame being played (the NIC copies it from there into a receive buffer). */
const STAGING = 262_144 + 64;

/** One capture interface: its wire, NIC and the host's binding to it. */
interface Port {
  wire: Wire;
  nic: VirtualNic;
  binding: IpBinding;
}

/** Plays `options.input` through a fresh host. Call `finish()` on the result to stop the host and close files. */
export function replay(options: ReplayOptions): ReplayResult & { finish(): void } {
  const interfaces: InterfaceDescription[] = [];
  const reader = openCapture(options.input, {
    onBlock: (block: PcapngBlock) => {
      if (block.kind === 'idb') interfaces.push(block);
      if (block.kind === 'shb') interfaces.length = 0;
    },
  });
  const host = new IpLayer({ forwarding: true });
  // The capture's TCP peers acknowledge the sequence numbers of the stack they were recorded with.
  host.tcp.followCapture = true;
  // Host 1 binds only the NICs made for it (peers register protocols of their own for theirs).
  const adapters = new Set<string>();
  const protocol = new IpProtocol(host, 'TCPIP', (name) => adapters.has(name));
  const ports: Port[] = [];
  let writer: {
    write(ifIndex: number, bytes: Uint8Array, offset: number, length: number): void;
    close(): void;
  } | null = null;
  /** The timestamp of the frame being played: what the host sends now leaves at that time. */
  const clock = { seconds: 0, nanoseconds: 0 };
  let framesWritten = 0;
  let configured = false;
  const notAttached = new Map<number, number>();
  let cutShort = 0;
  let started = false;
  const staging = ExAllocatePoolWithTag(NonPagedPoolNx, STAGING, TAG_HOST_PACKETS);
  if (staging === 0) throw new Error('no memory to stage frames in');

  const portFor = (interfaceId: number): Port => {
    const existing = ports[interfaceId];
    if (existing !== undefined) return existing;
    const idb = interfaces[interfaceId];
    const macBytes = idb === undefined ? undefined : optionBytes(idb, 'if_MACaddr');
    const v4 = idb === undefined ? [] : optionList(idb, 'if_IPv4addr');
    const v6 = idb === undefined ? [] : optionList(idb, 'if_IPv6addr');
    const own = macBytes !== undefined && (v4.length > 0 || v6.length > 0);
    const ifIndex = interfaceId + 1;
    const mac = own ? Array.from(macBytes.subarray(0, 6)) : macArray(AUTO_MAC + ifIndex);
    const name = idb?.name || `capture interface ${interfaceId}`;
    adapters.add(name);
    const nic = new VirtualNic({
      name,
      mac,
      mtu: NIC_MTU,
      ifIndex,
      packetFilter: own
        ? NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_BROADCAST
        : NDIS_PACKET_TYPE_PROMISCUOUS,
    });
    const wire = new Wire(`wire ${ifIndex}`);
    nic.connect(wire);
    // What the host's NIC puts on the wire is the output (frames from outside are the input).
    wire.tap((frame, from) => {
      if (from === OUTSIDE) return;
      framesWritten++;
      writer?.write(ifIndex, frame, 0, frame.length);
    });
    drainNdisPnpWork(); // NDIS binds the new adapter to the host's protocol
    const binding = protocol.bindings.find((b) => b.ifIndex === nic.ifIndex);
    if (binding === undefined) throw new Error(`the host did not bind to ${nic.name}`);
    if (own) {
      configured = true;
      for (const b of v4) if (b.length === 8) host.addAddress4(ifIndex, u32(b, 0), maskLength(u32(b, 4)));
      for (const b of v6) {
        if (b.length === 17) host.addAddress6(ifIndex, [u32(b, 0), u32(b, 4), u32(b, 8), u32(b, 12)], b[16]!);
      }
    } else {
      binding.promiscuous = true;
      host.learnFromTraffic = true;
      if (host.ipv4Addresses().length === 0) host.addAddress4(ifIndex, AUTO_IPV4, 32);
      host.routes.add({ family: 'ipv4', prefix: 0, length: 0, ifIndex, metric: 1000 + ifIndex });
      host.routes.add({ family: 'ipv6', prefix: [0, 0, 0, 0], length: 0, ifIndex, metric: 1000 + ifIndex });
    }
    const port = { wire, nic, binding };
    ports[interfaceId] = port;
    return port;
  };

  host.start();
  protocol.register();
  // The host calls the WFP layers and the firewall hooks that drivers register, and takes injected packets.
  bindToFilterEngine(host);
  bindToFirewallHooks(host);
  host.endpoints.bind(IPPROTO_UDP, 53);
  host.endpoints.bind(IPPROTO_UDP, 7);
  host.endpoints.bind(IPPROTO_TCP, 80);
  options.onHost?.(host);

  if (options.output !== undefined) writer = openWriter(options.output, clock);
  const peers: Peer[] = [];
  const peerByMac = new Map<number, Peer>();
  if ((options.hosts ?? 1) > 1) {
    const toOutput = (interfaceId: number, frame: Uint8Array) => {
      framesWritten++;
      writer?.write(interfaceId + 1, frame, 0, frame.length);
    };
    for (const identity of findPeerIdentities(options.input, options.hosts! - 1)) {
      const peer = new Peer(identity, peers.length + 2, toOutput);
      peer.ip.tcp.followCapture = true;
      peers.push(peer);
      peerByMac.set(identity.mac, peer);
    }
  }

  const every = options.progressEvery ?? 10000;
  let framesRead = 0;
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      framesRead++;
      clock.seconds = r.seconds;
      clock.nanoseconds = r.nanoseconds;
      // The hosts' timers (reassembly) run on capture time: the same capture times out the same way every run.
      const now = r.seconds + r.nanoseconds / 1e9;
      host.tick(now);
      for (const peer of peers) peer.ip.tick(now);
      if (r.linkType !== LINKTYPE_ETHERNET) {
        notAttached.set(r.linkType, (notAttached.get(r.linkType) ?? 0) + 1);
      } else if (r.caplen < r.origlen) {
        cutShort++;
      } else {
        const port = portFor(r.interfaceId);
        if (!started) {
          started = true;
          // Every adapter the capture describes is up before the first frame plays.
          for (let i = 0; i < interfaces.length; i++) if (interfaces[i]!.linkType === LINKTYPE_ETHERNET) portFor(i);
          options.onFirstFrame?.();
        }
        // The frame arrives off the wire: staged in kernel memory, then copied by the NIC into a receive buffer.
        const length = Math.min(r.caplen, STAGING);
        stage(r.data, r.offset, staging - ARENA_BASE, length);
        // A frame for a peer's MAC goes to that peer; every other frame to host 1.
        const peer = peers.length === 0 ? undefined : peerByMac.get(destinationMac(r.data, r.offset));
        (peer === undefined ? port.nic : peer.nic).receiveFrame(staging, length);
        if (pendingDeferredWork() > 0) drainDeferredWork();
        host.reapAbsorbed();
      }
      if (options.onProgress !== undefined && framesRead % every === 0) options.onProgress(framesRead, r.fileOffset);
    }
  } finally {
    reader.close();
  }
  const nics = new NicCounters();
  const result = {
    host,
    framesRead,
    notAttached,
    cutShort,
    nics,
    framesWritten: 0,
    configuredFromCapture: configured,
    peers,
    finish() {
      drainDeferredWork();
      host.stop();
      unbindFromFilterEngine(host);
      for (const p of ports) {
        if (p === undefined) continue;
        p.wire.drain();
        addCounters(nics, p.nic.counters);
      }
      protocol.deregister();
      for (const peer of peers) {
        peer.stop();
        addCounters(nics, peer.nic.counters);
      }
      for (const p of ports) {
        if (p === undefined) continue;
        p.nic.remove();
        p.wire.close();
      }
      unloadVirtualNicDriver();
      ExFreePoolWithTag(staging, TAG_HOST_PACKETS);
      writer?.close();
      result.framesWritten = framesWritten;
    },
  };
  return result;
}

/** The 48-bit destination MAC of the frame at `data[at]`. */
function destinationMac(data: Uint8Array, at: number): number {
  return (
    (data[at]! * 0x10000 + ((data[at + 1]! << 8) | data[at + 2]!)) * 0x1000000 +
    ((data[at + 3]! << 16) | (data[at + 4]! << 8) | data[at + 5]!)
  );
}

/**
 * Copies a frame from the capture reader's buffer into simulated memory. The view made here is the one object
 * per frame, at the edge between the capture and the kernel (a byte loop over the arena costs 20 times more).
 */
function stage(data: Uint8Array, from: number, to: number, length: number): void {
  memory.set(data.subarray(from, from + length), to);
}

function openWriter(
  path: string,
  clock: { seconds: number; nanoseconds: number },
): { write(ifIndex: number, bytes: Uint8Array, offset: number, length: number): void; close(): void } {
  const sink = new FileSink(path);
  if (path.endsWith('.pcapng')) {
    const w = new PcapngWriter(sink);
    w.writeSection({ options: [{ code: 4, value: 'wdknet' }] });
    let described = 0;
    return {
      write(ifIndex, bytes, offset, length) {
        while (described < ifIndex) {
          w.writeInterface({ linkType: LINKTYPE_ETHERNET, snaplen: 262144, options: [{ code: 9, value: 9 }] });
          described++;
        }
        w.writePacket(ifIndex - 1, clock.seconds, clock.nanoseconds, bytes, offset, length);
      },
      close: () => w.close(),
    };
  }
  const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, nanoseconds: true });
  return {
    write(_ifIndex, bytes, offset, length) {
      w.writePacket(clock.seconds, clock.nanoseconds, bytes, offset, length);
    },
    close: () => w.close(),
  };
}

function addCounters(into: NicCounters, from: NicCounters): void {
  const a = into as unknown as Record<string, number>;
  const b = from as unknown as Record<string, number>;
  for (const k of Object.keys(b)) a[k] = (a[k] ?? 0) + b[k]!;
}

function optionBytes(idb: InterfaceDescription, name: string): Uint8Array | undefined {
  return idb.options.find((x) => x.name === name)?.raw;
}

function optionList(idb: InterfaceDescription, name: string): Uint8Array[] {
  return idb.options.filter((x) => x.name === name).map((x) => x.raw);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function macArray(mac: number): number[] {
  return [5, 4, 3, 2, 1, 0].map((i) => Math.floor(mac / 2 ** (8 * i)) % 256);
}

function maskLength(mask: number): number {
  let n = 0;
  while (n < 32 && (mask & (0x80000000 >>> n)) !== 0) n++;
  return n;
}
