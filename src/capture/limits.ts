/** Limits that keep a reader's memory bounded whatever lengths a (possibly malformed) file claims. */

/**
 * Largest packet a reader accepts by default: 262 144 bytes, the maximum snapshot length of libpcap and of
 * Wireshark's reader for the ordinary link types. A larger captured length is reported as an error, not
 * allocated.
 */
export const MAX_CAPLEN = 262_144;

/** Options every capture reader takes. */
export interface ReaderOptions {
  /**
   * The window the file is read into (the host passes a `bytesAt` view of a pool allocation so frames land in
   * kernel memory with no further copy). Default: a new 4 MiB buffer. It must hold the largest record.
   */
  chunk?: Uint8Array;
  /** Largest captured length accepted (default {@link MAX_CAPLEN}). */
  maxCaplen?: number;
}
