/** Streaming writer of pcapng files: sections, interfaces, EPB/SPB packets, NRB, ISB and raw blocks. */
import {
  BT_EPB,
  BT_IDB,
  BT_ISB,
  BT_NRB,
  BT_SHB,
  BT_SPB,
  BYTE_ORDER_MAGIC,
  IF_TSOFFSET,
  IF_TSRESOL,
  PCAPNG_VERSION_MAJOR,
  PCAPNG_VERSION_MINOR,
} from './pcapng-format.js';
import { encodeOptions, type OptionInput, pad4 } from './pcapng-options.js';
import { type ByteSink, copyInto } from './sink.js';
import { toUnits, toUnitsOf, unitsOut, unitsPerSecondOf } from './timestamp.js';

/** A Section Header Block to write. */
export interface SectionInput {
  /** Byte order of the section (default little-endian). */
  bigEndian?: boolean;
  /** Options (shb_hardware, shb_os, shb_userappl, opt_comment, ...). */
  options?: OptionInput[];
  /** Options already encoded in the section's byte order (used instead of `options`). */
  rawOptions?: Uint8Array;
}

/** An Interface Description Block to write. */
export interface InterfaceInput {
  /** Link type (LINKTYPE_*). */
  linkType: number;
  /** Snapshot length (0: none). */
  snaplen?: number;
  /** Options (if_name, if_tsresol, ...). */
  options?: OptionInput[];
  /** Options already encoded in the section's byte order (used instead of `options`). */
  rawOptions?: Uint8Array;
}

/** A name to write in a Name Resolution Block. */
export interface NameInput {
  /** 1 for IPv4 (4 address bytes), 2 for IPv6 (16). */
  type: 1 | 2;
  /** The address bytes. */
  address: Uint8Array;
  /** Names for it. */
  names: string[];
}

const utf8 = new TextEncoder();

/** Writes pcapng blocks to a sink; packets are written without allocation. */
export class PcapngWriter {
  /** Packets written. */
  packetsWritten = 0;
  private le = true;
  private started = false;
  /** Timestamp units per second and offset of each interface of the current section. */
  private units: number[] = [];
  private offsets: number[] = [];

  /** Writes to `sink`; call {@link writeSection} first (or let the first interface write a default one). */
  constructor(private readonly sink: ByteSink) {}

  /** Starts a new section (interfaces are numbered afresh). */
  writeSection(section: SectionInput = {}): void {
    this.le = !section.bigEndian;
    const opts = section.rawOptions ?? encodeOptions(BT_SHB, section.options ?? [], this.le);
    const at = this.begin(BT_SHB, 28 + pad4(opts.length));
    const v = this.blockView;
    v.setUint32(at + 8, BYTE_ORDER_MAGIC, this.le);
    v.setUint16(at + 12, PCAPNG_VERSION_MAJOR, this.le);
    v.setUint16(at + 14, PCAPNG_VERSION_MINOR, this.le);
    v.setBigInt64(at + 16, -1n, this.le); // section length not given: the writer streams
    this.finishWithOptions(at, 24, opts);
    this.units = [];
    this.offsets = [];
    this.started = true;
  }

  /** Describes an interface; returns its index in the current section. */
  writeInterface(iface: InterfaceInput): number {
    if (!this.started) this.writeSection();
    const opts = iface.rawOptions ?? encodeOptions(BT_IDB, iface.options ?? [], this.le);
    const at = this.begin(BT_IDB, 20 + pad4(opts.length));
    const v = this.blockView;
    v.setUint16(at + 8, iface.linkType, this.le);
    v.setUint16(at + 10, 0, this.le);
    v.setUint32(at + 12, iface.snaplen ?? 0, this.le);
    this.finishWithOptions(at, 16, opts);
    let units = 1e6;
    let offset = 0;
    walkOptions(opts, this.le, (code, view, p, len) => {
      if (code === IF_TSRESOL && len >= 1) units = unitsPerSecondOf(view.getUint8(p)) || 1e6;
      if (code === IF_TSOFFSET && len >= 8) offset = Number(view.getBigInt64(p, this.le));
    });
    this.units.push(units);
    this.offsets.push(offset);
    return this.units.length - 1;
  }

  /**
   * Writes an Enhanced Packet Block with the timestamp as stored (`tsHigh`, `tsLow` in the interface's units).
   * `options` (already encoded in the section's byte order) are copied from `options[optionsOffset..+optionsLength)`.
   */
  writeEnhancedPacket(
    interfaceId: number,
    tsHigh: number,
    tsLow: number,
    data: Uint8Array,
    offset: number,
    caplen: number,
    origlen: number = caplen,
    options?: Uint8Array,
    optionsOffset = 0,
    optionsLength = 0,
  ): void {
    this.stamp.high = tsHigh;
    this.stamp.low = tsLow;
    this.emitEnhancedPacket(interfaceId, data, offset, caplen, origlen, options, optionsOffset, optionsLength);
  }

