/** Where capture writers put their bytes: a file written through one reusable buffer, or memory. */
import { closeSync, openSync, writeSync } from 'node:fs';
import { memory, moveWithinArena } from '../kernel/arena.js';

/** A byte sink that writers fill through a reusable buffer. */
export interface ByteSink {
  /** The buffer to write into; valid from {@link reserve}'s result for the reserved length. */
  readonly buf: Uint8Array;
  /** A DataView over {@link buf}. */
  readonly view: DataView;
  /** Makes room for `n` bytes (n at most the buffer size) and returns the index in `buf` to write them at. */
  reserve(n: number): number;
  /** Appends `length` bytes of `bytes` from `offset` (any length; large ones bypass the buffer). */
  write(bytes: Uint8Array, offset: number, length: number): void;
  /** Writes out what is buffered. */
  flush(): void;
  /** Flushes and releases. */
  close(): void;
}

let lastSrc: Uint8Array | null = null;
let lastDst: Uint8Array | null = null;
/** Where `lastDst` starts in `lastSrc` when both lie in one ArrayBuffer (and it starts inside), else -1. */
let lastDelta = -1;
/** Where `lastDst` and `lastSrc` start in kernel memory when both lie in it (`lastDstInArena` -1 otherwise). */
let lastDstInArena = -1;
let lastSrcInArena = 0;
/** Whether `lastDst` and `lastSrc` share an ArrayBuffer (their ranges may then overlap). */
let lastSameBuffer = false;

/**
 * Copies `length` bytes of `src` from `offset` to `dst` at `at`. When both lie in kernel memory (a sink buffer in
 * kernel pool, written from a frame in kernel memory: the host's output, once per frame) it is one arena move,
 * the cheapest copy there is for a small frame; when both lie in one other ArrayBuffer and `src` spans the
 * destination, one copyWithin; otherwise small copies use a loop, so that no subarray object is made per packet.
 * Overlapping ranges (views of one buffer) are copied as memmove copies them.
 */
export function copyInto(dst: Uint8Array, at: number, src: Uint8Array, offset: number, length: number): void {
  // The `buffer` getter is slow: the answer for the last pair of arrays is kept (a writer copies from one source
  // into one buffer, packet after packet).
  if (src !== lastSrc || dst !== lastDst) {
    lastSrc = src;
    lastDst = dst;
    lastSameBuffer = src.buffer === dst.buffer;
    lastDelta = lastSameBuffer ? dst.byteOffset - src.byteOffset : -1;
    const arena = src.buffer === memory.buffer && dst.buffer === memory.buffer;
    lastDstInArena = arena ? dst.byteOffset : -1;
    lastSrcInArena = src.byteOffset;
  }
  // Both ranges are checked against their arrays (the arena move, like copyWithin, does not know the arrays).
  if (
    lastDstInArena >= 0 &&
    at + length <= dst.length &&
    offset + length <= src.length &&
    (at | offset | length) >= 0
  ) {
    moveWithinArena(lastDstInArena + at, lastSrcInArena + offset, length);
    return;
  }
  if (lastDelta >= 0) {
    const to = lastDelta + at;
    if (to + length <= src.length) {
      src.copyWithin(to, offset, offset + length);
      return;
    }
  }
  // Views of one buffer may overlap: set() copies as memmove does; the byte loop would smear forward.
  if (length <= 128 && !lastSameBuffer) {
    for (let i = 0; i < length; i++) dst[at + i] = src[offset + i]!;
  } else {
    dst.set(src.subarray(offset, offset + length), at);
  }
}

/** Default buffer size of {@link FileSink}: 1 MiB. */
export const DEFAULT_SINK_BUFFER = 1 << 20;

abstract class BufferedSink implements ByteSink {
  readonly buf: Uint8Array;
  readonly view: DataView;
  protected used = 0;
  /** The buffer's length (fixed), kept as a number: {@link reserve} runs once per record written. */
  private readonly size: number;

  /** A sink with a buffer of `buffer` bytes, or the caller's buffer (e.g. a view of kernel pool). */
  constructor(buffer: number | Uint8Array) {
    this.buf = typeof buffer === 'number' ? new Uint8Array(buffer) : buffer;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.size = this.buf.length;
  }

  protected abstract emit(bytes: Uint8Array, offset: number, length: number): void;

  reserve(n: number): number {
    if (this.used + n > this.size) this.flush();
    const at = this.used;
    this.used += n;
    return at;
  }

  write(bytes: Uint8Array, offset: number, length: number): void {
    if (this.used + length <= this.buf.length) {
      copyInto(this.buf, this.used, bytes, offset, length);
      this.used += length;
      return;
    }
    this.flush();
    if (length >= this.buf.length) this.emit(bytes, offset, length);
    else {
      this.buf.set(bytes.subarray(offset, offset + length), 0);
      this.used = length;
    }
  }

  flush(): void {
    if (this.used > 0) this.emit(this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
  }
}

/** A file written with `fs.writeSync` in buffer-sized pieces. */
export class FileSink extends BufferedSink {
  private fd: number;

  /**
   * Creates (or truncates) `path`, written through a buffer of `buffer` bytes or through the caller's buffer (which
   * must stay valid until {@link close}).
   */
  constructor(path: string, buffer: number | Uint8Array = DEFAULT_SINK_BUFFER) {
    super(buffer);
    this.fd = openSync(path, 'w');
  }

  protected emit(bytes: Uint8Array, offset: number, length: number): void {
    let done = 0;
    while (done < length) done += writeSync(this.fd, bytes, offset + done, length - done);
  }

  /** Flushes and closes the file. */
  override close(): void {
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Collects the bytes in memory; {@link bytes} returns them. */
export class MemorySink extends BufferedSink {
  private readonly parts: Uint8Array[] = [];

  /** A sink with a small buffer (tests). */
  constructor(bufferSize = 64 * 1024) {
    super(bufferSize);
  }

  protected emit(bytes: Uint8Array, offset: number, length: number): void {
    this.parts.push(bytes.slice(offset, offset + length));
  }

  /** Everything written so far (flushes). */
  bytes(): Uint8Array {
    this.flush();
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
