/**
 * Playing a capture into a host. Each capture interface becomes an adapter of the host (a {@link TapAdapter});
 * each frame is indicated on its interface's adapter, and every frame the host transmits is written to the output
 * capture with the timestamp of the frame being played.
 *
 * How the host is configured (decided):
 * - A pcapng interface that carries if_MACaddr, if_IPv4addr and if_IPv6addr options gives its adapter that MAC,
 *   those addresses and their on-link routes: the capture was taken on the host's own interfaces (the project's
 *   sample is written this way).
 * - Otherwise the host is a router in the middle of the capture: its adapter is promiscuous, it owns the
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
import { bindToFirewallHooks } from './fwhook-binding.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './headers.js';
import { IpLayer } from './ip.js';
import { TapAdapter } from './tap.js';
import { bindToFilterEngine, unbindFromFilterEngine } from './wfp-binding.js';

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
  /** Called once, when the first frame's adapter is ready and just before the frame is played (fault injection starts here). */
  onFirstFrame?: () => void;
}

/** What a replay did. */
export interface ReplayResult {
  /** The host (its counters, routes, neighbours). */
  host: IpLayer;
  /** Frames read from the capture. */
  framesRead: number;
  /** Frames on link types the host has no adapter for (not Ethernet), by link type. */
  notAttached: Map<number, number>;
  /** Frames too large for the tap's receive buffers. */
  oversize: number;
  /** Frames the capture cut short (caplen below the length on the wire): no adapter ever receives half a frame. */
  cutShort: number;
  /** Frames the adapters could not receive for lack of memory (fault injection, pool limit). */
  noResources: number;
  /** Frames written to the output. */
  framesWritten: number;
  /** True when the capture's own interface options configured the host. */
  configuredFromCapture: boolean;
}

/** Router MACs in auto mode: locally administered 02:57:44:4b:00:<if> ("WDK"). */
const AUTO_MAC = 0x02_57_44_4b_00_00;
/** RFC 2544 benchmarking address the auto-configured host owns. */
const AUTO_IPV4 = 0xc6_12_00_01;

