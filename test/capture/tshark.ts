/** Runs tshark on capture files and compares what it reads with what wdknet read. */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CapturedPacket } from '../../src/capture/index.js';

const run = promisify(execFile);

/** The directories of real captures shared by the project (read from there, never copied). */
export const CAPTURE_DIRS = ['/work/shared/captures/tcpdump', '/work/shared/captures/libpcap'];

/** Every shared capture file as `dir/name` relative to /work/shared/captures, sorted. */
export function sharedCaptures(): string[] {
  const out: string[] = [];
  for (const dir of CAPTURE_DIRS) {
    const base = dir.split('/').pop()!;
    for (const f of readdirSync(dir).sort()) out.push(`${base}/${f}`);
  }
  return out;
}

/** Absolute path of a shared capture. */
export function capturePath(name: string): string {
  return join('/work/shared/captures', name);
}

/** One frame as tshark read it. */
export interface TsharkFrame {
  len: number;
  capLen: number;
  timeEpoch: string;
  raw: string;
}

/** Reads `path` with tshark (no dissection) and returns its frames, or throws with tshark's message. */
export async function tsharkFrames(path: string): Promise<TsharkFrame[]> {
  const { stdout } = await run('tshark', ['-r', path, '-T', 'ek', '-x', '--disable-protocol', 'ALL'], {
    maxBuffer: 1 << 28,
  });
  const frames: TsharkFrame[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{"timestamp"')) continue;
    const j = JSON.parse(line) as { layers: { frame_raw?: string; frame: Record<string, string> } };
    const f = j.layers.frame;
    frames.push({
      len: Number(f['frame_frame_len']),
      capLen: Number(f['frame_frame_cap_len']),
      timeEpoch: f['frame_frame_time_epoch']!,
      raw: j.layers.frame_raw ?? '',
    });
  }
  return frames;
}

/** The time_epoch text tshark prints for a timestamp. */
export function epochText(seconds: number, nanoseconds: number): string {
  return `${seconds}.${String(nanoseconds).padStart(9, '0')}`;
}

/** Compares wdknet's packets with tshark's frames; returns the first difference, or null when they agree. */
export function compareFrames(ours: CapturedPacket[], theirs: TsharkFrame[]): string | null {
  if (ours.length !== theirs.length) return `count: wdknet ${ours.length}, tshark ${theirs.length}`;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    const n = i + 1;
    if (a.data.length !== b.capLen) return `frame ${n} caplen: wdknet ${a.data.length}, tshark ${b.capLen}`;
    if (a.origlen !== b.len) return `frame ${n} origlen: wdknet ${a.origlen}, tshark ${b.len}`;
    const t = epochText(a.seconds, a.nanoseconds);
    if (t !== b.timeEpoch) return `frame ${n} time: wdknet ${t}, tshark ${b.timeEpoch}`;
    const hex = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.length).toString('hex');
    if (hex !== b.raw) return `frame ${n} bytes differ`;
  }
  return null;
}

/** Runs `fn` over `items` with at most `parallel` running at once. */
export async function mapParallel<T, R>(items: T[], parallel: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}

/**
 * Runs `tcpdump -r in -w out` (libpcap's own read and write) at the given precision (the input's own, so that
 * libpcap copies the stored fractions of a second without converting them).
 */
export async function tcpdumpCopy(input: string, output: string, precision: 'micro' | 'nano'): Promise<void> {
  await run('tcpdump', [`--time-stamp-precision=${precision}`, '-r', input, '-w', output], { maxBuffer: 1 << 24 });
}

/** Compares two lists of packets read by wdknet; returns the first difference, or null. */
export function comparePackets(a: CapturedPacket[], b: CapturedPacket[]): string | null {
  if (a.length !== b.length) return `count: ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.origlen !== y.origlen || x.seconds !== y.seconds || x.nanoseconds !== y.nanoseconds) {
      return `frame ${i + 1} header differs`;
    }
    if (Buffer.compare(x.data, y.data) !== 0) return `frame ${i + 1} bytes differ`;
  }
  return null;
}

/** Compares two tshark readings; returns the first difference, or null. */
export function compareTshark(a: TsharkFrame[], b: TsharkFrame[]): string | null {
  if (a.length !== b.length) return `count: ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.len !== y.len || x.capLen !== y.capLen || x.timeEpoch !== y.timeEpoch || x.raw !== y.raw) {
      return `frame ${i + 1} differs`;
    }
  }
  return null;
}
