/**
 * Streaming reader of pcapng files: any number of sections (each with its own byte order) and interfaces;
 * EPB, SPB and the obsolete PB yield packets; SHB, IDB, NRB, ISB and unknown blocks are decoded (or kept
 * opaque) and reported through `onBlock`, never fatal.
 */
import { ChunkWindow, DEFAULT_CHUNK_SIZE } from './chunk.js';
import { CaptureFormatError, MISSING } from './errors.js';
import { MAX_CAPLEN, type ReaderOptions } from './limits.js';
import type {
  InterfaceDescription,
  InterfaceStatistics,
  NameRecord,
  NameResolution,
  PcapngBlock,
  SectionHeader,
} from './pcapng-blocks.js';
import {
  BT_EPB,
  BT_IDB,
  BT_ISB,
  BT_NRB,
  BT_PB,
  BT_SHB,
  BT_SPB,
  BYTE_ORDER_MAGIC,
  blockTypeName,
  IF_FCSLEN,
  IF_NAME,
  IF_TSOFFSET,
  IF_TSRESOL,
  PCAPNG_VERSION_MAJOR,
} from './pcapng-format.js';
import { checkOptions, decodeOptions, pad4 } from './pcapng-options.js';
import { CaptureRecord } from './record.js';
import type { ByteSource } from './source.js';
import { setTimestamp, unitsPerSecondOf } from './timestamp.js';

/** Options of {@link PcapngReader}. */
export interface PcapngReaderOptions extends ReaderOptions {
  /** Called with every non-packet block, in file order, before the packet that follows it is returned. */
  onBlock?: (block: PcapngBlock) => void;
}

const utf8 = new TextDecoder('utf-8');

/** Reads the packets of a pcapng file one at a time into a reusable {@link CaptureRecord}. */
export class PcapngReader {
  /** The record returned by {@link next} (the same object every time). */
  readonly record = new CaptureRecord();
  /** Packets returned so far. */
  packetsRead = 0;
  /** Sections seen so far. */
  readonly sections: SectionHeader[] = [];
  /** Interfaces of the current section. */
  interfaces: InterfaceDescription[] = [];
  private readonly window: ChunkWindow;
  private readonly maxCaplen: number;
  private readonly onBlock: ((block: PcapngBlock) => void) | undefined;
  private le = true;
  private failed: CaptureFormatError | null = null;

  /** Reads the first Section Header Block; throws {@link CaptureFormatError} when there is none. */
  constructor(source: ByteSource, options: PcapngReaderOptions = {}) {
    const chunk = options.chunk ?? new Uint8Array(DEFAULT_CHUNK_SIZE);
    this.window = new ChunkWindow(source, chunk);
    this.maxCaplen = Math.min(options.maxCaplen ?? MAX_CAPLEN, chunk.length - 32);
    this.onBlock = options.onBlock;
    this.record.data = chunk;
    const w = this.window;
    if (!w.ensure(4)) throw new CaptureFormatError(0, 'block_type', MISSING, 'file shorter than a block type');
    const type = w.view.getUint32(0, true);
    if (type !== BT_SHB) throw new CaptureFormatError(0, 'block_type', type, 'a pcapng file starts with an SHB');
  }

  /** Byte order of the current section. */
  get bigEndian(): boolean {
    return !this.le;
  }

  /**
   * The next packet, or null at the end of the file. Throws {@link CaptureFormatError} (with `packetsRead`)
   * at a malformed block; every packet before it has been returned.
   */
  next(): CaptureRecord | null {
    if (this.failed) throw this.failed;
    try {
      return this.nextPacket();
    } catch (e) {
      if (e instanceof CaptureFormatError) {
        e.packetsRead = this.packetsRead;
        this.failed = e;
      }
      throw e;
    }
  }

  private nextPacket(): CaptureRecord | null {
    const w = this.window;
    for (;;) {
      if (!w.ensure(8)) {
        if (w.available === 0) return null;
        throw new CaptureFormatError(w.fileOffset, 'block_header', w.available, 'file ends inside a block header');
      }
      let v = w.view;
      let p = w.pos;
      const type = v.getUint32(p, this.le);
      if (type === BT_SHB) this.readByteOrder();
      p = w.pos;
      const length = v.getUint32(p + 4, this.le);
      const at = w.fileOffset;
      if (length < 12 || (type === BT_SHB && length < 28)) {
        throw new CaptureFormatError(at + 4, 'block_total_length', length, `too short for a ${blockTypeName(type)}`);
      }
      if (length % 4 !== 0) {
        throw new CaptureFormatError(at + 4, 'block_total_length', length, 'not a multiple of 4');
      }
      if (length > w.buf.length) {
        throw new CaptureFormatError(at + 4, 'block_total_length', length, 'block larger than the read window');
      }
      if (!w.ensure(length)) {
        throw new CaptureFormatError(at + 4, 'block_total_length', length, 'file ends inside the block');
      }
      v = w.view;
      p = w.pos;
      const trailer = v.getUint32(p + length - 4, this.le);
      if (trailer !== length) {
        throw new CaptureFormatError(at + length - 4, 'block_total_length_trailer', trailer, `differs from ${length}`);
      }
      w.pos = p + length; // the block stays in the window until the next read
      switch (type) {
        case BT_EPB:
          return this.enhancedPacket(p, length, at);
        case BT_SPB:
          return this.simplePacket(p, length, at);
        case BT_PB:
          return this.obsoletePacket(p, length, at);
        case BT_SHB:
          this.sectionHeader(p, length, at);
          break;
        case BT_IDB:
          this.interfaceDescription(p, length, at);
          break;
        default:
          this.otherBlock(type, p, length, at);
      }
    }
  }

