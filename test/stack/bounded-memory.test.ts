/**
 * Issue 5, Captures: "files are streamed: a 10 GB capture runs in bounded memory". A synthetic 10 GB pcap of
 * real, near-maximal IPv4/UDP frames (generated on the fly by a ByteSource, never written to disk) is played
 * through the whole host - pool window, virtual NIC, NDIS indication, IP forwarding, NDIS send, the wire - and
 * neither the JS heap, nor array buffers, nor kernel pool in use grow with the file.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { ByteSource } from '../../src/capture/source.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { poolBytesInUse } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { replay } from '../../src/stack/replay.js';
import { frame } from './frames.js';

const A_MAC = 0x02_00_00_00_00_0a;
const B_MAC = 0x02_00_00_00_00_0b;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/**
 * A little-endian microsecond pcap of `count` Ethernet frames that alternate between two templates (A to B and
 * B to A, so the host learns both neighbours from the traffic and forwards every frame). Only the record being
 * read is materialised.
 */
class SyntheticCapture implements ByteSource {
  readonly size: number;
  private readonly header = new Uint8Array(FILE_HEADER);
  private readonly recordHeader = new Uint8Array(RECORD_HEADER);
  private readonly recordView = new DataView(this.recordHeader.buffer);
  private readonly record: number;

  constructor(
    readonly count: number,
    private readonly templates: readonly Uint8Array[],
  ) {
    const v = new DataView(this.header.buffer);
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 262144, true);
    v.setUint32(20, 1, true); // LINKTYPE_ETHERNET
    this.record = RECORD_HEADER + templates[0]!.length;
    this.size = FILE_HEADER + count * this.record;
  }

  read(into: Uint8Array, at: number, length: number, position: number): number {
    const end = Math.min(this.size, position + length);
    let p = position;
    if (p < FILE_HEADER) {
      const n = Math.min(FILE_HEADER, end) - p;
      into.set(this.header.subarray(p, p + n), at);
      p += n;
    }
    while (p < end) {
      const i = Math.floor((p - FILE_HEADER) / this.record);
      const start = FILE_HEADER + i * this.record;
      const frame = this.templates[i & 1]!;
      this.recordView.setUint32(0, 1_000_000 + Math.floor(i / 1000), true);
      this.recordView.setUint32(4, (i % 1000) * 1000, true);
      this.recordView.setUint32(8, frame.length, true);
      this.recordView.setUint32(12, frame.length, true);
      // The part of this record in [p, end): its header, then its frame.
      for (let o = p - start; o < this.record && p < end; ) {
        const source = o < RECORD_HEADER ? this.recordHeader : frame;
        const from = o < RECORD_HEADER ? o : o - RECORD_HEADER;
        const n = Math.min(source.length - from, end - p);
        into.set(source.subarray(from, from + n), at + p - position);
        p += n;
        o += n;
      }
    }
    return end - position;
  }

  close(): void {}
}

beforeEach(() => resetSystem());

describe('a 10 GB capture through the host', () => {
  it('plays 10 GB of frames through the host of wdknet run in bounded memory: heap, array buffers and pool stay flat, every frame is forwarded, nothing leaks', () => {
    const payload = new Uint8Array(65000 - 42);
    const there = frame({ protocol: 'udp', src: '10.1.0.1', dst: '10.2.0.2', srcMac: A_MAC, dstMac: B_MAC, payload });
    const back = frame({ protocol: 'udp', src: '10.2.0.2', dst: '10.1.0.1', srcMac: B_MAC, dstMac: A_MAC, payload });
    const count = Math.ceil(10e9 / (RECORD_HEADER + there.length));
    const source = new SyntheticCapture(count, [there, back]);
    assert.ok(source.size >= 10e9);

    globalThis.gc?.();
    let baseline: NodeJS.MemoryUsage | null = null;
    let basePool = 0;
    let worstHeap = 0;
    let worstBuffers = 0;
    let worstPool = 0;
    const run = replay({
      input: source,
      interruptModerationUs: 0,
      progressEvery: 10_000,
      onProgress: (frames) => {
        // The first sample is taken once the host is up and warm; later ones must not grow from it.
        if (baseline === null) {
          globalThis.gc?.();
          baseline = process.memoryUsage();
          basePool = poolBytesInUse();
          return;
        }
        const now = process.memoryUsage();
        worstHeap = Math.max(worstHeap, now.heapUsed - baseline.heapUsed);
        worstBuffers = Math.max(worstBuffers, now.arrayBuffers - baseline.arrayBuffers);
        worstPool = Math.max(worstPool, poolBytesInUse() - basePool);
        assert.ok(frames <= count);
      },
    });
    const framesRead = run.framesRead;
    const forwarded = run.host.counters.forwarded;
    run.finish();
    assert.equal(framesRead, count, 'every record of the 10 GB was read');
    assert.equal(forwarded, count, 'every frame went through the host and was forwarded');
    assert.equal(run.host.counters.balance(0), 0);
    assert.deepEqual(collectLeaks(), []);
    // Nothing proportional to the file (10 GB, 150 000 frames) was kept.
    assert.ok(worstPool <= 1 << 20, `pool in use grew ${worstPool} bytes`);
    assert.ok(worstBuffers < 16e6, `array buffers grew ${worstBuffers}`);
    assert.ok(worstHeap < 32e6, `heap grew ${worstHeap}`);
  });
});
