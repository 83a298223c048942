/**
 * The WFP packet functions (fwpsk.h): allocating, cloning, referencing and freeing NET_BUFFER_LISTs for packet
 * injection. They wrap the NDIS 6 layer's functions (W-9); NBL logic itself lives there.
 *
 * Contracts W-1..W-11 (DESIGN.md, seeds 001/003): FwpsAllocateNetBufferAndNetBufferList0 allocates one list with
 * one NET_BUFFER from an NdisAllocateNetBufferListPool pool, reserves `contextSize` used and `contextBackFill`
 * unused context bytes (multiples of MEMORY_ALLOCATION_ALIGNMENT), describes `dataLength` bytes at `dataOffset`
 * of `mdlChain` (which may be NULL), returns the list through the out box and an NTSTATUS, and runs at IRQL <=
 * DISPATCH_LEVEL. After injection completes the list is freed with FwpsFreeNetBufferList0.
 */
import { MEMORY_ALLOCATION_ALIGNMENT } from '../kernel/arena.js';
import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import type { MDL } from '../kernel/mdl.js';
import { STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../kernel/status.js';
import { onSystemReset } from '../kernel/system.js';
import { chainBytes } from '../ndis/chain.js';
import { NdisAllocateCloneNetBufferList, NdisFreeCloneNetBufferList } from '../ndis/derived.js';
import { NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS } from '../ndis/macros.js';
import { NdisAllocateNetBufferAndNetBufferList, NdisFreeNetBufferList } from '../ndis/netBufferList.js';
import { NetBufferListPool, type NetBufferPool } from '../ndis/pools.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { injectionOf } from './injectionState.js';

/** wdknet's DDI rule id (DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1) for a WFP packet function above DISPATCH_LEVEL. */
export const WFP_RULE_IRQL_PACKET = 0x00090020;
/** Parameter 1: a list freed while an injection of it has not completed. Parameter 2: 0. */
export const WFP_RULE_FREE_WHILE_INJECTING = 0x00090021;
/** Parameter 1: FwpsDereferenceNetBufferList0 without a matching FwpsReferenceNetBufferList0. */
export const WFP_RULE_DEREFERENCE_UNDERFLOW = 0x00090022;
/** Parameter 1: a list freed while FwpsReferenceNetBufferList0 references are outstanding. Parameter 3: the count. */
export const WFP_RULE_FREE_WHILE_REFERENCED = 0x00090023;
/** Parameter 1: a reserved flags argument that is not 0. Parameter 2: the flags. */
export const WFP_RULE_RESERVED_FLAGS = 0x00090024;

const USHORT_MAX = 0xffff;

function packetIrql(ddi: string): void {
  requireIrqlAtMost(DISPATCH_LEVEL, ddi, WFP_RULE_IRQL_PACKET);
}

function isContextSize(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= USHORT_MAX && n % MEMORY_ALLOCATION_ALIGNMENT === 0;
}

function checkNotInjecting(nbl: NET_BUFFER_LIST, ddi: string): void {
  if (injectionOf(nbl) !== null) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_FREE_WHILE_INJECTING,
      0,
      0,
      0,
      `${ddi}: the NET_BUFFER_LIST is still being injected; free it from the injection's completion function (W-10)`,
    );
  }
  const refs = references.get(nbl);
  if (refs !== undefined && refs > 0) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_FREE_WHILE_REFERENCED,
      0,
      refs,
      0,
      `${ddi}: FwpsReferenceNetBufferList0 references are outstanding (${refs})`,
    );
  }
}

/**
 * FwpsAllocateNetBufferAndNetBufferList0 (W-1..W-11). STATUS_INVALID_PARAMETER when a context size is not a
 * multiple of MEMORY_ALLOCATION_ALIGNMENT (or not a USHORT), when the pool cannot preallocate a NET_BUFFER
 * without data (fAllocateNetBuffer FALSE or DataSize not 0, which NdisAllocateNetBufferAndNetBufferList
 * requires), or when `dataOffset + dataLength` lies outside `mdlChain` (decided: checked here, as a status,
 * rather than left to corrupt the list); STATUS_INSUFFICIENT_RESOURCES when NDIS cannot allocate.
 * `netBufferList.value` is the new list on success and NULL otherwise.
 */
