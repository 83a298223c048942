/** Streaming reader of classic pcap files (both byte orders, micro- and nanoseconds, the modified format). */
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

  /** Reads the file header from `source`; throws {@link CaptureFormatError} when it is not a valid pcap header. */
  constructor(source: ByteSource, options: ReaderOptions = {}) {
    const chunk = options.chunk ?? new Uint8Array(DEFAULT_CHUNK_SIZE);
    this.window = new ChunkWindow(source, chunk);
    this.maxCaplen = Math.min(options.maxCaplen ?? MAX_CAPLEN, chunk.length - PCAP_MODIFIED_RECORD_HEADER_SIZE);
    this.header = this.readHeader();
    this.le = !this.header.bigEndian;
    this.recordHeaderSize =
      this.header.magic === PCAP_MAGIC_MODIFIED ? PCAP_MODIFIED_RECORD_HEADER_SIZE : PCAP_RECORD_HEADER_SIZE;
    this.record.data = chunk;
    this.record.linkType = this.header.linkType;
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
    if (this.failed) throw this.failed;
    const w = this.window;
    const hs = this.recordHeaderSize;
    if (!w.ensure(hs)) {
      if (w.available === 0) return null;
      return this.fail(w.fileOffset, 'record_header', w.available, `file ends inside a ${hs}-byte record header`);
    }
    const v = w.view;
    const p = w.pos;
    const le = this.le;
    const caplen = v.getUint32(p + 8, le);
    if (caplen > this.maxCaplen) {
      return this.fail(w.fileOffset + 8, 'incl_len', caplen, `captured length above the limit of ${this.maxCaplen}`);
    }
    if (!w.ensure(hs + caplen)) {
      return this.fail(w.fileOffset + 8, 'incl_len', caplen, 'file ends inside the packet data');
    }
    const q = w.pos; // ensure() may have moved the record to the start of the window
    const r = this.record;
    r.tsHigh = v.getUint32(q, le);
    r.tsLow = v.getUint32(q + 4, le);
    r.caplen = caplen;
    r.origlen = v.getUint32(q + 12, le);
    r.seconds = r.tsHigh;
    // Decided: a fraction of a second beyond its range is carried into the seconds, so that `nanoseconds` is
    // always below 1e9 (Wireshark prints such a value unnormalised; the stored value is kept in tsHigh/tsLow).
    if (this.header.nanoseconds) {
      r.seconds += Math.floor(r.tsLow / 1e9);
      r.nanoseconds = r.tsLow % 1e9;
    } else {
      r.seconds += Math.floor(r.tsLow / 1e6);
      r.nanoseconds = (r.tsLow % 1e6) * 1000;
    }
    r.offset = q + hs;
    r.fileOffset = w.base + q;
    r.number = ++this.packetsRead;
    w.pos = q + hs + caplen;
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
