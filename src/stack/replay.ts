/**
 * Playing a capture into a host. The host is a machine as Windows builds one: its IP layer is an NDIS protocol
 * driver ({@link IpProtocol}) bound to virtual NICs (the miniport in nic.ts), one per capture interface, each
 * plugged into its own wire. Each captured frame arrives at its interface's NIC as if off that wire; every frame
 * the host's NICs put on a wire is written to the output capture, with the timestamp of the frame being played.
 * A capture taken on a link without Ethernet headers (raw IP, Linux cooked, null / loopback) is played as the
 * Ethernet frames its packets would have been (link-adapt.ts).
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
import { CaptureFormatError } from '../capture/errors.js';
import { LINKTYPE_ETHERNET } from '../capture/linktype.js';
import { PcapWriter } from '../capture/pcap-writer.js';
import type { InterfaceDescription, PcapngBlock } from '../capture/pcapng-blocks.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { CAPTURE_POOL_TAG, DEFAULT_POOL_WINDOW, PoolCapture } from '../capture/pool-window.js';
import type { CaptureInput } from '../capture/reader.js';
import { DEFAULT_SINK_BUFFER, FileSink } from '../capture/sink.js';
import { ARENA_BASE, memory, moveWithinArena } from '../kernel/arena.js';
import { drainDeferredWork, pendingDeferredWork } from '../kernel/deferred.js';
import { bytesAt } from '../kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../kernel/pool.js';
import {
  NDIS_PACKET_TYPE_BROADCAST,
  NDIS_PACKET_TYPE_DIRECTED,
  NDIS_PACKET_TYPE_MULTICAST,
  NDIS_PACKET_TYPE_PROMISCUOUS,
} from '../ndis/driver-constants.js';
import { drainNdisPnpWork } from '../ndis/driver-lifecycle.js';
import { writeMacHalves } from './addr.js';
import { bindToFirewallHooks } from './fwhook-binding.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './headers.js';
import { IpLayer } from './ip.js';
import { EthernetEquivalent, hasEthernetEquivalent, toEthernet } from './link-adapt.js';
import { NicCounters, unloadVirtualNicDriver, VirtualNic } from './nic.js';
import { findPeerIdentities, Peer } from './peers.js';
import { type IpBinding, IpProtocol } from './protocol.js';
import { bindToFilterEngine, unbindFromFilterEngine } from './wfp-binding.js';
import { OUTSIDE, Wire } from './wire.js';

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** The capture to play: a path (streamed through a pool window, whatever its size), bytes, or a ByteSource. */
  input: CaptureInput;
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
  /**
   * Interrupt moderation of the host's NICs, in microseconds of capture time (default
   * {@link DEFAULT_INTERRUPT_MODERATION_US}; 0 turns it off). With it on, a NIC indicates the frames it received as
   * one NET_BUFFER_LIST chain when {@link MODERATION_FRAMES} are waiting or when the first of them has waited this
   * long, as a real adapter's moderated receive interrupt does; what the host sends in reply leaves at that moment.
   * With it off, every frame is indicated the moment it arrives.
   */
  interruptModerationUs?: number;
}

/** Room for one non-Ethernet frame rebuilt as an Ethernet frame (the largest capture record, and a header). */
const ADAPTED_FRAME = 262_144 + 14;

/**
 * Default interrupt moderation: 50 us (decided; physical adapters' defaults range from tens to a few hundred
 * microseconds, and a capture's replies then keep their timing to within that).
 */
export const DEFAULT_INTERRUPT_MODERATION_US = 50;
/** Most frames a moderated NIC collects before it indicates them (one receive DPC's worth). */
export const MODERATION_FRAMES = 32;

/** What a replay did. */
export interface ReplayResult {
  /** The host (its counters, routes, neighbours). */
  host: IpLayer;
  /** Frames read from the capture. */
  framesRead: number;
  /**
   * The malformed record that ended the capture early, or null. The frames before it were played, and the
   * output holds what the host sent for them.
   */
  captureError: CaptureFormatError | null;
  /**
   * Frames the host has no adapter for, by link type: link types with no Ethernet equivalent, and frames of
   * raw-IP, cooked or null links whose protocol is not IPv4, IPv6 or ARP (see link-adapt.ts).
   */
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
  /** Host 1's IP protocol driver (its bindings, and how its sends were batched). */
  protocol: IpProtocol;
}

