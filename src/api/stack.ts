/**
 * The idiomatic API of the host: a {@link Host} is a machine whose IP layer binds, through NDIS, to the virtual
 * NICs it is given; it is configured with addresses and routes in text form, binds UDP and TCP sinks, sends from
 * them, and reports what happened to every packet. {@link playCapture} is `wdknet run` as a function. Everything
 * goes through the same core as the command line: the IP layer, its NDIS protocol driver, the filter engine.
 */

import type { RunOptions, RunOutcome } from '../cli/run.js';
import { runCapture } from '../cli/run.js';
import { StatusError } from '../kernel/status.js';
import { parseIpv4, parseIpv6 } from '../stack/addr.js';
import type { Endpoint } from '../stack/endpoints.js';
import { bindToFirewallHooks } from '../stack/fwhook-binding.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../stack/headers.js';
import { IpLayer } from '../stack/ip.js';
import type { VirtualNic } from '../stack/nic.js';
import { type IpBinding, IpProtocol } from '../stack/protocol.js';
import { bindToFilterEngine, unbindFromFilterEngine } from '../stack/wfp-binding.js';

export type { RunOptions, RunOutcome, RunSummary } from '../cli/run.js';
export { DROP_REASON_NAMES, DropReason, HostCounters } from '../stack/counters.js';
export { Endpoint } from '../stack/endpoints.js';

/** A host misconfigured: an adapter it does not have, an address that does not parse. */
export class HostConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostConfigError';
  }
}

/** How a {@link Host} is made. */
export interface HostOptions {
  /** The NICs the host binds to (created before the host; NDIS binds them when the host registers). */
  adapters: readonly VirtualNic[];
  /** Forward packets not addressed to the host (a router). Default false. */
  forwarding?: boolean;
  /** The protocol driver's name (default "TCPIP-" and a counter). */
  name?: string;
  /** Call the WFP layers of the filter engine and take its injections. Default true (several hosts may be bound at once). */
  filterEngine?: boolean;
}

let hosts = 0;

/** A simulated machine: an IP layer bound through NDIS to its NICs. */
export class Host {
  /** The IP layer itself (routes, neighbours, counters, the data path). */
  readonly ip: IpLayer;
  private readonly protocol: IpProtocol;
  private readonly boundToEngine: boolean;
  private stopped = false;

  /** Makes the host and binds it to its adapters. Throws StatusError if NDIS refuses the registration. */
  constructor(options: HostOptions) {
    this.ip = new IpLayer({ forwarding: options.forwarding ?? false });
    this.ip.start();
    const names = new Set(options.adapters.map((nic) => nic.name));
    this.protocol = new IpProtocol(this.ip, options.name ?? `TCPIP-${++hosts}`, (name) => names.has(name));
    const status = this.protocol.register();
    if (status !== 0) throw new StatusError(status, 'NdisRegisterProtocolDriver refused the host');
    this.boundToEngine = options.filterEngine ?? true;
    if (this.boundToEngine) bindToFilterEngine(this.ip);
    bindToFirewallHooks(this.ip);
  }

  private binding(nic: VirtualNic): IpBinding {
    const b = this.protocol.bindings.find((x) => x.ifIndex === nic.ifIndex);
    if (b === undefined) throw new HostConfigError(`the host is not bound to ${nic.name}`);
    return b;
  }

  /** Assigns an address in CIDR form ("10.0.1.1/24", "fd00::1/64") on `nic`, with its on-link route. */
  address(cidr: string, nic: VirtualNic): this {
    const { family, words, length } = parseCidr(cidr);
    const ifIndex = this.binding(nic).ifIndex;
    if (family === 4) this.ip.addAddress4(ifIndex, words[0]!, length);
    else this.ip.addAddress6(ifIndex, words, length);
    return this;
  }

  /** Adds a route: `prefix` in CIDR form through `gateway` ("on-link" for none) out of `nic`. */
  route(prefix: string, gateway: string, nic: VirtualNic, metric = 0): this {
    const p = parseCidr(prefix);
    const ifIndex = this.binding(nic).ifIndex;
    const onLink = gateway === 'on-link';
    if (p.family === 4) {
      const nextHop = onLink ? 0 : parseIpv4(gateway);
      this.ip.routes.add({ family: 'ipv4', prefix: p.words[0]!, length: p.length, ifIndex, nextHop, metric });
    } else {
      const nextHop = onLink ? [0, 0, 0, 0] : parseIpv6(gateway);
      this.ip.routes.add({ family: 'ipv6', prefix: p.words, length: p.length, ifIndex, nextHop, metric });
    }
    return this;
  }

  /** Binds a UDP sink on `port`. */
  udp(port: number): Endpoint {
    return this.ip.endpoints.bind(IPPROTO_UDP, port);
  }

  /** Binds a TCP sink on `port`. */
  tcp(port: number): Endpoint {
    return this.ip.endpoints.bind(IPPROTO_TCP, port);
  }

  /** Sends a UDP datagram from `fromPort` to `to` ("10.0.2.20" or "fd00::2") port `toPort`. False if dropped. */
  sendUdp(fromPort: number, to: string, toPort: number, payload: Uint8Array): boolean {
    return this.ip.sendFrom(IPPROTO_UDP, fromPort, destination(to), toPort, payload);
  }

  /** Sends one TCP segment (flags default ACK). False if dropped. */
  sendTcp(fromPort: number, to: string, toPort: number, payload: Uint8Array, flags = 0x10): boolean {
    return this.ip.sendFrom(IPPROTO_TCP, fromPort, destination(to), toPort, payload, flags);
  }

  /** Stops the host: held packets are dropped and counted, the protocol unbinds from its NICs. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ip.stop();
    if (this.boundToEngine) unbindFromFilterEngine(this.ip);
    this.protocol.deregister();
  }
}

function destination(to: string): number | Uint32Array {
  return to.includes(':') ? parseIpv6(to) : parseIpv4(to);
}

function parseCidr(cidr: string): { family: 4 | 6; words: ArrayLike<number>; length: number } {
  const [address, bits] = cidr.split('/');
  if (address === undefined || bits === undefined || !/^\d+$/.test(bits)) {
    throw new HostConfigError(`"${cidr}" is not address/prefix-length`);
  }
  const length = Number(bits);
  if (address.includes(':')) {
    if (length > 128) throw new HostConfigError(`"${cidr}": an IPv6 prefix is at most 128 bits`);
    return { family: 6, words: parseIpv6(address), length };
  }
  if (length > 32) throw new HostConfigError(`"${cidr}": an IPv4 prefix is at most 32 bits`);
  return { family: 4, words: [parseIpv4(address)], length };
}

/** What {@link playCapture} takes: the capture, and `wdknet run`'s options, each with the CLI's default. */
export type PlayOptions = Pick<RunOptions, 'capture'> & Partial<Omit<RunOptions, 'capture'>>;

/**
 * `wdknet run` as a function: plays a capture into a host with the given driver modules loaded and returns the
 * outcome (report text, exit status, the numbers). A bug check is in the outcome, not thrown. Defaults as the
 * CLI's: no drivers, verifier 'standard', one host.
 */
export function playCapture(options: PlayOptions): Promise<RunOutcome> {
  return runCapture({ drivers: [], verifier: 'standard', hosts: 1, ...options });
}
