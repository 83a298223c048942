/**
 * The host's TCP listener (RFC 9293's passive side) and the moments the WFP layers see a TCP connection (WFP "TCP
 * Packet Flows" and "ALE Layers" pages): ALE_AUTH_RECV_ACCEPT on the SYN, ALE_FLOW_ESTABLISHED once the handshake
 * completes, OUTBOUND_TRANSPORT then OUTBOUND_IPPACKET for every segment the host sends, no layer for teardown.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesAt } from '../../src/kernel/memory.js';
import { resetSystem } from '../../src/kernel/system.js';
import { parseIpv4 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { type ClassifyRequest, DIRECTION_INBOUND, Verdict } from '../../src/stack/filters.js';
import { IPPROTO_TCP } from '../../src/stack/headers.js';
import { Layer } from '../../src/stack/layers.js';
import { HALF_OPEN_SECONDS, TcpState } from '../../src/stack/tcp.js';
import { checksumOk, frame, pseudo4, u16 } from './frames.js';
import { MAC1, testHost } from './host.js';

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;
const PSH = 0x08;

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** A TCP segment the host sent, decoded (IPv4 or IPv6 in an Ethernet frame). */
function decode(bytes: Uint8Array) {
  const v6 = u16(bytes, 12) === 0x86dd;
  const t = v6 ? 54 : 34;
  return {
    srcPort: u16(bytes, t),
    dstPort: u16(bytes, t + 2),
    seq: u32(bytes, t + 4),
    ack: u32(bytes, t + 8),
    headerLength: (bytes[t + 12]! >> 4) * 4,
    flags: bytes[t + 13]!,
    window: u16(bytes, t + 14),
    options: [...bytes.subarray(t + 20, t + (bytes[t + 12]! >> 4) * 4)],
    checksumOk: v6 ? true : checksumOk(bytes, t, bytes.length, pseudo4(bytes, 14, 6, bytes.length - t)),
  };
}

/** A client at 10.0.1.10:40000 talking to the host's port 80. */
function client(version: 4 | 6 = 4) {
  const r = testHost();
  r.if1.mtu = 1500;
  const sink = r.host.endpoints.bind(IPPROTO_TCP, 80);
  const got: number[] = [];
  sink.onReceive = (va, length) => got.push(...bytesAt(va, length));
  const send = (flags: number, seq: number, ack = 0, payload = new Uint8Array(0)) => {
    const before = r.out.length;
    const f = frame({
      protocol: 'tcp',
      src: version === 4 ? '10.0.1.10' : 'fd00:1::10',
      dst: version === 4 ? '10.0.1.1' : 'fd00:1::1',
      srcPort: 40000,
      dstPort: 80,
      tcpFlags: flags,
      seq,
      ack,
      payload,
      dstMac: MAC1,
    });
    assert.ok(r.if1.indicate(f, 0, f.length));
    return r.out.slice(before).map((o) => decode(o.bytes));
  };
  const state = () => {
    const remote = version === 4 ? [0, 0, 0xffff, parseIpv4('10.0.1.10')] : [0xfd000001, 0, 0, 0x10];
    const c = r.host.tcp.find(version, 80, 40000, remote);
    return c < 0 ? TcpState.Closed : r.host.tcp.stateOf(c);
  };
  /** Handshake from client sequence `isn`; returns the host's ISS. */
  const open = (isn = 1000) => {
    const [synAck] = send(SYN, isn);
    send(ACK, isn + 1, synAck!.seq + 1);
    assert.equal(state(), TcpState.Established);
    return synAck!.seq;
  };
  return { ...r, sink, got, send, state, open };
}

