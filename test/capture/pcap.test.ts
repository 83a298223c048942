import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CAPTURE_POOL_TAG,
  CaptureFormatError,
  type CaptureRecord,
  LINKTYPE_ETHERNET,
  MemorySink,
  openCapture,
  PcapReader,
  PcapWriter,
  PoolCapture,
  readCapture,
} from '../../src/capture/index.js';
import { memory } from '../../src/kernel/arena.js';
import { bytesAt } from '../../src/kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPool, poolTagStats } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';

beforeEach(() => resetSystem());

const packetArb = fc.record({
  data: fc.uint8Array({ minLength: 0, maxLength: 200 }),
  extra: fc.nat(1000),
  seconds: fc.nat(0xffffffff),
  nanoseconds: fc.nat(999_999_999),
});

function writePcap(
  pkts: { data: Uint8Array; extra: number; seconds: number; nanoseconds: number }[],
  opts: { nanoseconds: boolean; bigEndian: boolean },
): Uint8Array {
  const sink = new MemorySink(512);
  const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, snaplen: 1500, ...opts });
  for (const p of pkts) w.writePacket(p.seconds, p.nanoseconds, p.data, 0, p.data.length, p.data.length + p.extra);
  return sink.bytes();
}

describe('pcap', () => {
  it('write then read returns the same packets: both byte orders, micro- and nanoseconds, small windows', () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { maxLength: 30 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 240, max: 4096 }),
        (pkts, nanoseconds, bigEndian, window) => {
          const file = writePcap(pkts, { nanoseconds, bigEndian });
          const reader = openCapture(file, { chunk: new Uint8Array(window), maxCaplen: 200 });
          assert.ok(reader instanceof PcapReader);
          assert.equal(reader.header.bigEndian, bigEndian);
          assert.equal(reader.header.nanoseconds, nanoseconds);
          assert.equal(reader.header.snaplen, 1500);
          assert.equal(reader.header.linkType, LINKTYPE_ETHERNET);
          for (const p of pkts) {
            const r: CaptureRecord | null = reader.next();
            assert.ok(r !== null);
            assert.deepEqual(r.data.subarray(r.offset, r.offset + r.caplen), p.data);
            assert.equal(r.origlen, p.data.length + p.extra);
            assert.equal(r.seconds, p.seconds);
            assert.equal(r.nanoseconds, nanoseconds ? p.nanoseconds : Math.floor(p.nanoseconds / 1000) * 1000);
          }
          assert.equal(reader.next(), null);
        },
      ),
    );
  });

  it('the same record object comes back for every packet (no allocation per packet)', () => {
    const file = writePcap(
      [1, 2, 3].map((n) => ({ data: new Uint8Array(n), extra: 0, seconds: n, nanoseconds: 0 })),
      { nanoseconds: false, bigEndian: false },
    );
    const reader = openCapture(file);
    const a = reader.next();
    const b = reader.next();
    assert.equal(a, b);
    assert.equal(b?.number, 2);
  });

  it('frames land in kernel pool memory when the window is a bytesAt view of a pool allocation', () => {
    const file = writePcap([{ data: Uint8Array.of(1, 2, 3, 4), extra: 0, seconds: 9, nanoseconds: 0 }], {
      nanoseconds: false,
      bigEndian: false,
    });
    const va = ExAllocatePoolWithTag(NonPagedPool, 4096, poolTag('pacW'));
    const reader = openCapture(file, { chunk: bytesAt(va, 4096) });
    const r = reader.next()!;
    assert.equal(r.data.buffer, memory.buffer);
    // The frame's kernel address is the window's address plus the record offset.
    assert.deepEqual(bytesAt(va + r.offset, 4), Uint8Array.of(1, 2, 3, 4));
    ExFreePoolWithTag(va, poolTag('pacW'));
  });

  it('a truncated file gives CaptureFormatError after returning the packets before it', () => {
    const file = writePcap(
      [10, 20, 30].map((n) => ({ data: new Uint8Array(n).fill(n), extra: 0, seconds: n, nanoseconds: 0 })),
      { nanoseconds: false, bigEndian: false },
    );
    const cut = file.subarray(0, file.length - 5);
    const { packets, error } = readCapture(cut);
    assert.equal(packets.length, 2);
    assert.ok(error instanceof CaptureFormatError);
    assert.equal(error.field, 'incl_len');
    assert.equal(error.value, 30);
    assert.equal(error.packetsRead, 2);
    assert.equal(error.offset, 24 + 16 + 10 + 16 + 20 + 8);
    assert.match(error.message, /incl_len = 30 at file offset 94/);
  });

  it('a huge captured length is refused without reading or allocating it', () => {
    const file = writePcap([{ data: new Uint8Array(4), extra: 0, seconds: 0, nanoseconds: 0 }], {
      nanoseconds: false,
      bigEndian: false,
    });
    new DataView(file.buffer).setUint32(24 + 8, 0xfffffff0, true);
    const { packets, error } = readCapture(file);
    assert.equal(packets.length, 0);
    assert.equal(error?.field, 'incl_len');
    assert.equal(error?.value, 0xfffffff0);
  });

  it('header errors are typed: bad magic, short header, version, reserved link-type bits', () => {
    const good = writePcap([], { nanoseconds: false, bigEndian: false });
    const cases: [Uint8Array, string, number][] = [
      [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 'magic', 0],
      [good.subarray(0, 10), 'file_header', 10],
      [new Uint8Array(0), 'magic', 0],
    ];
    const v1 = good.slice();
    new DataView(v1.buffer).setUint16(4, 1, true);
    cases.push([v1, 'version_major', 4]);
    const v25 = good.slice();
    new DataView(v25.buffer).setUint16(6, 5, true);
    cases.push([v25, 'version_minor', 6]);
    const lt = good.slice();
    new DataView(lt.buffer).setUint32(20, 0x00300001, true);
    cases.push([lt, 'linktype', 20]);
    for (const [bytes, field, offset] of cases) {
      assert.throws(
        () => openCapture(bytes),
        (err: unknown) => err instanceof CaptureFormatError && err.field === field && err.offset === offset,
        field,
      );
    }
  });

  it('the FCS bits of the link-type field are kept apart from the link type', () => {
    const sink = new MemorySink();
    new PcapWriter(sink, { linkType: 0x14000001 }).close();
    const reader = openCapture(sink.bytes()) as PcapReader;
    assert.equal(reader.header.linkType, 1);
    assert.equal(reader.header.linkTypeField, 0x14000001);
  });

  it('frames filled in place and frames larger than the sink buffer are written whole', () => {
    const sink = new MemorySink(128);
    const w = new PcapWriter(sink, { linkType: 1, nanoseconds: true });
    w.writeFilled(3, 4, 3, (buf, at) => buf.set([7, 8, 9], at));
    const big = new Uint8Array(500).map((_, i) => (i * 7) & 0xff);
    w.writePacket(5, 6, big, 0, big.length, 600);
    w.close();
    const { packets, error } = readCapture(sink.bytes());
    assert.equal(error, null);
    assert.deepEqual(
      packets.map((p) => [Array.from(p.data), p.seconds, p.nanoseconds, p.origlen]),
      [
        [[7, 8, 9], 3, 4, 3],
        [Array.from(big), 5, 6, 600],
      ],
    );
  });
});

