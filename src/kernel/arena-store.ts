/**
 * The backing store of the kernel arena: WebAssembly memory when the platform has it, so that a copy within the
 * arena is a WebAssembly function (a memmove) reached by a plain call: small copies (a 64-byte frame) are word
 * loads and stores inside it, larger ones its `memory.copy`. `Uint8Array.prototype.copyWithin` is a
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

// WebAssembly opcodes used by the move module (names as in the text format).
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_SHL = 0x74;
const I32_AND = 0x71;
const I32_GE_U = 0x4f;
const I32_LE_U = 0x4d;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const RETURN = 0x0f;
const VOID = 0x40;
const I64 = 0x7e;
const I32 = 0x7f;
const MEMORY_SIZE = [0x3f, 0x00];
const MEMORY_COPY = [0xfc, 0x0a, 0x00, 0x00];

/** `load` (an opcode) of the word at local `base` + `offset` (alignment hint 0: any address). */
const load = (op: number, base: number, offset: number): number[] => [LOCAL_GET, base, op, 0, offset];
/** `store` (an opcode) of local `value` to local `base` + `offset`. */
const store = (op: number, base: number, offset: number, value: number): number[] => [
  LOCAL_GET,
  base,
  LOCAL_GET,
  value,
  op,
  0,
  offset,
];
const I64_LOAD = 0x29;
const I64_STORE = 0x37;
/** i64.load32_u and i64.store32: 4-byte words kept in the same 64-bit locals. */
const I64_LOAD32_U = 0x35;
const I64_STORE32 = 0x3e;

// Parameters and locals of `move`: to, from, length; the two ends' addresses; eight words read before any store.
const TO = 0;
const FROM = 1;
const LENGTH = 2;
const TO_END = 3;
const FROM_END = 4;
const W = [5, 6, 7, 8, 9, 10, 11, 12];

/**
 * Copies `words` words of the `size`-byte kind (load and store opcodes given) from the first and last
 * `words * size` bytes of the source to the same places in the destination: every word is read before any is
 * written, so the copy is a memmove's whatever the overlap. `length` between `words * size` and twice that, so the
 * words cover every byte (the middle ones may be copied twice, with the same value).
 */
function headAndTail(words: number, size: number, loadOp: number, storeOp: number): number[] {
  const code: number[] = [];
  // The ends: TO_END = to + length - words * size, and FROM_END likewise.
  code.push(LOCAL_GET, TO, LOCAL_GET, LENGTH, I32_ADD, ...i32(words * size), I32_SUB, LOCAL_SET, TO_END);
  code.push(LOCAL_GET, FROM, LOCAL_GET, LENGTH, I32_ADD, ...i32(words * size), I32_SUB, LOCAL_SET, FROM_END);
  for (let i = 0; i < words; i++) code.push(...load(loadOp, FROM, i * size), LOCAL_SET, W[i]!);
  for (let i = 0; i < words; i++) code.push(...load(loadOp, FROM_END, i * size), LOCAL_SET, W[words + i]!);
  for (let i = 0; i < words; i++) code.push(...store(storeOp, TO, i * size, W[i]!));
  for (let i = 0; i < words; i++) code.push(...store(storeOp, TO_END, i * size, W[words + i]!));
  return code;
}

/** The shortest length {@link MOVE_CODE} copies word by word. */
export const SMALL_MOVE_MIN = 4;
/** The longest length {@link MOVE_CODE} copies word by word: longer ones go to `memory.copy`. */
export const SMALL_MOVE_MAX = 64;

/**
 * The body of `move(to, from, length)`. A length from {@link SMALL_MOVE_MIN} to {@link SMALL_MOVE_MAX} whose
 * ranges both lie in the memory is copied inline with at most eight 64-bit loads and stores (32-bit below 8
 * bytes), all the loads first; anything else is `memory.copy` (bulk memory), which copies as memmove does and
 * traps, copying nothing, when either range is out of bounds. Either way nothing is written before the ranges are
 * known to be in bounds. Inline, a 64-byte frame costs a few dozen instructions; `memory.copy` calls out of the
 * generated code into the runtime's wrapper and memmove, about 70.
 */
