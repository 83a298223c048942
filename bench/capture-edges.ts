/**
 * The edges of `wdknet run`, per frame: reading a record into the pool window (PoolCapture) and writing a frame
 * that lies in kernel memory to the output the way the host does (PcapWriter.writePacketAt into a FileSink whose
 * buffer is nonpaged pool), on 64-byte frames, against `tcpdump -r in -w out` on the same file in the same run.
 * Also: the frame copy alone (the arena move against copyWithin, the copy it replaced), and the edge loop with
 * other read-window and sink-buffer sizes.
 *
 *   node --conditions=development --import tsx --expose-gc bench/capture-edges.ts [frames]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POOL_WINDOW, FileSink, PcapWriter, PoolCapture } from '../src/capture/index.js';
import { ARENA_BASE, memory, moveWithinArena } from '../src/kernel/arena.js';
import { bytesAt } from '../src/kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../src/kernel/pool.js';
import { resetSystem } from '../src/kernel/system.js';
import { poolTag } from '../src/kernel/tags.js';
import { buildFrame } from '../src/packet/index.js';
import { bestOf, machine, nsPerOp } from './lib.js';

const COUNT = Number(process.argv[2] ?? 1_000_000);
const RUNS = 5;
const dir = mkdtempSync(join(tmpdir(), 'wdknet-edges-'));
const input = join(dir, 'in.pcap');
const output = join(dir, 'out.pcap');
const TAG = poolTag('hcnB');

resetSystem();

/** 64-byte frames (60 bytes captured): Ethernet + IPv4 + UDP, as bench/host.ts plays them. */
const frame = buildFrame({
  ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' },
  transport: { kind: 'udp', srcPort: 1000, dstPort: 2000 },
  payload: new Uint8Array(18),
});
{
  const w = new PcapWriter(new FileSink(input), { linkType: 1, nanoseconds: true });
  for (let i = 0; i < COUNT; i++)
    w.writePacket(1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, frame, 0, frame.length);
  w.close();
}

/** CPU time of this process and of the children it waited for, in ms (children's from /proc, 10 ms ticks). */
function cpuNow(): number {
  const c = process.cpuUsage();
  let children = 0;
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    children = ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // cutime + cstime, USER_HZ 100
  } catch {
    // Not Linux: children's time is not counted.
  }
  return (c.user + c.system) / 1000 + children;
}

/** Wall and CPU milliseconds of `fn` (CPU includes a child's: tcpdump's file system time counts as ours does). */
function measure(fn: () => void): { wall: number; cpu: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const c0 = cpuNow();
  const t0 = process.hrtime.bigint();
  fn();
  return { wall: Number(process.hrtime.bigint() - t0) / 1e6, cpu: cpuNow() - c0 };
}

/** The best wall and the best CPU time of `runs` measurements. */
function best(runs: number, fn: () => void): { wall: number; cpu: number } {
  let b = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY };
  for (let i = 0; i < runs; i++) {
    const m = measure(fn);
    b = { wall: Math.min(b.wall, m.wall), cpu: Math.min(b.cpu, m.cpu) };
  }
  return b;
}

/** Reads every record through a pool window of `window` bytes; writes each when `sinkBuffer` > 0. */
function edges(window: number, sinkBuffer: number): void {
  const capture = new PoolCapture(input, window);
  const buffer = sinkBuffer > 0 ? ExAllocatePoolWithTag(NonPagedPoolNx, sinkBuffer, TAG) : 0;
  const writer =
    buffer === 0
      ? null
      : new PcapWriter(new FileSink(output, bytesAt(buffer, sinkBuffer)), { linkType: 1, nanoseconds: true });
  const clock = { seconds: 0, nanoseconds: 0 };
  let n = 0;
  for (let r = capture.next(); r !== null; r = capture.next()) {
    clock.seconds = r.seconds;
    clock.nanoseconds = r.nanoseconds;
    writer?.writePacketAt(clock, memory, capture.address + r.offset - ARENA_BASE, r.caplen);
    n++;
  }
  writer?.close();
  capture.close();
  if (buffer !== 0) ExFreePoolWithTag(buffer, TAG);
  if (n !== COUNT) throw new Error(`read ${n} frames of ${COUNT}`);
}

const perFrame = (ms: number) => (ms * 1e6) / COUNT;
const tcpdump = best(RUNS, () => execFileSync('tcpdump', ['-r', input, '-w', output], { stdio: 'ignore' }));
const readWrite = best(RUNS, () => edges(DEFAULT_POOL_WINDOW, 1 << 20));
const readOnly = best(RUNS, () => edges(DEFAULT_POOL_WINDOW, 0));

// The frame copy alone: a 60-byte frame from a receive buffer to a sink buffer, both in nonpaged pool.
const src = ExAllocatePoolWithTag(NonPagedPoolNx, 1 << 16, TAG) - ARENA_BASE;
const dst = ExAllocatePoolWithTag(NonPagedPoolNx, 1 << 20, TAG) - ARENA_BASE;
const copyNs = (length: number, move: boolean) =>
  bestOf(RUNS, () =>
    nsPerOp(COUNT, (i) => {
      const from = src + 2 + (i & 255) * 128;
      const to = dst + ((i * (length + 16)) & 0x7ffff);
      if (move) moveWithinArena(to, from, length);
      else memory.copyWithin(to, from, from + length);
    }),
  );
const copies = [60, 1514].map((length) => ({ length, move: copyNs(length, true), copyWithin: copyNs(length, false) }));

const sizes: { window: number; sink: number; wall: number; cpu: number }[] = [];
for (const window of [512 << 10, 1 << 20, 4 << 20]) {
  for (const sink of [256 << 10, 1 << 20, 4 << 20]) {
    sizes.push({ window, sink, ...best(3, () => edges(window, sink)) });
  }
}
rmSync(dir, { recursive: true, force: true });

const kib = (n: number) => `${n >> 10} KiB`;
const cells = (m: { wall: number; cpu: number }) =>
  `${perFrame(m.wall).toFixed(0)} | ${perFrame(m.cpu).toFixed(0)} | ${(m.wall / tcpdump.wall).toFixed(2)} | ${(m.cpu / tcpdump.cpu).toFixed(2)}`;
console.log(`${await machine()}; ${COUNT} frames of 60 bytes; best of ${RUNS}\n`);
console.log('| per frame | wall ns | CPU ns | wall / tcpdump | CPU / tcpdump |');
console.log('|---|---|---|---|---|');
console.log(`| tcpdump -r in -w out (baseline) | ${cells(tcpdump)} |`);
console.log(`| wdknet edges: read into the pool window, write from kernel memory | ${cells(readWrite)} |`);
console.log(`| wdknet read only | ${cells(readOnly)} |`);
console.log('\n| frame copy within kernel memory | arena move ns | copyWithin ns | ratio |');
console.log('|---|---|---|---|');
for (const c of copies) {
  console.log(
    `| ${c.length} bytes | ${c.move.toFixed(1)} | ${c.copyWithin.toFixed(1)} | ${(c.move / c.copyWithin).toFixed(2)} |`,
  );
}
console.log('\n| read window | sink buffer | edges wall ns per frame | CPU ns per frame |');
console.log('|---|---|---|---|');
for (const s of sizes)
  console.log(`| ${kib(s.window)} | ${kib(s.sink)} | ${perFrame(s.wall).toFixed(0)} | ${perFrame(s.cpu).toFixed(0)} |`);