describe('host TCP: the listener (RFC 9293 passive open)', () => {
  beforeEach(() => resetSystem());

  it('a SYN gets a SYN-ACK: SEQ = ISS, ACK = SEQ + 1, an MSS option of the MTU less 40 (RFC 9293 3.7.1), a valid checksum; the ACK opens the connection', () => {
    const c = client();
    const replies = c.send(SYN, 5000);
    assert.equal(replies.length, 1);
    const synAck = replies[0]!;
    assert.equal(synAck.flags, SYN | ACK);
    assert.equal(synAck.ack, 5001);
    assert.equal(synAck.srcPort, 80);
    assert.equal(synAck.dstPort, 40000);
    assert.equal(synAck.headerLength, 24);
    assert.deepEqual(synAck.options, [2, 4, 1460 >> 8, 1460 & 0xff]);
    assert.equal(synAck.window, 65535);
    assert.ok(synAck.checksumOk);
    assert.equal(c.state(), TcpState.SynReceived);
    assert.deepEqual(c.send(ACK, 5001, synAck.seq + 1), [], 'the handshake ACK is not answered');
    assert.equal(c.state(), TcpState.Established);
    c.finish();
  });

  it('IPv6: the MSS is the MTU less 60', () => {
    const c = client(6);
    const [synAck] = c.send(SYN, 1);
    assert.equal(synAck!.flags, SYN | ACK);
    assert.deepEqual(synAck!.options, [2, 4, 1440 >> 8, 1440 & 0xff]);
    c.send(ACK, 2, synAck!.seq + 1);
    assert.equal(c.state(), TcpState.Established);
    c.finish();
  });

  it('a SYN to a broadcast address is dropped without a word, listener or not (RFC 1122 4.2.3.10)', () => {
    const c = client();
    for (const [dst, port] of [
      ['255.255.255.255', 80],
      ['10.0.1.255', 80],
      ['10.0.1.255', 81],
    ] as const) {
      const f = frame({
        protocol: 'tcp',
        src: '10.0.1.10',
        dst,
        dstPort: port,
        tcpFlags: SYN,
        dstMac: 0xffff_ffff_ffff,
      });
      c.if1.indicate(f, 0, f.length);
    }
    assert.equal(c.out.length, 0);
    assert.equal(c.host.tcp.size(), 0);
    assert.equal(c.host.counters.dropped[DropReason.TcpNotAcceptable], 3);
    c.finish();
  });

  it('a retransmitted SYN while in SYN-RECEIVED gets the same SYN-ACK again', () => {
    const c = client();
    const [first] = c.send(SYN, 7);
    const [again] = c.send(SYN, 7);
    assert.deepEqual(again, first);
    assert.equal(c.host.tcp.size(), 1);
    c.finish();
  });

  it('data in order reaches the sink and is acknowledged; out of order is not taken and the ACK names the expected sequence; an overlapping retransmission gives only its new bytes', () => {
    const c = client();
    const iss = c.open(100);
    let [a] = c.send(ACK | PSH, 101, iss + 1, Uint8Array.of(1, 2, 3));
    assert.equal(a!.flags, ACK);
    assert.equal(a!.ack, 104);
    assert.equal(a!.seq, iss + 1);
    // A gap: bytes 107.. arrive before 104..106.
    [a] = c.send(ACK | PSH, 107, iss + 1, Uint8Array.of(7, 8));
    assert.equal(a!.ack, 104, 'duplicate ACK of what is expected');
    assert.equal(c.host.counters.dropped[DropReason.TcpNotAcceptable], 1);
    // 102..106 again: 102, 103 are old, 104..106 new.
    [a] = c.send(ACK | PSH, 102, iss + 1, Uint8Array.of(2, 3, 4, 5, 6));
    assert.equal(a!.ack, 107);
    assert.deepEqual(c.got, [1, 2, 3, 4, 5, 6]);
    assert.equal(c.sink.bytes, 6);
    // An old duplicate, wholly before the window: unacceptable, answered with the expected sequence.
    [a] = c.send(ACK | PSH, 101, iss + 1, Uint8Array.of(1));
    assert.equal(a!.ack, 107);
    assert.equal(c.host.counters.dropped[DropReason.TcpNotAcceptable], 2);
    // Past the window.
    [a] = c.send(ACK | PSH, 107 + 70000, iss + 1, Uint8Array.of(1));
    assert.equal(a!.ack, 107);
    c.finish();
  });

  it('FIN: the sink reads the end and closes at once: FIN+ACK acknowledging the FIN, LAST-ACK, then CLOSED on the last ACK; the port listens again', () => {
    const c = client();
    const iss = c.open(100);
    const [fin] = c.send(FIN | ACK, 101, iss + 1);
    assert.equal(fin!.flags, FIN | ACK);
    assert.equal(fin!.ack, 102);
    assert.equal(fin!.seq, iss + 1);
    assert.equal(c.state(), TcpState.LastAck);
    // Their FIN again (ours was lost): ours again.
    const [again] = c.send(FIN | ACK, 101, iss + 1);
    assert.deepEqual(again, fin);
    assert.deepEqual(c.send(ACK, 102, iss + 2), []);
    assert.equal(c.state(), TcpState.Closed);
    assert.equal(c.host.tcp.size(), 0);
    const [synAck] = c.send(SYN, 9000);
    assert.equal(synAck!.flags, SYN | ACK, 'a new connection on the same ports');
    c.finish();
  });

  it('FIN with data: the data is delivered and the FIN acknowledged after it', () => {
    const c = client();
    const iss = c.open(100);
    const [fin] = c.send(FIN | ACK | PSH, 101, iss + 1, Uint8Array.of(5, 6));
    assert.equal(fin!.flags, FIN | ACK);
    assert.equal(fin!.ack, 104);
    assert.deepEqual(c.got, [5, 6]);
    c.finish();
  });

  it('RST: in the window it closes the connection, unanswered; outside it is ignored, unanswered (a reset is never answered)', () => {
    const c = client();
    const iss = c.open(100);
    assert.deepEqual(c.send(RST, 100 + 80000), []);
    assert.equal(c.state(), TcpState.Established);
    assert.deepEqual(c.send(RST | ACK, 101, iss + 1), []);
    assert.equal(c.state(), TcpState.Closed);
    c.finish();
  });

  it('LISTEN: an ACK with no connection is reset with SEQ = its ACK; a reset is ignored; a segment with neither SYN nor ACK is dropped', () => {
    const c = client();
    const [rst] = c.send(ACK, 55, 123456);
    assert.equal(rst!.flags, RST);
    assert.equal(rst!.seq, 123456);
    assert.deepEqual(c.send(RST, 55), []);
    assert.deepEqual(c.send(PSH, 55, 0, Uint8Array.of(1)), []);
    assert.equal(c.host.counters.dropped[DropReason.TcpNotAcceptable], 3);
    assert.equal(c.host.tcp.size(), 0);
    c.finish();
  });

  it('a SYN inside the window of an open connection gets a challenge ACK (RFC 5961 4.2), the connection stays', () => {
    const c = client();
    const iss = c.open(100);
    const [a] = c.send(SYN, 105);
    assert.equal(a!.flags, ACK);
    assert.equal(a!.ack, 101);
    assert.equal(a!.seq, iss + 1);
    assert.equal(c.state(), TcpState.Established);
    c.finish();
  });

  it('in SYN-RECEIVED an ACK of something never sent is reset', () => {
    const c = client();
    const [synAck] = c.send(SYN, 100);
    const [rst] = c.send(ACK, 101, synAck!.seq + 5);
    assert.equal(rst!.flags, RST);
    assert.equal(rst!.seq, synAck!.seq + 5);
    assert.equal(c.state(), TcpState.SynReceived);
    c.finish();
  });

  it('the connection table is bounded: a SYN that finds it full is dropped and counted', () => {
    resetSystem();
    const r = testHost({ maxTcpConnections: 2 });
    r.host.endpoints.bind(IPPROTO_TCP, 80);
    for (const port of [1, 2, 3]) {
      const f = frame({
        protocol: 'tcp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        srcPort: port,
        dstPort: 80,
        tcpFlags: SYN,
        dstMac: MAC1,
      });
      r.if1.indicate(f, 0, f.length);
    }
    assert.equal(r.host.tcp.size(), 2);
    assert.equal(r.out.length, 2, 'two SYN-ACKs');
    assert.equal(r.host.counters.dropped[DropReason.TcpTableFull], 1);
    r.finish();
  });

  it('a half-open connection is abandoned when Windows would have given up its SYN-ACK (HALF_OPEN_SECONDS on the host clock), freeing its slot; an open one stays', () => {
    const r = testHost({ maxTcpConnections: 2 });
    r.host.endpoints.bind(IPPROTO_TCP, 80);
    const syn = (port: number, flags = SYN, seq = 1000, ack = 0) => {
      const f = frame({
        protocol: 'tcp',
        src: '10.0.1.10',
        dst: '10.0.1.1',
        srcPort: port,
        dstPort: 80,
        tcpFlags: flags,
        seq,
        ack,
        dstMac: MAC1,
      });
      r.if1.indicate(f, 0, f.length);
      return decode(r.out[r.out.length - 1]!.bytes);
    };
    r.host.tick(100);
    const synAck = syn(1);
    syn(1, ACK, 1001, synAck.seq + 1); // port 1: open
    syn(2); // port 2: half-open
    assert.equal(r.host.tcp.size(), 2);
    r.host.tick(100 + HALF_OPEN_SECONDS - 1);
    assert.equal(r.host.tcp.size(), 2);
    r.host.tick(100 + HALF_OPEN_SECONDS);
    assert.equal(r.host.tcp.size(), 1, 'the half-open one went, the open one stays');
    assert.equal(r.host.tcp.abandoned, 1);
    assert.equal(syn(3).flags, SYN | ACK, 'its slot takes a new connection');
    r.finish();
  });

  it('the initial sequence number follows the clock (RFC 6528): the same run gives the same number, a later one another', () => {
    const iss = (now: number) => {
      resetSystem();
      const c = client();
      c.host.tick(now);
      const [synAck] = c.send(SYN, 1);
      c.finish();
      return synAck!.seq;
    };
    assert.equal(iss(10), iss(10));
    assert.equal((iss(11) - iss(10)) >>> 0, 250_000, 'four-microsecond ticks');
  });
});

