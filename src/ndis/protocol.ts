/**
 * NDIS 6 protocol drivers: NdisRegisterProtocolDriver / NdisDeregisterProtocolDriver and the protocol's side of
 * the data path on a binding: NdisSendNetBufferLists (completed through ProtocolSendNetBufferListsComplete),
 * NdisReturnNetBufferLists (for indications made without NDIS_RECEIVE_FLAGS_RESOURCES),
 * NdisCancelSendNetBufferLists and NdisOidRequest. Opening and closing bindings is in binding.ts.
 */

import { DISPATCH_LEVEL, PASSIVE_LEVEL } from '../kernel/irql.js';
import {
  NDIS_STATUS_CLOSING,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NT_SUCCESS,
} from '../kernel/status.js';
import { VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import {
  allocateBlock,
  asBinding,
  asProtocol,
  freeBlock,
  NdisOpenBlock,
  NdisProtocolBlock,
  RunState,
  registry,
  TAG_PROTOCOL,
} from './driver-blocks.js';
import { checkCharacteristics } from './driver-characteristics.js';
import {
  NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_STATUS_BAD_CHARACTERISTICS,
} from './driver-constants.js';
import {
  bindingReturn,
  cancelDown,
  failSends,
  inFlight,
  oidDown,
  oidEnd,
  oidStart,
  SHARED_BY_BINDINGS,
  sendFrom,
  topPosition,
} from './driver-datapath.js';
import { bindEverywhere, queuePnpWork, unbindEverywhere } from './driver-lifecycle.js';
import type { NDIS_HANDLE, NDIS_OID_REQUEST, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS } from './driver-structures.js';
import { trackOut } from './driver-tracker.js';
import {
  BINDING_REF_MASK,
  checkDispatchFlag,
  holderOf,
  NblFault,
  NdisDriverViolation,
  nblViolation,
  requireNdisIrql,
  trackOf,
  WAS_RESOURCES_BIT,
} from './driver-verifier.js';
import type { NET_BUFFER_LIST } from './structures.js';

/**
 * The handlers a protocol must supply. ProtocolStatusEx, ProtocolOidRequestComplete, ProtocolUninstall and the
 * direct-OID handler may be NULL here (decided: NDIS skips a NULL status or completion handler).
 */
const REQUIRED_PROTOCOL_HANDLERS = [
  'BindAdapterHandlerEx',
  'UnbindAdapterHandlerEx',
  'OpenAdapterCompleteHandlerEx',
  'CloseAdapterCompleteHandlerEx',
  'NetPnPEventHandler',
  'ReceiveNetBufferListsHandler',
  'SendNetBufferListsCompleteHandler',
] as const;

/**
 * NdisRegisterProtocolDriver: registers a protocol driver (DriverEntry, PASSIVE_LEVEL). After it returns, NDIS
 * calls its ProtocolBindAdapterEx for every adapter (as Plug and Play work: see drainNdisPnpWork). Returns NDIS_STATUS_SUCCESS, NDIS_STATUS_BAD_CHARACTERISTICS (bad
 * header, no Name, a required handler missing), NDIS_STATUS_BAD_VERSION or NDIS_STATUS_RESOURCES.
 */
export function NdisRegisterProtocolDriver(
  ProtocolDriverContext: NDIS_HANDLE,
  ProtocolCharacteristics: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  NdisProtocolHandle: { value: NDIS_HANDLE },
): number {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisRegisterProtocolDriver');
  NdisProtocolHandle.value = null;
  const c = ProtocolCharacteristics;
  const valid = checkCharacteristics(c, {
    type: NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
    minSize: NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    minRevision: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    maxRevision: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2,
    required: REQUIRED_PROTOCOL_HANDLERS,
  });
  if (valid !== NDIS_STATUS_SUCCESS) return valid;
  if (c.Name === '') return NDIS_STATUS_BAD_CHARACTERISTICS;
  const address = allocateBlock('driver', TAG_PROTOCOL);
  if (address === 0) return NDIS_STATUS_RESOURCES;
  const protocol = new NdisProtocolBlock(ProtocolDriverContext, c, address);
  if (c.SetOptionsHandler !== null) {
    const status = c.SetOptionsHandler(protocol, ProtocolDriverContext);
    if (!NT_SUCCESS(status)) {
      freeBlock(address);
      return status;
    }
  }
  registry.protocols.push(protocol);
  NdisProtocolHandle.value = protocol;
  queuePnpWork(() => bindEverywhere(protocol));
  return NDIS_STATUS_SUCCESS;
}

/**
 * NdisDeregisterProtocolDriver: unbinds the protocol from every adapter (ProtocolUnbindAdapterEx, which closes
 * each binding) and releases the registration; it returns when every binding is closed. PASSIVE_LEVEL.
 */
export function NdisDeregisterProtocolDriver(NdisProtocolHandle: NDIS_HANDLE): void {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisDeregisterProtocolDriver');
  const protocol = asProtocol(NdisProtocolHandle, 'NdisDeregisterProtocolDriver');
  if (!protocol.registered) return;
  unbindEverywhere(protocol);
  protocol.registered = false;
  registry.protocols.splice(registry.protocols.indexOf(protocol), 1);
  freeBlock(protocol.address);
}

function protocolName(open: NdisOpenBlock): string {
  return open.protocol.chars.Name;
}

/** The standard verifier's checks of NdisSendNetBufferLists (out of line, so that the DDI stays small enough to inline). */
function checkProtocolSend(open: NdisOpenBlock, NetBufferLists: NET_BUFFER_LIST, SendFlags: number): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisSendNetBufferLists');
  checkDispatchFlag(SendFlags, NDIS_SEND_FLAGS_DISPATCH_LEVEL, 'NdisSendNetBufferLists');
  for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
    if (x.SourceHandle !== open) {
      nblViolation(
        NdisDriverViolation.ProtocolNblOwnership,
        open.address,
        x,
        NblFault.WrongSourceHandle,
        `protocol ${protocolName(open)} sent an NBL whose SourceHandle is not its NdisBindingHandle`,
      );
    }
    const holder = holderOf(x);
    const own =
      holder === null ||
      holder === undefined ||
      holder === open ||
      (holder instanceof NdisOpenBlock && holder.protocol === open.protocol);
    if (!own || inFlight(x)) {
      nblViolation(
        NdisDriverViolation.ProtocolNblOwnership,
        open.address,
        x,
        NblFault.AlreadyInFlight,
        `protocol ${protocolName(open)} sent an NBL it does not own (still in flight, or received from below)`,
      );
    }
  }
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/**
 * NdisSendNetBufferLists: a protocol sends NBLs on a binding. IRQL <= DISPATCH_LEVEL, with
 * NDIS_SEND_FLAGS_DISPATCH_LEVEL matching. Each NBL's SourceHandle must be the NdisBindingHandle; every NBL comes
 * back through ProtocolSendNetBufferListsComplete with its status. On a binding that is not running the NBLs
 * come back at once with NDIS_STATUS_PAUSED (NDIS_STATUS_CLOSING once it is being closed).
 */
