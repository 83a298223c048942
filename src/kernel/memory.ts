/**
 * Reading and writing simulated memory: `bytesAt` (a zero-copy view) and the Rtl and Ndis memory routines.
 * Touching an unmapped address is PAGE_FAULT_IN_NONPAGED_AREA, as it would be in the kernel. In full verifier
 * mode every access is also bounds-checked against the pool block it falls in, like special pool: reading freed
 * memory, past the end of an allocation, or into a descriptor its allocator keeps inside the same block (see
 * reserveInBlock in pool.ts) is a bug check.
 */
import { ARENA_BASE, memory, moveWithinArena } from './arena.js';
import {
  bugCheck,
  DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
  DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
  PAGE_FAULT_IN_NONPAGED_AREA,
} from './bugcheck.js';
import { findPoolBlock, inCarvedPool, reservedByteIn } from './pool.js';
import { VERIFIER_FULL, verifierLevel } from './verifier.js';

/** Checks that `[address, address + length)` may be touched; bug-checks if not. */
export function checkAccess(address: number, length: number, write: boolean): void {
  if (!(length >= 0) || !inCarvedPool(address, length)) {
    bugCheck(
      PAGE_FAULT_IN_NONPAGED_AREA,
      address,
      write ? 1 : 0,
      0,
      0,
      `access to ${length} bytes at 0x${address.toString(16)}, which is not mapped kernel memory`,
    );
  }
  if (verifierLevel >= VERIFIER_FULL && length > 0) checkBlockBounds(address, length, write);
}

function checkBlockBounds(address: number, length: number, write: boolean): void {
  const block = findPoolBlock(address);
  if (block === undefined) {
    bugCheck(
      PAGE_FAULT_IN_NONPAGED_AREA,
      address,
      write ? 1 : 0,
      0,
      0,
      `0x${address.toString(16)} is in no pool block`,
    );
  }
  if (!block.allocated) {
    bugCheck(
      DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
      address,
      write ? 1 : 0,
      0,
      0,
      `use after free: 0x${address.toString(16)} is in a pool block (tag '${tagName(block.tag)}') that was freed`,
    );
  }
  if (address + length > block.base + block.size) {
    bugCheck(
      DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
      address + length - 1,
      write ? 1 : 0,
      0,
      0,
      `access to ${length} bytes at 0x${address.toString(16)} runs past the end of its ${block.size}-byte allocation at 0x${block.base.toString(16)}`,
    );
  }
  const reserved = reservedByteIn(block.base, address, length);
  if (reserved !== 0) {
    bugCheck(
      DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
      reserved,
      write ? 1 : 0,
      0,
      0,
      `access to ${length} bytes at 0x${address.toString(16)} reaches 0x${reserved.toString(16)}, a descriptor that NDIS keeps in the same pool block (such as the NET_BUFFER in front of its built-in data): outside the buffer, though inside the allocation`,
    );
  }
}

function tagName(tag: number): string {
  return String.fromCharCode(tag & 0xff, (tag >>> 8) & 0xff, (tag >>> 16) & 0xff, tag >>> 24);
}

/**
 * A zero-copy view of `length` bytes of simulated memory at `address`. Writes through the view change kernel
 * memory. The view is made at the call: hold it only as long as the memory stays allocated.
 */
export function bytesAt(address: number, length: number): Uint8Array {
  checkAccess(address, length, false);
  return new Uint8Array(memory.buffer, address - ARENA_BASE, length);
}

/** RtlCopyMemory: copies `Length` bytes from `Source` to `Destination` (the ranges must not overlap). */
export function RtlCopyMemory(Destination: number, Source: number, Length: number): void {
  checkAccess(Source, Length, false);
  checkAccess(Destination, Length, true);
  if (Length > 0) moveWithinArena(Destination - ARENA_BASE, Source - ARENA_BASE, Length);
}

/** RtlMoveMemory: as RtlCopyMemory, and the ranges may overlap. */
export function RtlMoveMemory(Destination: number, Source: number, Length: number): void {
  RtlCopyMemory(Destination, Source, Length);
}

/** RtlZeroMemory */
export function RtlZeroMemory(Destination: number, Length: number): void {
  checkAccess(Destination, Length, true);
  memory.fill(0, Destination - ARENA_BASE, Destination - ARENA_BASE + Length);
}

/** RtlFillMemory */
export function RtlFillMemory(Destination: number, Length: number, Fill: number): void {
  checkAccess(Destination, Length, true);
  memory.fill(Fill & 0xff, Destination - ARENA_BASE, Destination - ARENA_BASE + Length);
}

/** RtlCompareMemory: the number of leading bytes that are equal. */
export function RtlCompareMemory(Source1: number, Source2: number, Length: number): number {
  checkAccess(Source1, Length, false);
  checkAccess(Source2, Length, false);
  const a = Source1 - ARENA_BASE;
  const b = Source2 - ARENA_BASE;
  let i = 0;
  while (i < Length && memory[a + i] === memory[b + i]) i++;
  return i;
}

/** RtlEqualMemory: true when the ranges hold the same bytes. */
export function RtlEqualMemory(Source1: number, Source2: number, Length: number): boolean {
  return RtlCompareMemory(Source1, Source2, Length) === Length;
}

/** NdisMoveMemory */
export const NdisMoveMemory = RtlCopyMemory;
/** NdisZeroMemory */
export const NdisZeroMemory = RtlZeroMemory;
/** NdisFillMemory */
export const NdisFillMemory = RtlFillMemory;
/** NdisEqualMemory: 1 when equal, else 0 (ULONG in C). */
export function NdisEqualMemory(Source1: number, Source2: number, Length: number): number {
  return RtlEqualMemory(Source1, Source2, Length) ? 1 : 0;
}

/** Copies a JavaScript byte array into simulated memory (for tests and the host's capture reader). */
export function writeBytes(address: number, bytes: Uint8Array): void {
  checkAccess(address, bytes.length, true);
  memory.set(bytes, address - ARENA_BASE);
}

/** Copies `length` bytes of simulated memory out into a new Uint8Array. */
export function readBytes(address: number, length: number): Uint8Array {
  checkAccess(address, length, false);
  return memory.slice(address - ARENA_BASE, address - ARENA_BASE + length);
}
