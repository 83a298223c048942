/**
 * Bindings between protocols and adapters: NdisOpenAdapterEx (from ProtocolBindAdapterEx, with the BindContext
 * NDIS gave it), NdisCompleteBindAdapterEx, NdisCloseAdapterEx (from ProtocolUnbindAdapterEx),
 * NdisCompleteUnbindAdapterEx and NdisCompleteNetPnPEvent.
 *
 * NDIS binds every registered protocol to every adapter once the adapter's stack is running; the binding starts
 * Paused and NDIS restarts it (a NetEventRestart through ProtocolNetPnPEvent) before sends and receives flow.
 */
import { PASSIVE_LEVEL } from '../kernel/irql.js';
import { NDIS_STATUS_INVALID_PARAMETER, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { allocateBlock, asBinding, asProtocol, NdisOpenBlock, RunState, TAG_OPEN } from './driver-blocks.js';
import {
  NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
  NDIS_STATUS_ADAPTER_NOT_FOUND,
  NDIS_STATUS_UNSUPPORTED_MEDIA,
} from './driver-constants.js';
import {
  BindContext as BindContextBlock,
  bindCompleted,
  bindingPnPCompleted,
  closeBinding,
  UnbindContext as UnbindContextBlock,
  unbindCompleted,
} from './driver-lifecycle.js';
import type { NDIS_HANDLE, NDIS_OPEN_PARAMETERS, NET_PNP_EVENT_NOTIFICATION } from './driver-structures.js';
import {
  driverViolation,
  NdisBugcheck,
  NdisDriverViolation,
  ndisDriverBugcheck,
  requireNdisIrql,
} from './driver-verifier.js';

/**
 * NdisOpenAdapterEx: a protocol opens the adapter it was asked to bind to. Callable from ProtocolBindAdapterEx
 * (or after it returned NDIS_STATUS_PENDING, before NdisCompleteBindAdapterEx) with the BindContext NDIS passed;
 * anything else is NDIS_BUGCHECK_INVALID_OPEN_IN_BIND_CONTEXT. NDIS picks the adapter's medium from MediumArray
 * (NDIS_STATUS_UNSUPPORTED_MEDIA when absent) and returns the binding handle. wdknet completes the open at once,
 * so the result is NDIS_STATUS_SUCCESS (never NDIS_STATUS_PENDING) and ProtocolOpenAdapterCompleteEx is not called.
 */
export function NdisOpenAdapterEx(
  NdisProtocolHandle: NDIS_HANDLE,
  ProtocolBindingContext: NDIS_HANDLE,
  OpenParameters: NDIS_OPEN_PARAMETERS,
  BindContext: NDIS_HANDLE,
  NdisBindingHandle: { value: NDIS_HANDLE },
): number {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisOpenAdapterEx');
  NdisBindingHandle.value = null;
  const protocol = asProtocol(NdisProtocolHandle, 'NdisOpenAdapterEx');
  const context = BindContext;
  if (
    !(context instanceof BindContextBlock) ||
    context.protocol !== protocol ||
    !context.active ||
    context.open !== null
  ) {
    ndisDriverBugcheck(
      NdisBugcheck.INVALID_OPEN_IN_BIND_CONTEXT,
      protocol.address,
      0,
      0,
      'NdisOpenAdapterEx was called without the BindContext of a bind in progress for this protocol (or opened twice in one bind)',
    );
  }
  if (OpenParameters.Header.Type !== NDIS_OBJECT_TYPE_OPEN_PARAMETERS) return NDIS_STATUS_INVALID_PARAMETER;
  const adapter = context.adapter;
  if (OpenParameters.AdapterName !== '' && OpenParameters.AdapterName !== adapter.name)
    return NDIS_STATUS_ADAPTER_NOT_FOUND;
  const medium = adapter.general?.MediaType ?? 0;
  const size = Math.min(OpenParameters.MediumArraySize, OpenParameters.MediumArray.length);
  let selected = -1;
  for (let i = 0; i < size; i++) {
    if (OpenParameters.MediumArray[i] === medium) {
      selected = i;
      break;
    }
  }
  if (selected < 0) return NDIS_STATUS_UNSUPPORTED_MEDIA;
  const address = allocateBlock('open', TAG_OPEN);
  if (address === 0) return NDIS_STATUS_RESOURCES;
  const open = new NdisOpenBlock(protocol, adapter, address, ProtocolBindingContext);
  open.state = RunState.Paused;
  adapter.opens.push(open);
  protocol.opens.push(open);
  context.open = open;
  OpenParameters.SelectedMediumIndex.value = selected;
  NdisBindingHandle.value = open;
  return NDIS_STATUS_SUCCESS;
}

/** NdisCompleteBindAdapterEx: a protocol whose ProtocolBindAdapterEx returned NDIS_STATUS_PENDING finishes the bind. */
export function NdisCompleteBindAdapterEx(BindAddContext: NDIS_HANDLE, Status: number): void {
  if (!(BindAddContext instanceof BindContextBlock)) {
    driverViolation(
      NdisDriverViolation.WrongState,
      0,
      Status,
      0,
      'NdisCompleteBindAdapterEx with a handle that is no BindContext',
    );
  }
  bindCompleted(BindAddContext, Status);
}

/**
 * NdisCloseAdapterEx: a protocol closes a binding (from ProtocolUnbindAdapterEx). Every receive indication it
 * holds must have been returned (else NDIS_BUGCHECK_LEAKED_NBL). Returns NDIS_STATUS_SUCCESS, or
 * NDIS_STATUS_PENDING while sends on the binding are still outstanding; NDIS then calls
 * ProtocolCloseAdapterCompleteEx once they have completed.
 */
export function NdisCloseAdapterEx(NdisBindingHandle: NDIS_HANDLE): number {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisCloseAdapterEx');
  const open = asBinding(NdisBindingHandle, 'NdisCloseAdapterEx');
  if (open.closing) {
    driverViolation(
      NdisDriverViolation.WrongState,
      open.address,
      0,
      0,
      'NdisCloseAdapterEx on a binding that is already closed or closing',
    );
  }
  return closeBinding(open);
}

/** NdisCompleteUnbindAdapterEx: a protocol whose ProtocolUnbindAdapterEx returned NDIS_STATUS_PENDING finishes. */
export function NdisCompleteUnbindAdapterEx(UnbindContext: NDIS_HANDLE): void {
  if (!(UnbindContext instanceof UnbindContextBlock)) {
    driverViolation(
      NdisDriverViolation.WrongState,
      0,
      0,
      0,
      'NdisCompleteUnbindAdapterEx with a handle that is no UnbindContext',
    );
  }
  unbindCompleted(UnbindContext);
}

/** NdisCompleteNetPnPEvent: a protocol whose ProtocolNetPnPEvent returned NDIS_STATUS_PENDING gives its answer. */
export function NdisCompleteNetPnPEvent(
  NdisBindingHandle: NDIS_HANDLE,
  NetPnPEventNotification: NET_PNP_EVENT_NOTIFICATION,
  Status: number,
): void {
  void NetPnPEventNotification;
  void Status;
  bindingPnPCompleted(asBinding(NdisBindingHandle, 'NdisCompleteNetPnPEvent'));
}

/** The binding handle type (NdisBindingHandle). */
export type { NdisOpenBlock };
