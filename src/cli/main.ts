#!/usr/bin/env -S node --no-concurrent-recompilation
/** The `wdknet` command line: run, inspect, poolmon. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CaptureFormatError } from '../capture/errors.js';
import { ownFolder } from '../kernel/own-folder.js';
import type { VerifierMode } from '../kernel/verifier.js';
import { DEFAULT_INTERRUPT_MODERATION_US } from '../stack/replay.js';
import { findDriverModules } from './drivers.js';
import { inspectCapture } from './inspect.js';
import { applyJitSettings } from './jit.js';
import { type DriverParameter, ParameterError, parseParameter } from './params.js';
import { type RunOptions, type RunSummary, runCapture } from './run.js';

// First: the JIT settings the run is tuned for (jit.ts), before anything of wdknet runs hot. The first line passes
// the one V8 reads only at start-up (STARTUP_FLAGS).
applyJitSettings();

/** The package's folder: the one holding src/ and dist/ (and samples/, examples/). */
const root = fileURLToPath(new URL('../', ownFolder(import.meta.url)));
/** The project's generated sample capture (scripts/make-sample.ts). */
const SAMPLE = join(root, 'samples', 'router.pcapng');
const EXAMPLES = join(root, 'examples');

const program = new Command();
program
  .name('wdknet')
  .description('The Windows kernel network data path, in user mode, on real traffic.')
  .showHelpAfterError();

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number, 0 or more');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectParameter(value: string, previous: DriverParameter[]): DriverParameter[] {
  try {
    return [...previous, parseParameter(value)];
  } catch (e) {
    if (e instanceof ParameterError) throw new InvalidArgumentError(e.message.replace(/^--param \S+: /, ''));
    throw e;
  }
}

const PARAM_HELP =
  "a value under the driver's Parameters registry key, read by its DriverEntry (repeatable): " +
  '<driver>:<Name>=<value>, where <driver> is the module file name without extension and <value> is text ' +
  '(REG_SZ) or dword:N, qword:N, sz:text, multi:a,b,c, binary:hex';

/** Runs `fn`, turning capture format errors and usage errors into a clear message and exit status 3. */
async function guarded(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (e instanceof CaptureFormatError) {
      console.error(`wdknet: bad capture: ${e.message} (after ${e.packetsRead} packets)`);
    } else if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error(`wdknet: ${e.message}`);
    } else if (e instanceof Error) {
      console.error(`wdknet: ${e.message}`);
    } else throw e;
    process.exitCode = 3;
  }
}

/** A capture that went bad part way: the run played what came before; say so on stderr as well. */
function reportBadCapture(summary: RunSummary): void {
  const bad = summary.captureError;
  if (bad !== null) console.error(`wdknet: bad capture: ${bad.message} (after ${bad.packetsRead} packets)`);
}

interface RunFlags {
  driver: string[];
  param: DriverParameter[];
  out?: string;
  verifier: VerifierMode;
  trace?: string;
  faults?: string;
  hosts: number;
  interruptModeration: number;
  progress?: boolean;
  json?: boolean;
  examples?: boolean;
}

async function prepareRun(capture: string | undefined, flags: RunFlags): Promise<RunOptions> {
  const drivers = [...flags.driver];
  // With no capture: the sample, with the examples loaded (unless --no-examples).
  if (capture === undefined && flags.examples !== false) {
    drivers.unshift(...(await findDriverModules(EXAMPLES, (m) => console.error(`wdknet: ${m}`))));
  }
  const useBar = flags.progress === true || (flags.progress !== false && process.stderr.isTTY === true && !flags.json);
  const options: RunOptions = {
    capture: capture ?? SAMPLE,
    drivers,
    out: flags.out,
    verifier: flags.verifier,
    trace: flags.trace,
    faults: flags.faults,
    hosts: flags.hosts,
    interruptModerationUs: flags.interruptModeration,
    params: flags.param,
  };
  if (!existsSync(options.capture)) throw new Error(`no such capture: ${options.capture}`);
  if (useBar) {
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: 'playing [{bar}] {percentage}% | {value}/{total} bytes',
        fps: 10,
        // --progress on a pipe or file: still draw it, a line now and then.
        noTTYOutput: flags.progress === true,
        notTTYSchedule: 1000,
      },
      Presets.shades_classic,
    );
    let started = false;
    options.progress = (done, total) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
      if (done >= total) bar.stop();
    };
  }
  return options;
}

