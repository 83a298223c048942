/**
 * The round-trip check of one capture: wdknet reads it and writes it back; then a real peer reads the copy.
 *
 * - `roundtrip`: tshark reads from the copy exactly the frames wdknet read (count, caplen, origlen, timestamp,
 *   bytes).
 * - `roundtrip:libpcap`: tshark cannot show the frames as stored (a link type it does not know, a pseudo-header it
 *   strips, a timestamp outside the format's range that it prints unnormalised), so libpcap checks instead:
 *   `tcpdump -r copy -w again` and wdknet reads the same packets from `again` as from the original; and where
 *   tshark reads the original, it reads the copy identically.
 * - `{ error, offset, packetsRead }`: wdknet reported a {@link CaptureFormatError}.
 */
import { join } from 'node:path';
import {
  CaptureFormatError,
  copyCapture,
  FileSink,
  openCapture,
  PcapReader,
  readCapture,
} from '../../src/capture/index.js';
import { capturePath, compareFrames, comparePackets, compareTshark, tcpdumpCopy, tsharkFrames } from './tshark.js';

/** What is expected of one capture. */
export type Expectation = 'roundtrip' | 'roundtrip:libpcap' | { error: string; offset: number; packetsRead: number };

/** Checks one shared capture; `tmp` is a scratch directory. Returns its outcome, or a string saying what failed. */
export async function verifyCapture(name: string, tmp: string): Promise<Expectation | string> {
  const path = capturePath(name);
  const { packets, error } = readCapture(path);
  if (error !== null) {
    if (!(error instanceof CaptureFormatError)) return `not a CaptureFormatError: ${error}`;
    if (error.packetsRead !== packets.length) return `packetsRead ${error.packetsRead} but ${packets.length} returned`;
    return { error: error.field, offset: error.offset, packetsRead: error.packetsRead };
  }
  const copy = join(tmp, name.replace('/', '__'));
  const sink = new FileSink(copy);
  try {
    const result = copyCapture(path, sink);
    if (result.error !== null) return `copy failed: ${result.error.message}`;
  } finally {
    sink.close();
  }
  let theirs: Awaited<ReturnType<typeof tsharkFrames>> | null = null;
  try {
    theirs = await tsharkFrames(copy);
  } catch {
    theirs = null; // tshark does not read this link type; libpcap decides below
  }
  if (theirs !== null && compareFrames(packets, theirs) === null) return 'roundtrip';
  if (theirs !== null) {
    const original = await tsharkFrames(path).catch(() => null);
    if (original === null) return `tshark reads the copy but not the original`;
    const diff = compareTshark(original, theirs);
    if (diff !== null) return `tshark reads the copy differently from the original: ${diff}`;
  }
  const again = `${copy}.again`;
  const reader = openCapture(path);
  const micro = reader instanceof PcapReader && !reader.header.nanoseconds;
  reader.close();
  await tcpdumpCopy(copy, again, micro ? 'micro' : 'nano');
  const back = readCapture(again);
  if (back.error !== null) return `cannot read tcpdump's copy: ${back.error.message}`;
  const diff = comparePackets(packets, back.packets);
  return diff === null ? 'roundtrip:libpcap' : `libpcap copy differs: ${diff}`;
}
