/**
 * The arena's store: WebAssembly memory whose `memory.copy` moves bytes within the arena exactly as copyWithin
 * does (overlapping ranges included), and the plain-ArrayBuffer fallback, which behaves the same.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { ARENA_RESERVE, memory, memory32, moveWithinArena } from '../../src/kernel/arena.js';
import { createArenaStore } from '../../src/kernel/arena-store.js';
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
