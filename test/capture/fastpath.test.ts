/**
 * The per-frame fast paths of the capture edges give what the general code gives: the pcap reader's one-check
 * record parse and its division-free timestamp (against a reference decode of the raw bytes), and the writers'
 * per-frame entry points (against the general ones, byte for byte), in both byte orders and both resolutions,
 * through windows and sink buffers small enough that records straddle them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CaptureFormatError,
  CaptureRecord,
  copyInto,
  MemorySink,
  MemorySource,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_MODIFIED,
  PCAP_MAGIC_NANOSECONDS,
  PcapReader,
  PcapWriter,
  setTimestamp,
  toUnitsOf,
  unitsOut,
  unitsPerSecondOf,
} from '../../src/capture/index.js';
import { FileSink } from '../../src/capture/sink.js';
import { ARENA_BASE, ARENA_RESERVE, memory } from '../../src/kernel/arena.js';
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPool } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';

beforeEach(() => resetSystem());

/** One raw record: the stored timestamp halves as they are in the file (any 32-bit value). */
const rawRecordArb = fc.record({
  tsHigh: fc.nat(0xffffffff),
  tsLow: fc.oneof(
    fc.nat(999_999),
    fc.nat(999_999_999),
    fc.nat(0xffffffff),
    fc.constantFrom(999_999, 1_000_000, 999_999_999, 1_000_000_000, 0xffffffff),
  ),
  caplen: fc.nat(90),
  extra: fc.nat(3000),
});
type RawRecord = { tsHigh: number; tsLow: number; caplen: number; extra: number };

/** A pcap file built field by field (not with the writer under test). */
function rawPcap(magic: number, bigEndian: boolean, records: RawRecord[]): Uint8Array {
  const hs = magic === PCAP_MAGIC_MODIFIED ? 24 : 16;
  const size = 24 + records.reduce((n, r) => n + hs + r.caplen, 0);
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  const le = !bigEndian;
  v.setUint32(0, magic, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 65535, le);
  v.setUint32(20, 1, le);
  let at = 24;
  records.forEach((r, i) => {
    v.setUint32(at, r.tsHigh, le);
    v.setUint32(at + 4, r.tsLow, le);
    v.setUint32(at + 8, r.caplen, le);
    v.setUint32(at + 12, r.caplen + r.extra, le);
    for (let k = 0; k < r.caplen; k++) bytes[at + hs + k] = (i * 31 + k) & 0xff;
    at += hs + r.caplen;
  });
  return bytes;
}

describe('pcap reader fast path', () => {
  it('every field of every record equals a reference decode: byte orders, us / ns / modified, any stored fraction, windows in kernel memory (headers read as words where aligned) or not', () => {
    fc.assert(
      fc.property(
        fc.array(rawRecordArb, { maxLength: 40 }),
        fc.constantFrom(PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS, PCAP_MAGIC_MODIFIED),
        fc.boolean(),
        fc.integer({ min: 128, max: 600 }),
        fc.option(fc.nat(3)),
        (records, magic, bigEndian, window, kernelShift) => {
          const file = rawPcap(magic, bigEndian, records);
          // A window in nonpaged pool, starting 0-3 bytes past a pool block's start (any word alignment), or not.
          const block = kernelShift === null ? 0 : ExAllocatePoolWithTag(NonPagedPool, window + 4, poolTag('tseT'));
          const chunk =
            kernelShift === null
              ? new Uint8Array(window)
              : memory.subarray(block - ARENA_BASE + kernelShift, block - ARENA_BASE + kernelShift + window);
          const reader = new PcapReader(new MemorySource(file), { chunk });
          const hs = magic === PCAP_MAGIC_MODIFIED ? 24 : 16;
          const perSecond = magic === PCAP_MAGIC_NANOSECONDS ? 1e9 : 1e6;
          let fileOffset = 24;
          records.forEach((want, i) => {
            const r = reader.next();
            assert.ok(r !== null);
            assert.equal(r.number, i + 1);
            assert.equal(r.fileOffset, fileOffset);
            assert.equal(r.tsHigh, want.tsHigh);
            assert.equal(r.tsLow, want.tsLow);
            assert.equal(r.seconds, want.tsHigh + Math.floor(want.tsLow / perSecond));
            assert.equal(r.nanoseconds, (want.tsLow % perSecond) * (1e9 / perSecond));
            assert.ok(r.nanoseconds < 1e9);
            assert.equal(r.caplen, want.caplen);
            assert.equal(r.origlen, want.caplen + want.extra);
            assert.deepEqual(r.copyBytes(), file.slice(fileOffset + hs, fileOffset + hs + want.caplen));
            fileOffset += hs + want.caplen;
          });
          assert.equal(reader.next(), null);
          assert.equal(reader.packetsRead, records.length);
          if (block !== 0) ExFreePool(block);
        },
      ),
    );
  });

  it('a file cut anywhere gives every whole record, then a typed error at the offset of the broken field', () => {
    fc.assert(
      fc.property(
        fc.array(rawRecordArb, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 128, max: 400 }),
        (records, bigEndian, cutAt, window) => {
          const file = rawPcap(PCAP_MAGIC_NANOSECONDS, bigEndian, records);
          const cut = 24 + (cutAt % (file.length - 24));
          const reader = new PcapReader(new MemorySource(file.subarray(0, cut)), { chunk: new Uint8Array(window) });
          // Where the cut falls: the record it breaks, and whether inside its header or its frame.
          let start = 24;
          let whole = 0;
          while (whole < records.length && start + 16 + records[whole]!.caplen <= cut) {
            start += 16 + records[whole]!.caplen;
            whole++;
          }
          for (let i = 0; i < whole; i++) assert.ok(reader.next() !== null);
          if (start === cut) {
            assert.equal(reader.next(), null);
            return;
          }
          const inHeader = cut - start < 16;
          assert.throws(
            () => reader.next(),
            (e: unknown) =>
              e instanceof CaptureFormatError &&
              e.packetsRead === whole &&
              e.field === (inHeader ? 'record_header' : 'incl_len') &&
              e.offset === (inHeader ? start : start + 8),
          );
          // The error sticks: the reader does not resume past it.
          assert.throws(() => reader.next(), CaptureFormatError);
        },
      ),
    );
  });
});

