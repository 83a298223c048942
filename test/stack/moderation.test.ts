/**
 * Interrupt moderation and batching: a moderated NIC indicates what it received as one NET_BUFFER_LIST chain when
 * its batch is full or its timer (capture time) expires, the host answers inside that indication, and the IP
 * protocol sends what it made as NBL chains (one NdisSendNetBufferLists per run of sends on one binding) and gives
 * the receives back as one NdisReturnNetBufferLists chain. Nothing about the frames changes but when they leave.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { LINKTYPE_ETHERNET } from '../../src/capture/linktype.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { packets } from '../../src/capture/reader.js';
import { FileSink } from '../../src/capture/sink.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { resetSystem } from '../../src/kernel/system.js';
import { MODERATION_FRAMES, replay } from '../../src/stack/replay.js';
import { arp, frame } from './frames.js';

const T0 = 1_700_000_001;
const tmp = mkdtempSync(join(tmpdir(), 'wdknet-moderation-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const B_MAC = 0x02_00_00_00_00_0b;

/**
 * A pcap (nanosecond timestamps) of UDP datagrams the auto-configured router forwards, at the given times (ns,
 * counted from second 1 of the capture), after a gratuitous ARP at second 0 that teaches it the receiver's MAC.
 */
function capture(name: string, times: readonly number[]): string {
  const path = join(tmp, name);
  const w = new PcapWriter(new FileSink(path), { linkType: LINKTYPE_ETHERNET, nanoseconds: true });
  const announce = arp(1, B_MAC, '10.0.2.20', 0, '10.0.2.20');
  w.writePacket(T0 - 1, 0, announce, 0, announce.length);
  times.forEach((t, i) => {
    const f = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', srcPort: 1000 + i, dstPort: 9 });
    w.writePacket(T0 + Math.floor(t / 1e9), t % 1e9, f, 0, f.length);
  });
  w.close();
  return path;
}

/** Plays `input`, returns what left (source port and time in ns after the first second) and the run. */
function play(input: string, moderationUs: number) {
  resetSystem();
  const out = join(tmp, `out-${moderationUs}.pcap`);
  const run = replay({ input, output: out, interruptModerationUs: moderationUs });
  const sendCalls = run.protocol.sendCalls;
  const sendsBatched = run.protocol.sendsBatched;
  run.finish();
  assert.deepEqual(collectLeaks(), []);
  const left = [...packets(out)].map((p) => ({
    port: (p.data[34]! << 8) | p.data[35]!,
    ns: (p.seconds - T0) * 1e9 + p.nanoseconds,
    bytes: Array.from(p.data),
  }));
  return { left, run, sendCalls, sendsBatched };
}

describe('interrupt moderation and NBL chain batching (wdknet run --interrupt-moderation)', () => {
  beforeEach(() => resetSystem());

  it('off (0): every frame is indicated as it arrives and its forward leaves at its own capture time', () => {
    const times = [0, 10_000, 100_000, 100_500];
    const { left, sendCalls, sendsBatched } = play(capture('off.pcap', times), 0);
    assert.deepEqual(
      left.map((l) => l.ns),
      times,
    );
    assert.deepEqual(
      left.map((l) => l.port),
      [1000, 1001, 1002, 1003],
    );
    assert.equal(sendCalls, 4, 'one send per indication of one frame');
    assert.equal(sendsBatched, 4);
  });

  it('on: frames wait at most the moderation time; the timer fires at first arrival + moderation, also at the end', () => {
    // 50 us moderation: frames at 0 and 10 us go up together at 50 us; 100 us and 100.5 us at 150 us (end of capture).
    const { left, sendCalls, sendsBatched } = play(capture('on.pcap', [0, 10_000, 100_000, 100_500]), 50);
    assert.deepEqual(
      left.map((l) => l.ns),
      [50_000, 50_000, 150_000, 150_000],
    );
    assert.deepEqual(
      left.map((l) => l.port),
      [1000, 1001, 1002, 1003],
      'order kept',
    );
    assert.equal(sendCalls, 2, 'one NdisSendNetBufferLists per indicated batch');
    assert.equal(sendsBatched, 4);
  });

  it(`on: a full batch (${MODERATION_FRAMES} frames) is indicated at once, at the time its last frame arrived`, () => {
    const n = MODERATION_FRAMES + 5;
    const times = Array.from({ length: n }, (_, i) => i * 100); // 100 ns apart: the count fills before the timer
    const { left, run, sendCalls } = play(capture('full.pcap', times), 50);
    assert.equal(left.length, n);
    assert.ok(left.slice(0, MODERATION_FRAMES).every((l) => l.ns === times[MODERATION_FRAMES - 1]));
    assert.ok(left.slice(MODERATION_FRAMES).every((l) => l.ns === times[MODERATION_FRAMES]! + 50_000));
    assert.equal(sendCalls, 2);
    assert.equal(run.nics.returned, n + 1, 'every receive (and the ARP) came back to the NIC');
  });

  it('the time each frame leaves is what a moderation timer per batch gives, whatever the arrival times (out of order, across seconds, on the due time)', () => {
    /**
     * The model: the first frame of a batch starts the timer; a frame arriving at or after its expiry finds the
     * batch indicated at the expiry first; a full batch is indicated when its last frame arrives; at the end of the
     * capture a held batch is indicated at its expiry. The gratuitous ARP at second -1 is a frame of the first batch.
     */
    const model = (times: readonly number[], moderationNs: number): number[] => {
      const left: number[] = [];
      let held: number[] = [];
      let since = 0;
      const indicate = (at: number) => {
        for (const port of held) if (port >= 0) left.push(at);
        held = [];
      };
      [-1e9, ...times].forEach((t, i) => {
        if (held.length > 0 && t - since >= moderationNs) indicate(since + moderationNs);
        if (held.length === 0) since = t;
        held.push(i - 1);
        if (held.length === MODERATION_FRAMES) indicate(t);
      });
      if (held.length > 0) indicate(since + moderationNs);
      return left;
    };
    let n = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 3e9 }),
            // Near the due times of 50 us and a second boundary.
            fc.constantFrom(0, 49_999, 50_000, 50_001, 999_999_999, 1e9, 1e9 + 49_999, 1e9 + 50_000),
          ),
          { maxLength: 80 },
        ),
        fc.boolean(),
        fc.constantFrom(1, 50, 50, 333, 1_000_000),
        (raw, sorted, moderationUs) => {
          const times = sorted ? [...raw].sort((a, b) => a - b) : raw;
          const { left } = play(capture(`model-${n++}.pcap`, times), moderationUs);
          assert.deepEqual(
            left.map((l) => l.ns),
            model(times, moderationUs * 1000),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the frames that leave are the same bytes in the same order with or without moderation', () => {
    const times = Array.from({ length: 100 }, (_, i) => i * 7_000 + (i % 3) * 40_000);
    times.sort((a, b) => a - b);
    const input = capture('same.pcap', times);
    const a = play(input, 0).left;
    const b = play(input, 50).left;
    assert.deepEqual(
      b.map((x) => x.bytes),
      a.map((x) => x.bytes),
    );
    for (let i = 0; i < a.length; i++) {
      assert.ok(b[i]!.ns >= a[i]!.ns && b[i]!.ns - a[i]!.ns <= 50_000, `frame ${i} late by at most the moderation`);
    }
  });
});
