/**
 * The backing store of the kernel arena: WebAssembly memory when the platform has it, so that a copy within the
 * arena is WebAssembly's `memory.copy` (a memmove) reached by a plain call. `Uint8Array.prototype.copyWithin` is a
 * runtime (C++) builtin whose fixed cost per call (about 15 ns) is most of the cost of copying a small frame; the
 * WebAssembly call costs about half of that. The bytes are the same ArrayBuffer either way: every view of the
 * arena (memory, memory32, memoryView, bytesAt) works unchanged.
 */

/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => {
    readonly exports: Record<string, unknown>;
  };
}

/** WebAssembly's page size. */
const WASM_PAGE = 65536;

/**
 * A module importing memory `m.memory` that exports `move(to, from, length)`: `memory.copy` (bulk memory), which
 * copies as memmove does (overlapping ranges are fine) and traps, copying nothing, when either range is out of
 * bounds. Hand-assembled (no toolchain needed): type section, import, one function, export, code.
 */
// biome-ignore format: one line per section of the module
const MOVE_MODULE = Uint8Array.of(
  // magic, version
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // type section: one type, (i32 i32 i32) -> ()
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00,
  // import section: "m" "memory", a memory of at least 0 pages
  0x02, 0x0d, 0x01, 0x01, 0x6d, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x00,
  // function section: one function of type 0
  0x03, 0x02, 0x01, 0x00,
  // export section: "move" = function 0
  0x07, 0x08, 0x01, 0x04, 0x6d, 0x6f, 0x76, 0x65, 0x00, 0x00,
  // code section: local.get 0, local.get 1, local.get 2, memory.copy 0 0, end
  0x0a, 0x0e, 0x01, 0x0c, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b,
);

/** A copy of `length` bytes from index `from` to index `to` of the arena (memmove semantics). */
export type ArenaMove = (to: number, from: number, length: number) => void;

/**
 * Makes the arena's store of `bytes` bytes (a multiple of 64 KiB): WebAssembly memory with its `memory.copy`, or,
 * where WebAssembly is unavailable or refuses the size, a plain ArrayBuffer moved with copyWithin.
 */
export function createArenaStore(bytes: number): { buffer: ArrayBuffer; move: ArenaMove; wasm: boolean } {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (wasm !== undefined && bytes % WASM_PAGE === 0) {
    try {
      const pages = bytes / WASM_PAGE;
      const store = new wasm.Memory({ initial: pages, maximum: pages });
      const instance = new wasm.Instance(new wasm.Module(MOVE_MODULE), { m: { memory: store } });
      return { buffer: store.buffer, move: instance.exports.move as ArenaMove, wasm: true };
    } catch {
      // Decided: no WebAssembly memory of this size (a --jitless runtime, a small address space): fall back.
    }
  }
  const buffer = new ArrayBuffer(bytes);
  const bytesView = new Uint8Array(buffer);
  return {
    buffer,
    move: (to, from, length) => {
      if (length > 0) bytesView.copyWithin(to, from, from + length);
    },
    wasm: false,
  };
}