describe('pcap writer fast path', () => {
  it('writePacketAt writes the bytes writePacket and writeRecord write: byte orders, us / ns, small sink buffers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seconds: fc.nat(0xffffffff),
            nanoseconds: fc.nat(999_999_999),
            data: fc.uint8Array({ maxLength: 300 }),
          }),
          { maxLength: 25 },
        ),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 64, max: 512 }),
        (packets, nanoseconds, bigEndian, buffer) => {
          const sinks = [new MemorySink(buffer), new MemorySink(buffer), new MemorySink(buffer)];
          const [at, general, record] = sinks.map(
            (s) => new PcapWriter(s, { linkType: 1, nanoseconds, bigEndian, snaplen: 65535 }),
          );
          const time = { seconds: 0, nanoseconds: 0 };
          for (const p of packets) {
            time.seconds = p.seconds;
            time.nanoseconds = p.nanoseconds;
            at!.writePacketAt(time, p.data, 0, p.data.length);
            general!.writePacket(p.seconds, p.nanoseconds, p.data, 0, p.data.length);
            const fraction = nanoseconds ? p.nanoseconds : Math.floor(p.nanoseconds / 1000);
            record!.writeRecord(p.seconds, fraction, p.data, 0, p.data.length);
          }
          const [a, g, r] = sinks.map((s) => s.bytes());
          assert.deepEqual(a, g);
          assert.deepEqual(a, r);
          assert.equal(a!.length, 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0));
          // Read back: the same packets.
          const reader = new PcapReader(new MemorySource(a!), { chunk: new Uint8Array(1024) });
          for (const p of packets) {
            const rec = reader.next();
            assert.ok(rec !== null);
            assert.equal(rec.seconds, p.seconds);
            assert.equal(rec.nanoseconds, nanoseconds ? p.nanoseconds : Math.floor(p.nanoseconds / 1000) * 1000);
            assert.deepEqual(rec.copyBytes(), p.data);
          }
          assert.equal(reader.next(), null);
        },
      ),
    );
  });
});

