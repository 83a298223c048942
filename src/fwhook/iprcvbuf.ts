/**
 * IPRcvBuf, the firewall hook's packet buffer descriptor, and the three functions that manage its memory:
 * IPAllocBuff, IPFreeBuff and FreeIprBuff.
 *
 * The descriptor is the caller's memory (FH-3): a hook allocates it with
 * `ExAllocatePoolWithTag(NonPagedPool, sizeof(IPRcvBuf), 'fPCT')`, so IPRcvBuf lives in simulated memory with its
 * x64 layout, and every field - pointers included - is read and written there:
 *
 *   +0 ipr_next  +8 ipr_owner  +16 ipr_buffer  +24 ipr_size  +32 ipr_pMdl  +40 ipr_pClientCnt
 *   +48 ipr_RcvContext  +56 ipr_RcvOffset  +60 ipr_flags        sizeof(IPRcvBuf) = 64
 *
 * `new IPRcvBuf(address)` is a view over those bytes (the view holds nothing but the address). The functions
 * take the address, or a view.
 *
 * Ownership of the memory a descriptor points to, decided from how TCP/IP behaved: ipr_owner IPR_OWNER_FIREWALL
 * marks a buffer IPAllocBuff allocated; any other owner marks a buffer the IP layer made, whose allocation
 * starts at ipr_RcvContext (ipr_buffer may have been advanced past a header, with ipr_RcvOffset counting the
 * advance). Every buffer here is pool memory, so IPFreeBuff can release each one.
 */