  /**
   * Writes an Enhanced Packet Block stamped with `time`, whose fields are read here rather than passed: seconds
   * and the halves of a 64-bit timestamp are above V8's small-integer range, so passing them allocates per packet.
   */
  writePacketAt(
    interfaceId: number,
    time: Readonly<{ seconds: number; nanoseconds: number }>,
    data: Uint8Array,
    offset: number,
    caplen: number,
  ): void {
    const units = this.units[interfaceId];
    if (units === undefined) throw new RangeError(`interface ${interfaceId} was not described in this section`);
    toUnitsOf(time, this.offsets[interfaceId]!, units);
    this.stamp.high = unitsOut.high;
    this.stamp.low = unitsOut.low;
    this.emitEnhancedPacket(interfaceId, data, offset, caplen, caplen, undefined, 0, 0);
  }

  /** The next Enhanced Packet Block's timestamp halves. */
  private readonly stamp = { high: 0.5, low: 0.5 };

  private emitEnhancedPacket(
    interfaceId: number,
    data: Uint8Array,
    offset: number,
    caplen: number,
    origlen: number,
    options: Uint8Array | undefined,
    optionsOffset: number,
    optionsLength: number,
  ): void {
    const padded = pad4(caplen);
    const optLen = options === undefined ? 0 : pad4(optionsLength);
    const total = 32 + padded + optLen;
    const sink = this.sink;
    const le = this.le;
    // Common case: the whole block fits the sink buffer and is written with one reservation.
    const whole = total <= sink.buf.length;
    const at = sink.reserve(whole ? total : 28);
    const v = sink.view;
    v.setUint32(at, BT_EPB, le);
    v.setUint32(at + 4, total, le);
    v.setUint32(at + 8, interfaceId, le);
    v.setUint32(at + 12, this.stamp.high, le);
    v.setUint32(at + 16, this.stamp.low, le);
    v.setUint32(at + 20, caplen, le);
    v.setUint32(at + 24, origlen, le);
    if (whole) {
      const buf = sink.buf;
      copyInto(buf, at + 28, data, offset, caplen);
      let p = at + 28 + caplen;
      for (let i = caplen; i < padded; i++) buf[p++] = 0;
      if (options !== undefined && optionsLength > 0) {
        copyInto(buf, p, options, optionsOffset, optionsLength);
        p += optionsLength;
        for (let i = optionsLength; i < optLen; i++) buf[p++] = 0;
      }
      v.setUint32(p, total, le);
    } else {
      sink.write(data, offset, caplen);
      this.tail(padded - caplen, options, optionsOffset, optionsLength, optLen, total);
    }
    this.packetsWritten++;
  }

  /** Writes an Enhanced Packet Block with a timestamp in seconds + nanoseconds (converted to interface units). */
  writePacket(
    interfaceId: number,
    seconds: number,
    nanoseconds: number,
    data: Uint8Array,
    offset: number,
    caplen: number,
    origlen: number = caplen,
  ): void {
    const units = this.units[interfaceId];
    if (units === undefined) throw new RangeError(`interface ${interfaceId} was not described in this section`);
    toUnits(seconds - this.offsets[interfaceId]!, nanoseconds, units);
    this.writeEnhancedPacket(interfaceId, unitsOut.high, unitsOut.low, data, offset, caplen, origlen);
  }

  /**
   * Writes an Enhanced Packet Block of `length` bytes that `fill` writes into the sink buffer at the index it is
   * given (frames generated in place, no intermediate buffer). The block must fit the sink buffer.
   */
  writeFilled(
    interfaceId: number,
    tsHigh: number,
    tsLow: number,
    length: number,
    fill: (buf: Uint8Array, at: number) => void,
  ): void {
    const padded = pad4(length);
    const total = 32 + padded;
    const sink = this.sink;
    const le = this.le;
    const at = sink.reserve(total);
    const v = sink.view;
    v.setUint32(at, BT_EPB, le);
    v.setUint32(at + 4, total, le);
    v.setUint32(at + 8, interfaceId, le);
    v.setUint32(at + 12, tsHigh, le);
    v.setUint32(at + 16, tsLow, le);
    v.setUint32(at + 20, length, le);
    v.setUint32(at + 24, length, le);
    fill(sink.buf, at + 28);
    for (let i = length; i < padded; i++) sink.buf[at + 28 + i] = 0;
    v.setUint32(at + 28 + padded, total, le);
    this.packetsWritten++;
  }

  /** Writes a Simple Packet Block (interface 0, no timestamp). */
  writeSimplePacket(data: Uint8Array, offset: number, caplen: number, origlen: number = caplen): void {
    const padded = pad4(caplen);
    const total = 16 + padded;
    const sink = this.sink;
    const at = sink.reserve(12);
    const v = sink.view;
    v.setUint32(at, BT_SPB, this.le);
    v.setUint32(at + 4, total, this.le);
    v.setUint32(at + 8, origlen, this.le);
    sink.write(data, offset, caplen);
    this.tail(padded - caplen, undefined, 0, 0, 0, total);
    this.packetsWritten++;
  }

