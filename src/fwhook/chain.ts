/**
 * IPRcvBuf chains as the IP layer makes them for the firewall hooks: a packet's bytes copied into nonpaged pool
 * buffers, one descriptor per segment, and back out again. The host's IP layer calls these on receive and send.
 *
 * Decided here: the IP layer's descriptors are allocated like the hooks' own (nonpaged, sizeof(IPRcvBuf),
 * 'fPCT'), its buffers are tagged 'rPCT' and owned by IPR_OWNER_IP, with ipr_RcvContext holding the start of the
 * buffer's allocation and ipr_RcvOffset 0. IPFreeBuff frees such a chain like any other.
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import type { MDL } from '../kernel/mdl.js';
import { checkAccess } from '../kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPool } from '../kernel/pool.js';
import { IPR_OWNER_IP, TAG_IP_RECEIVE_BUFFER, TAG_IPRCVBUF } from './constants.js';
import {
  IPFreeBuff,
  IPRcvBufField,
  readPointer,
  readUint,
  SIZEOF_IPRCVBUF,
  writePointer,
  writeUint,
} from './iprcvbuf.js';

/**
 * Builds a chain holding a copy of `length` bytes, taken from `bytes` when given, else from simulated memory at
 * `address`. Returns the head descriptor's address, or 0 when pool memory runs out (nothing is left allocated
 * then) or the packet is empty. Makes no JavaScript objects.
 */
function build(bytes: Uint8Array | null, address: number, length: number, segmentSize: number, flags: number): number {
  if (!(length > 0)) return 0;
  const segment = segmentSize > 0 ? Math.floor(segmentSize) : length;
  let head = 0;
  let tail = 0;
  for (let from = 0; from < length; from += segment) {
    const n = Math.min(segment, length - from);
    const rcv = ExAllocatePoolWithTag(NonPagedPool, SIZEOF_IPRCVBUF, TAG_IPRCVBUF);
    const buffer = rcv === 0 ? 0 : ExAllocatePoolWithTag(NonPagedPool, n, TAG_IP_RECEIVE_BUFFER);
    if (buffer === 0) {
      if (rcv !== 0) ExFreePool(rcv);
      if (head !== 0) IPFreeBuff(head);
      return 0;
    }
    checkAccess(buffer, n, true);
    const to = buffer - ARENA_BASE;
    if (bytes !== null && n === bytes.length) memory.set(bytes, to);
    else if (bytes !== null) for (let i = 0; i < n; i++) memory[to + i] = bytes[from + i]!;
    else memory.copyWithin(to, address - ARENA_BASE + from, address - ARENA_BASE + from + n);
    writePointer(rcv, IPRcvBufField.ipr_next, 0);
    writeUint(rcv, IPRcvBufField.ipr_owner, IPR_OWNER_IP);
    writePointer(rcv, IPRcvBufField.ipr_buffer, buffer);
    writeUint(rcv, IPRcvBufField.ipr_size, n);
    writePointer(rcv, IPRcvBufField.ipr_pMdl, 0);
    writePointer(rcv, IPRcvBufField.ipr_pClientCnt, 0);
    writePointer(rcv, IPRcvBufField.ipr_RcvContext, buffer);
    writeUint(rcv, IPRcvBufField.ipr_RcvOffset, 0);
    writeUint(rcv, IPRcvBufField.ipr_flags, flags);
    if (head === 0) head = rcv;
    else writePointer(tail, IPRcvBufField.ipr_next, rcv);
    tail = rcv;
  }
  return head;
}

/**
 * Builds an IPRcvBuf chain holding a copy of `bytes`, split into buffers of at most `segmentSize` bytes (default:
 * one buffer), each descriptor's ipr_flags set to `flags`. Returns the head, or 0 if pool memory ran out or the
 * packet is empty. Free it with IPFreeBuff.
 */
export function buildRcvBufChain(bytes: Uint8Array, segmentSize = 0, flags = 0): number {
  return build(bytes, 0, bytes.length, segmentSize, flags);
}

/** As {@link buildRcvBufChain}, copying `length` bytes from simulated memory at `address`. */
export function buildRcvBufChainFromMemory(address: number, length: number, segmentSize = 0, flags = 0): number {
  checkAccess(address, length, false);
  return build(null, address, length, segmentSize, flags);
}

