/** Typed errors of the capture layer. */

/**
 * A capture file that breaks its format. `offset` is the byte offset in the file where the bad field sits,
 * `field` names it (after the pcap / pcapng specifications: `magic`, `incl_len`, `block_total_length`, ...),
 * `value` is what was found there, and `packetsRead` counts the packets that were read (and returned) before it.
 */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  /** Byte offset in the file of the bad field. */
  readonly offset: number;
  /** Name of the bad field. */
  readonly field: string;
  /** The value found (a number, or -1 when the field is missing because the file ends). */
  readonly value: number;
  /** Packets read before the error (all of them were returned to the caller). */
  packetsRead: number;

  /** Makes the error; `problem` says what is wrong with the field. */
  constructor(offset: number, field: string, value: number, problem: string, packetsRead = 0) {
    super(`${field} = ${value} at file offset ${offset}: ${problem}`);
    this.offset = offset;
    this.field = field;
    this.value = value;
    this.packetsRead = packetsRead;
  }
}

/** Value reported in `CaptureFormatError.value` when the file ends before the field. */
export const MISSING = -1;
