/** Streaming reader of classic pcap files (both byte orders, micro- and nanoseconds, the modified format). */
import { memory, memory32 } from '../kernel/arena.js';
import { ChunkWindow, DEFAULT_CHUNK_SIZE } from './chunk.js';
import { CaptureFormatError, MISSING } from './errors.js';
import { MAX_CAPLEN, type ReaderOptions } from './limits.js';
import {
  PCAP_FILE_HEADER_SIZE,
  PCAP_LINKTYPE_MASK,
  PCAP_LINKTYPE_RESERVED_MASK,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_MODIFIED,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_MODIFIED_RECORD_HEADER_SIZE,
  PCAP_RECORD_HEADER_SIZE,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
  type PcapHeader,
} from './pcap-format.js';
import { CaptureRecord } from './record.js';
import type { ByteSource } from './source.js';

/** True on a little-endian machine (what the arena's Int32Array view reads). */
const LITTLE_ENDIAN_MACHINE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Reads the records of a pcap file one at a time into a reusable {@link CaptureRecord}. */
export class PcapReader {
  /** The file header. */
  readonly header: PcapHeader;
  /** The record returned by {@link next} (the same object every time). */
  readonly record = new CaptureRecord();
  /** Packets returned so far. */
  packetsRead = 0;
  private readonly window: ChunkWindow;
  private readonly le: boolean;
  private readonly recordHeaderSize: number;
  private readonly maxCaplen: number;
  private failed: CaptureFormatError | null = null;
  /** Timestamp fractions per second: 1e9 in a nanosecond file, 1e6 otherwise. */
  private readonly fractionsPerSecond: number;
  /** Nanoseconds per timestamp fraction: 1 or 1000. */
  private readonly nanosecondsPerFraction: number;
  /**
   * Where the window starts in kernel memory when it lies there (a pool window) and the file is in the machine's
   * byte order, else -1: a record header on a 32-bit word boundary is then read as four words of `memory32`.
   */
  private readonly wordBase: number;

  /** Reads the file header from `source`; throws {@link CaptureFormatError} when it is not a valid pcap header. */
  constructor(source: ByteSource, options: ReaderOptions = {}) {
    const chunk = options.chunk ?? new Uint8Array(DEFAULT_CHUNK_SIZE);
    this.window = new ChunkWindow(source, chunk);
    this.maxCaplen = Math.min(options.maxCaplen ?? MAX_CAPLEN, chunk.length - PCAP_MODIFIED_RECORD_HEADER_SIZE);
    this.header = this.readHeader();
    this.le = !this.header.bigEndian;
    this.recordHeaderSize =
      this.header.magic === PCAP_MAGIC_MODIFIED ? PCAP_MODIFIED_RECORD_HEADER_SIZE : PCAP_RECORD_HEADER_SIZE;
    this.fractionsPerSecond = this.header.nanoseconds ? 1e9 : 1e6;
    this.nanosecondsPerFraction = this.header.nanoseconds ? 1 : 1000;
    this.record.data = chunk;
    this.record.linkType = this.header.linkType;
    this.wordBase = chunk.buffer === memory.buffer && this.le === LITTLE_ENDIAN_MACHINE ? chunk.byteOffset : -1;
  }

  private readHeader(): PcapHeader {
    const w = this.window;
    if (!w.ensure(4)) throw new CaptureFormatError(0, 'magic', MISSING, 'file shorter than a pcap magic number');
    const v = w.view;
    const raw = v.getUint32(0, true);
    let bigEndian: boolean;
    let magic: number;
    if (raw === PCAP_MAGIC_MICROSECONDS || raw === PCAP_MAGIC_NANOSECONDS || raw === PCAP_MAGIC_MODIFIED) {
      bigEndian = false;
      magic = raw;
    } else {
      magic = v.getUint32(0, false);
      if (magic !== PCAP_MAGIC_MICROSECONDS && magic !== PCAP_MAGIC_NANOSECONDS && magic !== PCAP_MAGIC_MODIFIED) {
        throw new CaptureFormatError(0, 'magic', raw, 'not a pcap magic number');
      }
      bigEndian = true;
    }
    if (!w.ensure(PCAP_FILE_HEADER_SIZE)) {
      throw new CaptureFormatError(w.available, 'file_header', w.available, 'file ends inside the 24-byte header');
    }
    const le = !bigEndian;
    const versionMajor = v.getUint16(4, le);
    const versionMinor = v.getUint16(6, le);
    // Decided as libpcap does: 2.0 .. 2.4 are read; older majors are "archaic", newer versions unknown.
    if (versionMajor !== PCAP_VERSION_MAJOR) {
      throw new CaptureFormatError(4, 'version_major', versionMajor, 'unsupported pcap major version (2 expected)');
    }
    if (versionMinor > PCAP_VERSION_MINOR) {
      throw new CaptureFormatError(6, 'version_minor', versionMinor, 'unsupported pcap minor version (at most 4)');
    }
    const linkTypeField = v.getUint32(20, le);
    if ((linkTypeField & PCAP_LINKTYPE_RESERVED_MASK) !== 0) {
      throw new CaptureFormatError(20, 'linktype', linkTypeField, 'reserved bits 16..25 of the link type are not zero');
    }
    w.pos = PCAP_FILE_HEADER_SIZE;
    return {
      magic,
      bigEndian,
      nanoseconds: magic === PCAP_MAGIC_NANOSECONDS,
      versionMajor,
      versionMinor,
      thiszone: v.getInt32(8, le),
      sigfigs: v.getUint32(12, le),
      snaplen: v.getUint32(16, le),
      linkType: linkTypeField & PCAP_LINKTYPE_MASK,
      linkTypeField,
    };
  }