import { ARENA_BASE, memoryView } from '../kernel/arena.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import { checkAccess } from '../kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePool, findPoolBlockInto, NonPagedPool, PoolBlockRecord } from '../kernel/pool.js';
import { VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import {
  FirewallViolation,
  firewallViolation,
  IPR_OWNER_FIREWALL,
  TAG_FIREWALL_BUFFER,
  TAG_IPRCVBUF,
} from './constants.js';

/** sizeof(IPRcvBuf) on x64. */
export const SIZEOF_IPRCVBUF = 64;

const OFF_NEXT = 0;
const OFF_OWNER = 8;
const OFF_BUFFER = 16;
const OFF_SIZE = 24;
const OFF_PMDL = 32;
const OFF_PCLIENTCNT = 40;
const OFF_RCVCONTEXT = 48;
const OFF_RCVOFFSET = 56;
const OFF_FLAGS = 60;

/** DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 for firewall-hook calls above DISPATCH_LEVEL (a wdknet id). */
export const IRQL_FIREWALL_RULE = 0x00040010;

const TWO_32 = 0x1_0000_0000;

/** Reads a pointer field (8 bytes, little-endian) of the descriptor at `rcv`. */
export function readPointer(rcv: number, offset: number): number {
  checkAccess(rcv + offset, 8, false);
  const at = rcv + offset - ARENA_BASE;
  return memoryView.getUint32(at + 4, true) * TWO_32 + memoryView.getUint32(at, true);
}

/** Writes a pointer field. */
export function writePointer(rcv: number, offset: number, value: number): void {
  checkAccess(rcv + offset, 8, true);
  const at = rcv + offset - ARENA_BASE;
  memoryView.setUint32(at, value % TWO_32, true);
  memoryView.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

/** Reads a 32-bit unsigned field. */
export function readUint(rcv: number, offset: number): number {
  checkAccess(rcv + offset, 4, false);
  return memoryView.getUint32(rcv + offset - ARENA_BASE, true);
}

/** Writes a 32-bit unsigned field. */
export function writeUint(rcv: number, offset: number, value: number): void {
  checkAccess(rcv + offset, 4, true);
  memoryView.setUint32(rcv + offset - ARENA_BASE, value >>> 0, true);
}

/** Field offsets inside IPRcvBuf (x64), for code that reads the descriptor directly. */
export const IPRcvBufField = {
  ipr_next: OFF_NEXT,
  ipr_owner: OFF_OWNER,
  ipr_buffer: OFF_BUFFER,
  ipr_size: OFF_SIZE,
  ipr_pMdl: OFF_PMDL,
  ipr_pClientCnt: OFF_PCLIENTCNT,
  ipr_RcvContext: OFF_RCVCONTEXT,
  ipr_RcvOffset: OFF_RCVOFFSET,
  ipr_flags: OFF_FLAGS,
} as const;

/**
 * IPRcvBuf: a view of the descriptor at `address` in simulated memory. Pointer fields (ipr_next, ipr_buffer,
 * ipr_pMdl, ipr_pClientCnt, ipr_RcvContext) are addresses; NULL is 0.
 */
function checkedAddress(address: number): number {
  if (!Number.isInteger(address) || address <= 0) {
    throw new TypeError(`IPRcvBuf: 0x${Number(address).toString(16)} is not the address of a descriptor`);
  }
  return address;
}

export class IPRcvBuf {
  /** sizeof(IPRcvBuf) on x64: what to pass to ExAllocatePoolWithTag. */
  static readonly sizeof = SIZEOF_IPRCVBUF;
  /** The descriptor's address. */
  address: number;

  constructor(address: number) {
    this.address = checkedAddress(address);
  }

  /**
   * Points this view at another descriptor and returns it, so a hook that walks a chain on every packet can use
   * one view instead of making an object per descriptor (the view holds nothing but the address).
   */
  at(address: number): this {
    this.address = checkedAddress(address);
    return this;
  }

  /** Next buffer descriptor in the chain (an address), or 0. */
  get ipr_next(): number {
    return readPointer(this.address, OFF_NEXT);
  }
  set ipr_next(value: number) {
    writePointer(this.address, OFF_NEXT, value);
  }
  /** Owner of the buffer (IPR_OWNER_*). */
  get ipr_owner(): number {
    return readUint(this.address, OFF_OWNER);
  }
  set ipr_owner(value: number) {
    writeUint(this.address, OFF_OWNER, value);
  }
  /** The buffer (an address). */
  get ipr_buffer(): number {
    return readPointer(this.address, OFF_BUFFER);
  }
  set ipr_buffer(value: number) {
    writePointer(this.address, OFF_BUFFER, value);
  }
  /** Bytes in the buffer. */
  get ipr_size(): number {
    return readUint(this.address, OFF_SIZE);
  }
  set ipr_size(value: number) {
    writeUint(this.address, OFF_SIZE, value);
  }
  /** PMDL (an address; opaque here). */
  get ipr_pMdl(): number {
    return readPointer(this.address, OFF_PMDL);
  }
  set ipr_pMdl(value: number) {
    writePointer(this.address, OFF_PMDL, value);
  }
  /** UINT * (an address). */
  get ipr_pClientCnt(): number {
    return readPointer(this.address, OFF_PCLIENTCNT);
  }
  set ipr_pClientCnt(value: number) {
    writePointer(this.address, OFF_PCLIENTCNT, value);
  }
  /** UCHAR * (an address): the IP layer's receive context. */
  get ipr_RcvContext(): number {
    return readPointer(this.address, OFF_RCVCONTEXT);
  }
  set ipr_RcvContext(value: number) {
    writePointer(this.address, OFF_RCVCONTEXT, value);
  }
  /** Offset of ipr_buffer from the start of the receive buffer. */
  get ipr_RcvOffset(): number {
    return readUint(this.address, OFF_RCVOFFSET);
  }
  set ipr_RcvOffset(value: number) {
    writeUint(this.address, OFF_RCVOFFSET, value);
  }
  /** IPR_FLAG_* bits. */
  get ipr_flags(): number {
    return readUint(this.address, OFF_FLAGS);
  }
  set ipr_flags(value: number) {
    writeUint(this.address, OFF_FLAGS, value);
  }
}

function addressOf(pRcvBuf: number | IPRcvBuf): number {
  return typeof pRcvBuf === 'number' ? pRcvBuf : pRcvBuf.address;
}

/** Verifier (FH-3): the descriptor must be the start of an allocated nonpaged block of at least sizeof(IPRcvBuf). */
const blockRecord = new PoolBlockRecord();

function checkDescriptor(rcv: number, ddi: string): void {
  const found = findPoolBlockInto(rcv, blockRecord);
  const block = found ? blockRecord : undefined;
  const ok =
    block?.allocated === true &&
    block.base === rcv &&
    (block.poolType & 1) === 0 &&
    block.size >= SIZEOF_IPRCVBUF &&
    (verifierLevel < VERIFIER_FULL || block.tag === TAG_IPRCVBUF);
  if (!ok) {
    firewallViolation(
      FirewallViolation.DescriptorNotFromPool,
      rcv,
      block?.size ?? 0,
      block?.tag ?? 0,
      `${ddi}: 0x${rcv.toString(16)} is not an IPRcvBuf the hook allocated with ExAllocatePoolWithTag(NonPagedPool, sizeof(IPRcvBuf) = ${SIZEOF_IPRCVBUF}, 'fPCT')${verifierLevel >= VERIFIER_FULL ? ' (full verifier mode also checks the tag)' : ''}`,
    );
  }
}

/**
 * IPAllocBuff: allocates `Size` bytes of nonpaged pool for the buffer the descriptor describes (FH-1). Returns 1
 * on success (FH-2) with ipr_buffer, ipr_size = Size and ipr_owner = IPR_OWNER_FIREWALL set and the IP layer's
 * receive fields (ipr_pMdl, ipr_pClientCnt, ipr_RcvContext, ipr_RcvOffset) cleared, since they described a
 * buffer this descriptor no longer points to; ipr_next and ipr_flags are left alone, so a descriptor inside a
 * chain stays in it. Returns 0 on failure and leaves the descriptor exactly as it was (FH-3): the caller then
 * frees it with ExFreePool. A Size of 0 fails (decided: it describes no buffer). The old buffer, if any, is not
 * freed: save it first and release it with FreeIprBuff. IRQL <= DISPATCH_LEVEL. Under the verifier the
 * descriptor must come from the pool as FH-3 says.
 */
export function IPAllocBuff(pRcvBuf: number | IPRcvBuf, Size: number): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'IPAllocBuff', IRQL_FIREWALL_RULE);
  const rcv = addressOf(pRcvBuf);
  checkAccess(rcv, SIZEOF_IPRCVBUF, true);
  if (verifierLevel >= VERIFIER_STANDARD) checkDescriptor(rcv, 'IPAllocBuff');
  if (!Number.isInteger(Size) || Size <= 0 || Size > 0xffffffff) return 0;
  const buffer = ExAllocatePoolWithTag(NonPagedPool, Size, TAG_FIREWALL_BUFFER);
  if (buffer === 0) return 0;
  writePointer(rcv, OFF_BUFFER, buffer);
  writeUint(rcv, OFF_SIZE, Size);
  writeUint(rcv, OFF_OWNER, IPR_OWNER_FIREWALL);
  writePointer(rcv, OFF_PMDL, 0);
  writePointer(rcv, OFF_PCLIENTCNT, 0);
  writePointer(rcv, OFF_RCVCONTEXT, 0);
  writeUint(rcv, OFF_RCVOFFSET, 0);
  return 1;
}