export const NdisSendNetBufferLists = (
  NdisBindingHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  SendFlags: number,
): void => {
  const open = asBinding(NdisBindingHandle, 'NdisSendNetBufferLists');
  if (verifierLevel >= VERIFIER_STANDARD) checkProtocolSend(open, NetBufferLists, SendFlags);
  if (open.state === RunState.Running && !open.closing) {
    sendFrom(open, topPosition(open.adapter), NetBufferLists, PortNumber, SendFlags);
    return;
  }
  // Not running: every NBL comes straight back to the protocol (completeUp records the binding as holder).
  const full = verifierLevel >= VERIFIER_FULL;
  let n = 0;
  for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
    if (full) trackOut(x);
    n++;
  }
  open.sendsOut += n;
  const adapter = open.adapter;
  const flags = (SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
  failSends(
    adapter,
    topPosition(adapter) - 1,
    NetBufferLists,
    open.closing ? NDIS_STATUS_CLOSING : NDIS_STATUS_PAUSED,
    flags,
  );
};

/** The standard verifier's checks of NdisReturnNetBufferLists (out of line, so that the DDI stays small enough to inline). */
function checkProtocolReturn(open: NdisOpenBlock, NetBufferLists: NET_BUFFER_LIST, ReturnFlags: number): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisReturnNetBufferLists');
  checkDispatchFlag(ReturnFlags, NDIS_RETURN_FLAGS_DISPATCH_LEVEL, 'NdisReturnNetBufferLists');
  for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
    const holder = holderOf(x);
    const refs = trackOf(x) & BINDING_REF_MASK;
    if ((holder !== open && holder !== SHARED_BY_BINDINGS) || refs === 0) {
      const kept = (trackOf(x) & WAS_RESOURCES_BIT) !== 0;
      nblViolation(
        NdisDriverViolation.ProtocolNblOwnership,
        open.address,
        x,
        kept ? NblFault.KeptAfterResources : NblFault.NotHeld,
        kept
          ? `protocol ${protocolName(open)} returned an NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES: it was never the protocol's to keep`
          : `protocol ${protocolName(open)} returned an NBL this binding does not hold (returned twice, or never indicated to it)`,
      );
    }
  }
}

/**
 * NdisReturnNetBufferLists: a protocol gives back NBLs indicated to it without NDIS_RECEIVE_FLAGS_RESOURCES (the
 * list may mix NBLs from several indications). Returning an NBL the binding does not hold, or one indicated with
 * RESOURCES, is a violation.
 */
export const NdisReturnNetBufferLists = (
  NdisBindingHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  ReturnFlags: number,
): void => {
  const open = asBinding(NdisBindingHandle, 'NdisReturnNetBufferLists');
  if (verifierLevel >= VERIFIER_STANDARD) checkProtocolReturn(open, NetBufferLists, ReturnFlags);
  bindingReturn(open, NetBufferLists, ReturnFlags);
};

/** NdisCancelSendNetBufferLists: cancels sends whose NBLs carry CancelId (passed to the drivers below). */
export function NdisCancelSendNetBufferLists(NdisBindingHandle: NDIS_HANDLE, CancelId: unknown): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisCancelSendNetBufferLists');
  const open = asBinding(NdisBindingHandle, 'NdisCancelSendNetBufferLists');
  cancelDown(open.adapter, topPosition(open.adapter), CancelId);
}

/**
 * NdisOidRequest: a protocol queries or sets an adapter parameter. Returns the status, or NDIS_STATUS_PENDING, in
 * which case ProtocolOidRequestComplete reports the outcome.
 */
export function NdisOidRequest(NdisBindingHandle: NDIS_HANDLE, OidRequest: NDIS_OID_REQUEST): number {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisOidRequest');
  const open = asBinding(NdisBindingHandle, 'NdisOidRequest');
  oidStart(open, OidRequest);
  OidRequest.RequestHandle = open;
  const status = oidDown(open.adapter, topPosition(open.adapter), OidRequest);
  if (status !== NDIS_STATUS_PENDING) oidEnd(OidRequest);
  return status;
}

/** The protocol handle type (NdisProtocolHandle). */
export type { NdisProtocolBlock };
