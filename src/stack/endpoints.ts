/**
 * Local endpoints that an application binds: UDP and TCP sinks (they consume what arrives and count it) and
 * sources (they send datagrams or segments through the host). A packet for a port nobody bound is answered as
 * Windows answers it: ICMP port unreachable for UDP, a reset for TCP. A bound TCP port listens: the host's TCP
 * (tcp.ts) accepts connections to it, and the data that arrives in order on them reaches the sink.
 *
 * Every endpoint has a handle, the number WFP hands callouts as transportEndpointHandle and takes back in
 * FwpsInjectTransportSendAsync0. Handles are unique across every host of the machine, so a handle alone names
 * the endpoint and the host it belongs to ({@link endpointFromHandle}); a closed endpoint's handle names nothing.
 */
import { onSystemReset } from '../kernel/system.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './headers.js';

/** Every open endpoint of the machine, by handle. */
const open = new Map<number, Endpoint>();
/**
 * The next handle. Windows hands out the endpoint object's address; here a counter from a base that looks like
 * one and cannot be mistaken for a small integer (decided). Steps of 16, as pool allocations are aligned.
 */
const HANDLE_BASE = 0xe0000000;
let nextHandle = HANDLE_BASE;

/** A bound port. */
export class Endpoint {
  /** Packets that reached it. */
  packets = 0;
  /** Payload bytes that reached it. */
  bytes = 0;
  /** Optional observer (tests, applications): called with the payload address and length. */
  onReceive: ((payloadVa: number, length: number) => void) | null = null;
  /** Its transportEndpointHandle; 0 once it is closed. */
  handle: number;

  constructor(
    /** The table (the host) it belongs to. */
    readonly table: EndpointTable,
    /** IPPROTO_UDP or IPPROTO_TCP. */
    readonly protocol: number,
    /** The local port. */
    readonly port: number,
    /**
     * Whether it takes what arrives for its port. An application that sends from a port it never bound has an
     * endpoint that only sends (decided: the host's sources have always left replies to such ports unanswered
     * by anyone but the transport, which answers port unreachable).
     */
    public receives: boolean,
  ) {
    nextHandle += 16;
    this.handle = nextHandle;
    open.set(this.handle, this);
  }

  /** Whether it is still open (its handle still names it). */
  get isOpen(): boolean {
    return this.handle !== 0;
  }

  /** Closes it: its handle no longer names anything. */
  close(): void {
    if (this.handle === 0) return;
    open.delete(this.handle);
    this.handle = 0;
  }
}

/** The open endpoint with transportEndpointHandle `handle`, or undefined (never handed out, or closed since). */
export function endpointFromHandle(handle: number): Endpoint | undefined {
  return open.get(handle);
}

/**
 * The ports bound on one host, by protocol. Lookup is a typed-array index into the endpoints: no allocation. The
 * four port tables are Int32Arrays (zeroed memory from the system, not scanned by the garbage collector) rather
 * than 65,536-slot arrays of endpoints, which every host built per run and the collector then walked.
 */
export class EndpointTable {
  /** Every endpoint this table has made; a port table holds an index into it plus one (0: none). */
  private readonly endpoints: Endpoint[] = [];
  private readonly udp = new Int32Array(65536);
  private readonly tcp = new Int32Array(65536);
  /** Send-only endpoints of ports nobody bound (see {@link Endpoint.receives}). */
  private readonly udpSenders = new Int32Array(65536);
  private readonly tcpSenders = new Int32Array(65536);

  /** Binds `port` for `protocol` (a sink); returns the endpoint. Binding a bound port is an error. */
  bind(protocol: number, port: number): Endpoint {
    const table = this.table(protocol);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not 1..65535`);
    if (table[port] !== 0) throw new Error(`port ${port} is already bound`);
    // An application that sent from the port before binding it keeps its endpoint (and handle), now receiving.
    const senders = protocol === IPPROTO_UDP ? this.udpSenders : this.tcpSenders;
    const sent = senders[port]!;
    if (sent !== 0) {
      senders[port] = 0;
      this.endpoints[sent - 1]!.receives = true;
      table[port] = sent;
      return this.endpoints[sent - 1]!;
    }
    const e = new Endpoint(this, protocol, port, true);
    table[port] = this.endpoints.push(e);
    return e;
  }

  /** Releases a port: its endpoint closes, and its handle with it. */
  unbind(protocol: number, port: number): void {
    const table = this.table(protocol);
    const i = table[port]!;
    if (i === 0) return;
    this.endpoints[i - 1]!.close();
    table[port] = 0;
  }

  /** The endpoint bound to `port`, or undefined. */
  lookup(protocol: number, port: number): Endpoint | undefined {
    const i = protocol === IPPROTO_UDP ? this.udp[port] : protocol === IPPROTO_TCP ? this.tcp[port] : 0;
    return i === undefined || i === 0 ? undefined : this.endpoints[i - 1];
  }

  /**
   * The endpoint an application's send from `port` leaves through: the one bound there, else a send-only one for
   * the port (made on its first send, kept after). Undefined for a protocol without ports.
   */
  sender(protocol: number, port: number): Endpoint | undefined {
    const bound = this.lookup(protocol, port);
    if (bound !== undefined) return bound;
    const senders = protocol === IPPROTO_UDP ? this.udpSenders : protocol === IPPROTO_TCP ? this.tcpSenders : null;
    if (senders === null || !(port >= 0 && port <= 65535)) return undefined;
    const i = senders[port]!;
    if (i !== 0) return this.endpoints[i - 1];
    const e = new Endpoint(this, protocol, port, false);
    senders[port] = this.endpoints.push(e);
    return e;
  }

  /** Every bound endpoint: UDP's by port, then TCP's. */
  list(): Endpoint[] {
    const out: Endpoint[] = [];
    for (const table of [this.udp, this.tcp]) {
      for (let port = 0; port < 65536; port++) if (table[port] !== 0) out.push(this.endpoints[table[port]! - 1]!);
    }
    return out;
  }

  private table(protocol: number): Int32Array {
    if (protocol === IPPROTO_UDP) return this.udp;
    if (protocol === IPPROTO_TCP) return this.tcp;
    throw new RangeError(`protocol ${protocol} has no ports`);
  }
}

onSystemReset(() => {
  open.clear();
  nextHandle = HANDLE_BASE;
});
