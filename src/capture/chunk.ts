/**
 * The streaming window over a capture file: a caller-supplied Uint8Array that the file is read into in large
 * pieces. Records are parsed where they lie in it; a record that straddles the end of the window is moved, with
 * what follows it, to the start of the window before more of the file is read in behind it. Memory stays bounded
 * by the window, however big the file.
 */
import type { ByteSource } from './source.js';

/** Default window size when the caller supplies none: 4 MiB. */
export const DEFAULT_CHUNK_SIZE = 4 << 20;

/** Smallest window accepted: room for a file header and a few small records. */
export const MIN_CHUNK_SIZE = 128;

/** A sliding window over a {@link ByteSource}. */
export class ChunkWindow {
  /** The window buffer. */
  readonly buf: Uint8Array;
  /** A view for multi-byte fields (one per window, made once). */
  readonly view: DataView;
  /** Index in `buf` of the first unconsumed byte. */
  pos = 0;
  /** Index in `buf` one past the last valid byte. */
  end = 0;
  /** File offset of `buf[0]`. */
  base = 0;
  private eof = false;

  /** Reads `source` through `buf`. */
  constructor(
    private readonly source: ByteSource,
    buf: Uint8Array,
  ) {
    if (buf.length < MIN_CHUNK_SIZE) {
      throw new RangeError(`a capture window of ${buf.length} bytes is below the minimum of ${MIN_CHUNK_SIZE}`);
    }
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** File offset of the byte at `pos`. */
  get fileOffset(): number {
    return this.base + this.pos;
  }

  /** Bytes available from `pos` without reading. */
  get available(): number {
    return this.end - this.pos;
  }

  /**
   * Makes `n` bytes available from `pos` (n must not exceed the window size). Returns false when the file ends
   * first; `available` then tells how many there are.
   */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.eof) return false;
    const buf = this.buf;
    if (this.pos > 0) {
      // Move the unconsumed tail to the start of the window.
      buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end < n) {
      const got = this.source.read(buf, this.end, buf.length - this.end, this.base + this.end);
      if (got === 0) {
        this.eof = true;
        return false;
      }
      this.end += got;
    }
    return true;
  }

  /** True when every byte of the file has been consumed. */
  atEnd(): boolean {
    return !this.ensure(1);
  }

  /** Closes the source. */
  close(): void {
    this.source.close();
  }
}
