/**
 * How the NDIS driver model tracks NET_BUFFER_LIST ownership and reports misuse.
 *
 * Ownership. Every hand-off of an NBL (send down, complete up, indicate up, return down) records the NDIS block
 * that holds it now in the list's `ndisHolder` field, as the block's small id (see {@link NblHolder}): NDIS-private
 * state, as Windows' NDIS keeps its own in the list's NDIS-private area. `ndisTrack` holds a small number: bits
 * 0..15 are the stack positions (0 = the miniport, i = the i-th filter module from the bottom) that handed the NBL on
 * and still wait for it back, bit 30 marks an indication made with NDIS_RECEIVE_FLAGS_RESOURCES that is still under
 * way, bit 29 that the last indication was such a one, and bits 16..28 count the bindings that still hold one
 * receive indication. Only numbers are written: the hot path allocates nothing and stores no reference.
 *
 * Reports. Where Windows documents the check, its code is used: BUGCODE_NDIS_DRIVER (0x7C) with its documented
 * Parameter 1, or DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) with the id of the NDIS verifier rule that covers the
 * DDI (NdisTimedDataSend 0x0009200D, NdisFilterTimedPauseComplete 0x00092010, NdisFilterTimedDataSend 0x00092011,
 * NdisFilterTimedDataReceive 0x00092012). Parameter 2 is the address of the NDIS block involved, Parameter 3 the
 * NBL's address, Parameter 4 a {@link NblFault} saying which ownership rule was broken. Where no published code
 * fits, 0xC4 carries one of wdknet's {@link NdisDriverViolation} ids. NDIS_INTERNAL_ERROR (0x4F) is not used: its
 * documentation gives it no parameters and reserves it for NDIS's own failures, not drivers' misuse.
 */
