/** Opening a capture of either format, and the easy (copying) API for tools and tests. */
import { CaptureFormatError, MISSING } from './errors.js';
import { PcapReader } from './pcap-reader.js';
import { BT_SHB } from './pcapng-format.js';
import { PcapngReader, type PcapngReaderOptions } from './pcapng-reader.js';
import type { CaptureFormat, CaptureRecord } from './record.js';
import { type ByteSource, FileSource, MemorySource } from './source.js';

/** What both readers offer. */
export interface CaptureReader {
  /** The reusable record. */
  readonly record: CaptureRecord;
  /** Packets returned so far. */
  readonly packetsRead: number;
  /** The next packet (valid until the next call), or null at the end; throws {@link CaptureFormatError}. */
  next(): CaptureRecord | null;
  /** Closes the source. */
  close(): void;
}

/** A capture input: a file path, bytes in memory, or a {@link ByteSource}. */
export type CaptureInput = string | Uint8Array | ByteSource;

function toSource(input: CaptureInput): ByteSource {
  if (typeof input === 'string') return new FileSource(input);
  if (input instanceof Uint8Array) return new MemorySource(input);
  return input;
}

/** Tells the format from the first four bytes (`null` when the input is shorter). */
export function detectFormat(source: ByteSource): CaptureFormat | null {
  const head = new Uint8Array(4);
  if (source.read(head, 0, 4, 0) < 4) return null;
  const type = new DataView(head.buffer).getUint32(0, true);
  return type === BT_SHB ? 'pcapng' : 'pcap';
}

/** Opens a capture of either format. Throws {@link CaptureFormatError} when its header is malformed. */
export function openCapture(
  input: CaptureInput,
  options: PcapngReaderOptions = {},
): (PcapReader | PcapngReader) & CaptureReader {
  const source = toSource(input);
  try {
    const format = detectFormat(source);
    if (format === null) throw new CaptureFormatError(0, 'magic', MISSING, 'file shorter than a magic number');
    return format === 'pcapng' ? new PcapngReader(source, options) : new PcapReader(source, options);
  } catch (e) {
    source.close();
    throw e;
  }
}

/** A packet copied out of a capture. */
export interface CapturedPacket {
  /** The captured bytes (a copy). */
  data: Uint8Array;
  /** Length on the wire. */
  origlen: number;
  /** Timestamp seconds. */
  seconds: number;
  /** Timestamp nanoseconds. */
  nanoseconds: number;
  /** Interface index (0 for pcap). */
  interfaceId: number;
  /** Link type. */
  linkType: number;
}

/** Yields a copy of each packet of a capture (allocates; for tools and tests). Throws at a malformed record. */
export function* packets(input: CaptureInput, options: PcapngReaderOptions = {}): Generator<CapturedPacket> {
  const reader = openCapture(input, options);
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      yield {
        data: r.copyBytes(),
        origlen: r.origlen,
        seconds: r.seconds,
        nanoseconds: r.nanoseconds,
        interfaceId: r.interfaceId,
        linkType: r.linkType,
      };
    }
  } finally {
    reader.close();
  }
}

/** Reads a whole capture into memory: the packets read, and the error that stopped it, if any. */
export function readCapture(
  input: CaptureInput,
  options: PcapngReaderOptions = {},
): { packets: CapturedPacket[]; error: CaptureFormatError | null } {
  const out: CapturedPacket[] = [];
  try {
    for (const p of packets(input, options)) out.push(p);
    return { packets: out, error: null };
  } catch (e) {
    if (e instanceof CaptureFormatError) return { packets: out, error: e };
    throw e;
  }
}
