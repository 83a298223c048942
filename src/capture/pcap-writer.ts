/** Streaming writer of classic pcap files. */
import {
  PCAP_FILE_HEADER_SIZE,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_SIZE,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './pcap-format.js';
import { type ByteSink, copyInto } from './sink.js';

/** How to write a pcap file. */
export interface PcapWriterOptions {
  /** Link type field (LINKTYPE_*, FCS bits included if wanted). */
  linkType: number;
  /** Snapshot length (default 262144). */
  snaplen?: number;
  /** Nanosecond timestamps (default: microseconds). */
  nanoseconds?: boolean;
  /** Big-endian file (default little-endian). */
  bigEndian?: boolean;
  /** thiszone field (default 0). */
  thiszone?: number;
  /** sigfigs field (default 0). */
  sigfigs?: number;
}

/** Writes a pcap file header, then one record per {@link writePacket} call; no allocation per packet. */
export class PcapWriter {
  /** Packets written. */
  packetsWritten = 0;
  private readonly le: boolean;
  /** True when timestamps are written in nanoseconds. */
  readonly nanoseconds: boolean;

  /** Writes the file header to `sink`. */
  constructor(
    private readonly sink: ByteSink,
    options: PcapWriterOptions,
  ) {
    this.le = !options.bigEndian;
    this.nanoseconds = options.nanoseconds ?? false;
    const at = sink.reserve(PCAP_FILE_HEADER_SIZE);
    const v = sink.view;
    const le = this.le;
    v.setUint32(at, this.nanoseconds ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, le);
    v.setUint16(at + 4, PCAP_VERSION_MAJOR, le);
    v.setUint16(at + 6, PCAP_VERSION_MINOR, le);
    v.setInt32(at + 8, options.thiszone ?? 0, le);
    v.setUint32(at + 12, options.sigfigs ?? 0, le);
    v.setUint32(at + 16, options.snaplen ?? 262144, le);
    v.setUint32(at + 20, options.linkType >>> 0, le);
  }

  /**
   * Writes one record: `caplen` bytes of `data` from `offset`; `origlen` defaults to `caplen`. `fraction` is in
   * the file's unit (microseconds or nanoseconds) and is written as given.
   */
  writeRecord(
    seconds: number,
    fraction: number,
    data: Uint8Array,
    offset: number,
    caplen: number,
    origlen: number = caplen,
  ): void {
    const at = this.header(caplen);
    const v = this.sink.view;
    if (this.le) {
      v.setUint32(at, seconds >>> 0, true);
      v.setUint32(at + 4, fraction >>> 0, true);
      v.setUint32(at + 12, origlen, true);
    } else {
      v.setUint32(at, seconds >>> 0, false);
      v.setUint32(at + 4, fraction >>> 0, false);
      v.setUint32(at + 12, origlen, false);
    }
    this.frame(at, data, offset, caplen);
  }

  /**
   * Writes one packet stamped with `time`, whose fields are read here rather than passed: a seconds value after
   * 2004 is above V8's small-integer range, so passing it as an argument allocates, once per packet. This is the
   * host's per-frame output: one reservation, four header stores, one copy.
   */
  writePacketAt(
    time: Readonly<{ seconds: number; nanoseconds: number }>,
    data: Uint8Array,
    offset: number,
    caplen: number,
  ): void {
    const at = this.header(caplen);
    const v = this.sink.view;
    const fraction = this.nanoseconds ? time.nanoseconds : Math.floor(time.nanoseconds / 1000);
    if (this.le) {
      v.setUint32(at, time.seconds >>> 0, true);
      v.setUint32(at + 4, fraction >>> 0, true);
      v.setUint32(at + 12, caplen, true);
    } else {
      v.setUint32(at, time.seconds >>> 0, false);
      v.setUint32(at + 4, fraction >>> 0, false);
      v.setUint32(at + 12, caplen, false);
    }
    this.frame(at, data, offset, caplen);
  }

  /**
   * Reserves a record of `caplen` bytes and writes its incl_len; returns where its header starts in the sink
   * buffer. The record is reserved whole when it fits the buffer (always, but for frames of about the buffer's
   * size): then {@link frame} copies the bytes behind the header; otherwise only the header is reserved.
   */
  private header(caplen: number): number {
    const sink = this.sink;
    const size = PCAP_RECORD_HEADER_SIZE + caplen;
    const at = sink.reserve(size <= sink.buf.length ? size : PCAP_RECORD_HEADER_SIZE);
    sink.view.setUint32(at + 8, caplen, this.le);
    return at;
  }

  /** Puts the frame bytes of the record whose header is at `at` behind it (see {@link header}), and counts it. */
  private frame(at: number, data: Uint8Array, offset: number, caplen: number): void {
    const sink = this.sink;
    if (PCAP_RECORD_HEADER_SIZE + caplen <= sink.buf.length) {
      copyInto(sink.buf, at + PCAP_RECORD_HEADER_SIZE, data, offset, caplen);
    } else {
      sink.write(data, offset, caplen);
    }
    this.packetsWritten++;
  }

  /** Writes one packet with a timestamp in seconds + nanoseconds (cut to microseconds in a microsecond file). */
  writePacket(
    seconds: number,
    nanoseconds: number,
    data: Uint8Array,
    offset: number,
    caplen: number,
    origlen: number = caplen,
  ): void {
    this.writeRecord(
      seconds,
      this.nanoseconds ? nanoseconds : Math.floor(nanoseconds / 1000),
      data,
      offset,
      caplen,
      origlen,
    );
  }

  /**
   * Writes one packet of `length` bytes whose bytes `fill` writes into the sink buffer at the index it is given
   * (for packets generated in place, with no intermediate buffer). `length` must fit the sink buffer.
   */
  writeFilled(seconds: number, nanoseconds: number, length: number, fill: (buf: Uint8Array, at: number) => void): void {
    const sink = this.sink;
    const at = sink.reserve(PCAP_RECORD_HEADER_SIZE + length);
    const v = sink.view;
    const le = this.le;
    v.setUint32(at, seconds >>> 0, le);
    v.setUint32(at + 4, this.nanoseconds ? nanoseconds : Math.floor(nanoseconds / 1000), le);
    v.setUint32(at + 8, length, le);
    v.setUint32(at + 12, length, le);
    fill(sink.buf, at + PCAP_RECORD_HEADER_SIZE);
    this.packetsWritten++;
  }

  /** Flushes buffered bytes. */
  flush(): void {
    this.sink.flush();
  }

  /** Flushes and closes the sink. */
  close(): void {
    this.sink.close();
  }
}
