/**
 * The host's TCP, as much of it as a listening sink needs to give a captured conversation realistic replies: the
 * passive side of RFC 9293 (LISTEN -> SYN-RECEIVED -> ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED) with the
 * segment-arrival checks of its section 3.10.7, for an application that accepts every connection, reads what
 * arrives in order and closes as soon as the peer has (decided: it never sends data, so nothing is ever
 * retransmitted). It does not queue segments that arrive out of order (decided): it answers them with an ACK of
 * the sequence number it expects, as for any unacceptable segment, and the peer retransmits. It acknowledges
 * every segment at once (decided: Windows delays an ACK up to 200 ms or to the second segment, which needs a
 * timer per connection; the only timer here is the host clock's abandonment of half-open connections).
 *
 * This file decides; the IP layer sends and classifies. A segment goes through {@link TcpConnections.check} (the
 * sequence, RST, SYN and ACK checks) and then, when it goes on, {@link TcpConnections.data} (the text and FIN);
 * after each, {@link TcpConnections.reply} says what segment to send back, if any.
 *
 * The connections are a bounded table (typed arrays, chained hash, free list of slots): a SYN that finds it full
 * is dropped and counted, and nothing is allocated per segment.
 */

/** Connection states (RFC 9293 3.3.2); LISTEN is the bound endpoint itself, CLOSED a free slot. */
export const TcpState = {
  Closed: 0,
  SynReceived: 1,
  Established: 2,
  CloseWait: 3,
  LastAck: 4,
} as const;

