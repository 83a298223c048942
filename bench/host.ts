/**
 * The host: packets per second through `wdknet run` (capture in, the router forwarding, one WFP filter loaded by a
 * driver, capture out) on 64-byte frames and on a mixed-size capture, and in the same run the baseline
 * `tcpdump -r in -w out` with the equivalent BPF filter. Captures are generated into a temporary folder.
 * Also the heap before and after a second run over the same capture (no growth means the per-packet path
 * allocates nothing that stays), and a check that the driver's filter is on the machine the runs measure.
 *
 * Run: npm run bench -- host (builds dist/ first), or after `npm run build`:
 * node --import tsx --expose-gc bench/host.ts [frames]
 * (it starts itself again with the command's start-up node options, src/cli/jit.ts STARTUP_FLAGS, when they are
 * missing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bareForward } from './bare-forwarder.js';
import { heapUsedAfterGc, machine } from './lib.js';

// The built product, as the `wdknet` command runs it (dist/, which `npm run bench` builds first): tsx's transform
// of the sources is a few per cent slower (it cannot inline const enums across files, for one), and the build puts
// all of wdknet's code in one module (scripts/bundle.ts). Everything the benchmark uses of wdknet comes from the
// bundle's entry files, so the process has one simulated machine, as the command has: a second copy of the modules
// (and of the kernel arena) beside it measurably slowed the run.
const dist = (path: string) => new URL(`../dist/${path}`, import.meta.url).href;
// The JIT settings the `wdknet` command starts with (src/cli/jit.ts), before anything of wdknet runs hot: the node
// options its first line passes, which V8 reads only at start-up (so without them this benchmark runs itself again
// with them), and the two it sets at run time.
const { applyJitSettings, STARTUP_FLAGS } = (await import(dist('cli/jit.js'))) as typeof import('../src/cli/jit.js');
const missing = STARTUP_FLAGS.filter((flag) => !process.execArgv.includes(flag));
if (missing.length > 0) {
  const again = [...missing, ...process.execArgv, ...process.argv.slice(1)];
  process.exit(spawnSync(process.execPath, again, { stdio: 'inherit' }).status ?? 1);
}
const jit = [...STARTUP_FLAGS, ...applyJitSettings()];
// The public API (`wdknet`): playCapture is `wdknet run`'s runCapture with the library's defaults.
const { playCapture, LINKTYPE_ETHERNET, PcapWriter, FileSink } = (await import(
  dist('index.js')
)) as typeof import('../src/index.js');

const FRAMES = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'wdknet-bench-'));
const root = new URL('../', import.meta.url);

/**
 * An Ethernet + IPv4 + UDP frame of `size` bytes from 10.0.1.10 to 10.0.2.20 (or back), UDP checksum 0 (none),
 * so the ports can change per frame without recomputing anything but nothing.
 */