/**
 * Builds an IPRcvBuf chain from `length` bytes of an MDL chain starting `offset` bytes into it (a NET_BUFFER's
 * MdlChain and DataOffset, or an NDIS_PACKET's buffers), one descriptor per MDL piece as TCP/IP made one per
 * NDIS_BUFFER, copying the bytes. Returns the head, or 0 when pool memory runs out (nothing left allocated), the
 * range is empty, or it runs past the MDL chain.
 */
export function buildRcvBufChainFromMdl(mdl: MDL | null, offset: number, length: number, flags = 0): number {
  if (!(length > 0) || !(offset >= 0)) return 0;
  let m = mdl;
  let skip = offset;
  while (m !== null && skip >= m.ByteCount) {
    skip -= m.ByteCount;
    m = m.Next;
  }
  let head = 0;
  let tail = 0;
  let left = length;
  while (left > 0) {
    if (m === null) {
      if (head !== 0) IPFreeBuff(head);
      return 0;
    }
    const n = Math.min(left, m.ByteCount - skip);
    const piece = build(null, m.StartVa + m.ByteOffset + skip, n, 0, flags);
    if (piece === 0) {
      if (head !== 0) IPFreeBuff(head);
      return 0;
    }
    if (head === 0) head = piece;
    else writePointer(tail, IPRcvBufField.ipr_next, piece);
    tail = piece;
    left -= n;
    skip = 0;
    m = m.Next;
  }
  return head;
}

/**
 * Copies a chain's bytes, in order, into simulated memory at `address` (at most `capacity` bytes); returns how
 * many were copied. Makes no JavaScript objects.
 */
export function copyRcvBufChainToMemory(head: number, address: number, capacity: number): number {
  let at = 0;
  for (let rcv = head; rcv !== 0 && at < capacity; rcv = readPointer(rcv, IPRcvBufField.ipr_next)) {
    const n = Math.min(readUint(rcv, IPRcvBufField.ipr_size), capacity - at);
    const buffer = readPointer(rcv, IPRcvBufField.ipr_buffer);
    checkAccess(buffer, n, false);
    checkAccess(address + at, n, true);
    memory.copyWithin(address + at - ARENA_BASE, buffer - ARENA_BASE, buffer - ARENA_BASE + n);
    at += n;
  }
  return at;
}

/** Total bytes in a chain (the sum of ipr_size). */
export function rcvBufChainLength(head: number): number {
  let total = 0;
  for (let rcv = head; rcv !== 0; rcv = readPointer(rcv, IPRcvBufField.ipr_next)) {
    total += readUint(rcv, IPRcvBufField.ipr_size);
  }
  return total;
}

/** Buffers in a chain. */
export function rcvBufChainCount(head: number): number {
  let count = 0;
  for (let rcv = head; rcv !== 0; rcv = readPointer(rcv, IPRcvBufField.ipr_next)) count++;
  return count;
}

/**
 * Copies a chain's bytes, in order, into `dest` from `offset`; returns how many were copied (stops when `dest`
 * is full). Makes no JavaScript objects.
 */
export function copyRcvBufChain(head: number, dest: Uint8Array, offset = 0): number {
  let at = offset;
  for (let rcv = head; rcv !== 0 && at < dest.length; rcv = readPointer(rcv, IPRcvBufField.ipr_next)) {
    const size = readUint(rcv, IPRcvBufField.ipr_size);
    const buffer = readPointer(rcv, IPRcvBufField.ipr_buffer);
    const n = Math.min(size, dest.length - at);
    checkAccess(buffer, n, false);
    const base = buffer - ARENA_BASE;
    for (let i = 0; i < n; i++) dest[at + i] = memory[base + i]!;
    at += n;
  }
  return at - offset;
}

/** A chain's bytes as one new array (flattening, as TCP/IP's ConvertIPRcvBufToFlatBuffer did). */
export function flattenRcvBufChain(head: number): Uint8Array {
  const out = new Uint8Array(rcvBufChainLength(head));
  copyRcvBufChain(head, out);
  return out;
}