/** Plays `options.input` through a fresh host and returns what happened. The caller stops the host. */
export function replay(options: ReplayOptions): ReplayResult & { finish(): void } {
  const interfaces: InterfaceDescription[] = [];
  const reader = openCapture(options.input, {
    onBlock: (block: PcapngBlock) => {
      if (block.kind === 'idb') interfaces.push(block);
      if (block.kind === 'shb') interfaces.length = 0;
    },
  });
  const host = new IpLayer({ forwarding: true });
  const taps: TapAdapter[] = [];
  let writer: {
    write(ifIndex: number, bytes: Uint8Array, offset: number, length: number): void;
    close(): void;
  } | null = null;
  let seconds = 0;
  let nanoseconds = 0;
  let framesWritten = 0;
  let configured = false;
  const notAttached = new Map<number, number>();
  let cutShort = 0;
  let started = false;

  const output = (ifIndex: number, bytes: Uint8Array, offset: number, length: number) => {
    framesWritten++;
    writer?.write(ifIndex, bytes, offset, length);
  };

  const tapFor = (interfaceId: number): TapAdapter => {
    let tap = taps[interfaceId];
    if (tap !== undefined) return tap;
    const idb = interfaces[interfaceId];
    const mac = idb === undefined ? undefined : optionBytes(idb, 'if_MACaddr');
    tap = new TapAdapter(interfaceId + 1, mac !== undefined ? macOf(mac) : AUTO_MAC + interfaceId + 1, host, output);
    host.addInterface(tap);
    const v4 = idb === undefined ? [] : optionList(idb, 'if_IPv4addr');
    const v6 = idb === undefined ? [] : optionList(idb, 'if_IPv6addr');
    if (mac !== undefined && (v4.length > 0 || v6.length > 0)) {
      configured = true;
      tap.promiscuous = false;
      for (const b of v4) if (b.length === 8) host.addAddress4(tap.ifIndex, u32(b, 0), maskLength(u32(b, 4)));
      for (const b of v6) {
        if (b.length === 17) host.addAddress6(tap.ifIndex, [u32(b, 0), u32(b, 4), u32(b, 8), u32(b, 12)], b[16]!);
      }
    } else {
      host.learnFromTraffic = true;
      if (host.ipv4Addresses().length === 0) host.addAddress4(tap.ifIndex, AUTO_IPV4, 32);
      host.routes.add({ family: 'ipv4', prefix: 0, length: 0, ifIndex: tap.ifIndex, metric: 1000 + tap.ifIndex });
      host.routes.add({ family: 'ipv6', prefix: [0, 0, 0, 0], length: 0, ifIndex: tap.ifIndex, metric: 1000 });
    }
    tap.start();
    taps[interfaceId] = tap;
    return tap;
  };

  host.start();
  // The host calls the WFP layers and the firewall hooks that drivers register, and takes injected packets.
  bindToFilterEngine(host);
  bindToFirewallHooks(host);
  host.endpoints.bind(IPPROTO_UDP, 53);
  host.endpoints.bind(IPPROTO_UDP, 7);
  host.endpoints.bind(IPPROTO_TCP, 80);
  options.onHost?.(host);

  if (options.output !== undefined) {
    const sink = new FileSink(options.output);
    if (options.output.endsWith('.pcapng')) {
      const w = new PcapngWriter(sink);
      w.writeSection({ options: [{ code: 4, value: 'wdknet' }] });
      let described = 0;
      writer = {
        write(ifIndex, bytes, offset, length) {
          while (described < ifIndex) {
            w.writeInterface({ linkType: LINKTYPE_ETHERNET, snaplen: 262144, options: [{ code: 9, value: 9 }] });
            described++;
          }
          w.writePacket(ifIndex - 1, seconds, nanoseconds, bytes, offset, length);
        },
        close: () => w.close(),
      };
    } else {
      const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, nanoseconds: true });
      writer = {
        write: (_ifIndex, bytes, offset, length) => w.writePacket(seconds, nanoseconds, bytes, offset, length),
        close: () => w.close(),
      };
    }
  }

  const every = options.progressEvery ?? 10000;
  let framesRead = 0;
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      framesRead++;
      seconds = r.seconds;
      nanoseconds = r.nanoseconds;
      if (r.linkType !== LINKTYPE_ETHERNET) {
        notAttached.set(r.linkType, (notAttached.get(r.linkType) ?? 0) + 1);
      } else if (r.caplen < r.origlen) {
        cutShort++;
      } else {
        const tap = tapFor(r.interfaceId);
        if (!started) {
          started = true;
          // Every adapter the capture describes is up before the first frame plays.
          for (let i = 0; i < interfaces.length; i++) if (interfaces[i]!.linkType === LINKTYPE_ETHERNET) tapFor(i);
          options.onFirstFrame?.();
        }
        tap.indicate(r.data, r.offset, r.caplen);
        host.reapAbsorbed();
      }
      if (options.onProgress !== undefined && framesRead % every === 0) options.onProgress(framesRead, r.fileOffset);
    }
  } finally {
    reader.close();
  }
  const result = {
    host,
    framesRead,
    notAttached,
    oversize: 0,
    cutShort: 0,
    noResources: 0,
    framesWritten: 0,
    configuredFromCapture: configured,
    finish() {
      host.stop();
      unbindFromFilterEngine(host);
      for (const t of taps) t?.stop();
      writer?.close();
      result.cutShort = cutShort;
      result.oversize = taps.reduce((n, t) => n + (t?.oversize ?? 0), 0);
      result.noResources = taps.reduce((n, t) => n + (t?.noResources ?? 0), 0);
      result.framesWritten = framesWritten;
    },
  };
  return result;
}

function optionBytes(idb: InterfaceDescription, name: string): Uint8Array | undefined {
  const o = idb.options.find((x) => x.name === name);
  return o === undefined ? undefined : o.raw;
}

function optionList(idb: InterfaceDescription, name: string): Uint8Array[] {
  return idb.options.filter((x) => x.name === name).map((x) => x.raw);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function macOf(b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < 6; i++) m = m * 256 + (b[i] ?? 0);
  return m;
}

function maskLength(mask: number): number {
  let n = 0;
  while (n < 32 && (mask & (0x80000000 >>> n)) !== 0) n++;
  return n;
}
