/** Streaming writer of classic pcap files. */

import { ARENA_RESERVE, memory, memory32, moveWithinArena } from '../kernel/arena.js';
import {
  PCAP_FILE_HEADER_SIZE,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_SIZE,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './pcap-format.js';
import { type ByteSink, copyInto } from './sink.js';

/** True on a little-endian machine (what the arena's Int32Array view stores). */
const LITTLE_ENDIAN_MACHINE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

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
  /** Where the sink's buffer starts in kernel memory when it lies there (a pool block), else -1. */
  private readonly sinkInArena: number;
  /** True when the file's byte order is the machine's (records in kernel memory are then written as words). */
  private readonly nativeOrder: boolean;
  /** The sink buffer lies in kernel memory and the file is in the machine's byte order: headers as word stores. */
  private readonly wordHeaders: boolean;
  /** The sink buffer's size (fixed: a record that fits it is reserved whole). */
  private readonly sinkSize: number;

  /** Writes the file header to `sink`. */
  constructor(
    private readonly sink: ByteSink,
    options: PcapWriterOptions,
  ) {
    this.le = !options.bigEndian;
    this.nanoseconds = options.nanoseconds ?? false;
    this.sinkInArena = sink.buf.buffer === memory.buffer ? sink.buf.byteOffset : -1;
    this.nativeOrder = this.le === LITTLE_ENDIAN_MACHINE;
    this.wordHeaders = this.sinkInArena >= 0 && this.nativeOrder;
    this.sinkSize = sink.buf.length;
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
    const sink = this.sink;
    // Common case: header and frame fit the sink buffer and are written with one reservation.
    const whole = PCAP_RECORD_HEADER_SIZE + caplen <= sink.buf.length;
    const at = sink.reserve(whole ? PCAP_RECORD_HEADER_SIZE + caplen : PCAP_RECORD_HEADER_SIZE);
    const v = sink.view;
    const le = this.le;
    v.setUint32(at, seconds >>> 0, le);
    v.setUint32(at + 4, fraction >>> 0, le);
    v.setUint32(at + 8, caplen, le);
    v.setUint32(at + 12, origlen, le);
    if (whole) copyInto(sink.buf, at + PCAP_RECORD_HEADER_SIZE, data, offset, caplen);
    else sink.write(data, offset, caplen);
    this.packetsWritten++;
  }

  /**
   * Writes one packet stamped with `time`, whose fields are read here rather than passed: a seconds value after
   * 2004 is above V8's small-integer range, so passing it as an argument allocates, once per packet. This is the
   * host's per-frame output, one body with no call but the reservation and the copy: the record is reserved
   * whole, its header written with four stores, the frame copied behind it.
   */
  writePacketAt(
    time: Readonly<{ seconds: number; nanoseconds: number }>,
    data: Uint8Array,
    offset: number,
    caplen: number,
  ): void {
    const fraction = this.nanoseconds ? time.nanoseconds : Math.floor(time.nanoseconds / 1000);
    const sink = this.sink;
    const size = PCAP_RECORD_HEADER_SIZE + caplen;
    if (size > this.sinkSize) {
      // A frame about the size of the sink buffer: its header is reserved alone and the frame written past it.
      this.writeRecord(time.seconds, fraction, data, offset, caplen);
      return;
    }
    const at = sink.reserve(size);
    const inArena = this.sinkInArena;
    const word = inArena + at;
    if ((word & 3) === 0 && this.wordHeaders) {
      // The header lands on a 32-bit word of kernel memory in the machine's byte order: four word stores
      // (an Int32Array store keeps the low 32 bits, as `>>> 0` does).
      const i = word >> 2;
      memory32[i] = time.seconds;
      memory32[i + 1] = fraction;
      memory32[i + 2] = caplen;
      memory32[i + 3] = caplen;
    } else {
      const v = sink.view;
      const le = this.le;
      v.setUint32(at, time.seconds >>> 0, le);
      v.setUint32(at + 4, fraction >>> 0, le);
      v.setUint32(at + 8, caplen, le);
      v.setUint32(at + 12, caplen, le);
    }
    // A frame in kernel memory written to a sink buffer in kernel memory (the host's output): one arena move, with
    // the checks copyInto would make (the record's room in the sink buffer is what reserve() just gave).
    if (data === memory && inArena >= 0 && (offset | caplen) >= 0 && offset + caplen <= ARENA_RESERVE) {
      moveWithinArena(word + PCAP_RECORD_HEADER_SIZE, offset, caplen);
    } else copyInto(sink.buf, at + PCAP_RECORD_HEADER_SIZE, data, offset, caplen);
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
