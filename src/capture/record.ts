/** The reusable packet record that capture readers fill for each packet. */

/** Capture file formats. */
export type CaptureFormat = 'pcap' | 'pcapng';

/**
 * One packet of a capture, as a view into the reader's chunk buffer. The reader fills and returns the SAME
 * object for every packet (no allocation per packet); its fields, and the bytes at `data[offset..offset+caplen)`,
 * are valid until the next call to `next()`.
 */
export class CaptureRecord {
  /** The reader's chunk buffer; the frame is `data.subarray(offset, offset + caplen)`. */
  data: Uint8Array = new Uint8Array(0);
  /** Offset of the first frame byte in `data`. */
  offset = 0;
  /** Bytes captured (present in `data`). */
  caplen = 0;
  /** Length of the frame on the wire (may be more than `caplen` when the capture was cut at a snap length). */
  origlen = 0;
  /** Timestamp: whole seconds since 1970-01-01 UTC (pcapng `if_tsoffset` included). */
  seconds = 0;
  /** Timestamp: nanoseconds within the second, 0..999 999 999. */
  nanoseconds = 0;
  /**
   * The timestamp as stored in the file: pcap seconds / pcapng high 32 bits of the 64-bit timestamp. Writers
   * use it with {@link tsLow} to write the same value back without conversion.
   */
  tsHigh = 0;
  /** The timestamp as stored: pcap microseconds or nanoseconds / pcapng low 32 bits. */
  tsLow = 0;
  /** Interface index (pcapng; 0 for pcap). */
  interfaceId = 0;
  /** Link type of the frame's interface (LINKTYPE_*). */
  linkType = 0;
  /** pcapng block type the packet came from (6 EPB, 3 SPB, 2 PB), 0 for pcap. */
  blockType = 0;
  /** Offset in `data` of the raw options of the packet block (pcapng), and their length in bytes. */
  optionsOffset = 0;
  /** Length of the raw options (0 when none). */
  optionsLength = 0;
  /** Whether the options are in big-endian byte order (the section's order). */
  bigEndian = false;
  /** Byte offset in the file of the record header / block. */
  fileOffset = 0;
  /** Packet number, counting from 1. */
  number = 0;

  /** A copy of the frame bytes (allocates; for tools and tests). */
  copyBytes(): Uint8Array {
    return this.data.slice(this.offset, this.offset + this.caplen);
  }
}