  private readByteOrder(): void {
    const w = this.window;
    if (!w.ensure(12)) {
      throw new CaptureFormatError(w.fileOffset + 8, 'byte_order_magic', MISSING, 'file ends inside an SHB');
    }
    const bom = w.view.getUint32(w.pos + 8, true);
    if (bom === BYTE_ORDER_MAGIC) this.le = true;
    else if (bom === 0x4d3c2b1a) this.le = false;
    else throw new CaptureFormatError(w.fileOffset + 8, 'byte_order_magic', bom, 'not 0x1A2B3C4D in either order');
  }

  private interfaceOf(id: number, at: number): InterfaceDescription {
    const iface = this.interfaces[id];
    if (iface === undefined) {
      throw new CaptureFormatError(at, 'interface_id', id, `no such interface (${this.interfaces.length} described)`);
    }
    return iface;
  }

  private packetData(p: number, dataAt: number, length: number, caplen: number, at: number): void {
    if (caplen > this.maxCaplen) {
      throw new CaptureFormatError(at, 'captured_packet_length', caplen, `above the limit of ${this.maxCaplen}`);
    }
    if (dataAt + pad4(caplen) > length - 4) {
      throw new CaptureFormatError(at, 'captured_packet_length', caplen, 'runs past the end of its block');
    }
    const r = this.record;
    r.offset = p + dataAt;
    r.caplen = caplen;
    r.optionsOffset = p + dataAt + pad4(caplen);
    r.optionsLength = length - 4 - dataAt - pad4(caplen);
    r.bigEndian = !this.le;
    if (r.optionsLength > 0) {
      checkOptions(this.window.view, r.optionsOffset, r.optionsOffset + r.optionsLength, this.le, this.window.base);
    }
  }

  private enhancedPacket(p: number, length: number, at: number): CaptureRecord {
    if (length < 32) throw new CaptureFormatError(at + 4, 'block_total_length', length, 'too short for an EPB');
    return this.timestampedPacket(p, length, at, this.window.view.getUint32(p + 8, this.le), BT_EPB);
  }

  /** The obsolete Packet Block: an EPB but for a 16-bit interface id followed by a 16-bit drops count. */
  private obsoletePacket(p: number, length: number, at: number): CaptureRecord {
    if (length < 32) throw new CaptureFormatError(at + 4, 'block_total_length', length, 'too short for a PB');
    return this.timestampedPacket(p, length, at, this.window.view.getUint16(p + 8, this.le), BT_PB);
  }

  /** The body EPB and PB share: timestamp at +12, captured length at +20, original length at +24, data at +28. */
  private timestampedPacket(p: number, length: number, at: number, id: number, blockType: number): CaptureRecord {
    const v = this.window.view;
    const le = this.le;
    const iface = this.interfaceOf(id, at + 8);
    const r = this.record;
    this.packetData(p, 28, length, v.getUint32(p + 20, le), at + 20);
    r.origlen = v.getUint32(p + 24, le);
    r.tsHigh = v.getUint32(p + 12, le);
    r.tsLow = v.getUint32(p + 16, le);
    setTimestamp(r, r.tsHigh, r.tsLow, iface.unitsPerSecond, iface.tsOffset);
    return this.finish(id, iface, blockType, at);
  }

  private simplePacket(p: number, length: number, at: number): CaptureRecord {
    const v = this.window.view;
    if (length < 16) throw new CaptureFormatError(at + 4, 'block_total_length', length, 'too short for an SPB');
    const iface = this.interfaceOf(0, at);
    const r = this.record;
    const origlen = v.getUint32(p + 8, this.le);
    // The captured length is not stored: it is the original length cut to the snap length and to the block.
    let caplen = Math.min(origlen, length - 16);
    if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    this.packetData(p, 12, length, caplen, at + 8);
    r.optionsLength = 0;
    r.origlen = origlen;
    r.tsHigh = 0;
    r.tsLow = 0;
    r.seconds = 0;
    r.nanoseconds = 0;
    return this.finish(0, iface, BT_SPB, at);
  }

  private finish(id: number, iface: InterfaceDescription, blockType: number, at: number): CaptureRecord {
    const r = this.record;
    r.interfaceId = id;
    r.linkType = iface.linkType;
    r.blockType = blockType;
    r.fileOffset = at;
    r.number = ++this.packetsRead;
    return r;
  }

  private base(type: number, p: number, length: number, at: number) {
    return {
      type,
      fileOffset: at,
      bigEndian: !this.le,
      body: this.window.buf.slice(p + 8, p + length - 4),
    };
  }

