/** One writer for either format, for tools and the host: pick pcap or pcapng, then write frames. */
import { LINKTYPE_ETHERNET } from './linktype.js';
import { PcapWriter } from './pcap-writer.js';
import { IF_NAME, IF_TSRESOL } from './pcapng-format.js';
import type { OptionInput } from './pcapng-options.js';
import { PcapngWriter } from './pcapng-writer.js';
import { type ByteSink, FileSink } from './sink.js';

/** How {@link CaptureWriter} writes. */
export interface CaptureWriterOptions {
  /** File format (default pcap). */
  format?: 'pcap' | 'pcapng';
  /** Link type of the frames (default Ethernet). */
  linkType?: number;
  /** Snapshot length (default 262144). */
  snaplen?: number;
  /** Nanosecond timestamps (default microseconds). */
  nanoseconds?: boolean;
  /** Big-endian file (default little-endian). */
  bigEndian?: boolean;
  /** pcapng only: the interface name (if_name). */
  interfaceName?: string;
}

/** Writes frames to a pcap or pcapng stream with one interface; no allocation per frame. */
export class CaptureWriter {
  private readonly pcap: PcapWriter | null;
  private readonly pcapng: PcapngWriter | null;

  /** Creates (or truncates) `path` and writes the file header. */
  static create(path: string, options: CaptureWriterOptions = {}): CaptureWriter {
    return new CaptureWriter(new FileSink(path), options);
  }

  /** Writes the file header to `sink`. */
  constructor(sink: ByteSink, options: CaptureWriterOptions = {}) {
    const linkType = options.linkType ?? LINKTYPE_ETHERNET;
    const snaplen = options.snaplen ?? 262144;
    if ((options.format ?? 'pcap') === 'pcap') {
      this.pcapng = null;
      this.pcap = new PcapWriter(sink, {
        linkType,
        snaplen,
        nanoseconds: options.nanoseconds ?? false,
        bigEndian: options.bigEndian ?? false,
      });
    } else {
      this.pcap = null;
      this.pcapng = new PcapngWriter(sink);
      this.pcapng.writeSection({ bigEndian: options.bigEndian ?? false });
      const ifOptions: OptionInput[] = [];
      if (options.interfaceName !== undefined) ifOptions.push({ code: IF_NAME, value: options.interfaceName });
      if (options.nanoseconds) ifOptions.push({ code: IF_TSRESOL, value: 9 });
      this.pcapng.writeInterface({ linkType, snaplen, options: ifOptions });
    }
  }

  /** Packets written. */
  get packetsWritten(): number {
    return this.pcap?.packetsWritten ?? this.pcapng!.packetsWritten;
  }

  /**
   * Writes `length` bytes of `data` from `offset` with a timestamp; `origlen` (the length on the wire) defaults
   * to `length`.
   */
  writeFrame(
    seconds: number,
    nanoseconds: number,
    data: Uint8Array,
    offset: number,
    length: number,
    origlen: number = length,
  ): void {
    if (this.pcap) this.pcap.writePacket(seconds, nanoseconds, data, offset, length, origlen);
    else this.pcapng!.writePacket(0, seconds, nanoseconds, data, offset, length, origlen);
  }

  /** Writes a whole Uint8Array as one frame. */
  write(data: Uint8Array, time: { seconds?: number; nanoseconds?: number; origlen?: number } = {}): void {
    this.writeFrame(time.seconds ?? 0, time.nanoseconds ?? 0, data, 0, data.length, time.origlen ?? data.length);
  }

  /** Flushes buffered bytes. */
  flush(): void {
    (this.pcap ?? this.pcapng!).flush();
  }

  /** Flushes and closes. */
  close(): void {
    (this.pcap ?? this.pcapng!).close();
  }
}