  /** Writes an Interface Statistics Block. */
  writeInterfaceStatistics(interfaceId: number, tsHigh: number, tsLow: number, options: OptionInput[] = []): void {
    const opts = encodeOptions(BT_ISB, options, this.le);
    const at = this.begin(BT_ISB, 24 + pad4(opts.length));
    const v = this.blockView;
    v.setUint32(at + 8, interfaceId, this.le);
    v.setUint32(at + 12, tsHigh, this.le);
    v.setUint32(at + 16, tsLow, this.le);
    this.finishWithOptions(at, 20, opts);
  }

  /** Writes a Name Resolution Block. */
  writeNameResolution(records: NameInput[], options: OptionInput[] = []): void {
    const values = records.map((r) => {
      const names = r.names.map((n) => utf8.encode(`${n}\0`));
      const out = new Uint8Array(r.address.length + names.reduce((s, n) => s + n.length, 0));
      out.set(r.address, 0);
      let p = r.address.length;
      for (const n of names) {
        out.set(n, p);
        p += n.length;
      }
      return out;
    });
    let size = 4; // nrb_record_end
    for (const v of values) size += 4 + pad4(v.length);
    const body = new Uint8Array(size + pad4(encodeOptions(BT_NRB, options, this.le).length));
    const view = new DataView(body.buffer);
    let p = 0;
    records.forEach((r, i) => {
      view.setUint16(p, r.type, this.le);
      view.setUint16(p + 2, values[i]!.length, this.le);
      body.set(values[i]!, p + 4);
      p += 4 + pad4(values[i]!.length);
    });
    body.set(encodeOptions(BT_NRB, options, this.le), size);
    this.writeBlock(BT_NRB, body, 0, body.length);
  }

  /**
   * Writes any block from its body (the bytes between the two length fields, in the section's byte order), e.g.
   * an unknown block read from another file. The body is padded to 32 bits.
   */
  writeBlock(type: number, body: Uint8Array, offset = 0, length = body.length): void {
    if (type === BT_SHB) throw new RangeError('use writeSection for a Section Header Block');
    const padded = pad4(length);
    const total = 12 + padded;
    const sink = this.sink;
    const at = sink.reserve(8);
    sink.view.setUint32(at, type >>> 0, this.le);
    sink.view.setUint32(at + 4, total, this.le);
    sink.write(body, offset, length);
    this.tail(padded - length, undefined, 0, 0, 0, total);
  }

  /** Flushes buffered bytes. */
  flush(): void {
    this.sink.flush();
  }

  /** Flushes and closes the sink. */
  close(): void {
    this.sink.close();
  }

  /**
   * Non-packet blocks are rare and may be larger than the sink buffer: each is built in its own array
   * (`block`) and written whole by {@link finishWithOptions}.
   */
  private block = new Uint8Array(0);
  private blockView = new DataView(this.block.buffer);

  private begin(type: number, total: number): number {
    this.block = new Uint8Array(total);
    this.blockView = new DataView(this.block.buffer);
    this.blockView.setUint32(0, type, this.le);
    this.blockView.setUint32(4, total, this.le);
    return 0;
  }

  private finishWithOptions(at: number, optionsAt: number, opts: Uint8Array): void {
    this.block.set(opts, at + optionsAt);
    const total = this.block.length;
    this.blockView.setUint32(total - 4, total, this.le);
    this.sink.write(this.block, 0, total);
  }

  private tail(
    pad: number,
    options: Uint8Array | undefined,
    optionsOffset: number,
    optionsLength: number,
    optLen: number,
    total: number,
  ): void {
    const sink = this.sink;
    let at = sink.reserve(pad);
    for (let i = 0; i < pad; i++) sink.buf[at + i] = 0;
    if (options !== undefined && optionsLength > 0) {
      sink.write(options, optionsOffset, optionsLength);
      at = sink.reserve(optLen - optionsLength);
      for (let i = optionsLength; i < optLen; i++) sink.buf[at + i - optionsLength] = 0;
    }
    at = sink.reserve(4);
    sink.view.setUint32(at, total, this.le);
  }
}

function walkOptions(
  opts: Uint8Array,
  le: boolean,
  visit: (code: number, view: DataView, valueAt: number, length: number) => void,
): void {
  const view = new DataView(opts.buffer, opts.byteOffset, opts.byteLength);
  let p = 0;
  while (p + 4 <= opts.length) {
    const code = view.getUint16(p, le);
    const len = view.getUint16(p + 2, le);
    if (code === 0 || p + 4 + len > opts.length) return;
    visit(code, view, p + 4, len);
    p += 4 + pad4(len);
  }
}