function template(size: number, reverse: boolean): Uint8Array {
  const f = new Uint8Array(size);
  const a = [0x02, 0, 0, 0, 0, 0x0a];
  const b = [0x02, 0, 0, 0, 0, 0x0b];
  f.set(reverse ? a : b, 0); // destination MAC (the router is promiscuous: any will do)
  f.set(reverse ? b : a, 6);
  f[12] = 0x08;
  const ipLen = size - 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0], 14);
  f.set(reverse ? [10, 0, 2, 20, 10, 0, 1, 10] : [10, 0, 1, 10, 10, 0, 2, 20], 26);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  f[24] = c >> 8;
  f[25] = c & 0xff;
  const udpLen = ipLen - 20;
  f.set([0x9c, 0x40, 0x00, 0x35, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  return f;
}

function generate(path: string, sizes: readonly number[]): void {
  const w = new PcapWriter(new FileSink(path), { linkType: LINKTYPE_ETHERNET });
  const templates = sizes.flatMap((s) => [template(s, false), template(s, true)]);
  for (let i = 0; i < FRAMES; i++) {
    const t = templates[i % templates.length]!;
    // Vary the source port so the flow differs frame to frame, as real traffic does.
    t[34] = 0x80 | ((i >> 8) & 0x7f);
    t[35] = i & 0xff;
    w.writePacket(1_767_225_600 + Math.floor(i / 1e6), (i % 1e6) * 1000, t, 0, t.length);
  }
  w.close();
}

// The driver: one WFP filter at IPFORWARD_V4 blocking packets to `blocked`, which this traffic never goes to. An ES
// module importing the built `wdknet/ddi` entry by path (it lives in a temporary folder, outside the package), so
// it meets the same module instance as the run. (A TypeScript file there would be CommonJS, whose import would load
// a second copy of wdknet: the command refuses it, src/cli/drivers.ts.)
const ddi = pathToFileURL(join(root.pathname, 'dist/ddi/index.js')).href;
function writeDriver(name: string, blocked: number): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `import * as W from '${ddi}';
export function DriverEntry() {
  const h = { value: null };
  W.FwpmEngineOpen0(null, W.RPC_C_AUTHN_WINNT, null, null, h);
  const f = new W.FWPM_FILTER0();
  f.layerKey = W.FWPM_LAYER_IPFORWARD_V4;
  f.action.type = W.FWP_ACTION_BLOCK;
  const dst = new W.FWP_CONDITION_VALUE0();
  dst.type = W.FWP_UINT32;
  dst.uint32 = ${blocked};
  f.filterCondition = [new W.FWPM_FILTER_CONDITION0(W.FWPM_CONDITION_IP_DESTINATION_ADDRESS, W.FWP_MATCH_EQUAL, dst)];
  f.numFilterConditions = 1;
  return W.FwpmFilterAdd0(h.value, f, null, { value: 0 });
}
`,
  );
  return path;
}
const driver = writeDriver('filter-driver.mjs', 0xc0000209); // 192.0.2.9
// The same driver blocking 10.0.2.20, where half the frames go: run once after the timed runs (its blocking would
// change what the JIT sees), it shows that the filter is on the machine the runs measure.
const check = writeDriver('filter-check.mjs', 0x0a000214);