program
  .command('run')
  .description('play a capture into the host with drivers loaded, write what leaves, and report')
  .argument('[capture]', 'pcap or pcapng to play (default: the sample, with the examples loaded)')
  .option('-d, --driver <module>', 'a driver module exporting DriverEntry (repeatable)', collect, [])
  .option('-p, --param <driver:Name=value>', PARAM_HELP, collectParameter, [])
  .option('-o, --out <capture>', 'write transmitted frames here (.pcap or .pcapng)')
  .addOption(new Option('--verifier <mode>', 'verifier mode').choices(['off', 'standard', 'full']).default('standard'))
  .option('--trace <file>', 'write each NET_BUFFER_LIST life as Chrome trace-event JSON (Perfetto)')
  .option('--faults <spec>', 'fail allocations: probability=0.01,seed=1,every=N,calls=1:5,tags=fPCT,ddis=X,skip=N')
  .option('--hosts <n>', 'hosts to play the capture into', positiveInteger, 1)
  .option(
    '--interrupt-moderation <us>',
    'NICs indicate received frames in batches of up to 32, at most this many microseconds of capture time late ' +
      '(0: each frame as it arrives)',
    nonNegativeInteger,
    DEFAULT_INTERRUPT_MODERATION_US,
  )
  .option('--progress', 'show a progress bar even when stderr is not a terminal')
  .option('--no-progress', 'never show a progress bar')
  .option('--no-examples', 'do not load the examples when playing the sample')
  .option('--json', 'print the report as JSON')
  .action((capture: string | undefined, flags: RunFlags) =>
    guarded(async () => {
      const outcome = await runCapture(await prepareRun(capture, flags));
      console.log(flags.json ? JSON.stringify(outcome.summary, null, 2) : outcome.report);
      reportBadCapture(outcome.summary);
      return outcome.exitCode;
    }),
  );

program
  .command('poolmon')
  .description('play a capture (default: the sample) and print the pool by tag, as poolmon does')
  .argument('[capture]', 'pcap or pcapng to play')
  .option('-d, --driver <module>', 'a driver module exporting DriverEntry (repeatable)', collect, [])
  .option('-p, --param <driver:Name=value>', PARAM_HELP, collectParameter, [])
  .addOption(new Option('--verifier <mode>', 'verifier mode').choices(['off', 'standard', 'full']).default('standard'))
  .option('--no-examples', 'do not load the examples when playing the sample')
  .action((capture: string | undefined, flags: RunFlags) =>
    guarded(async () => {
      const outcome = await runCapture(await prepareRun(capture, { ...flags, hosts: 1, progress: false }));
      const table = outcome.report.split('\n');
      const start = table.indexOf('Pool (poolmon)');
      console.log(table.slice(start + 1, table.indexOf('', start + 1)).join('\n'));
      reportBadCapture(outcome.summary);
      return outcome.exitCode;
    }),
  );

program
  .command('inspect')
  .description('decode a capture: one line per packet (like tcpdump), a tree with -v, or JSON')
  .argument('<capture>', 'pcap or pcapng to read')
  .option('-v, --verbose', 'a tree per packet')
  .option('--json', 'one JSON object per packet')
  .option('-c, --count <n>', 'stop after n packets', positiveInteger)
  .action((capture: string, flags: { verbose?: boolean; json?: boolean; count?: number }) =>
    guarded(async () => inspectCapture(capture, flags, (line) => process.stdout.write(`${line}\n`))),
  );

await program.parseAsync();