/** Router MACs in auto mode: locally administered 02:57:44:4b:00:<if> ("WDK"). */
const AUTO_MAC = 0x02_57_44_4b_00_00;
/** RFC 2544 benchmarking address the auto-configured host owns. */
const AUTO_IPV4 = 0xc6_12_00_01;
/** The NICs take any frame an IP packet fits in (the largest IPv4 packet). */
const NIC_MTU = 65535;

/** One capture interface: its wire, NIC and the host's binding to it. */
interface Port {
  wire: Wire;
  nic: VirtualNic;
  binding: IpBinding;
}

/** Plays `options.input` through a fresh host. Call `finish()` on the result to stop the host and close files. */
export function replay(options: ReplayOptions): ReplayResult & { finish(): void } {
  const interfaces: InterfaceDescription[] = [];
  // The capture is read straight into nonpaged pool: each frame already lies in kernel memory, where the NIC
  // copies it into a receive buffer as a real NIC's DMA would (no staging copy, no view per frame).
  const capture = new PoolCapture(options.input, DEFAULT_POOL_WINDOW, {
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
  let writer: OutputWriter | null = null;
  /** The output's PcapWriter when it is a .pcap file: the wire taps write to it directly, as writer.write would. */
  let pcapOut: PcapWriter | null = null;
  /** The timestamp of the frame being played: what the host sends now leaves at that time. */
  const clock = { seconds: 0, nanoseconds: 0 };
  let framesWritten = 0;
  let configured = false;
  const notAttached = new Map<number, number>();
  let cutShort = 0;
  let started = false;
  const moderationNs = Math.max(
    0,
    Math.round((options.interruptModerationUs ?? DEFAULT_INTERRUPT_MODERATION_US) * 1000),
  );
  /**
   * The moderation timer of every NIC holding frames fires up to capture time `now` (an object, not two numbers:
   * passing a seconds value would allocate per frame): each such NIC indicates its batch at the moment its timer
   * expires (the clock is set to that moment for what is sent).
   */
  const fireModerationTimers = (now: Readonly<{ seconds: number; nanoseconds: number }>, atEnd: boolean): void => {
    for (let i = 0; i < ports.length; i++) {
      const nic = ports[i]?.nic;
      if (nic === undefined || nic.pendingReceives === 0) continue;
      const waited = (now.seconds - nic.heldSinceSeconds) * 1e9 + (now.nanoseconds - nic.heldSinceNanoseconds);
      if (waited < moderationNs && !atEnd) continue;
      const due = nic.heldSinceNanoseconds + moderationNs;
      clock.seconds = nic.heldSinceSeconds + Math.floor(due / 1e9);
      clock.nanoseconds = due % 1e9;
      nic.flush();
      if (pendingDeferredWork() > 0) drainDeferredWork();
      reapAbsorbed();
    }
    // What is still held (and what firing made the NICs hold) sets the next time to look.
    nextDueSeconds = Number.POSITIVE_INFINITY;
    nextDueNanoseconds = 0;
    for (let i = 0; i < ports.length; i++) {
      const nic = ports[i]?.nic;
      if (nic !== undefined && nic.pendingReceives > 0) noteHeld(nic);
    }
  };
  /**
   * The earliest moment a NIC's moderation timer expires (seconds, and nanoseconds below 1e9), or infinity when no
   * NIC holds frames. It may be early (a NIC that flushed a full batch, or was paused, holds nothing now), never
   * late: a frame before it cannot find a timer expired, so the loop compares a frame's time with it alone and
   * runs fireModerationTimers (which looks at every NIC and recomputes it) only from it on.
   */
  let nextDueSeconds = Number.POSITIVE_INFINITY;
  let nextDueNanoseconds = 0;
  /** `nic` holds frames: its timer's expiry (heldSince + moderation) joins the next due time. */
  const noteHeld = (nic: VirtualNic): void => {
    const ns = nic.heldSinceNanoseconds + moderationNs;
    const seconds = nic.heldSinceSeconds + Math.floor(ns / 1e9);
    const nanoseconds = ns % 1e9;
    if (seconds < nextDueSeconds || (seconds === nextDueSeconds && nanoseconds < nextDueNanoseconds)) {
      nextDueSeconds = seconds;
      nextDueNanoseconds = nanoseconds;
    }
  };
  /** Every host gives back what callouts absorbed and have since let go. */
  const reapAbsorbed = (): void => {
    host.reapAbsorbed();
    for (let i = 0; i < peers.length; i++) peers[i]!.ip.reapAbsorbed();
  };

  // Two functions, not one: a function whose closures capture its locals allocates their context on every call,
  // even one that returns early, and portFor runs per frame.
  const portFor = (interfaceId: number): Port => ports[interfaceId] ?? createPort(interfaceId);
  const createPort = (interfaceId: number): Port => {
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
      // Room for a moderated batch in flight plus what the host may hold (neighbour queues, callouts).
      receiveBuffers: 256,
      receiveBatch: moderationNs > 0 ? MODERATION_FRAMES : 1,
      packetFilter: own
        ? NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_BROADCAST
        : NDIS_PACKET_TYPE_PROMISCUOUS,
    });
    const wire = new Wire(`wire ${ifIndex}`);
    nic.connect(wire);
    // What the host's NIC puts on the wire is the output (frames from outside are the input).
    wire.tapAddress((address, length, from) => {
      if (from === OUTSIDE) return;
      framesWritten++;
      if (pcapOut !== null) pcapOut.writePacketAt(clock, memory, address - ARENA_BASE, length);
      else writer?.write(ifIndex, memory, address - ARENA_BASE, length);
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
    const port: Port = { wire, nic, binding };
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

  if (options.output !== undefined) {
    writer = openWriter(options.output, clock);
    pcapOut = writer.pcap;
  }
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

  // Frames of links without Ethernet headers are rebuilt as Ethernet frames here (link-adapt.ts).
  const equivalent = new EthernetEquivalent();
  let adapted = 0;
  /**
   * Writes the Ethernet frame `equivalent` describes (the payload at window offset `window` + payload) into the
   * adapted-frame buffer and returns its length. To the NIC's own MAC unless the link said broadcast; from the link
   * header's MAC, or a stand-in for the link's other end (02:57:44:4b:ff:<interface>).
   */
  const asEthernetFrame = (port: Port, window: number): number => {
    if (adapted === 0) {
      adapted = ExAllocatePoolWithTag(NonPagedPoolNx, ADAPTED_FRAME, CAPTURE_POOL_TAG);
      if (adapted === 0) throw new Error('no pool for adapting non-Ethernet frames');
    }
    const m = port.nic.mac;
    if (equivalent.broadcast) writeMacHalves(adapted, 0xffffff, 0xffffff);
    else writeMacHalves(adapted, (m[0]! << 16) | (m[1]! << 8) | m[2]!, (m[3]! << 16) | (m[4]! << 8) | m[5]!);
    if (equivalent.sourceHigh >= 0) writeMacHalves(adapted + 6, equivalent.sourceHigh, equivalent.sourceLow);
    else writeMacHalves(adapted + 6, 0x025744, 0x4bff00 | (port.nic.ifIndex & 0xff));
    const o = adapted - ARENA_BASE;
    memory[o + 12] = equivalent.etherType >>> 8;
    memory[o + 13] = equivalent.etherType & 0xff;
    const length = Math.min(equivalent.length, ADAPTED_FRAME - 14);
    moveWithinArena(o + 14, window + equivalent.payload, length);
    return 14 + length;
  };
  // The peers exist before the first frame and no more are made: the loop tests this once per frame, not their array.
  const withPeers = peers.length > 0;
  /** The port of the last frame's interface (most captures have one): portFor's lookup is skipped for the next. */
  let lastInterface = -1;
  let lastPort: Port | null = null;
  const every = options.progressEvery ?? 10000;
  /** Frames until the next progress call: counted down per frame, rather than a remainder taken per frame. */
  let progressIn = every;
  let framesRead = 0;
  let captureError: CaptureFormatError | null = null;
  try {
    for (let r = capture.next(); r !== null; r = capture.next()) {
      framesRead++;
      // Capture times are in order within a file but need not be: any frame at or past the next due time looks.
      if (
        moderationNs > 0 &&
        (r.seconds > nextDueSeconds || (r.seconds === nextDueSeconds && r.nanoseconds >= nextDueNanoseconds))
      ) {
        fireModerationTimers(r, false);
      }
      clock.seconds = r.seconds;
      clock.nanoseconds = r.nanoseconds;
      // The hosts' timers (reassembly) run on capture time: the same capture times out the same way every run.
      host.tickAt(r);
      if (withPeers) for (let i = 0; i < peers.length; i++) peers[i]!.ip.tickAt(r);
      const ethernet = r.linkType === LINKTYPE_ETHERNET;
      if (!ethernet && !hasEthernetEquivalent(r.linkType)) {
        notAttached.set(r.linkType, (notAttached.get(r.linkType) ?? 0) + 1);
      } else if (r.caplen < r.origlen) {
        cutShort++;
      } else if (!ethernet && !toEthernet(r.linkType, r.data, r.offset, r.caplen, equivalent)) {
        notAttached.set(r.linkType, (notAttached.get(r.linkType) ?? 0) + 1);
      } else {
        const port: Port = r.interfaceId === lastInterface ? lastPort! : portFor(r.interfaceId);
        lastInterface = r.interfaceId;
        lastPort = port;
        if (!started) {
          started = true;
          // Every adapter the capture describes is up before the first frame plays.
          for (let i = 0; i < interfaces.length; i++) {
            const type = interfaces[i]!.linkType;
            if (type === LINKTYPE_ETHERNET || hasEthernetEquivalent(type)) portFor(i);
          }
          options.onFirstFrame?.();
        }
        let address = capture.address + r.offset;
        let length = r.caplen;
        if (!ethernet) {
          length = asEthernetFrame(port, capture.address - ARENA_BASE);
          address = adapted;
        }
        // A frame for a peer's MAC goes to that peer; every other frame to host 1.
        const peer = !withPeers || !ethernet ? undefined : peerByMac.get(destinationMac(r.data, r.offset));
        if (peer !== undefined) peer.nic.receiveFrame(address, length);
        else {
          const nic = port.nic;
          nic.receiveFrameAt(address, length, r);
          // A batch this frame started (or one already noted) starts a moderation timer.
          if (nic.pendingReceives === 1 && moderationNs > 0) noteHeld(nic);
        }
        if (pendingDeferredWork() > 0) drainDeferredWork();
        host.reapAbsorbed();
        if (withPeers) for (let i = 0; i < peers.length; i++) peers[i]!.ip.reapAbsorbed();
      }
      if (--progressIn === 0) {
        progressIn = every;
        options.onProgress?.(framesRead, r.fileOffset);
      }
    }
    // The capture ends: the timers of NICs still holding frames fire.
    fireModerationTimers(clock, true);
  } catch (e) {
    // A malformed record ends the capture there: what came before it was played and is kept (issue 5).
    if (!(e instanceof CaptureFormatError)) throw e;
    captureError = e;
    fireModerationTimers(clock, true);
  } finally {
    capture.close();
    if (adapted !== 0) ExFreePoolWithTag(adapted, CAPTURE_POOL_TAG);
  }
  const nics = new NicCounters();
  const result = {
    host,
    framesRead,
    captureError,
    notAttached,
    cutShort,
    nics,
    framesWritten: 0,
    configuredFromCapture: configured,
    peers,
    protocol,
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

/** The replay's output: `write` puts a frame sent on interface `ifIndex` (1-based) in it at the replay's clock. */
interface OutputWriter {
  write(ifIndex: number, bytes: Uint8Array, offset: number, length: number): void;
  close(): void;
  /** The PcapWriter of a .pcap output (its write is this writer's writePacketAt at the clock), else null. */
  readonly pcap: PcapWriter | null;
}

function openWriter(path: string, clock: { seconds: number; nanoseconds: number }): OutputWriter {
  // The output buffer is nonpaged pool too, so a frame is copied from the wire into it with one memory move.
  const buffer = ExAllocatePoolWithTag(NonPagedPoolNx, DEFAULT_SINK_BUFFER, CAPTURE_POOL_TAG);
  const sink = buffer === 0 ? new FileSink(path) : new FileSink(path, bytesAt(buffer, DEFAULT_SINK_BUFFER));
  const release = () => {
    if (buffer !== 0) ExFreePoolWithTag(buffer, CAPTURE_POOL_TAG);
  };
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
        w.writePacketAt(ifIndex - 1, clock, bytes, offset, length);
      },
      close: () => {
        w.close();
        release();
      },
      pcap: null,
    };
  }
  const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, nanoseconds: true });
  return {
    write(_ifIndex, bytes, offset, length) {
      w.writePacketAt(clock, bytes, offset, length);
    },
    close: () => {
      w.close();
      release();
    },
    pcap: w,
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
