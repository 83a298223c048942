/**
 * The arena's store: WebAssembly memory whose `memory.copy` moves bytes within the arena exactly as copyWithin
 * does (overlapping ranges included), and the plain-ArrayBuffer fallback, which behaves the same.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { ARENA_RESERVE, memory, memory32, moveWithinArena } from '../../src/kernel/arena.js';
import { createArenaStore, SMALL_MOVE_MAX, SMALL_MOVE_MIN } from '../../src/kernel/arena-store.js';
import { resetSystem } from '../../src/kernel/system.js';

beforeEach(() => resetSystem());

/** A region of the arena no pool allocation uses in these tests (the top 1 MiB). */
const REGION = ARENA_RESERVE - (1 << 20);
const SPAN = 4096;

const moveArb = fc.record({
  to: fc.nat(SPAN - 1),
  from: fc.nat(SPAN - 1),
  length: fc.oneof(fc.nat(128), fc.nat(SPAN)),
  seed: fc.nat(),
});

describe('arena store', () => {
  it('the arena is WebAssembly memory here, and every view shares its bytes', () => {
    const store = createArenaStore(1 << 16);
    assert.equal(store.wasm, true);
    assert.equal(memory.buffer, memory32.buffer);
    assert.equal(memory.length, ARENA_RESERVE);
    memory32[REGION >> 2] = 0x04030201;
    assert.deepEqual(Array.from(memory.subarray(REGION, REGION + 4)), [1, 2, 3, 4]);
  });

  it('moveWithinArena moves bytes as copyWithin does, overlapping or not', () => {
    fc.assert(
      fc.property(moveArb, ({ to, from, length, seed }) => {
        const n = Math.min(length, SPAN - Math.max(to, from));
        const bytes = memory.subarray(REGION, REGION + 2 * SPAN);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (seed + i * 131) & 0xff;
        const want = bytes.slice();
        want.copyWithin(to, from, from + n);
        moveWithinArena(REGION + to, REGION + from, n);
        assert.deepEqual(bytes, want);
      }),
    );
  });

  it('a move out of the arena throws and changes nothing', () => {
    memory[ARENA_RESERVE - 1] = 7;
    assert.throws(() => moveWithinArena(ARENA_RESERVE - 1, 0, 2));
    assert.throws(() => moveWithinArena(0, ARENA_RESERVE - 1, 2));
    assert.equal(memory[ARENA_RESERVE - 1], 7);
  });

  /** memmove, byte by byte: what every move must do. */
  function referenceMove(bytes: Uint8Array, to: number, from: number, length: number): void {
    if (to < from) for (let i = 0; i < length; i++) bytes[to + i] = bytes[from + i]!;
    else for (let i = length - 1; i >= 0; i--) bytes[to + i] = bytes[from + i]!;
  }

  it('small moves (copied word by word inside the module) match a byte-wise memmove at any alignment and overlap', () => {
    const store = createArenaStore(1 << 16);
    assert.equal(store.wasm, true);
    const bytes = new Uint8Array(store.buffer);
    const span = 256;
    fc.assert(
      fc.property(
        fc.nat(span - 1),
        // Overlapping ranges are common: the destination is often within a frame's length of the source.
        fc.oneof(fc.integer({ min: -SMALL_MOVE_MAX - 8, max: SMALL_MOVE_MAX + 8 }), fc.nat(span - 1)),
        fc.oneof(fc.integer({ min: 0, max: SMALL_MOVE_MAX + 8 }), fc.nat(span)),
        fc.nat(),
        (from, delta, length, seed) => {
          const to = Math.min(Math.max(from + delta, 0), span);
          const n = Math.min(length, span - Math.max(to, from));
          const base = 1000;
          for (let i = 0; i < 2 * span + base; i++) bytes[i] = (seed + i * 131 + (i >> 3)) & 0xff;
          const want = bytes.slice(0, 2 * span + base);
          referenceMove(want, base + to, base + from, n);
          store.move(base + to, base + from, n);
          assert.deepEqual(bytes.subarray(0, 2 * span + base), want);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('every small length is copied exactly, at each alignment, and the bytes either side stay as they were', () => {
    const store = createArenaStore(1 << 16);
    const bytes = new Uint8Array(store.buffer);
    for (let length = 0; length <= SMALL_MOVE_MAX + 1; length++) {
      for (let align = 0; align < 8; align++) {
        for (let i = 0; i < 512; i++) bytes[i] = i & 0xff;
        const want = bytes.slice(0, 512);
        referenceMove(want, 300 + align, 17 + align, length);
        store.move(300 + align, 17 + align, length);
        assert.deepEqual(bytes.subarray(0, 512), want, `length ${length} alignment ${align}`);
      }
    }
  });

  it('a small move that would leave the memory throws and writes nothing', () => {
    const store = createArenaStore(1 << 16);
    const bytes = new Uint8Array(store.buffer);
    const size = bytes.length;
    fc.assert(
      fc.property(
        fc.integer({ min: SMALL_MOVE_MIN, max: SMALL_MOVE_MAX }),
        fc.integer({ min: 1, max: 8 }),
        (n, past) => {
          bytes.fill(0x5a, size - 1024);
          bytes.fill(0xa5, 0, 1024);
          // The destination runs `past` bytes beyond the end; then the source does.
          assert.throws(() => store.move(size - n + past, 0, n));
          assert.throws(() => store.move(0, size - n + past, n));
          assert.throws(() => store.move(-past, 100, n));
          assert.throws(() => store.move(100, -past, n));
          assert.ok(bytes.subarray(size - 1024).every((b) => b === 0x5a));
          assert.ok(bytes.subarray(0, 1024).every((b) => b === 0xa5));
          // The last bytes of the memory are in bounds.
          store.move(size - n, 0, n);
          assert.ok(bytes.subarray(size - n).every((b) => b === 0xa5));
        },
      ),
    );
  });

  it('a size WebAssembly cannot hold falls back to an ArrayBuffer whose move is copyWithin', () => {
    const store = createArenaStore(1000); // not a whole number of 64 KiB pages
    assert.equal(store.wasm, false);
    assert.equal(store.buffer.byteLength, 1000);
    fc.assert(
      fc.property(moveArb, ({ to, from, length, seed }) => {
        const t = to % 500;
        const f = from % 500;
        const n = Math.min(length, 500);
        const bytes = new Uint8Array(store.buffer);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (seed + i * 7) & 0xff;
        const want = bytes.slice();
        want.copyWithin(t, f, f + n);
        store.move(t, f, n);
        assert.deepEqual(bytes, want);
      }),
    );
  });
});