import { BUGCODE_NDIS_DRIVER, bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { DISPATCH_LEVEL, KeGetCurrentIrql } from '../kernel/irql.js';
import { onSystemReset } from '../kernel/system.js';
import type { NET_BUFFER_LIST } from './structures.js';

/** BUGCODE_NDIS_DRIVER Parameter 1 values used here (from the 0x7C documentation). */
export const NdisBugcheck = {
  /** A miniport indicated a receive with a descriptor the stack above still holds (checked by reference count). */
  NFILTER_RECVD_PACKET_BAD_REF_COUNT: 0x12,
  /** NdisMPauseComplete / NdisMRestartComplete with no such operation pending (Parameter 2: 1 pause, 2 restart). */
  ILLEGAL_MINIPORT_STATE_TRANSITION: 0x1f,
  /** A protocol opened an adapter outside the bind it was asked to do (Parameter 2: the protocol block). */
  INVALID_OPEN_IN_BIND_CONTEXT: 0x16,
  /** A driver unloaded (deregistered) while NDIS still had its adapters (Parameter 4: how many). */
  DRIVER_UNLOAD_UNEXPECTED: 0x0a,
  /** An operation NDIS waited for took too long (Parameter 2 says which). */
  WATCHDOG: 0x25,
  /** A driver deregistered, unbound or detached while it still held NBLs (Parameter 2: 0x01, the NBL tracker). */
  LEAKED_NBL: 0x27,
} as const;

/** NDIS_BUGCHECK_WATCHDOG Parameter 2 values. */
export const NdisWatchdog = {
  PROTOCOL_PAUSE: 0x01,
  PROTOCOL_UNBIND: 0x04,
  FILTER_PAUSE: 0x11,
  FILTER_DETACH: 0x14,
  MINIPORT_PAUSE: 0x21,
  MINIPORT_HALT: 0x22,
} as const;

/** DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1: the documented NDIS verifier rules. */
export const NdisRule = {
  /** NdisTimedDataSend: the miniport completes what MiniportSendNetBufferLists gave it, once. */
  NdisTimedDataSend: 0x0009200d,
  /** NdisFilterTimedPauseComplete: FilterPause completes once, does not fail, and only when drained. */
  NdisFilterTimedPauseComplete: 0x00092010,
  /** NdisFilterTimedDataSend: a filter completes the sends it was given. */
  NdisFilterTimedDataSend: 0x00092011,
  /** NdisFilterTimedDataReceive: a filter returns the receives it was given. */
  NdisFilterTimedDataReceive: 0x00092012,
} as const;

/**
 * DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 values that wdknet defines for driver-model misuse no published
 * code covers (the NDIS 6 buffer layer uses 0x60xx; these are 0x61xx).
 */
export const NdisDriverViolation = {
  /** A DDI was called above its documented IRQL (the SDV rules Irql_*_Function have no runtime id). */
  IrqlTooHigh: 0x6101,
  /** A *_DISPATCH_LEVEL flag disagrees with the current IRQL. Parameter 3: the flags; 4: the IRQL. */
  DispatchFlagMismatch: 0x6102,
  /** A protocol returned or sent an NBL that it does not hold. */
  ProtocolNblOwnership: 0x6103,
  /** NumberOfNetBufferLists does not match the list. Parameter 3: the count given; 4: the list's length. */
  NblCountMismatch: 0x6104,
  /** A call made on a handle whose state forbids it (NdisMSetMiniportAttributes outside MiniportInitializeEx, ...). */
  WrongState: 0x6105,
  /** A handle that is not the kind of NDIS handle the DDI takes (Parameter 3 says which kind was expected). */
  InvalidHandle: 0x6107,
} as const;

/** Parameter 4 of an NBL ownership report: which rule was broken. */
export const NblFault = {
  /** The caller does not hold the NBL (it was never given to it, or it already passed it on or completed it). */
  NotHeld: 1,
  /** Completing or returning an NBL that nobody is waiting for: a double completion or double return. */
  NotOutstanding: 2,
  /** An NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES used after the indication returned. */
  KeptAfterResources: 3,
  /** SourceHandle does not name the sender. */
  WrongSourceHandle: 4,
  /** An NBL a filter originated passed on upward instead of being consumed by that filter. */
  OriginatorPassedUp: 5,
  /** An NBL still in flight handed down or up again. */
  AlreadyInFlight: 6,
} as const;

/** The bit that marks an indication with NDIS_RECEIVE_FLAGS_RESOURCES still under way. */
export const RESOURCES_BIT = 1 << 30;
/** Mask of the stack-position bits. */
export const PATH_MASK = 0xffff;
/** Set when the NBL's last indication was made with RESOURCES (so a later return is a kept NBL, not a double one). */
export const WAS_RESOURCES_BIT = 1 << 29;
/** One binding's share of a receive indication, counted in bits 16..28. */
export const BINDING_REF = 1 << 16;
/** Mask of the binding reference count. */
export const BINDING_REF_MASK = 0x1fff << 16;
/** The most filter modules one adapter may stack (stack positions 1..15; 0 is the miniport). */
export const MAX_FILTER_MODULES = 15;

/**
 * What can hold an NBL: an NDIS block (adapter, filter module, binding) or the shared-receive marker. An NBL
 * records its holder's small id, not a reference: a number store needs no write barrier, and every hand-off of
 * every NBL makes one.
 */
export interface NblHolder {
  /** The holder's index in the holder table (see {@link newHolderId}). */
  readonly holderId: number;
}

/** Holders by id; id 0 is "no holder" (a list no driver has handed to NDIS since it was allocated). */
const holderTable: unknown[] = [null];
/** Ids below this one belong to holders made at module load (the shared-receive marker): they survive a reset. */
let permanentHolders = 1;

/** Gives `holder` the next holder id. Blocks call this once, when they are made. */
export function newHolderId(holder: object): number {
  holderTable.push(holder);
  return holderTable.length - 1;
}

/** As {@link newHolderId}, for a holder made at module load that lives as long as the process. */
export function permanentHolderId(holder: object): number {
  const id = newHolderId(holder);
  permanentHolders = holderTable.length;
  return id;
}

// The blocks of the previous system are gone: their ids are not kept alive (nor their objects) past a reset.
onSystemReset(() => {
  holderTable.length = permanentHolders;
});

/** The NDIS block that holds `nbl` now (null when no driver has handed it to NDIS since it was allocated). */
export function holderOf(nbl: NET_BUFFER_LIST): unknown {
  return holderTable[nbl.ndisHolder] ?? null;
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** Records that `holder` holds `nbl` now. */
export const setHolder = (nbl: NET_BUFFER_LIST, holder: NblHolder): void => {
  nbl.ndisHolder = holder.holderId;
};

/** Records that the holder with id `holderId` holds `nbl` now (for a chain pass that reads the id once). */
export const setHolderId = (nbl: NET_BUFFER_LIST, holderId: number): void => {
  nbl.ndisHolder = holderId;
};

/** The NBL's tracking word (stack positions waiting for it back, RESOURCES mark, binding references). */
export const trackOf = (nbl: NET_BUFFER_LIST): number => {
  return nbl.ndisTrack;
};

/** Sets the tracking word. */
export const setTrack = (nbl: NET_BUFFER_LIST, value: number): void => {
  nbl.ndisTrack = value;
};

/** The length of the list that starts at `nbl`. */
export const chainLength = (nbl: NET_BUFFER_LIST | null): number => {
  let n = 0;
  for (let x = nbl; x !== null; x = x.Next) n++;
  return n;
};

/** Reports an NBL ownership violation under `rule` (an NdisRule or NdisDriverViolation id). */
export function nblViolation(
  rule: number,
  blockAddress: number,
  nbl: NET_BUFFER_LIST,
  fault: number,
  reason: string,
): never {
  return bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, rule, blockAddress, nbl.address, fault, reason);
}

/** Reports a driver-model violation as DRIVER_VERIFIER_DETECTED_VIOLATION. */
export function driverViolation(rule: number, p2: number, p3: number, p4: number, reason: string): never {
  return bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, rule, p2, p3, p4, reason);
}

/** Reports BUGCODE_NDIS_DRIVER with a documented Parameter 1. */
export function ndisDriverBugcheck(p1: number, p2: number, p3: number, p4: number, reason: string): never {
  return bugCheck(BUGCODE_NDIS_DRIVER, p1, p2, p3, p4, reason);
}

/**
 * Dispatch IRQL tracking: a *_DISPATCH_LEVEL flag must say exactly whether the caller runs at DISPATCH_LEVEL
 * (documented with each flag: "if set, the current IRQL is DISPATCH_LEVEL").
 */
export function checkDispatchFlag(flags: number, flag: number, ddi: string): void {
  const atDispatch = KeGetCurrentIrql() === DISPATCH_LEVEL;
  if (((flags & flag) !== 0) !== atDispatch) {
    driverViolation(
      NdisDriverViolation.DispatchFlagMismatch,
      0,
      flags,
      KeGetCurrentIrql(),
      `${ddi}: the DISPATCH_LEVEL flag is ${(flags & flag) !== 0 ? 'set' : 'clear'} but the current IRQL is ${KeGetCurrentIrql()}`,
    );
  }
}

/** Checks a DDI's IRQL limit, reporting it with {@link NdisDriverViolation.IrqlTooHigh}. */
export function requireNdisIrql(max: number, ddi: string): void {
  const irql = KeGetCurrentIrql();
  if (irql > max) {
    driverViolation(
      NdisDriverViolation.IrqlTooHigh,
      irql,
      max,
      0,
      `${ddi} must be called at IRQL <= ${max}, but the current IRQL is ${irql}`,
    );
  }
}
