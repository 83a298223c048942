/**
 * A captured conversation played into a host that owns the capture's address: the host's TCP answers it as a
 * listener would (SYN-ACK, ACKs, FIN), following the sequence numbers the recorded client acknowledges, and the
 * host's timers run on the capture's clock (a datagram that never completes times out 60 s after its first
 * fragment, with ICMP time exceeded, at the same frame every run).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { LINKTYPE_ETHERNET } from '../../src/capture/linktype.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { openCapture } from '../../src/capture/reader.js';
import { FileSink } from '../../src/capture/sink.js';
import { resetSystem } from '../../src/kernel/system.js';
import { DropReason } from '../../src/stack/counters.js';
import { IPPROTO_TCP } from '../../src/stack/headers.js';
import { DEFAULT_INTERRUPT_MODERATION_US, replay } from '../../src/stack/replay.js';
import { arp, type FrameSpec, fragment, frame, u16 } from './frames.js';

const R1 = 0x02_00_00_00_01_01;
const A = 0x02_00_00_00_00_0a;
const dir = mkdtempSync(join(tmpdir(), 'wdknet-replay-tcp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Writes a capture of frames from A (10.0.1.10) to the host (10.0.1.1 on lan-a), each at its time (seconds). */
function capture(name: string, frames: [number, Uint8Array][]): string {
  const path = join(dir, name);
  const w = new PcapngWriter(new FileSink(path));
  w.writeSection({});
  w.writeInterface({
    linkType: LINKTYPE_ETHERNET,
    snaplen: 65535,
    options: [
      { code: 2, value: 'lan-a' },
      { code: 4, value: Uint8Array.of(10, 0, 1, 1, 255, 255, 255, 0) },
      { code: 6, value: Uint8Array.of(2, 0, 0, 0, 1, 1) },
      { code: 9, value: 6 },
    ],
  });
  for (const [t, bytes] of frames) {
    w.writePacket(0, 1_767_225_600 + Math.floor(t), Math.round((t % 1) * 1e9), bytes, 0, bytes.length);
  }
  w.close();
  return path;
}

function read(path: string): { t: number; bytes: Uint8Array }[] {
  const r = openCapture(path);
  const out: { t: number; bytes: Uint8Array }[] = [];
  try {
    for (let x = r.next(); x !== null; x = r.next()) {
      out.push({
        t: x.seconds - 1_767_225_600 + x.nanoseconds / 1e9,
        bytes: x.data.slice(x.offset, x.offset + x.caplen),
      });
    }
  } finally {
    r.close();
  }
  return out;
}

const fromA = (spec: Omit<FrameSpec, 'srcMac' | 'dstMac' | 'src' | 'dst'>) =>
  frame({ ...spec, src: '10.0.1.10', dst: '10.0.1.1', srcMac: A, dstMac: R1 });
const tcp = (flags: number, seq: number, ack: number, payload = new Uint8Array(0)) =>
  fromA({ protocol: 'tcp', srcPort: 40000, dstPort: 80, tcpFlags: flags, seq, ack, payload });

describe('replay: a captured TCP conversation and the capture clock', () => {
  beforeEach(() => resetSystem());

  it('the host answers a recorded HTTP exchange as a listener: SYN-ACK with MSS, ACK of the request, FIN+ACK to the FIN, following the sequence numbers the client acknowledges', () => {
    const request = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n');
    // The recorded server's ISN was 50000 and it sent 100 bytes: the client acknowledges those.
    const input = capture('http.pcapng', [
      [0, arp(1, A, '10.0.1.10', 0, '10.0.1.1')],
      [0.001, tcp(0x02, 1000, 0)],
      [0.002, tcp(0x10, 1001, 50001)],
      [0.003, tcp(0x18, 1001, 50001, request)],
      [0.005, tcp(0x10, 1001 + request.length, 50101)],
      [0.006, tcp(0x11, 1001 + request.length, 50101)],
      [0.007, tcp(0x10, 1002 + request.length, 50102)],
    ]);
    const output = join(dir, 'http-out.pcapng');
    const run = replay({ input, output });
    const sink = run.host.endpoints.lookup(IPPROTO_TCP, 80)!;
    const conversation = run.host.tcp.size();
    run.finish();
    assert.equal(sink.bytes, request.length, 'the request reached the sink once');
    assert.equal(conversation, 0, 'the connection closed');
    const segments = read(output)
      .filter((f) => u16(f.bytes, 12) === 0x0800 && f.bytes[23] === 6)
      .map((f) => ({
        t: f.t,
        flags: f.bytes[47]!,
        seq: u32(f.bytes, 38),
        ack: u32(f.bytes, 42),
        hl: f.bytes[46]! >> 4,
      }));
    assert.equal(segments.length, 3);
    assert.equal(segments[0]!.flags, 0x12);
    assert.equal(segments[0]!.ack, 1001);
    assert.equal(segments[0]!.hl, 6, 'with an MSS option');
    // The NIC indicates the SYN when its interrupt moderation timer fires, the default 50 us after it arrived.
    const indicated = 0.001 + DEFAULT_INTERRUPT_MODERATION_US / 1e6;
    assert.ok(Math.abs(segments[0]!.t - indicated) < 1e-6, 'as soon as the SYN is indicated it answers');
    assert.deepEqual(
      segments.slice(1).map((s) => [s.flags, s.seq, s.ack]),
      [
        [0x10, 50001, 1001 + request.length],
        [0x11, 50101, 1002 + request.length],
      ],
    );
    assert.equal(run.host.counters.balance(0), 0);
  });

  it('a datagram never completed times out on the capture clock: dropped 60 s after its first fragment, ICMP time exceeded (code 1) written at that time', () => {
    const whole = fromA({ protocol: 'udp', dstPort: 53, payload: new Uint8Array(64) });
    const [first] = fragment(whole, [40, 32]);
    const ping = (t: number): [number, Uint8Array] => [t, fromA({ protocol: 'icmp', echoSeq: t })];
    const input = capture('frag.pcapng', [
      [0, arp(1, A, '10.0.1.10', 0, '10.0.1.1')],
      [10, first!],
      ping(69),
      ping(70.5),
    ]);
    const output = join(dir, 'frag-out.pcapng');
    const run = replay({ input, output });
    run.finish();
    assert.equal(run.host.counters.dropped[DropReason.ReassemblyTimeout], 1);
    const icmp = read(output).filter((f) => f.bytes[23] === 1 && f.bytes[34] === 11);
    assert.equal(icmp.length, 1);
    assert.equal(icmp[0]!.bytes[35], 1);
    assert.ok(Math.abs(icmp[0]!.t - 70.5) < 1e-6, 'with the first frame played at or after the deadline');
  });
});