export function FwpsAllocateNetBufferAndNetBufferList0(
  poolHandle: unknown,
  contextSize: number,
  contextBackFill: number,
  mdlChain: MDL | null,
  dataOffset: number,
  dataLength: number,
  netBufferList: { value: NET_BUFFER_LIST | null },
): number {
  packetIrql('FwpsAllocateNetBufferAndNetBufferList0');
  netBufferList.value = null;
  if (!isContextSize(contextSize) || !isContextSize(contextBackFill)) return STATUS_INVALID_PARAMETER;
  if (!Number.isInteger(dataOffset) || dataOffset < 0 || !Number.isInteger(dataLength) || dataLength < 0) {
    return STATUS_INVALID_PARAMETER;
  }
  if (poolHandle instanceof NetBufferListPool && (!poolHandle.fAllocateNetBuffer || poolHandle.DataSize !== 0)) {
    return STATUS_INVALID_PARAMETER;
  }
  if (dataOffset + dataLength > chainBytes(mdlChain)) return STATUS_INVALID_PARAMETER;
  const nbl = NdisAllocateNetBufferAndNetBufferList(
    poolHandle as NetBufferListPool,
    contextSize,
    contextBackFill,
    mdlChain,
    dataOffset,
    dataLength,
  );
  if (nbl === null) return STATUS_INSUFFICIENT_RESOURCES;
  netBufferList.value = nbl;
  return STATUS_SUCCESS;
}

/**
 * FwpsFreeNetBufferList0: frees a list from FwpsAllocateNetBufferAndNetBufferList0 (W-10), once any injection of
 * it has completed. Freeing it while an injection is pending is a verifier bug check.
 */
export function FwpsFreeNetBufferList0(netBufferList: NET_BUFFER_LIST): void {
  packetIrql('FwpsFreeNetBufferList0');
  checkNotInjecting(netBufferList, 'FwpsFreeNetBufferList0');
  references.delete(netBufferList);
  NdisFreeNetBufferList(netBufferList);
}

/**
 * FwpsAllocateCloneNetBufferList0: a clone that shares the original's MDLs and data (what callouts clone to
 * modify or reinject a packet they absorb). `allocateCloneFlags` is reserved and must be 0; the pool handles may
 * be NULL. The clone's ParentNetBufferList is the original, whose ChildRefCount counts it until
 * FwpsFreeCloneNetBufferList0.
 */
export function FwpsAllocateCloneNetBufferList0(
  originalNetBufferList: NET_BUFFER_LIST,
  netBufferListPoolHandle: unknown,
  netBufferPoolHandle: unknown,
  allocateCloneFlags: number,
  netBufferList: { value: NET_BUFFER_LIST | null },
): number {
  packetIrql('FwpsAllocateCloneNetBufferList0');
  netBufferList.value = null;
  if (!originalNetBufferList || allocateCloneFlags !== 0) return STATUS_INVALID_PARAMETER;
  const clone = NdisAllocateCloneNetBufferList(
    originalNetBufferList,
    (netBufferListPoolHandle ?? null) as NetBufferListPool | null,
    (netBufferPoolHandle ?? null) as NetBufferPool | null,
    NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS,
  );
  if (clone === null) return STATUS_INSUFFICIENT_RESOURCES;
  clone.ParentNetBufferList = originalNetBufferList;
  originalNetBufferList.ChildRefCount++;
  netBufferList.value = clone;
  return STATUS_SUCCESS;
}

/**
 * FwpsFreeCloneNetBufferList0: frees a clone from FwpsAllocateCloneNetBufferList0 and releases its hold on the
 * original. `freeCloneFlags` is reserved and must be 0 (decided: a nonzero value is a verifier violation).
 */
