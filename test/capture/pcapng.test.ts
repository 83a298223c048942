import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BT_NRB,
  CaptureFormatError,
  copyCapture,
  EPB_FLAGS,
  IF_NAME,
  IF_TSOFFSET,
  IF_TSRESOL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  MemorySink,
  OPT_COMMENT,
  type PcapngBlock,
  PcapngReader,
  PcapngWriter,
  readCapture,
  SHB_HARDWARE,
  SHB_OS,
  SHB_USERAPPL,
} from '../../src/capture/index.js';
import { resetSystem } from '../../src/kernel/system.js';

beforeEach(() => resetSystem());

function read(bytes: Uint8Array, window = 1 << 16) {
  const blocks: PcapngBlock[] = [];
  const reader = new PcapngReader(
    {
      read: (into, at, len, pos) => {
        const n = Math.max(0, Math.min(len, bytes.length - pos));
        into.set(bytes.subarray(pos, pos + n), at);
        return n;
      },
      close: () => {},
    },
    { chunk: new Uint8Array(window), onBlock: (b) => blocks.push(b) },
  );
  const pkts: { bytes: Uint8Array; seconds: number; nanoseconds: number; interfaceId: number; linkType: number }[] = [];
  for (let r = reader.next(); r !== null; r = reader.next()) {
    pkts.push({
      bytes: r.copyBytes(),
      seconds: r.seconds,
      nanoseconds: r.nanoseconds,
      interfaceId: r.interfaceId,
      linkType: r.linkType,
    });
  }
  return { reader, blocks, pkts };
}

