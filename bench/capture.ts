/**
 * Capture throughput: wdknet reads and writes pcap / pcapng (and decodes every frame) on 64-byte frames and on a
 * mix of sizes, against `tcpdump -r in -w out` on the same files in the same run.
 *
 *   node --import tsx --expose-gc bench/capture.ts [packets]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, openCapture, PcapngWriter, PcapWriter } from '../src/capture/index.js';
import { buildFrame, decodeFrame, PacketInfo } from '../src/packet/index.js';

const COUNT = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'wdknet-bench-'));

/** 64-byte frames: Ethernet + IPv4 + UDP with 18 payload bytes (60 bytes + 4 FCS on the wire). */
const small = buildFrame({
  ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' },
  transport: { kind: 'udp', srcPort: 1000, dstPort: 2000 },
  payload: new Uint8Array(18),
});
/** A simple IMIX: 7 of 64 bytes, 4 of 594, 1 of 1518 (TCP frames). */
const mixSizes = [64, 64, 64, 64, 64, 64, 64, 594, 594, 594, 594, 1518];
const mixFrames = mixSizes.map((size) =>
  buildFrame({
    ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' },
    transport: { kind: 'tcp', srcPort: 443, dstPort: 50000, seq: 1, ack: 1 },
    payload: new Uint8Array(Math.max(0, size - 4 - 54)),
  }),
);

function generate(path: string, frames: Uint8Array[], format: 'pcap' | 'pcapng'): void {
  const sink = new FileSink(path);
  if (format === 'pcap') {
    const w = new PcapWriter(sink, { linkType: 1 });
    for (let i = 0; i < COUNT; i++) {
      const f = frames[i % frames.length]!;
      w.writePacket(1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, f, 0, f.length);
    }
  } else {
    const w = new PcapngWriter(sink);
    w.writeInterface({ linkType: 1 });
    for (let i = 0; i < COUNT; i++) {
      const f = frames[i % frames.length]!;
      w.writePacket(0, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, f, 0, f.length);
    }
  }
  sink.close();
}

function time(fn: () => number): { seconds: number; packets: number } {
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  const packets = fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, packets };
}

function best(fn: () => number, runs = 3): { seconds: number; packets: number } {
  let r = time(fn);
  for (let i = 1; i < runs; i++) {
    const x = time(fn);
    if (x.seconds < r.seconds) r = x;
  }
  return r;
}

const chunk = new Uint8Array(4 << 20);
const info = new PacketInfo();

function readOnly(path: string): number {
  const reader = openCapture(path, { chunk });
  let n = 0;
  for (let r = reader.next(); r !== null; r = reader.next()) n += r.caplen > 0 ? 1 : 1;
  reader.close();
  return n;
}

function readDecode(path: string): number {
  const reader = openCapture(path, { chunk });
  let n = 0;
  for (let r = reader.next(); r !== null; r = reader.next()) {
    decodeFrame(r.linkType, r.data, r.offset, r.caplen, info);
    n++;
  }
  reader.close();
  return n;
}

function readWrite(path: string, out: string): number {
  const reader = openCapture(path, { chunk });
  const sink = new FileSink(out);
  let n = 0;
  if (path.endsWith('.pcap')) {
    const w = new PcapWriter(sink, { linkType: 1 });
    for (let r = reader.next(); r !== null; r = reader.next()) {
      w.writeRecord(r.tsHigh, r.tsLow, r.data, r.offset, r.caplen, r.origlen);
      n++;
    }
  } else {
    const w = new PcapngWriter(sink);
    w.writeInterface({ linkType: 1 });
    for (let r = reader.next(); r !== null; r = reader.next()) {
      w.writeEnhancedPacket(0, r.tsHigh, r.tsLow, r.data, r.offset, r.caplen, r.origlen);
      n++;
    }
  }
  sink.close();
  reader.close();
  return n;
}

function tcpdump(path: string, out: string, filter?: string): number {
  const args = ['-r', path, '-w', out];
  if (filter) args.push(filter);
  execFileSync('tcpdump', args, { stdio: 'ignore' });
  return COUNT;
}

const mpps = (r: { seconds: number; packets: number }) => r.packets / r.seconds / 1e6;
const rows: string[] = [];
console.log(`${COUNT} packets per file; best of 3 runs`);
for (const [name, frames] of [
  ['64-byte', [small]],
  ['mixed (IMIX 7:4:1)', mixFrames],
] as const) {
  for (const format of ['pcap', 'pcapng'] as const) {
    const input = join(dir, `in.${format}`);
    const out = join(dir, `out.${format}`);
    generate(input, frames as Uint8Array[], format);
    const mb = statSync(input).size / 1e6;
    const baseline = best(() => tcpdump(input, join(dir, 'tcpdump.pcap')));
    const baselineFilter = best(() => tcpdump(input, join(dir, 'tcpdump.pcap'), 'udp or tcp'));
    const read = best(() => readOnly(input));
    const decode = best(() => readDecode(input));
    const rw = best(() => readWrite(input, out));
    const heapBefore = process.memoryUsage().heapUsed;
    readWrite(input, out);
    const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    const line =
      `| ${name} | ${format} | ${mb.toFixed(0)} MB | ${mpps(read).toFixed(2)} | ${mpps(decode).toFixed(2)} | ` +
      `${mpps(rw).toFixed(2)} | ${mpps(baseline).toFixed(2)} | ${mpps(baselineFilter).toFixed(2)} | ` +
      `${(mpps(rw) / mpps(baseline)).toFixed(2)} | ${heapGrowth.toFixed(1)} MB |`;
    rows.push(line);
    console.log(line);
  }
}
console.log(
  '\n| frames | format | file | wdknet read Mpps | read+decode Mpps | read+write Mpps | tcpdump -r -w Mpps | tcpdump with filter Mpps | read+write / tcpdump | heap growth over one copy |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
rmSync(dir, { recursive: true, force: true });