describe('PoolCapture', () => {
  it('reads frames into a nonpaged pool window tagged Capt and frees it on close', () => {
    const file = writePcap(
      [5, 6, 7].map((n) => ({ data: new Uint8Array(n).fill(n), extra: 0, seconds: n, nanoseconds: 0 })),
      { nanoseconds: false, bigEndian: false },
    );
    const capture = new PoolCapture(file, 4096);
    assert.equal(poolTagStats(CAPTURE_POOL_TAG)?.name, 'Capt');
    assert.equal(poolTagStats(CAPTURE_POOL_TAG)?.bytes, 4096);
    const seen: number[][] = [];
    for (let r = capture.next(); r !== null; r = capture.next()) {
      seen.push(Array.from(bytesAt(capture.frameAddress(r), r.caplen)));
    }
    assert.deepEqual(seen, [new Array(5).fill(5), new Array(6).fill(6), new Array(7).fill(7)]);
    capture.close();
    capture.close();
    assert.equal(poolTagStats(CAPTURE_POOL_TAG)?.bytes, 0);
  });

  it('a malformed header frees the window before the error reaches the caller', () => {
    assert.throws(() => new PoolCapture(Uint8Array.of(1, 2, 3, 4, 5), 4096), CaptureFormatError);
    assert.equal(poolTagStats(CAPTURE_POOL_TAG)?.bytes ?? 0, 0);
  });
});

describe('window size', () => {
  it('a window too small for a header is refused with a RangeError', () => {
    const file = writePcap([], { nanoseconds: false, bigEndian: false });
    assert.throws(() => openCapture(file, { chunk: new Uint8Array(16) }), RangeError);
  });
});