describe('pcapng', () => {
  it('sections in both byte orders, several interfaces and resolutions, options decoded', () => {
    const sink = new MemorySink(256);
    const w = new PcapngWriter(sink);
    w.writeSection({
      options: [
        { code: SHB_HARDWARE, value: 'x86_64' },
        { code: SHB_OS, value: 'Linux' },
        { code: SHB_USERAPPL, value: 'wdknet' },
        { code: OPT_COMMENT, value: 'first section' },
      ],
    });
    const eth = w.writeInterface({
      linkType: LINKTYPE_ETHERNET,
      snaplen: 9000,
      options: [
        { code: IF_NAME, value: 'eth0' },
        { code: IF_TSRESOL, value: 9 },
      ],
    });
    const raw = w.writeInterface({ linkType: LINKTYPE_RAW, options: [{ code: IF_TSRESOL, value: 0x8a }] });
    w.writePacket(eth, 1_700_000_000, 123_456_789, Uint8Array.of(1, 2, 3), 0, 3, 60);
    w.writePacket(raw, 1_700_000_001, 500_000_000, Uint8Array.of(0x45, 0, 0, 20, 9), 0, 5);
    const flags = new Uint8Array(12);
    new DataView(flags.buffer).setUint16(0, EPB_FLAGS, true);
    new DataView(flags.buffer).setUint16(2, 4, true);
    new DataView(flags.buffer).setUint32(4, 1, true); // inbound
    w.writeEnhancedPacket(eth, 0, 0, Uint8Array.of(7), 0, 1, 1, flags, 0, 12);
    w.writeNameResolution([{ type: 1, address: Uint8Array.of(10, 0, 0, 1), names: ['gw', 'router'] }]);
    w.writeInterfaceStatistics(eth, 0, 5, [{ code: 4, value: 42n }]);
    w.writeBlock(0x0bad, Uint8Array.of(1, 2, 3, 4, 5)); // a custom block: kept, not fatal
    w.writeSection({ bigEndian: true });
    const be = w.writeInterface({ linkType: 228, options: [{ code: IF_TSOFFSET, value: 100n }] });
    w.writePacket(be, 1_000, 250_000, Uint8Array.of(0x45), 0, 1);
    w.writeSimplePacket(Uint8Array.of(9, 9, 9, 9, 9), 0, 5);
    w.close();
    const bytes = sink.bytes();

    const { reader, blocks, pkts } = read(bytes, 512);
    assert.equal(reader.sections.length, 2);
    assert.deepEqual(
      reader.sections[0]!.options.map((o) => [o.name, o.value]),
      [
        ['shb_hardware', 'x86_64'],
        ['shb_os', 'Linux'],
        ['shb_userappl', 'wdknet'],
        ['opt_comment', 'first section'],
      ],
    );
    assert.equal(reader.sections[1]!.bigEndian, true);
    const idbs = blocks.filter((b) => b.kind === 'idb');
    assert.equal(idbs.length, 3);
    assert.equal(idbs[0]!.kind === 'idb' && idbs[0]!.name, 'eth0');
    assert.equal(idbs[0]!.kind === 'idb' && idbs[0]!.unitsPerSecond, 1e9);
    assert.equal(idbs[0]!.kind === 'idb' && idbs[0]!.snaplen, 9000);
    assert.equal(idbs[1]!.kind === 'idb' && idbs[1]!.unitsPerSecond, 1024);
    assert.equal(idbs[2]!.kind === 'idb' && idbs[2]!.tsOffset, 100);
    assert.deepEqual(
      pkts.map((p) => [p.interfaceId, p.linkType, p.seconds, p.nanoseconds, Array.from(p.bytes)]),
      [
        [0, 1, 1_700_000_000, 123_456_789, [1, 2, 3]],
        // 2^-10 s units: 0.5 s is exactly 512 units
        [1, 101, 1_700_000_001, 500_000_000, [0x45, 0, 0, 20, 9]],
        [0, 1, 0, 0, [7]],
        [0, 228, 1_000, 250_000, [0x45]],
        [0, 228, 0, 0, [9, 9, 9, 9, 9]],
      ],
    );
    const nrb = blocks.find((b) => b.kind === 'nrb');
    assert.ok(nrb?.kind === 'nrb');
    assert.deepEqual(nrb.records[0]!.names, ['gw', 'router']);
    assert.equal(nrb.records[0]!.address, '10.0.0.1');
    const isb = blocks.find((b) => b.kind === 'isb');
    assert.ok(isb?.kind === 'isb');
    assert.equal(isb.options[0]!.name, 'isb_ifrecv');
    assert.equal(isb.options[0]!.value, 42n);
    assert.ok(blocks.some((b) => b.kind === 'other' && b.type === 0x0bad));
  });

  it('epb_flags and other packet options are reachable from the record and copied by the round trip', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const id = w.writeInterface({ linkType: 1 });
    const opts = new Uint8Array(12);
    const v = new DataView(opts.buffer);
    v.setUint16(0, EPB_FLAGS, true);
    v.setUint16(2, 4, true);
    v.setUint32(4, 2, true); // outbound
    w.writeEnhancedPacket(id, 1, 2, Uint8Array.of(1, 2), 0, 2, 2, opts, 0, 12);
    w.close();
    const out = new MemorySink();
    const result = copyCapture(sink.bytes(), out);
    assert.equal(result.error, null);
    assert.deepEqual(out.bytes(), sink.bytes());
  });

  it('round trip of random packets through write and read over tiny windows (records straddle chunks)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ data: fc.uint8Array({ maxLength: 100 }), s: fc.nat(2 ** 33), ns: fc.nat(999_999_999) })),
        fc.constantFrom(6, 9, 3),
        fc.boolean(),
        fc.integer({ min: 160, max: 1000 }),
        (list, tsresol, bigEndian, window) => {
          const sink = new MemorySink(128);
          const w = new PcapngWriter(sink);
          w.writeSection({ bigEndian });
          const id = w.writeInterface({ linkType: 1, options: [{ code: IF_TSRESOL, value: tsresol }] });
          for (const p of list) w.writePacket(id, p.s, p.ns, p.data, 0, p.data.length);
          const { pkts } = read(sink.bytes(), window);
          const unit = 10 ** (9 - tsresol);
          assert.deepEqual(
            pkts.map((p) => [p.seconds, p.nanoseconds, Array.from(p.bytes)]),
            list.map((p) => [p.s, Math.floor(p.ns / unit) * unit, Array.from(p.data)]),
          );
        },
      ),
    );
  });

  it('malformed blocks give typed errors with the packets before them kept', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const id = w.writeInterface({ linkType: 1 });
    w.writePacket(id, 1, 0, new Uint8Array(8), 0, 8);
    w.writePacket(id, 2, 0, new Uint8Array(8), 0, 8);
    w.close();
    const good = sink.bytes();
    const secondEpb = good.length - 40;
    const cases: [(b: DataView) => void, string, number][] = [
      [(b) => b.setUint32(secondEpb + 4, 41, true), 'block_total_length', secondEpb + 4],
      [(b) => b.setUint32(secondEpb + 36, 44, true), 'block_total_length_trailer', secondEpb + 36],
      [(b) => b.setUint32(secondEpb + 8, 3, true), 'interface_id', secondEpb + 8],
      [(b) => b.setUint32(secondEpb + 20, 9, true), 'captured_packet_length', secondEpb + 20],
      [(b) => b.setUint32(secondEpb + 20, 0x7fffffff, true), 'captured_packet_length', secondEpb + 20],
      [(b) => b.setUint32(secondEpb + 4, 0xfffffff0, true), 'block_total_length', secondEpb + 4],
    ];
    for (const [mutate, field, offset] of cases) {
      const bad = good.slice();
      mutate(new DataView(bad.buffer));
      const { packets, error } = readCapture(bad);
      assert.equal(packets.length, 1, field);
      assert.ok(error instanceof CaptureFormatError);
      assert.equal(error.field, field);
      assert.equal(error.offset, offset);
      assert.equal(error.packetsRead, 1);
    }
    const truncated = readCapture(good.subarray(0, good.length - 3));
    assert.equal(truncated.packets.length, 1);
    assert.equal(truncated.error?.field, 'block_total_length');
    const bom = good.slice();
    bom[8] = 0;
    assert.equal(readCapture(bom).error?.field, 'byte_order_magic');
    assert.equal(readCapture(bom).error?.offset, 8);
  });

  it('an option running past its block is a typed error (option_length)', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.writeSection({ options: [{ code: OPT_COMMENT, value: 'abcd' }] });
    w.close();
    const bad = sink.bytes().slice();
    new DataView(bad.buffer).setUint16(26, 200, true);
    const { error } = readCapture(bad);
    assert.equal(error?.field, 'option_length');
    assert.equal(error?.offset, 26);
  });

  it('an NRB without its end record is reported when blocks are asked for', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.writeInterface({ linkType: 1 });
    w.writeBlock(BT_NRB, Uint8Array.of(1, 0, 8, 0, 1, 2, 3, 4, 0x61, 0, 0, 0));
    w.close();
    assert.throws(
      () => read(sink.bytes()),
      (e: unknown) => e instanceof CaptureFormatError && e.field === 'nrb_record',
    );
    // Without a block listener the NRB is skipped unread.
    assert.equal(readCapture(sink.bytes()).error, null);
  });

  it('an obsolete Packet Block is read as a packet and copied as an EPB; an SPB is cut to the snap length', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.writeInterface({ linkType: 1, snaplen: 4 });
    const pb = new Uint8Array(28);
    const v = new DataView(pb.buffer);
    v.setUint16(0, 0, true); // interface 0
    v.setUint16(2, 7, true); // drops count
    v.setUint32(4, 0, true);
    v.setUint32(8, 2_500_000, true); // 2.5 s in microseconds
    v.setUint32(12, 6, true);
    v.setUint32(16, 60, true);
    pb.set([1, 2, 3, 4, 5, 6], 20);
    w.writeBlock(2, pb);
    w.writeSimplePacket(Uint8Array.of(9, 8, 7, 6, 5, 4), 0, 6, 6);
    w.close();
    const { pkts } = read(sink.bytes());
    assert.deepEqual(
      pkts.map((p) => [Array.from(p.bytes), p.seconds, p.nanoseconds]),
      [
        [[1, 2, 3, 4, 5, 6], 2, 500_000_000],
        [[9, 8, 7, 6], 0, 0], // SPB: captured length = min(original length, snaplen 4)
      ],
    );
    const out = new MemorySink();
    assert.equal(copyCapture(sink.bytes(), out).packets, 2);
    const again = read(out.bytes());
    assert.deepEqual(
      again.pkts.map((p) => Array.from(p.bytes)),
      [
        [1, 2, 3, 4, 5, 6],
        [9, 8, 7, 6],
      ],
    );
  });

  it('frames filled in place and frames larger than the sink buffer are written whole', () => {
    const sink = new MemorySink(256);
    const w = new PcapngWriter(sink);
    const id = w.writeInterface({ linkType: 1 });
    w.writeFilled(id, 0, 1, 5, (buf, at) => buf.set([5, 4, 3, 2, 1], at));
    const big = new Uint8Array(1000).map((_, i) => i & 0xff);
    w.writeEnhancedPacket(id, 0, 2, big, 0, big.length);
    w.close();
    const { pkts } = read(sink.bytes(), 4096);
    assert.deepEqual(Array.from(pkts[0]!.bytes), [5, 4, 3, 2, 1]);
    assert.deepEqual(pkts[1]!.bytes, big);
  });
});