export function FwpsFreeCloneNetBufferList0(netBufferList: NET_BUFFER_LIST, freeCloneFlags: number): void {
  packetIrql('FwpsFreeCloneNetBufferList0');
  if (freeCloneFlags !== 0) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_RESERVED_FLAGS,
      freeCloneFlags,
      0,
      0,
      'FwpsFreeCloneNetBufferList0: freeCloneFlags is reserved and must be 0',
    );
  }
  checkNotInjecting(netBufferList, 'FwpsFreeCloneNetBufferList0');
  const parent = netBufferList.ParentNetBufferList;
  references.delete(netBufferList);
  NdisFreeCloneNetBufferList(netBufferList, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
  if (parent !== null && parent.ChildRefCount > 0) parent.ChildRefCount--;
}

/** FwpsReferenceNetBufferList0 references: what the stack waits for before it completes an indicated list. */
const references = new Map<NET_BUFFER_LIST, number>();
/** Called when a list's last reference goes (the host completes it then). */
const releaseWaiters = new Map<NET_BUFFER_LIST, () => void>();

/**
 * FwpsReferenceNetBufferList0: keeps an indicated list alive past classifyFn (out-of-band processing) until
 * FwpsDereferenceNetBufferList0. `intendToModify` says the callout will change it.
 */
export function FwpsReferenceNetBufferList0(netBufferList: NET_BUFFER_LIST, intendToModify: boolean): void {
  packetIrql('FwpsReferenceNetBufferList0');
  void intendToModify;
  references.set(netBufferList, (references.get(netBufferList) ?? 0) + 1);
}

/** FwpsDereferenceNetBufferList0: drops a reference; the last one lets the stack complete the list. */
export function FwpsDereferenceNetBufferList0(netBufferList: NET_BUFFER_LIST, dispatchLevel: boolean): void {
  packetIrql('FwpsDereferenceNetBufferList0');
  void dispatchLevel;
  const n = references.get(netBufferList) ?? 0;
  if (n <= 0) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_DEREFERENCE_UNDERFLOW,
      0,
      0,
      0,
      'FwpsDereferenceNetBufferList0: the NET_BUFFER_LIST holds no reference from FwpsReferenceNetBufferList0',
    );
  }
  if (n === 1) {
    references.delete(netBufferList);
    const waiter = releaseWaiters.get(netBufferList);
    if (waiter) {
      releaseWaiters.delete(netBufferList);
      waiter();
    }
  } else references.set(netBufferList, n - 1);
}

/** FwpsReferenceNetBufferList0 references a list holds (for the host and the verifier). */
export function netBufferListReferences(netBufferList: NET_BUFFER_LIST): number {
  return references.get(netBufferList) ?? 0;
}

/**
 * For the host: runs `release` once `netBufferList` holds no FwpsReferenceNetBufferList0 reference (now, or
 * when the callout dereferences it) - the moment the stack may complete an indicated list.
 */
export function whenNetBufferListReleased(netBufferList: NET_BUFFER_LIST, release: () => void): void {
  if (netBufferListReferences(netBufferList) === 0) release();
  else releaseWaiters.set(netBufferList, release);
}

/** Version-independent names. */
export const FwpsAllocateNetBufferAndNetBufferList = FwpsAllocateNetBufferAndNetBufferList0;
export const FwpsFreeNetBufferList = FwpsFreeNetBufferList0;
export const FwpsAllocateCloneNetBufferList = FwpsAllocateCloneNetBufferList0;
export const FwpsFreeCloneNetBufferList = FwpsFreeCloneNetBufferList0;
export const FwpsReferenceNetBufferList = FwpsReferenceNetBufferList0;
export const FwpsDereferenceNetBufferList = FwpsDereferenceNetBufferList0;

onSystemReset(() => {
  references.clear();
  releaseWaiters.clear();
});