  private sectionHeader(p: number, length: number, at: number): void {
    const v = this.window.view;
    const le = this.le;
    const versionMajor = v.getUint16(p + 12, le);
    const versionMinor = v.getUint16(p + 14, le);
    // Decided as libpcap does: versions 1.0 and 1.2 are read, any other is refused.
    if (versionMajor !== PCAPNG_VERSION_MAJOR) {
      throw new CaptureFormatError(at + 12, 'major_version', versionMajor, 'unsupported pcapng version (1 expected)');
    }
    if (versionMinor !== 0 && versionMinor !== 2) {
      throw new CaptureFormatError(at + 14, 'minor_version', versionMinor, 'unsupported pcapng minor version');
    }
    const shb: SectionHeader = {
      kind: 'shb',
      ...this.base(BT_SHB, p, length, at),
      versionMajor,
      versionMinor,
      sectionLength: v.getBigInt64(p + 16, le),
      options: decodeOptions(BT_SHB, v, p + 24, p + length - 4, le, this.window.base),
    };
    this.sections.push(shb);
    this.interfaces = [];
    this.onBlock?.(shb);
  }

  private interfaceDescription(p: number, length: number, at: number): void {
    const v = this.window.view;
    const le = this.le;
    if (length < 20) throw new CaptureFormatError(at + 4, 'block_total_length', length, 'too short for an IDB');
    const options = decodeOptions(BT_IDB, v, p + 16, p + length - 4, le, this.window.base);
    let unitsPerSecond = 1e6;
    let tsOffset = 0;
    let fcsLength = -1;
    let name = '';
    for (const o of options) {
      if (o.code === IF_TSRESOL && typeof o.value === 'number') {
        unitsPerSecond = unitsPerSecondOf(o.value);
        if (unitsPerSecond === 0) {
          throw new CaptureFormatError(at, 'if_tsresol', o.value, 'timestamp resolution finer than supported');
        }
      } else if (o.code === IF_TSOFFSET && typeof o.value === 'bigint') tsOffset = Number(o.value);
      else if (o.code === IF_FCSLEN && typeof o.value === 'number') fcsLength = o.value;
      else if (o.code === IF_NAME && typeof o.value === 'string') name = o.value;
    }
    const idb: InterfaceDescription = {
      kind: 'idb',
      ...this.base(BT_IDB, p, length, at),
      interfaceId: this.interfaces.length,
      linkType: v.getUint16(p + 8, le),
      snaplen: v.getUint32(p + 12, le),
      unitsPerSecond,
      tsOffset,
      fcsLength,
      name,
      options,
    };
    this.interfaces.push(idb);
    this.onBlock?.(idb);
  }

  private otherBlock(type: number, p: number, length: number, at: number): void {
    if (this.onBlock === undefined) return; // nothing asked for it: skip without decoding
    const v = this.window.view;
    const le = this.le;
    const end = p + length - 4;
    if (type === BT_NRB) {
      const records: NameRecord[] = [];
      let q = p + 8;
      for (;;) {
        if (q + 4 > end) throw new CaptureFormatError(this.window.base + q, 'nrb_record', MISSING, 'no nrb_record_end');
        const rt = v.getUint16(q, le);
        const rl = v.getUint16(q + 2, le);
        if (q + 4 + rl > end) {
          throw new CaptureFormatError(this.window.base + q + 2, 'nrb_record_length', rl, 'runs past its block');
        }
        if (rt === 0) {
          q += 4;
          break;
        }
        records.push(nameRecord(rt, this.window.buf.slice(q + 4, q + 4 + rl)));
        q += 4 + pad4(rl);
      }
      const nrb: NameResolution = {
        kind: 'nrb',
        ...this.base(type, p, length, at),
        records,
        options: decodeOptions(BT_NRB, v, q, end, le, this.window.base),
      };
      this.onBlock(nrb);
    } else if (type === BT_ISB && length >= 24) {
      const isb: InterfaceStatistics = {
        kind: 'isb',
        ...this.base(type, p, length, at),
        interfaceId: v.getUint32(p + 8, le),
        tsHigh: v.getUint32(p + 12, le),
        tsLow: v.getUint32(p + 16, le),
        options: decodeOptions(BT_ISB, v, p + 20, end, le, this.window.base),
      };
      this.onBlock(isb);
    } else {
      this.onBlock({ kind: 'other', ...this.base(type, p, length, at) });
    }
  }

  /** Closes the file. */
  close(): void {
    this.window.close();
  }
}

function nameRecord(type: number, raw: Uint8Array): NameRecord {
  const size = type === 1 ? 4 : type === 2 ? 16 : 0;
  let address = '';
  if (size > 0 && raw.length >= size) {
    if (type === 1) address = Array.from(raw.subarray(0, 4)).join('.');
    else {
      const words: string[] = [];
      for (let i = 0; i < 16; i += 2) words.push(((raw[i]! << 8) | raw[i + 1]!).toString(16));
      address = words.join(':');
    }
  }
  const names =
    size > 0
      ? utf8
          .decode(raw.subarray(size))
          .split('\0')
          .filter((n) => n.length > 0)
      : [];
  return { type, address, names, raw };
}