async function wdknet(
  input: string,
  output: string,
  interruptModerationUs?: number,
  drivers = [driver],
): Promise<{ ms: number; transmitted: number; blocked: number }> {
  const start = process.hrtime.bigint();
  const r = await playCapture({
    capture: input,
    drivers,
    out: output,
    verifier: 'off',
    hosts: 1,
    interruptModerationUs,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.exitCode !== 0) throw new Error(`wdknet run failed:\n${r.report}`);
  return { ms, transmitted: r.summary.transmitted, blocked: r.summary.dropped['WFP BLOCK'] ?? 0 };
}

function tcpdump(input: string, output: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('tcpdump', ['-r', input, '-w', output, 'not', 'dst', 'host', '192.0.2.9'], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('tcpdump failed');
  return Number(process.hrtime.bigint() - start) / 1e6;
}

// The default run (interrupt moderation 50 us: NBL chains of up to 32), and the same with every frame indicated
// on its own (--interrupt-moderation 0), which shows what the batching is worth. The last case writes over the
// previous run's output instead of a new file, for both tools (see `written` below).
const cases = [
  { name: '64-byte frames', sizes: [64], moderation: undefined, overwrite: false },
  {
    name: 'mixed sizes (64 / 576 / 1500, IMIX-like 7:4:1)',
    sizes: [64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1500],
    moderation: undefined,
    overwrite: false,
  },
  { name: '64-byte frames, --interrupt-moderation 0', sizes: [64], moderation: 0, overwrite: false },
  { name: '64-byte frames, each output over the last', sizes: [64], moderation: undefined, overwrite: true },
];

/**
 * Readies `output` for a timed run, outside the timer. Every timed run of either tool writes a new file, because
 * writing over the last run's 80 MB costs more than the rest of tcpdump's run: the O_TRUNC open frees the old
 * contents (8-20 ms here), and ext4, this machine's file system, takes a truncated file that is written again for
 * "replace via truncate" (its auto_da_alloc option) and starts writing the new contents out in close() (10-35
 * ms; tmpfs takes nothing there). Measured over existing files, each tool's best run depended on whether its
 * output existed (tcpdump's first run writes a new file), not on its work. With `overwrite`, both tools write over
 * the previous run's output and pay that cost.
 */
function written(output: string, overwrite: boolean): string {
  if (!overwrite) rmSync(output, { force: true });
  return output;
}

console.log(`# host - ${await machine()} - ${new Date().toISOString().slice(0, 10)} - ${FRAMES} frames per capture`);
const tcpdumpVersion = execFileSync('tcpdump', ['--version'], { encoding: 'utf8' }).split('\n')[0];
console.log(`wdknet run (in this process, the command's V8 settings: ${jit.join(' ')})`);
console.log(`baseline: ${tcpdumpVersion} -r in -w out 'not dst host 192.0.2.9'; every timed run writes a new out`);
for (const c of cases) {
  const input = join(dir, `${c.sizes.length === 1 ? 'small' : 'mixed'}.pcap`);
  if (!existsSync(input)) generate(input, c.sizes);
  const out = join(dir, 'out.pcap');
  const tcpdumpOut = join(dir, 'tcpdump.pcap');
  // Warm the JIT: V8 keeps re-optimizing the path over the first few million frames (measured: a run settles after
  // about four), so two runs go first and the best of five counts. The warm runs write the outputs the first
  // timed run of `overwrite` writes over.
  for (let i = 0; i < 2; i++) await wdknet(input, out, c.moderation);
  if (c.overwrite) tcpdump(input, tcpdumpOut);
  let best = Number.POSITIVE_INFINITY;
  let transmitted = 0;
  for (let i = 0; i < 5; i++) {
    const r = await wdknet(input, written(out, c.overwrite), c.moderation);
    best = Math.min(best, r.ms);
    transmitted = r.transmitted;
  }
  let baseline = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) baseline = Math.min(baseline, tcpdump(input, written(tcpdumpOut, c.overwrite)));
  // The floor: plain JavaScript moving the same bytes with none of the simulated machine (bare-forwarder.ts).
  let bare = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const bareOut = written(join(dir, 'bare.pcap'), c.overwrite);
    const start = process.hrtime.bigint();
    const n = bareForward(input, bareOut);
    bare = Math.min(bare, Number(process.hrtime.bigint() - start) / 1e6);
    if (n !== FRAMES) throw new Error(`the bare loop forwarded ${n} of ${FRAMES} frames`);
  }
  const pps = FRAMES / (best / 1000);
  const basePps = FRAMES / (baseline / 1000);
  console.log(
    `${c.name.padEnd(50)} wdknet ${(pps / 1e6).toFixed(3)} Mpps (${best.toFixed(0)} ms, ${transmitted} out)` +
      `  tcpdump ${(basePps / 1e6).toFixed(3)} Mpps (${baseline.toFixed(0)} ms)  ratio ${(pps / basePps).toFixed(3)}` +
      `  bare JS loop ${(FRAMES / bare / 1000).toFixed(3)} Mpps (${bare.toFixed(0)} ms)`,
  );
}

// Heap: a run, then the same run again; what the second leaves behind is growth.
const input = join(dir, 'small.pcap');
await wdknet(input, join(dir, 'out.pcap'));
const before = heapUsedAfterGc();
await wdknet(input, join(dir, 'out.pcap'));
const after = heapUsedAfterGc();
console.log(
  `heap after a run vs after the run before it (${FRAMES} frames): ${((after - before) / 1024).toFixed(1)} KiB`,
);

const { blocked } = await wdknet(input, join(dir, 'check.pcap'), undefined, [check]);
if (blocked !== Math.ceil(FRAMES / 2)) throw new Error(`the driver's filter blocked ${blocked} frames, not half`);
console.log(`the driver's filter is on the measured machine: blocking 10.0.2.20 instead dropped ${blocked} frames`);

// The captures and outputs are over a gigabyte: they go with the run.
rmSync(dir, { recursive: true, force: true });
