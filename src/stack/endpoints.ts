/**
 * Local endpoints that an application binds: UDP and TCP sinks (they consume what arrives and count it) and
 * sources (they send datagrams or segments through the host). A packet for a port nobody bound is answered as
 * Windows answers it: ICMP port unreachable for UDP, a reset for TCP. A bound TCP port listens: the host's TCP
 * (tcp.ts) accepts connections to it, and the data that arrives in order on them reaches the sink.
 */
import { IPPROTO_TCP, IPPROTO_UDP } from './headers.js';

/** A bound port. */
export class Endpoint {
  /** Packets that reached it. */
  packets = 0;
  /** Payload bytes that reached it. */
  bytes = 0;
  /** Optional observer (tests, applications): called with the payload address and length. */
  onReceive: ((payloadVa: number, length: number) => void) | null = null;

  constructor(
    /** IPPROTO_UDP or IPPROTO_TCP. */
    readonly protocol: number,
    /** The local port. */
    readonly port: number,
  ) {}
}

/** The ports bound on one host, by protocol. Lookup is a typed-array index: no allocation. */
export class EndpointTable {
  private readonly udp: (Endpoint | undefined)[] = new Array(65536);
  private readonly tcp: (Endpoint | undefined)[] = new Array(65536);

  /** Binds `port` for `protocol` (a sink); returns the endpoint. Binding a bound port is an error. */
  bind(protocol: number, port: number): Endpoint {
    const table = this.table(protocol);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not 1..65535`);
    if (table[port] !== undefined) throw new Error(`port ${port} is already bound`);
    const e = new Endpoint(protocol, port);
    table[port] = e;
    return e;
  }

  /** Releases a port. */
  unbind(protocol: number, port: number): void {
    this.table(protocol)[port] = undefined;
  }

  /** The endpoint bound to `port`, or undefined. */
  lookup(protocol: number, port: number): Endpoint | undefined {
    return protocol === IPPROTO_UDP ? this.udp[port] : protocol === IPPROTO_TCP ? this.tcp[port] : undefined;
  }

  /** Every bound endpoint. */
  list(): Endpoint[] {
    return [...this.udp, ...this.tcp].filter((e): e is Endpoint => e !== undefined);
  }

  private table(protocol: number): (Endpoint | undefined)[] {
    if (protocol === IPPROTO_UDP) return this.udp;
    if (protocol === IPPROTO_TCP) return this.tcp;
    throw new RangeError(`protocol ${protocol} has no ports`);
  }
}
