/**
 * The simulated kernel address space: one large ArrayBuffer that every pool allocation and every packet byte
 * lives in, and the page tables that say what each 4 KiB page holds.
 *
 * Where we depart from x64 Windows (decided here): kernel addresses on x64 are canonical high addresses
 * (0xFFFF8000_00000000 and up) that no JavaScript number can hold exactly. wdknet maps its kernel address space
 * low, at {@link ARENA_BASE}, so that every pointer is a small integer that V8 keeps unboxed; the first 256 MiB
 * stay unmapped so that NULL and small integers used as pointers are caught. Alignment, page size and
 * MEMORY_ALLOCATION_ALIGNMENT are x64's.
 *
 * The buffer is reserved once (the operating system commits its pages lazily, on first touch). It is WebAssembly
 * memory where the platform has it, for {@link moveWithinArena} (arena-store.ts).
 */
import { type ArenaMove, createArenaStore } from './arena-store.js';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** x64: pool allocations are aligned to 16 bytes. */
export const MEMORY_ALLOCATION_ALIGNMENT = 16;
/** The lowest mapped kernel address. */
export const ARENA_BASE = 0x1000_0000;
/** Bytes of address space reserved for the pool (the pool's own limit is set separately, see resetSystem). */
export const ARENA_RESERVE = 1 << 30;
/** One past the highest mapped kernel address. */
export const ARENA_END = ARENA_BASE + ARENA_RESERVE;

const store = createArenaStore(ARENA_RESERVE);
/** All of simulated kernel memory. Index with `address - ARENA_BASE`. */
export const memory = new Uint8Array(store.buffer);
/**
 * Copies `length` bytes within {@link memory} from index `from` to index `to` (memmove). Cheaper than
 * `memory.copyWithin` per call (arena-store.ts), for the per-frame copies of small frames. The caller checks its
 * ranges: one that leaves the arena throws (and copies nothing) where copyWithin would clamp.
 */
export const moveWithinArena: ArenaMove = store.move;
/** The same memory as 32-bit words (pool headers are read and written through it). */
export const memory32 = new Int32Array(memory.buffer);
/** The same memory for multi-byte reads in either byte order. */
export const memoryView = new DataView(memory.buffer);

/** Number of pages in the reservation. */
export const PAGE_COUNT = ARENA_RESERVE >>> PAGE_SHIFT;

/** Is `[address, address + length)` inside the mapped arena? */
export function inArena(address: number, length: number): boolean {
  return address >= ARENA_BASE && length >= 0 && address + length <= ARENA_END;
}

/** ADDRESS_AND_SIZE_TO_SPAN_PAGES: how many pages `[va, va + size)` touches. */
export function ADDRESS_AND_SIZE_TO_SPAN_PAGES(va: number, size: number): number {
  if (size === 0) return 0;
  const first = Math.floor(va / PAGE_SIZE);
  const last = Math.floor((va + size - 1) / PAGE_SIZE);
  return last - first + 1;
}

/** PAGE_ALIGN: the start of the page that holds `va`. */
export function PAGE_ALIGN(va: number): number {
  return va - (va % PAGE_SIZE);
}

/** BYTE_OFFSET: the offset of `va` within its page. */
export function BYTE_OFFSET(va: number): number {
  return va % PAGE_SIZE;
}

/** ROUND_TO_PAGES */
export function ROUND_TO_PAGES(size: number): number {
  return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
}