/** Names of the states, for reports and tests. */
export const TCP_STATE_NAMES: readonly string[] = ['CLOSED', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK'];

/** What {@link TcpConnections.check} decided about a segment. */
export const TcpCheck = {
  /** Not acceptable: drop it (send {@link TcpConnections.reply} if any). */
  Drop: 0,
  /** Acceptable: go on to {@link TcpConnections.data}. */
  Continue: 1,
  /** It completed the handshake (SYN-RECEIVED -> ESTABLISHED): classify ALE_FLOW_ESTABLISHED, then go on. */
  Established: 2,
  /** A reset, or the ACK of our FIN in LAST-ACK: the connection is gone (the segment was consumed). */
  Closed: 3,
} as const;

/** TCP flags (RFC 9293 3.1). */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** The receive window the sink advertises: it consumes everything at once, so it never shrinks (decided). */
export const RECEIVE_WINDOW = 65535;

/** Default bound on connections (decided; Windows bounds half-open ones by its SYN backlog). */
export const DEFAULT_MAX_CONNECTIONS = 4096;

/**
 * Seconds a connection may stay half-open (SYN-RECEIVED, its SYN-ACK unanswered) before it is abandoned. Windows
 * retransmits the SYN-ACK twice (TcpMaxSynRetransmissions 2) with a doubling timeout from 3 seconds, then gives
 * up: 3 + 6 + 12 seconds. This host does not retransmit (decided: it has no timer of its own, only the capture's
 * clock); it only frees the slot when the peer would have been given up on, so a SYN scan in a capture does not
 * fill the table for good.
 */
export const HALF_OPEN_SECONDS = 21;

/** a < b in sequence space (RFC 9293 3.4: arithmetic modulo 2^32). */
function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** The segment the host sends back: flags (0: none), sequence and acknowledgment numbers, MSS option or not. */
export class TcpReply {
  flags = 0;
  seq = 0;
  ack = 0;
  /** Carry an MSS option (a SYN-ACK). */
  mss = false;
}

/** The TCP connections of one host. */
export class TcpConnections {
  /** What to send back after the last check / data call. */
  readonly reply = new TcpReply();
  /** After {@link data}: where the bytes for the application start in the segment's payload, and how many. */
  deliverOffset = 0;
  deliverLength = 0;
  readonly capacity: number;

  private count = 0;
  private readonly buckets: Int32Array;
  private readonly chain: Int32Array;
  private readonly free: Int32Array;
  private freeCount: number;
  private readonly state: Uint8Array;
  private readonly version: Uint8Array;
  private readonly localPort: Uint16Array;
  private readonly remotePort: Uint16Array;
  private readonly remote: Uint32Array;
  private readonly hashOf: Uint32Array;
  /** Initial send sequence, oldest unacknowledged, next to send; initial receive sequence, next expected. */
  private readonly iss: Uint32Array;
  private readonly sndUna: Uint32Array;
  private readonly sndNxt: Uint32Array;
  private readonly irs: Uint32Array;
  private readonly rcvNxt: Uint32Array;
  private readonly flow: Float64Array;
  /** When each half-open connection is given up (seconds on the host clock). */
  private readonly giveUpAt: Float64Array;
  /** The earliest {@link giveUpAt} of any half-open connection (Infinity: none); {@link expire} is cheap before it. */
  nextGiveUp = Number.POSITIVE_INFINITY;
  /** Half-open connections abandoned so far. */
  abandoned = 0;
  /**
   * Capture replay: the peer's segments were recorded talking to another stack, so they acknowledge that stack's
   * sequence numbers, not ours. With this set, the ACK that completes the handshake takes our sequence space to
   * the one it acknowledges, and an ACK of data we never sent (what the recorded server sent) moves it on, so the
   * conversation goes on as recorded instead of being reset. Off by default: a live peer must acknowledge what
   * was sent (RFC 9293).
   */
  followCapture = false;

  constructor(capacity = DEFAULT_MAX_CONNECTIONS) {
    this.capacity = capacity;
    let buckets = 16;
    while (buckets < 2 * capacity) buckets *= 2;
    this.buckets = new Int32Array(buckets).fill(-1);
    this.chain = new Int32Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeCount = capacity;
    this.state = new Uint8Array(capacity);
    this.version = new Uint8Array(capacity);
    this.localPort = new Uint16Array(capacity);
    this.remotePort = new Uint16Array(capacity);
    this.remote = new Uint32Array(4 * capacity);
    this.hashOf = new Uint32Array(capacity);
    this.iss = new Uint32Array(capacity);
    this.sndUna = new Uint32Array(capacity);
    this.sndNxt = new Uint32Array(capacity);
    this.irs = new Uint32Array(capacity);
    this.rcvNxt = new Uint32Array(capacity);
    this.flow = new Float64Array(capacity);
    this.giveUpAt = new Float64Array(capacity);
  }

  /** Connections open now (any state but CLOSED). */
  size(): number {
    return this.count;
  }

  /**
   * The connection for (local port, remote port, remote address as four words: IPv4 mapped), or -1 (the segment
   * meets the listener, or nobody).
   */
  find(version: number, localPort: number, remotePort: number, remote: ArrayLike<number>): number {
    const h = hash(version, localPort, remotePort, remote);
    for (let c = this.buckets[h & (this.buckets.length - 1)]!; c >= 0; c = this.chain[c]!) {
      const b = 4 * c;
      if (
        this.hashOf[c] === h &&
        this.localPort[c] === localPort &&
        this.remotePort[c] === remotePort &&
        this.version[c] === version &&
        this.remote[b] === remote[0] &&
        this.remote[b + 1] === remote[1] &&
        this.remote[b + 2] === remote[2] &&
        this.remote[b + 3] === remote[3]
      ) {
        return c;
      }
    }
    return -1;
  }

  /**
   * A SYN accepted by the listener (RFC 9293 3.10.7.2, after ALE_AUTH_RECV_ACCEPT permitted it): a connection
   * in SYN-RECEIVED with the peer's sequence `seq`, and the SYN-ACK to send in {@link reply}. `now` (seconds)
   * seeds the initial sequence number as RFC 6528 does (a 4-microsecond clock plus a hash of the connection's
   * identity; the host's secret is fixed, decided, so runs are deterministic). Returns -1 when the table is full.
   */
  open(
    version: number,
    localPort: number,
    remotePort: number,
    remote: ArrayLike<number>,
    seq: number,
    now: number,
  ): number {
    if (this.freeCount === 0) return -1;
    const c = this.free[--this.freeCount]!;
    const h = hash(version, localPort, remotePort, remote);
    this.hashOf[c] = h;
    this.version[c] = version;
    this.localPort[c] = localPort;
    this.remotePort[c] = remotePort;
    for (let i = 0; i < 4; i++) this.remote[4 * c + i] = remote[i]!;
    const slot = h & (this.buckets.length - 1);
    this.chain[c] = this.buckets[slot]!;
    this.buckets[slot] = c;
    this.count++;
    const iss = (Math.floor(now * 250_000) + Math.imul(h, 0x9e3779b1)) >>> 0;
    this.iss[c] = iss;
    this.sndUna[c] = iss;
    this.sndNxt[c] = (iss + 1) >>> 0;
    this.irs[c] = seq >>> 0;
    this.rcvNxt[c] = (seq + 1) >>> 0;
    this.flow[c] = 0;
    this.state[c] = TcpState.SynReceived;
    const giveUp = now + HALF_OPEN_SECONDS;
    this.giveUpAt[c] = giveUp;
    if (giveUp < this.nextGiveUp) this.nextGiveUp = giveUp;
    this.setReply(SYN | ACK, iss, this.rcvNxt[c]!, true);
    return c;
  }

  /** Abandons the half-open connections whose time has come by `now` (see {@link HALF_OPEN_SECONDS}). */
  expire(now: number): void {
    if (now < this.nextGiveUp) return;
    let next = Number.POSITIVE_INFINITY;
    for (let c = 0; c < this.capacity; c++) {
      if (this.state[c] !== TcpState.SynReceived) continue;
      const at = this.giveUpAt[c]!;
      if (at <= now) {
        this.close(c);
        this.abandoned++;
      } else if (at < next) next = at;
    }
    this.nextGiveUp = next;
  }

  /** The state of connection `c`. */
  stateOf(c: number): number {
    return this.state[c]!;
  }

  /** The ALE flow handle of connection `c` (0 before the handshake completed). */
  flowOf(c: number): number {
    return this.flow[c]!;
  }

  /** Records the ALE flow handle of `c`. */
  setFlow(c: number, flow: number): void {
    this.flow[c] = flow;
  }

  /** Next sequence number expected from the peer on `c`. */
  rcvNxtOf(c: number): number {
    return this.rcvNxt[c]!;
  }

  /** Our initial sequence number on `c`. */
  issOf(c: number): number {
    return this.iss[c]!;
  }

  /** Drops connection `c` at once (a reset, or the ALE refused the flow). */
  close(c: number): void {
    if (this.state[c] === TcpState.Closed) return;
    const slot = this.hashOf[c]! & (this.buckets.length - 1);
    if (this.buckets[slot] === c) this.buckets[slot] = this.chain[c]!;
    else {
      let p = this.buckets[slot]!;
      while (this.chain[p] !== c) p = this.chain[p]!;
      this.chain[p] = this.chain[c]!;
    }
    this.state[c] = TcpState.Closed;
    this.free[this.freeCount++] = c;
    this.count--;
  }

  /**
   * The first checks of a segment arriving on connection `c` (RFC 9293 3.10.7.4, first to fifth): sequence
   * acceptability, RST, SYN, ACK. `length` is the segment's data bytes. See {@link TcpCheck}.
   */
  check(c: number, seq: number, ack: number, flags: number, length: number): number {
    this.reply.flags = 0;
    const state = this.state[c]!;
    const rcvNxt = this.rcvNxt[c]!;
    const sndNxt = this.sndNxt[c]!;
    // A retransmitted SYN while the SYN-ACK is unanswered: the SYN-ACK was lost, send it again.
    if (state === TcpState.SynReceived && (flags & (SYN | ACK | RST)) === SYN && seq >>> 0 === this.irs[c]) {
      this.setReply(SYN | ACK, this.iss[c]!, rcvNxt, true);
      return TcpCheck.Drop;
    }
    // Their FIN again in LAST-ACK: our FIN+ACK was lost; send it again.
    if (
      state === TcpState.LastAck &&
      (flags & (FIN | SYN | RST)) === FIN &&
      (seq + length) >>> 0 === (rcvNxt - 1) >>> 0
    ) {
      this.setReply(FIN | ACK, (sndNxt - 1) >>> 0, rcvNxt, false);
      return TcpCheck.Drop;
    }
    const used = length + ((flags & SYN) !== 0 ? 1 : 0) + ((flags & FIN) !== 0 ? 1 : 0);
    if (!acceptable(seq >>> 0, used, rcvNxt)) {
      // An unacceptable segment gets an ACK saying what is expected (never in answer to a reset).
      if ((flags & RST) === 0) this.setReply(ACK, sndNxt, rcvNxt, false);
      return TcpCheck.Drop;
    }
    if ((flags & RST) !== 0) {
      // In the window: the connection is reset (RFC 9293 3.10.7.4 second; a passive open goes back to LISTEN,
      // which here is the listener itself).
      this.close(c);
      return TcpCheck.Closed;
    }
    if ((flags & SYN) !== 0) {
      // A SYN inside the window: a challenge ACK (RFC 5961 4.2, which RFC 9293 adopts), the connection stays.
      this.setReply(ACK, sndNxt, rcvNxt, false);
      return TcpCheck.Drop;
    }
    if ((flags & ACK) === 0) return TcpCheck.Drop;
    ack >>>= 0;
    if (state === TcpState.SynReceived) {
      if (before(this.sndUna[c]!, ack) && !before(sndNxt, ack)) {
        this.sndUna[c] = ack;
        this.state[c] = TcpState.Established;
        return TcpCheck.Established;
      }
      if (this.followCapture) {
        this.iss[c] = (ack - 1) >>> 0;
        this.sndUna[c] = this.sndNxt[c] = ack;
        this.state[c] = TcpState.Established;
        return TcpCheck.Established;
      }
      this.setReply(RST, ack, 0, false);
      return TcpCheck.Drop;
    }
    if (before(sndNxt, ack) && this.followCapture) {
      // What the recorded server sent: as if this host had sent it.
      this.sndNxt[c] = ack;
    } else if (before(sndNxt, ack)) {
      // It acknowledges something never sent: ACK and drop.
      this.setReply(ACK, sndNxt, rcvNxt, false);
      return TcpCheck.Drop;
    }
    if (before(this.sndUna[c]!, ack)) this.sndUna[c] = ack;
    if (state === TcpState.LastAck && ack === this.sndNxt[c]) {
      this.close(c);
      return TcpCheck.Closed;
    }
    return TcpCheck.Continue;
  }

  /**
   * The rest of an acceptable segment on `c` (RFC 9293 3.10.7.4, seventh and eighth): its text, in order, goes
   * to the application ({@link deliverOffset} / {@link deliverLength}) and is acknowledged; text out of order is
   * not taken and the ACK says what is expected; a FIN in order moves to CLOSE-WAIT, and the sink, reading the
   * end of the stream, closes at once: its FIN goes with the ACK and the connection waits in LAST-ACK.
   * Returns false when nothing of the segment was taken (out of order).
   */
  data(c: number, seq: number, flags: number, length: number): boolean {
    this.reply.flags = 0;
    this.deliverOffset = this.deliverLength = 0;
    seq >>>= 0;
    const state = this.state[c]!;
    let rcvNxt = this.rcvNxt[c]!;
    if (length > 0 && state === TcpState.Established) {
      if (before(rcvNxt, seq)) {
        this.setReply(ACK, this.sndNxt[c]!, rcvNxt, false);
        return false;
      }
      // Data already received at its front (a retransmission that overlaps) is skipped.
      const skip = (rcvNxt - seq) >>> 0;
      if (skip < length) {
        this.deliverOffset = skip;
        this.deliverLength = Math.min(length - skip, RECEIVE_WINDOW);
        rcvNxt = (rcvNxt + this.deliverLength) >>> 0;
        this.rcvNxt[c] = rcvNxt;
      }
    }
    const end = (seq + length) >>> 0;
    if ((flags & FIN) !== 0 && state === TcpState.Established && end === rcvNxt) {
      rcvNxt = (rcvNxt + 1) >>> 0;
      this.rcvNxt[c] = rcvNxt;
      this.state[c] = TcpState.CloseWait;
      const fin = this.sndNxt[c]!;
      this.sndNxt[c] = (fin + 1) >>> 0;
      this.state[c] = TcpState.LastAck;
      this.setReply(FIN | ACK, fin, rcvNxt, false);
      return true;
    }
    if (length > 0 || (flags & FIN) !== 0) this.setReply(ACK, this.sndNxt[c]!, rcvNxt, false);
    return true;
  }

  private setReply(flags: number, seq: number, ack: number, mss: boolean): void {
    const r = this.reply;
    r.flags = flags;
    r.seq = seq >>> 0;
    r.ack = ack >>> 0;
    r.mss = mss;
  }
}

/**
 * RFC 9293 3.10.7.4's acceptability test with the sink's fixed window: a segment of `used` sequence numbers
 * starting at `seq` is acceptable when some of it falls in [rcvNxt, rcvNxt + window) (an empty one: when `seq`
 * does).
 */
function acceptable(seq: number, used: number, rcvNxt: number): boolean {
  if (used === 0) return inWindow(seq, rcvNxt);
  return inWindow(seq, rcvNxt) || inWindow((seq + used - 1) >>> 0, rcvNxt);
}

function inWindow(s: number, rcvNxt: number): boolean {
  return !before(s, rcvNxt) && before(s, (rcvNxt + RECEIVE_WINDOW) >>> 0);
}

function hash(version: number, localPort: number, remotePort: number, remote: ArrayLike<number>): number {
  let h = Math.imul(0x811c9dc5 ^ ((version << 16) | localPort), 0x01000193);
  h = Math.imul(h ^ remotePort, 0x01000193);
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ remote[i]!, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}