// biome-ignore format: grouped by step
const MOVE_CODE: number[] = [
  // small = length - 4 <= 60 && to <= memory bytes - length && from <= memory bytes - length, all unsigned (a
  // negative argument is never small). TO_END holds memory bytes - length meanwhile.
  LOCAL_GET, LENGTH, ...i32(SMALL_MOVE_MIN), I32_SUB, ...i32(SMALL_MOVE_MAX - SMALL_MOVE_MIN), I32_LE_U,
  ...MEMORY_SIZE, ...i32(16), I32_SHL, LOCAL_GET, LENGTH, I32_SUB, LOCAL_TEE, TO_END,
  LOCAL_GET, TO, I32_GE_U, I32_AND,
  LOCAL_GET, TO_END, LOCAL_GET, FROM, I32_GE_U, I32_AND,
  IF, VOID,
    LOCAL_GET, LENGTH, ...i32(32), I32_GE_U,
    IF, VOID, ...headAndTail(4, 8, I64_LOAD, I64_STORE), RETURN, END,
    LOCAL_GET, LENGTH, ...i32(16), I32_GE_U,
    IF, VOID, ...headAndTail(2, 8, I64_LOAD, I64_STORE), RETURN, END,
    LOCAL_GET, LENGTH, ...i32(8), I32_GE_U,
    IF, VOID, ...headAndTail(1, 8, I64_LOAD, I64_STORE), RETURN, END,
    ...headAndTail(1, 4, I64_LOAD32_U, I64_STORE32),
  ELSE,
    LOCAL_GET, TO, LOCAL_GET, FROM, LOCAL_GET, LENGTH, ...MEMORY_COPY,
  END,
  END,
];

/** `i32.const n` (signed LEB128). */
function i32(n: number): number[] {
  const out = [I32_CONST];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** A section of a module: its id, its size (LEB128) and its bytes. */
function section(id: number, bytes: number[]): number[] {
  return [id, ...leb128(bytes.length), ...bytes];
}

/** Unsigned LEB128. */
function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    const b = n & 0x7f;
    n >>>= 7;
    out.push(n === 0 ? b : b | 0x80);
  } while (n !== 0);
  return out;
}

/**
 * A module importing memory `m.memory` that exports `move(to, from, length)`, a memmove within it (see
 * {@link MOVE_CODE}). Hand-assembled (no toolchain needed).
 */
const MOVE_MODULE = Uint8Array.from([
  // magic, version
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  // type section: one type, (i32 i32 i32) -> ()
  ...section(1, [0x01, 0x60, 0x03, I32, I32, I32, 0x00]),
  // import section: "m" "memory", a memory of at least 0 pages
  ...section(2, [0x01, 0x01, 0x6d, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x00]),
  // function section: one function of type 0
  ...section(3, [0x01, 0x00]),
  // export section: "move" = function 0
  ...section(7, [0x01, 0x04, 0x6d, 0x6f, 0x76, 0x65, 0x00, 0x00]),
  // code section: one body with its locals (two i32, eight i64)
  ...section(10, [0x01, ...leb128(MOVE_CODE.length + 5), 0x02, 0x02, I32, 0x08, I64, ...MOVE_CODE]),
]);

/** A copy of `length` bytes from index `from` to index `to` of the arena (memmove semantics). */
export type ArenaMove = (to: number, from: number, length: number) => void;

/**
 * Makes the arena's store of `bytes` bytes (a multiple of 64 KiB): WebAssembly memory with its `memory.copy`, or,
 * where WebAssembly is unavailable or refuses the size, a plain ArrayBuffer moved with copyWithin.
 */
export function createArenaStore(bytes: number): { buffer: ArrayBuffer; move: ArenaMove; wasm: boolean } {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  // Up to 2 GiB: the module computes the memory's size in bytes as a 32-bit integer.
  if (wasm !== undefined && bytes % WASM_PAGE === 0 && bytes <= 2 ** 31) {
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