describe('pcap writer from kernel memory', () => {
  it('writePacketAt of frames in kernel memory into a sink buffer in kernel memory (one arena move) writes what writePacket writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wdknet-fastpath-'));
    // The top 64 KiB of the arena: frames in its first half, the sink buffer in its second.
    const region = ARENA_RESERVE - (1 << 16);
    let file = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(30_000), length: fc.nat(300), seconds: fc.nat(0xffffffff) }), {
          maxLength: 30,
        }),
        fc.boolean(),
        fc.integer({ min: 64, max: 2048 }),
        fc.nat(),
        (packets, bigEndian, buffer, seed) => {
          for (let i = 0; i < 1 << 15; i++) memory[region + i] = (seed + i * 29) & 0xff;
          const path = join(dir, `${file++}.pcap`);
          const arenaSink = new FileSink(path, memory.subarray(region + (1 << 15), region + (1 << 15) + buffer));
          const reference = new MemorySink(buffer);
          const options = { linkType: 1, nanoseconds: true, bigEndian };
          const fast = new PcapWriter(arenaSink, options);
          const general = new PcapWriter(reference, options);
          const time = { seconds: 0, nanoseconds: 0 };
          for (const p of packets) {
            time.seconds = p.seconds;
            time.nanoseconds = p.at;
            fast.writePacketAt(time, memory, region + p.at, p.length);
            general.writePacket(p.seconds, p.at, memory.slice(region + p.at, region + p.at + p.length), 0, p.length);
          }
          fast.close();
          assert.deepEqual(new Uint8Array(readFileSync(path)), reference.bytes());
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('copyInto', () => {
  it('copies what set() copies, between kernel-memory views (the arena move), one other buffer, or two', () => {
    // The top 64 KiB of the arena, which no pool allocation of this test reaches.
    const region = ARENA_RESERVE - (1 << 16);
    const other = new Uint8Array(1 << 13);
    fc.assert(
      fc.property(
        fc.constantFrom('arena', 'one buffer', 'two buffers'),
        fc.nat(4096),
        fc.nat(4096),
        fc.nat(2000),
        fc.nat(2000),
        fc.nat(300),
        fc.nat(),
        (where, srcStart, dstStart, offset, at, length, seed) => {
          const base = where === 'arena' ? memory.subarray(region) : other;
          const src = base.subarray(srcStart, srcStart + 2400);
          const dst = where === 'two buffers' ? new Uint8Array(2400) : base.subarray(dstStart, dstStart + 2400);
          const n = Math.min(length, src.length - offset, dst.length - at);
          const fill = () => {
            for (let i = 0; i < 1 << 13; i++) base[i] = (seed + i * 13) & 0xff;
            if (where === 'two buffers') dst.fill(0);
          };
          fill();
          const want = dst.slice();
          want.set(src.slice(offset, offset + n), at);
          copyInto(dst, at, src, offset, n);
          assert.deepEqual(dst, want);
          // Again with the same pair of arrays (the answer cached for the pair is reused).
          fill();
          copyInto(dst, at, src, offset, n);
          assert.deepEqual(dst, want);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('pcapng timestamp units', () => {
  it('toUnitsOf gives the 64-bit count BigInt arithmetic gives, without BigInt for clocks up to 2^32 units/s', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(0xffffffff), fc.constantFrom(0, 1, 0xffff, 0x10000, 0xffffffff, 1_700_000_000)),
        fc.nat(999_999_999),
        fc.oneof(fc.constantFrom(6, 9, 0x80 | 20, 0x80 | 31, 0x80 | 32, 12, 15), fc.integer({ min: 0, max: 15 })),
        fc.integer({ min: -5000, max: 5000 }),
        (seconds, nanoseconds, tsresol, offset) => {
          const units = unitsPerSecondOf(tsresol);
          const sinceOffset = seconds - offset;
          fc.pre(sinceOffset >= 0);
          let frac: bigint;
          if (units === 1e9) frac = BigInt(nanoseconds);
          else if (units <= 1e9 && 1e9 % units === 0) frac = BigInt(Math.floor(nanoseconds / (1e9 / units)));
          else frac = BigInt(Math.floor((nanoseconds * units) / 1e9));
          const want = (BigInt(sinceOffset) * BigInt(units) + frac) & 0xffffffffffffffffn;
          toUnitsOf({ seconds, nanoseconds }, offset, units);
          assert.equal(unitsOut.high, Number(want >> 32n), `high of ${sinceOffset} s ${nanoseconds} ns at ${units}/s`);
          assert.equal(unitsOut.low, Number(want & 0xffffffffn));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('pcapng timestamp decode', () => {
  it('setTimestamp splits any 64-bit count into the seconds and nanoseconds BigInt arithmetic gives', () => {
    const r = new CaptureRecord();
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(0xffffffff), fc.constantFrom(0, 1, 0x1fffff, 0x200000, 395_812_500, 0xffffffff)),
        fc.oneof(fc.nat(0xffffffff), fc.constantFrom(0, 0xffff, 0x10000, 0xffffffff)),
        fc.oneof(fc.constantFrom(3, 6, 9, 0x80 | 11, 0x80 | 20, 0x80 | 31, 0x80 | 32), fc.integer({ min: 0, max: 12 })),
        fc.integer({ min: -100, max: 100 }),
        (high, low, tsresol, offset) => {
          const units = unitsPerSecondOf(tsresol);
          const total = (BigInt(high) << 32n) | BigInt(low);
          const seconds = total / BigInt(units);
          fc.pre(seconds <= BigInt(Number.MAX_SAFE_INTEGER));
          const rem = Number(total % BigInt(units));
          setTimestamp(r, high, low, units, offset);
          assert.equal(r.seconds, Number(seconds) + offset, `${high}:${low} at ${units}/s`);
          assert.equal(r.nanoseconds, Number((BigInt(rem) * 1_000_000_000n) / BigInt(units)));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
