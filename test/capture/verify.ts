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
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  CaptureFormatError,
  copyCapture,
  FileSink,
  MemorySink,
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

/**
 * A fingerprint of what wdknet reads from a capture and writes back: SHA-256 over every packet read (bytes,
 * lengths, timestamp, interface, link type) and over the bytes of the copy. When it equals the fingerprint stored
 * at the last tshark-verified run, tshark would read the same copy again, so the verification still holds.
 * Null when the capture does not round-trip.
 */
export function roundTripDigest(name: string): string | null {
  const path = capturePath(name);
  const { packets, error } = readCapture(path);
  if (error !== null) return null;
  const hash = createHash('sha256');
  const head = new DataView(new ArrayBuffer(24));
  for (const p of packets) {
    head.setUint32(0, p.data.length);
    head.setUint32(4, p.origlen);
    head.setFloat64(8, p.seconds);
    head.setUint32(16, p.nanoseconds);
    head.setUint16(20, p.interfaceId);
    head.setUint16(22, p.linkType);
    hash.update(new Uint8Array(head.buffer));
    hash.update(p.data);
  }
  const sink = new MemorySink();
  if (copyCapture(path, sink).error !== null) return null;
  hash.update(sink.bytes());
  return hash.digest('hex');
}
