/**
 * Peers for `wdknet run --hosts n`: hosts 2..n take the identities of the capture's busiest unicast destinations
 * (their MAC and the IPv4 / IPv6 addresses seen sent to it), so frames addressed to them are received by a host
 * that answers as that endpoint would (echo replies, resets, port unreachable, its sinks). Each peer is a full
 * host: an IP layer bound through NDIS to its own virtual NIC on its own wire. Host 1, the machine under test,
 * takes every other frame. Every peer is bound to the filter engine as host 1 is: a driver's filters and callouts
 * see each host's traffic, and an injection goes to the host it belongs to (wfp-binding.ts).
 */

import { CaptureFormatError } from '../capture/errors.js';
import { LINKTYPE_ETHERNET } from '../capture/linktype.js';
import { type CaptureInput, openCapture } from '../capture/reader.js';
import { drainNdisPnpWork } from '../ndis/driver-lifecycle.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './headers.js';
import { IpLayer } from './ip.js';
import { VirtualNic } from './nic.js';
import { IpProtocol } from './protocol.js';
import { bindToFilterEngine, unbindFromFilterEngine } from './wfp-binding.js';
import { OUTSIDE, Wire } from './wire.js';

/** Who a peer is: a destination seen in the capture. */
export interface PeerIdentity {
  /** 48-bit MAC. */
  mac: number;
  /** The capture interface it was seen on. */
  interfaceId: number;
  /** IPv4 destinations sent to that MAC. */
  ipv4: number[];
  /** IPv6 destinations sent to that MAC (four words each). */
  ipv6: number[][];
  /** Frames addressed to it. */
  frames: number;
}

/**
 * The `count` busiest unicast destination MACs carrying IP in the capture at `path` (a first pass over it), most
 * frames first, ties by MAC. The MACs of host 1's own interfaces (pcapng if_MACaddr) are not peers.
 */
export function findPeerIdentities(path: CaptureInput, count: number): PeerIdentity[] {
  const seen = new Map<number, PeerIdentity & { v4: Set<number>; v6: Set<string> }>();
  const exclude = new Set<number>();
  const reader = openCapture(path, {
    onBlock: (block) => {
      if (block.kind !== 'idb') return;
      const raw = block.options.find((o) => o.name === 'if_MACaddr')?.raw;
      if (raw !== undefined && raw.length >= 6) exclude.add(raw.subarray(0, 6).reduce((m, x) => m * 256 + x, 0));
    },
  });
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      if (r.linkType !== LINKTYPE_ETHERNET || r.caplen < 34) continue;
      const b = r.data;
      const o = r.offset;
      if ((b[o]! & 1) !== 0) continue; // group address
      const type = (b[o + 12]! << 8) | b[o + 13]!;
      if (type !== 0x0800 && type !== 0x86dd) continue;
      let mac = 0;
      for (let i = 0; i < 6; i++) mac = mac * 256 + b[o + i]!;
      if (exclude.has(mac)) continue;
      let entry = seen.get(mac);
      if (entry === undefined) {
        entry = { mac, interfaceId: r.interfaceId, ipv4: [], ipv6: [], frames: 0, v4: new Set(), v6: new Set() };
        seen.set(mac, entry);
      }
      entry.frames++;
      if (type === 0x0800) {
        const d = ((b[o + 30]! << 24) | (b[o + 31]! << 16) | (b[o + 32]! << 8) | b[o + 33]!) >>> 0;
        if (d >>> 28 !== 0xe && d !== 0xffffffff) entry.v4.add(d);
      } else if (r.caplen >= 54 && b[o + 38] !== 0xff) {
        entry.v6.add(Array.from(b.subarray(o + 38, o + 54), (x) => x.toString(16).padStart(2, '0')).join(''));
      }
    }
  } catch (e) {
    // A malformed record ends the scan: the peers come from the frames before it, which are the ones played.
    if (!(e instanceof CaptureFormatError)) throw e;
  } finally {
    reader.close();
  }
  return [...seen.values()]
    .sort((x, y) => y.frames - x.frames || x.mac - y.mac)
    .slice(0, count)
    .map((e) => ({
      mac: e.mac,
      interfaceId: e.interfaceId,
      frames: e.frames,
      ipv4: [...e.v4],
      ipv6: [...e.v6].map((hex) => [0, 1, 2, 3].map((i) => Number.parseInt(hex.slice(8 * i, 8 * i + 8), 16) >>> 0)),
    }));
}

/** A peer host: its IP layer, protocol registration, NIC and wire. */
export class Peer {
  readonly ip = new IpLayer({ learnFromTraffic: true });
  readonly protocol: IpProtocol;
  readonly nic: VirtualNic;
  readonly wire: Wire;

  /**
   * Brings the peer up: a NIC with the identity's MAC on a wire of its own, bound by a protocol registration of
   * its own, the identity's addresses, on-link default routes, and the same sinks as host 1. Frames the peer puts
   * on its wire go to `output`.
   */
  constructor(
    readonly identity: PeerIdentity,
    index: number,
    output: (interfaceId: number, frame: Uint8Array) => void,
  ) {
    const name = `peer ${index}`;
    this.ip.start();
    this.nic = new VirtualNic({
      name,
      mac: [5, 4, 3, 2, 1, 0].map((i) => Math.floor(identity.mac / 2 ** (8 * i)) % 256),
      mtu: 65535,
    });
    this.wire = new Wire(name);
    this.nic.connect(this.wire);
    this.wire.tap((frame, from) => {
      if (from !== OUTSIDE) output(identity.interfaceId, frame);
    });
    this.protocol = new IpProtocol(this.ip, `TCPIP-${name}`, (adapter) => adapter === name);
    this.protocol.register();
    drainNdisPnpWork();
    const ifIndex = this.nic.ifIndex;
    for (const a of identity.ipv4) this.ip.addAddress4(ifIndex, a, 32);
    for (const w of identity.ipv6) this.ip.addAddress6(ifIndex, w, 128);
    this.ip.routes.add({ family: 'ipv4', prefix: 0, length: 0, ifIndex, metric: 1000 });
    this.ip.routes.add({ family: 'ipv6', prefix: [0, 0, 0, 0], length: 0, ifIndex, metric: 1000 });
    this.ip.endpoints.bind(IPPROTO_UDP, 53);
    this.ip.endpoints.bind(IPPROTO_UDP, 7);
    this.ip.endpoints.bind(IPPROTO_TCP, 80);
    bindToFilterEngine(this.ip);
  }

  /**
   * Stops the peer: held packets dropped and counted, unbound from the filter engine and from its NIC, the NIC
   * removed, the wire closed.
   */
  stop(): void {
    this.ip.stop();
    unbindFromFilterEngine(this.ip);
    this.wire.drain();
    this.protocol.deregister();
    this.nic.remove();
    this.wire.close();
  }
}
