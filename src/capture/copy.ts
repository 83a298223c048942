/** Copying a capture record by record into a new file of the same format (the round trip). */
import type { CaptureFormatError } from './errors.js';
import { PcapReader } from './pcap-reader.js';
import { PcapWriter } from './pcap-writer.js';
import type { PcapngBlock } from './pcapng-blocks.js';
import { BT_EPB, BT_IDB, BT_PB, BT_SHB, BT_SPB } from './pcapng-format.js';
import { PcapngReader } from './pcapng-reader.js';
import { PcapngWriter } from './pcapng-writer.js';
import { type CaptureInput, openCapture } from './reader.js';
import type { ByteSink } from './sink.js';

/** Result of {@link copyCapture}. */
export interface CopyResult {
  /** Packets copied. */
  packets: number;
  /** The error that ended the input early, or null. */
  error: CaptureFormatError | null;
}

/**
 * Reads `input` and writes every block and packet to `sink` in the same format, byte order, resolution and link
 * types: timestamps are written as stored, pcapng options and unknown blocks are carried over, an obsolete PB
 * becomes an EPB. Stops at a malformed record (what was read before it is written) and returns the error.
 * A malformed header throws.
 */
export function copyCapture(input: CaptureInput, sink: ByteSink, chunk?: Uint8Array): CopyResult {
  let ngWriter: PcapngWriter | null = null;
  const onBlock = (b: PcapngBlock): void => {
    const w = ngWriter!;
    if (b.type === BT_SHB) w.writeSection({ bigEndian: b.bigEndian, rawOptions: b.body.subarray(16) });
    else if (b.type === BT_IDB && b.kind === 'idb') {
      w.writeInterface({ linkType: b.linkType, snaplen: b.snaplen, rawOptions: b.body.subarray(8) });
    } else w.writeBlock(b.type, b.body);
  };
  const reader = openCapture(input, chunk === undefined ? { onBlock } : { chunk, onBlock });
  let error: CaptureFormatError | null = null;
  try {
    if (reader instanceof PcapReader) {
      const h = reader.header;
      const w = new PcapWriter(sink, {
        linkType: h.linkTypeField,
        snaplen: h.snaplen,
        nanoseconds: h.nanoseconds,
        bigEndian: h.bigEndian,
        thiszone: h.thiszone,
        sigfigs: h.sigfigs,
      });
      try {
        for (let r = reader.next(); r !== null; r = reader.next()) {
          w.writeRecord(r.tsHigh, r.tsLow, r.data, r.offset, r.caplen, r.origlen);
        }
      } catch (e) {
        error = e as CaptureFormatError;
      }
    } else if (reader instanceof PcapngReader) {
      ngWriter = new PcapngWriter(sink);
      try {
        for (let r = reader.next(); r !== null; r = reader.next()) {
          if (r.blockType === BT_EPB || r.blockType === BT_PB) {
            ngWriter.writeEnhancedPacket(
              r.interfaceId,
              r.tsHigh,
              r.tsLow,
              r.data,
              r.offset,
              r.caplen,
              r.origlen,
              r.data,
              r.optionsOffset,
              r.optionsLength,
            );
          } else if (r.blockType === BT_SPB) ngWriter.writeSimplePacket(r.data, r.offset, r.caplen, r.origlen);
        }
      } catch (e) {
        error = e as CaptureFormatError;
      }
    }
    if (error !== null && error.name !== 'CaptureFormatError') throw error;
    sink.flush();
    return { packets: reader.packetsRead, error };
  } finally {
    reader.close();
  }
}