describe('host TCP: the WFP layers of a connection (TCP Packet Flows)', () => {
  beforeEach(() => resetSystem());

  it('SYN: INBOUND_IPPACKET, INBOUND_TRANSPORT, ALE_AUTH_RECV_ACCEPT; SYN-ACK: OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET; ACK: INBOUND_IPPACKET, INBOUND_TRANSPORT, ALE_FLOW_ESTABLISHED; data and teardown: no ALE layer', () => {
    const c = client();
    const seen: number[] = [];
    let flowAtData = -1;
    c.host.classifier = (req: ClassifyRequest) => {
      seen.push(req.layerId);
      if (req.layerId === Layer.OutboundTransport4 && req.direction !== DIRECTION_INBOUND) flowAtData = req.flowHandle;
      return Verdict.Permit;
    };
    const [synAck] = c.send(SYN, 100);
    assert.deepEqual(seen.splice(0), [
      Layer.InboundIppacket4,
      Layer.InboundTransport4,
      Layer.AleAuthRecvAccept4,
      Layer.OutboundTransport4,
      Layer.OutboundIppacket4,
    ]);
    c.send(ACK, 101, synAck!.seq + 1);
    assert.deepEqual(seen.splice(0), [Layer.InboundIppacket4, Layer.InboundTransport4, Layer.AleFlowEstablished4]);
    c.send(ACK | PSH, 101, synAck!.seq + 1, Uint8Array.of(1));
    assert.deepEqual(seen.splice(0), [
      Layer.InboundIppacket4,
      Layer.InboundTransport4,
      Layer.OutboundTransport4,
      Layer.OutboundIppacket4,
    ]);
    assert.ok(flowAtData > 0, 'the ACK of data carries the flow handle');
    c.send(FIN | ACK, 102, synAck!.seq + 1);
    c.send(ACK, 103, synAck!.seq + 2);
    assert.ok(
      !seen.some((l) => l === Layer.AleAuthRecvAccept4 || l === Layer.AleFlowEstablished4),
      'teardown is indicated at no ALE layer',
    );
    c.finish();
  });

  it('SYN to a port nobody listens on: INBOUND_IPPACKET, INBOUND_TRANSPORT_DISCARD, then the RST through OUTBOUND_TRANSPORT and OUTBOUND_IPPACKET; a BLOCK at the DISCARD layer keeps the RST from going (Preventing Port Scanning)', () => {
    const r = testHost();
    const seen: number[] = [];
    let stealth = false;
    r.host.classifier = (req: ClassifyRequest) => {
      seen.push(req.layerId);
      return stealth && req.layerId === Layer.InboundTransport4 + 1 ? Verdict.Block : Verdict.Permit;
    };
    const syn = frame({ protocol: 'tcp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 81, tcpFlags: SYN, dstMac: MAC1 });
    r.if1.indicate(syn, 0, syn.length);
    assert.deepEqual(seen.splice(0), [
      Layer.InboundIppacket4,
      Layer.InboundTransport4 + 1,
      Layer.OutboundTransport4,
      Layer.OutboundIppacket4,
    ]);
    assert.equal(decode(r.out[0]!.bytes).flags, RST | ACK);
    stealth = true;
    r.if1.indicate(syn, 0, syn.length);
    assert.deepEqual(seen.splice(0), [Layer.InboundIppacket4, Layer.InboundTransport4 + 1]);
    assert.equal(r.out.length, 1, 'no RST this time');
    assert.equal(r.host.counters.dropped[DropReason.PortUnreachable], 2);
    r.finish();
  });

  it('a segment the connection does not take is indicated at INBOUND_TRANSPORT_DISCARD, still described (its ports), before the ACK it is owed; a BLOCK there silences the ACK', () => {
    const c = client();
    const iss = c.open(100);
    const discards: { layer: number; local: number; remote: number }[] = [];
    let silence = false;
    c.host.classifier = (req: ClassifyRequest) => {
      if (req.layerId !== Layer.InboundTransport4 + 1) return Verdict.Permit;
      discards.push({ layer: req.layerId, local: req.localPort, remote: req.remotePort });
      return silence ? Verdict.Block : Verdict.Permit;
    };
    const [ack] = c.send(ACK | PSH, 500, iss + 1, Uint8Array.of(1)); // out of order
    assert.equal(ack!.ack, 101);
    assert.deepEqual(discards.splice(0), [{ layer: Layer.InboundTransport4 + 1, local: 80, remote: 40000 }]);
    silence = true;
    assert.deepEqual(c.send(ACK | PSH, 500, iss + 1, Uint8Array.of(1)), [], 'no ACK');
    assert.equal(discards.length, 1);
    assert.equal(c.host.counters.dropped[DropReason.TcpNotAcceptable], 2);
    c.finish();
  });

  it('a BLOCK at ALE_AUTH_RECV_ACCEPT drops the SYN: no SYN-ACK, no connection', () => {
    const c = client();
    c.host.classifier = (req) => (req.layerId === Layer.AleAuthRecvAccept4 ? Verdict.Block : Verdict.Permit);
    assert.deepEqual(c.send(SYN, 100), []);
    assert.equal(c.host.tcp.size(), 0);
    assert.equal(c.host.counters.dropped[DropReason.WfpBlock], 1);
    c.finish();
  });

  it('a BLOCK at ALE_FLOW_ESTABLISHED ends the connection without a word', () => {
    const c = client();
    c.host.classifier = (req) => (req.layerId === Layer.AleFlowEstablished4 ? Verdict.Block : Verdict.Permit);
    const [synAck] = c.send(SYN, 100);
    assert.deepEqual(c.send(ACK, 101, synAck!.seq + 1), []);
    assert.equal(c.host.tcp.size(), 0);
    c.finish();
  });
});

describe('host TCP: conservation', () => {
  beforeEach(() => resetSystem());

  it('any sequence of segments (flags, sequence and acknowledgment numbers near the connection) is accounted for, never answers a reset, and stays within the table (property)', () => {
    const segment = fc.record({
      flags: fc.integer({ min: 0, max: 0x3f }),
      seq: fc.integer({ min: -4, max: 12 }),
      ack: fc.integer({ min: -2, max: 4 }),
      length: fc.integer({ min: 0, max: 5 }),
      port: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 25 }), (segments) => {
        resetSystem();
        const r = testHost({ maxTcpConnections: 2 });
        r.host.endpoints.bind(IPPROTO_TCP, 80);
        const iss = new Map<number, number>();
        for (const s of segments) {
          const before = r.out.length;
          const base = iss.get(s.port) ?? 0;
          const f = frame({
            protocol: 'tcp',
            src: '10.0.1.10',
            dst: '10.0.1.1',
            srcPort: s.port,
            dstPort: 80,
            tcpFlags: s.flags,
            seq: 1000 + s.seq,
            ack: (base + 1 + s.ack) >>> 0,
            payload: new Uint8Array(s.length),
            dstMac: MAC1,
          });
          r.if1.indicate(f, 0, f.length);
          for (const o of r.out.slice(before)) {
            const d = decode(o.bytes);
            if ((d.flags & (SYN | ACK)) === (SYN | ACK)) iss.set(d.dstPort, d.seq);
            assert.ok(d.checksumOk);
          }
          if ((s.flags & RST) !== 0) assert.equal(r.out.length, before, 'a reset is never answered');
          assert.ok(r.host.tcp.size() <= 2);
        }
        r.finish();
      }),
      { numRuns: 300 },
    );
  });
});
