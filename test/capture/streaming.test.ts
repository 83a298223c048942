/**
 * Streaming: a capture far larger than memory (here a synthetic 10 GB pcap, the size issue 5 names, generated on
 * the fly by the source) is read through a 1 MiB window in bounded memory, with file offsets past 4 GiB, and
 * records straddling the window's end are handled.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { type ByteSource, PcapReader } from '../../src/capture/index.js';
import { resetSystem } from '../../src/kernel/system.js';

beforeEach(() => resetSystem());

/** A pcap file of `count` records of `caplen` bytes; only headers and the first frame bytes are materialised. */
class SyntheticPcap implements ByteSource {
  readonly size: number;
  private readonly header = new Uint8Array(24);
  private readonly record: number;

  constructor(
    count: number,
    private readonly caplen: number,
  ) {
    const v = new DataView(this.header.buffer);
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 262144, true);
    v.setUint32(20, 1, true);
    this.record = 16 + caplen;
    this.size = 24 + count * this.record;
  }

  /** The byte at file position `pos`. */
  private byteAt(pos: number): number {
    if (pos < 24) return this.header[pos]!;
    const i = Math.floor((pos - 24) / this.record);
    const o = (pos - 24) % this.record;
    if (o >= 16) return o === 16 ? i & 0xff : 0; // first frame byte tags the record
    const field = o >> 2;
    const value = field === 0 ? 1_000_000 + i : field === 1 ? 0 : this.caplen;
    return (value >>> ((o & 3) * 8)) & 0xff;
  }

  read(into: Uint8Array, at: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.size - position));
    // Materialise only header bytes and the first frame byte of each record; the rest stays zero.
    into.fill(0, at, at + n);
    const first = position < 24 ? 0 : Math.floor((position - 24) / this.record);
    for (let p = position; p < Math.min(24, position + n); p++) into[at + p - position] = this.byteAt(p);
    for (let i = first; ; i++) {
      const start = 24 + i * this.record;
      if (start >= position + n) break;
      for (let p = Math.max(start, position); p < Math.min(start + 17, position + n); p++) {
        into[at + p - position] = this.byteAt(p);
      }
    }
    return n;
  }

  close(): void {}
}

describe('streaming reads', () => {
  it('a 10 GB capture is read through a 1 MiB window in bounded memory, offsets past 4 GiB', () => {
    const caplen = 200_000;
    const count = 50_000; // 50 000 x 200 016 bytes = 10.0 GB
    const source = new SyntheticPcap(count, caplen);
    assert.ok(source.size > 10e9);
    const window = new Uint8Array(1 << 20);
    const reader = new PcapReader(source, { chunk: window });
    globalThis.gc?.();
    const before = process.memoryUsage();
    let n = 0;
    let lastOffset = 0;
    for (let r = reader.next(); r !== null; r = reader.next()) {
      assert.equal(r.data, window); // every frame is read into the caller's window
      assert.equal(r.caplen, caplen);
      assert.equal(r.data[r.offset], n & 0xff);
      assert.equal(r.seconds, 1_000_000 + n);
      lastOffset = r.fileOffset;
      n++;
    }
    const after = process.memoryUsage();
    assert.equal(n, count);
    assert.equal(lastOffset, 24 + (count - 1) * (16 + caplen));
    assert.ok(lastOffset > 2 ** 32);
    // Nothing proportional to the file was kept: far less than one percent of its size.
    assert.ok(
      after.arrayBuffers - before.arrayBuffers < 16e6,
      `array buffers grew ${after.arrayBuffers - before.arrayBuffers}`,
    );
    assert.ok(after.heapUsed - before.heapUsed < 32e6, `heap grew ${after.heapUsed - before.heapUsed}`);
  });
});
