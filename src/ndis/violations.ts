/**
 * How the NDIS 6 buffer layer reports misuse. Where BUGCODE_NDIS_DRIVER (0x7C) documents a Parameter 1 for the
 * fault, that is used; otherwise the report is DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) with one of the
 * Parameter 1 values below, which wdknet defines (Windows' NDIS verifier does not publish its codes).
 *
 * The IRQL rule: the documentation names the DDI compliance rule Irql_NetBuffer_Function for the whole
 * NET_BUFFER family but gives it no numeric id; wdknet reports it as 0xC4 with {@link IRQL_NETBUFFER_FUNCTION}.
 */
import { BUGCODE_NDIS_DRIVER, bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { DISPATCH_LEVEL, KeGetCurrentIrql, requireIrqlAtMost } from '../kernel/irql.js';

/** 0x7C Parameter 1: NDIS_BUGCHECK_LEAKED_NBL (Parameter 2 = 0x01, found by the NBL tracker). */
export const NDIS_BUGCHECK_LEAKED_NBL = 0x27;

/**
 * 0xC4 Parameter 1 for the Irql_NetBuffer_Function rule. The rule is checked by Static Driver Verifier only and
 * has no runtime number, so this id is wdknet's: 0x0009F001, outside the 0x00091xxx-0x00092xxx ids that NDIS
 * rules such as NdisOidComplete (0x00091001) publish.
 */
export const IRQL_NETBUFFER_FUNCTION = 0x0009f001;

/** 0xC4 Parameter 1 values for NDIS 6 buffer misuse (wdknet's). Parameter 2 is the descriptor's address. */
export const Ndis6Violation = {
  /** A NET_BUFFER / NET_BUFFER_LIST that no NDIS pool handed out (N6-6: never from private memory or the stack). */
  NotFromPool: 0x6001,
  /** A descriptor freed twice (or used after it was freed). */
  AlreadyFreed: 0x6002,
  /** Freed with the wrong DDI or into the wrong pool (clone freed as a plain NBL, preallocated NB on its own, ...). */
  WrongFree: 0x6003,
  /** A NET_BUFFER pool freed while NET_BUFFERs from it are outstanding. Parameter 3: how many. */
  PoolNotEmpty: 0x6004,
  /** A parent NET_BUFFER_LIST freed while ChildRefCount says children are outstanding. Parameter 3: the count. */
  ParentWithChildren: 0x6005,
  /** A NET_BUFFER freed while MDLs that a retreat allocated are still in its chain. Parameter 3: how many. */
  RetreatMdlsOutstanding: 0x6006,
  /** Advance by more than DataLength. Parameter 3: the delta; Parameter 4: DataLength. */
  AdvancePastData: 0x6007,
  /** An MDL from the driver's NetAllocateMdl handler would be freed with no NetFreeMdl handler. */
  NoFreeMdlHandler: 0x6008,
  /** A NET_BUFFER_LIST freed while context allocated with NdisAllocateNetBufferListContext is still allocated. */
  ContextOutstanding: 0x6009,
  /** DataOffset + DataLength exceed the bytes the MDL chain describes. Parameter 3: needed; 4: available. */
  DataBeyondChain: 0x600a,
  /** A pool handle that is not a live pool of the right kind. */
  BadPoolHandle: 0x600b,
  /** NdisFreeNetBufferListContext of more context than is allocated. Parameter 3: size; 4: used. */
  ContextUnderflow: 0x600c,
} as const;

// Per-packet functions are `const` arrow functions, not function declarations: in the one-module build V8
// folds a const into optimized code, so a call it inlines is direct, while a declaration's binding can be
// reassigned and every inlined call to it first loads the binding and compares it with the function it
// inlined (four instructions each, some forty such calls per forwarded frame). Same functions, same behaviour.
/**
 * Checks Irql_NetBuffer_Function: the DDI must run at IRQL <= DISPATCH_LEVEL (N6-10). Every NET_BUFFER DDI calls
 * this once per packet or more, so the test is kept to a comparison small enough for V8 to inline into each DDI;
 * the report itself is built out of line.
 */
export const requireNetBufferIrql = (ddi: string): void => {
  if (KeGetCurrentIrql() > DISPATCH_LEVEL) netBufferIrqlTooHigh(ddi);
};

function netBufferIrqlTooHigh(ddi: string): void {
  requireIrqlAtMost(DISPATCH_LEVEL, ddi, IRQL_NETBUFFER_FUNCTION);
}

/** Reports an NDIS 6 misuse as DRIVER_VERIFIER_DETECTED_VIOLATION. */
export function ndisViolation(code: number, address: number, p3: number, p4: number, reason: string): never {
  return bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, code, address, p3, p4, reason);
}

/** Reports NBLs still outstanding when their pool is freed: BUGCODE_NDIS_DRIVER / NDIS_BUGCHECK_LEAKED_NBL. */
export function leakedNbl(reason: string): never {
  return bugCheck(BUGCODE_NDIS_DRIVER, NDIS_BUGCHECK_LEAKED_NBL, 0x01, 0, 0, reason);
}