/**
 * FreeIprBuff: frees only the memory `pRcvBuf.ipr_buffer` points to (FH-5); the descriptor itself, and the
 * rest of any chain, stay allocated and unchanged. IRQL <= DISPATCH_LEVEL.
 */
export function FreeIprBuff(pRcvBuf: number | IPRcvBuf): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'FreeIprBuff', IRQL_FIREWALL_RULE);
  ExFreePool(readPointer(addressOf(pRcvBuf), OFF_BUFFER));
}

/**
 * IPFreeBuff: frees every buffer and every descriptor of the chain that starts at `pRcvBuf`, following ipr_next
 * (FH-4). A firewall-owned buffer is freed at ipr_buffer; a buffer the IP layer made is freed at the start of its
 * allocation (ipr_RcvContext). A chain that loops reaches a freed descriptor and is reported by the pool
 * (BAD_POOL_CALLER 0x07). IRQL <= DISPATCH_LEVEL.
 */
export function IPFreeBuff(pRcvBuf: number | IPRcvBuf): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'IPFreeBuff', IRQL_FIREWALL_RULE);
  let rcv = addressOf(pRcvBuf);
  while (rcv !== 0) {
    const next = readPointer(rcv, OFF_NEXT);
    const owner = readUint(rcv, OFF_OWNER);
    const context = readPointer(rcv, OFF_RCVCONTEXT);
    const buffer = owner !== IPR_OWNER_FIREWALL && context !== 0 ? context : readPointer(rcv, OFF_BUFFER);
    if (buffer !== 0) ExFreePool(buffer);
    ExFreePool(rcv);
    rcv = next;
  }
}
