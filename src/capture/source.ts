/** Where a capture reader gets its bytes: a file read with `fs.readSync`, or bytes already in memory. */
import { closeSync, openSync, readSync } from 'node:fs';

/** A readable byte stream with random-access reads. */
export interface ByteSource {
  /**
   * Copies up to `length` bytes from file position `position` into `into[at..]`; returns how many were read
   * (0 at the end).
   */
  read(into: Uint8Array, at: number, length: number, position: number): number;
  /** Releases the source. */
  close(): void;
}

/** A file read with `fs.readSync` straight into the caller's buffer (no intermediate copy). */
export class FileSource implements ByteSource {
  private fd: number;

  /** Opens `path` for reading. */
  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** See {@link ByteSource.read}. */
  read(into: Uint8Array, at: number, length: number, position: number): number {
    if (this.fd < 0) return 0;
    let total = 0;
    // readSync may return fewer bytes than asked before the end of the file (pipes, network file systems).
    while (total < length) {
      const n = readSync(this.fd, into, at + total, length - total, position + total);
      if (n === 0) break;
      total += n;
    }
    return total;
  }

  /** Closes the file descriptor; reads after this return 0. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Bytes already in memory (tests, fuzzing, captures received from elsewhere). */
export class MemorySource implements ByteSource {
  /** Reads from `bytes`. */
  constructor(private readonly bytes: Uint8Array) {}

  /** See {@link ByteSource.read}. */
  read(into: Uint8Array, at: number, length: number, position: number): number {
    if (position >= this.bytes.length) return 0;
    const n = Math.min(length, this.bytes.length - position);
    into.set(this.bytes.subarray(position, position + n), at);
    return n;
  }

  /** Nothing to release. */
  close(): void {}
}