  /**
   * The next packet, or null at the end of the file. Throws {@link CaptureFormatError} (with `packetsRead`)
   * at a malformed record; every packet before it has been returned.
   */
  next(): CaptureRecord | null {
    if (this.failed !== null) throw this.failed;
    const w = this.window;
    const hs = this.recordHeaderSize;
    let p = w.pos;
    let left = w.end - p;
    // One bounds check covers the header and, once its length is known, one more the frame; the window is
    // refilled (and the record moved to its start) only when either lies beyond what was read.
    if (left < hs) {
      if (!w.ensure(hs)) {
        if (w.available === 0) return null;
        return this.fail(w.fileOffset, 'record_header', w.available, `file ends inside a ${hs}-byte record header`);
      }
      p = w.pos;
      left = w.end - p;
    }
    const v = w.view;
    const le = this.le;
    // A header on a word of kernel memory in the machine's byte order is read as words (what the DataView reads:
    // `>>> 0` makes each unsigned); any other through the DataView.
    const word = this.wordBase + p;
    const words = this.wordBase >= 0 && (word & 3) === 0;
    const caplen = words ? memory32[(word >> 2) + 2]! >>> 0 : v.getUint32(p + 8, le);
    if (caplen > this.maxCaplen) {
      return this.fail(w.base + p + 8, 'incl_len', caplen, `captured length above the limit of ${this.maxCaplen}`);
    }
    if (left < hs + caplen) {
      if (!w.ensure(hs + caplen)) {
        return this.fail(w.fileOffset + 8, 'incl_len', caplen, 'file ends inside the packet data');
      }
      p = w.pos; // ensure() moved the record to the start of the window
    }
    const r = this.record;
    let tsHigh: number;
    let tsLow: number;
    const at = this.wordBase + p;
    if (this.wordBase >= 0 && (at & 3) === 0) {
      const i = at >> 2;
      tsHigh = memory32[i]! >>> 0;
      tsLow = memory32[i + 1]! >>> 0;
      r.origlen = memory32[i + 3]! >>> 0;
    } else {
      tsHigh = v.getUint32(p, le);
      tsLow = v.getUint32(p + 4, le);
      r.origlen = v.getUint32(p + 12, le);
    }
    r.tsHigh = tsHigh;
    r.tsLow = tsLow;
    r.caplen = caplen;
    if (tsLow < this.fractionsPerSecond) {
      // The stored fraction is within its second (every well-formed file): no division.
      r.seconds = tsHigh;
      r.nanoseconds = tsLow * this.nanosecondsPerFraction;
    } else {
      // Decided: a fraction of a second beyond its range is carried into the seconds, so that `nanoseconds` is
      // always below 1e9 (Wireshark prints such a value unnormalised; the stored value is kept in tsHigh/tsLow).
      const perSecond = this.fractionsPerSecond;
      r.seconds = tsHigh + Math.floor(tsLow / perSecond);
      r.nanoseconds = (tsLow % perSecond) * this.nanosecondsPerFraction;
    }
    r.offset = p + hs;
    r.fileOffset = w.base + p;
    r.number = ++this.packetsRead;
    w.pos = p + hs + caplen;
    return r;
  }

  private fail(offset: number, field: string, value: number, problem: string): never {
    this.failed = new CaptureFormatError(offset, field, value, problem, this.packetsRead);
    throw this.failed;
  }

  /** Closes the file. */
  close(): void {
    this.window.close();
  }
}
