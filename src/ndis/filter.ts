/**
 * NDIS 6 lightweight filter drivers: NdisFRegisterFilterDriver / NdisFDeregisterFilterDriver, NdisFSetAttributes
 * during FilterAttach, pause and restart completion (NdisFPauseComplete, NdisFRestartComplete) and the filter's
 * side of the data path: NdisFSendNetBufferLists, NdisFSendNetBufferListsComplete,
 * NdisFIndicateReceiveNetBufferLists, NdisFReturnNetBufferLists, plus cancellation, status and OID requests.
 *
 * Handlers a filter leaves NULL are bypassed: NDIS passes that traffic straight on. A filter sets SourceHandle to
 * its NdisFilterHandle on the NBLs it originates, and those come back to it, never to the drivers above.
 */

import type { DRIVER_OBJECT } from '../kernel/driver.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL } from '../kernel/irql.js';
import {
  NDIS_STATUS_INVALID_PARAMETER,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NT_SUCCESS,
} from '../kernel/status.js';
import { VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import {
  allocateBlock,
  asFilterDriver,
  asFilterModule,
  freeBlock,
  NdisFilterDriverBlock,
  NdisFilterModule,
  RunState,
  registry,
  TAG_FILTER_DRIVER,
} from './driver-blocks.js';
import { checkCharacteristics } from './driver-characteristics.js';
import {
  NDIS_FILTER_CHARACTERISTICS_REVISION_1,
  NDIS_FILTER_CHARACTERISTICS_REVISION_3,
  NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
  NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
} from './driver-constants.js';
import {
  cancelDown,
  completeUp,
  failSends,
  indicateUp,
  inFlight,
  markIndicated,
  markSent,
  oidCompleteUp,
  oidDown,
  returnDown,
  sendFrom,
  statusUp,
} from './driver-datapath.js';
import {
  attachEverywhere,
  detachEverywhere,
  filterPauseCompleted,
  filterRestartCompleted,
  queuePnpWork,
} from './driver-lifecycle.js';
import type {
  NDIS_FILTER_ATTRIBUTES,
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_HANDLE,
  NDIS_OID_REQUEST,
  NDIS_STATUS_INDICATION,
} from './driver-structures.js';
import { trackOut } from './driver-tracker.js';
import {
  checkDispatchFlag,
  driverViolation,
  holderOf,
  NblFault,
  NdisDriverViolation,
  NdisRule,
  nblViolation,
  RESOURCES_BIT,
  requireNdisIrql,
  setHolder,
  setTrack,
  trackOf,
} from './driver-verifier.js';
import type { NET_BUFFER_LIST } from './structures.js';

/** The handlers every filter must supply: every filter takes part in attach, detach, pause and restart. */
const REQUIRED_FILTER_HANDLERS = ['AttachHandler', 'DetachHandler', 'RestartHandler', 'PauseHandler'] as const;

function filterName(module: NdisFilterModule): string {
  return module.driver.chars.FriendlyName || module.driver.DriverObject.DriverName;
}

/**
 * NdisFRegisterFilterDriver: registers a filter driver's entry points (DriverEntry, PASSIVE_LEVEL). After it
 * returns, NDIS attaches a filter module to every adapter (Plug and Play work: see drainNdisPnpWork) (each new filter driver stacks above those registered before it:
 * wdknet's order, where Windows takes it from the INF's FilterClass). Returns NDIS_STATUS_SUCCESS,
 * NDIS_STATUS_BAD_CHARACTERISTICS, NDIS_STATUS_BAD_VERSION or NDIS_STATUS_RESOURCES.
 */
export function NdisFRegisterFilterDriver(
  DriverObject: DRIVER_OBJECT,
  FilterDriverContext: NDIS_HANDLE,
  FilterDriverCharacteristics: NDIS_FILTER_DRIVER_CHARACTERISTICS,
  NdisFilterDriverHandle: { value: NDIS_HANDLE },
): number {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisFRegisterFilterDriver');
  NdisFilterDriverHandle.value = null;
  const c = FilterDriverCharacteristics;
  const valid = checkCharacteristics(c, {
    type: NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
    minSize: NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
    minRevision: NDIS_FILTER_CHARACTERISTICS_REVISION_1,
    maxRevision: NDIS_FILTER_CHARACTERISTICS_REVISION_3,
    required: REQUIRED_FILTER_HANDLERS,
  });
  if (valid !== NDIS_STATUS_SUCCESS) return valid;
  const address = allocateBlock('driver', TAG_FILTER_DRIVER);
  if (address === 0) return NDIS_STATUS_RESOURCES;
  const driver = new NdisFilterDriverBlock(DriverObject, FilterDriverContext, c, address);
  if (c.SetOptionsHandler !== null) {
    const status = c.SetOptionsHandler(driver, FilterDriverContext);
    if (!NT_SUCCESS(status)) {
      freeBlock(address);
      return status;
    }
  }
  registry.filterDrivers.push(driver);
  NdisFilterDriverHandle.value = driver;
  queuePnpWork(() => attachEverywhere(driver));
  return NDIS_STATUS_SUCCESS;
}

/**
 * NdisFDeregisterFilterDriver: detaches every module of the filter driver (pausing each stack first) and
 * releases the registration; it returns when all are detached. PASSIVE_LEVEL.
 */
export function NdisFDeregisterFilterDriver(NdisFilterDriverHandle: NDIS_HANDLE): void {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisFDeregisterFilterDriver');
  const driver = asFilterDriver(NdisFilterDriverHandle, 'NdisFDeregisterFilterDriver');
  if (!driver.registered) return;
  detachEverywhere(driver);
  driver.registered = false;
  registry.filterDrivers.splice(registry.filterDrivers.indexOf(driver), 1);
  freeBlock(driver.address);
}

/**
 * NdisFSetAttributes: from FilterAttach, gives NDIS the filter module's context (the FilterModuleContext NDIS
 * passes to every handler). Returns NDIS_STATUS_SUCCESS, or NDIS_STATUS_INVALID_PARAMETER for a malformed
 * NDIS_FILTER_ATTRIBUTES. Outside FilterAttach it is a violation.
 */
export function NdisFSetAttributes(
  NdisFilterHandle: NDIS_HANDLE,
  FilterModuleContext: NDIS_HANDLE,
  FilterAttributes: NDIS_FILTER_ATTRIBUTES,
): number {
  const module = asFilterModule(NdisFilterHandle, 'NdisFSetAttributes');
  requireNdisIrql(PASSIVE_LEVEL, 'NdisFSetAttributes');
  if (module.state !== RunState.Attaching) {
    driverViolation(
      NdisDriverViolation.WrongState,
      module.address,
      module.state,
      0,
      'NdisFSetAttributes may be called only from FilterAttach',
    );
  }
  if (FilterAttributes.Header.Type !== NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES || FilterAttributes.Header.Revision < 1) {
    return NDIS_STATUS_INVALID_PARAMETER;
  }
  module.FilterModuleContext = FilterModuleContext;
  module.attributesSet = true;
  return NDIS_STATUS_SUCCESS;
}

/**
 * NdisFPauseComplete: a filter whose FilterPause returned NDIS_STATUS_PENDING has finished pausing. Everything it
 * sent down must have completed back and everything it indicated up must have been returned; completing a pause
 * that is not pending (twice) is a violation of NdisFilterTimedPauseComplete.
 */
export function NdisFPauseComplete(NdisFilterHandle: NDIS_HANDLE): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisFPauseComplete');
  filterPauseCompleted(asFilterModule(NdisFilterHandle, 'NdisFPauseComplete'));
}

/** NdisFRestartComplete: a filter whose FilterRestart returned NDIS_STATUS_PENDING has finished restarting. */
export function NdisFRestartComplete(NdisFilterHandle: NDIS_HANDLE, Status: number): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisFRestartComplete');
  filterRestartCompleted(asFilterModule(NdisFilterHandle, 'NdisFRestartComplete'), Status);
}

/** Checks that a filter may hand `nbl` on: it holds it, or it is its own fresh NBL (SourceHandle = itself). */
function checkFilterOwns(module: NdisFilterModule, nbl: NET_BUFFER_LIST, rule: number, ddi: string): void {
  const holder = holderOf(nbl);
  if (holder === module && nbl.SourceHandle !== module) {
    // Passing on what it was given: but only in the direction it came. Stack positions at or below the filter
    // wait for an NBL that came up as a receive; positions above it, for one that came down as a send.
    const track = trackOf(nbl);
    const below = (1 << (module.position + 1)) - 1;
    const cameUp = (track & below) !== 0 || (track & RESOURCES_BIT) !== 0;
    const sending = rule === NdisRule.NdisFilterTimedDataSend;
    if (sending === cameUp) {
      nblViolation(
        rule,
        module.address,
        nbl,
        NblFault.NotHeld,
        `${ddi} by ${filterName(module)}: this NET_BUFFER_LIST reached the filter as a ${cameUp ? 'receive' : 'send'}; a filter may not turn it around (it must copy it into an NBL of its own)`,
      );
    }
    return;
  }
  const fresh =
    holder === null ||
    holder === undefined ||
    holder === module ||
    (holder instanceof NdisFilterModule && holder.driver === module.driver);
  if (!fresh) {
    nblViolation(
      rule,
      module.address,
      nbl,
      NblFault.NotHeld,
      `${ddi} by ${filterName(module)}: the filter does not hold this NET_BUFFER_LIST`,
    );
  }
  if (nbl.SourceHandle !== module) {
    nblViolation(
      rule,
      module.address,
      nbl,
      NblFault.WrongSourceHandle,
      `${ddi} by ${filterName(module)}: an NBL the filter originates must have SourceHandle set to its NdisFilterHandle`,
    );
  }
  if (inFlight(nbl)) {
    nblViolation(
      rule,
      module.address,
      nbl,
      NblFault.AlreadyInFlight,
      `${ddi} by ${filterName(module)}: this NBL is still in flight`,
    );
  }
}

/**
 * NdisFSendNetBufferLists: a filter sends NBLs down, its own (SourceHandle = NdisFilterHandle) or ones it got in
 * FilterSendNetBufferLists. They come back to its FilterSendNetBufferListsComplete. A filter that is not running
 * gets them back at once with NDIS_STATUS_PAUSED.
 */
export function NdisFSendNetBufferLists(
  NdisFilterHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  SendFlags: number,
): void {
  const module = asFilterModule(NdisFilterHandle, 'NdisFSendNetBufferLists');
  if (verifierLevel >= VERIFIER_STANDARD) {
    requireNdisIrql(DISPATCH_LEVEL, 'NdisFSendNetBufferLists');
    checkDispatchFlag(SendFlags, NDIS_SEND_FLAGS_DISPATCH_LEVEL, 'NdisFSendNetBufferLists');
    for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
      checkFilterOwns(module, x, NdisRule.NdisFilterTimedDataSend, 'NdisFSendNetBufferLists');
    }
  }
  if (module.state === RunState.Running || module.state === RunState.Pausing) {
    sendFrom(module, module.position, NetBufferLists, PortNumber, SendFlags);
    return;
  }
  const n = markSent(NetBufferLists, module.position);
  module.sendsOut += n;
  if (verifierLevel >= VERIFIER_FULL) {
    for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next)
      if (x.SourceHandle === module) trackOut(x);
  }
  const flags = (SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
  failSends(module.adapter, module.position - 1, NetBufferLists, NDIS_STATUS_PAUSED, flags);
}

/**
 * NdisFSendNetBufferListsComplete: a filter passes up the completion of NBLs that came to it from above. Its own
 * NBLs (SourceHandle = NdisFilterHandle) it must keep and free instead.
 */
export function NdisFSendNetBufferListsComplete(
  NdisFilterHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  SendCompleteFlags: number,
): void {
  const module = asFilterModule(NdisFilterHandle, 'NdisFSendNetBufferListsComplete');
  if (verifierLevel >= VERIFIER_STANDARD) {
    requireNdisIrql(DISPATCH_LEVEL, 'NdisFSendNetBufferListsComplete');
    checkDispatchFlag(SendCompleteFlags, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL, 'NdisFSendNetBufferListsComplete');
    for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
      if (x.SourceHandle === module) {
        nblViolation(
          NdisRule.NdisFilterTimedDataSend,
          module.address,
          x,
          NblFault.OriginatorPassedUp,
          `${filterName(module)} passed up the completion of an NBL it originated itself`,
        );
      }
      if (holderOf(x) !== module) {
        nblViolation(
          NdisRule.NdisFilterTimedDataSend,
          module.address,
          x,
          NblFault.NotHeld,
          `${filterName(module)} completed a NET_BUFFER_LIST it does not hold (not given to it, or already completed)`,
        );
      }
    }
  }
  completeUp(module.adapter, module.position, NetBufferLists, SendCompleteFlags);
}

/**
 * NdisFIndicateReceiveNetBufferLists: a filter indicates NBLs up, ones it got in FilterReceiveNetBufferLists or
 * its own. Without NDIS_RECEIVE_FLAGS_RESOURCES they come back to its FilterReturnNetBufferLists; NBLs it got
 * with RESOURCES it may pass up only with RESOURCES.
 */
export function NdisFIndicateReceiveNetBufferLists(
  NdisFilterHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  NumberOfNetBufferLists: number,
  ReceiveFlags: number,
): void {
  const module = asFilterModule(NdisFilterHandle, 'NdisFIndicateReceiveNetBufferLists');
  const resources = (ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0;
  if (verifierLevel >= VERIFIER_STANDARD) {
    requireNdisIrql(DISPATCH_LEVEL, 'NdisFIndicateReceiveNetBufferLists');
    checkDispatchFlag(ReceiveFlags, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, 'NdisFIndicateReceiveNetBufferLists');
    let n = 0;
    for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
      n++;
      checkFilterOwns(module, x, NdisRule.NdisFilterTimedDataReceive, 'NdisFIndicateReceiveNetBufferLists');
      if (!resources && (trackOf(x) & RESOURCES_BIT) !== 0) {
        nblViolation(
          NdisRule.NdisFilterTimedDataReceive,
          module.address,
          x,
          NblFault.KeptAfterResources,
          `${filterName(module)} indicated without NDIS_RECEIVE_FLAGS_RESOURCES an NBL it received with that flag: it is not the filter's to lend out`,
        );
      }
    }
    if (n !== NumberOfNetBufferLists) {
      driverViolation(
        NdisDriverViolation.NblCountMismatch,
        module.address,
        NumberOfNetBufferLists,
        n,
        `NdisFIndicateReceiveNetBufferLists: NumberOfNetBufferLists is ${NumberOfNetBufferLists} but the list holds ${n}`,
      );
    }
  }
  const n = markIndicated(NetBufferLists, module.position, resources, module);
  if (!resources) module.receivesOut += n;
  if (!resources && verifierLevel >= VERIFIER_FULL) {
    for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next)
      if (x.SourceHandle === module) trackOut(x);
  }
  if (module.state !== RunState.Running && module.state !== RunState.Pausing) {
    // A filter that is not running may not indicate: NDIS hands the NBLs straight back.
    if (!resources) {
      const flags = (ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
      returnDown(module.adapter, module.position + 1, NetBufferLists, flags);
    } else {
      endOwnResources(module, NetBufferLists);
    }
    return;
  }
  try {
    indicateUp(module.adapter, module.position, NetBufferLists, PortNumber, NumberOfNetBufferLists, ReceiveFlags);
  } finally {
    if (resources) endOwnResources(module, NetBufferLists);
  }
}

/** After a RESOURCES indication: the NBLs are the filter's again; its own lose the RESOURCES mark. */
function endOwnResources(module: NdisFilterModule, nbls: NET_BUFFER_LIST): void {
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
    setHolder(x, module);
    if (x.SourceHandle === module) setTrack(x, trackOf(x) & ~RESOURCES_BIT);
  }
}

/**
 * NdisFReturnNetBufferLists: a filter gives back NBLs it received (and did not pass up, or got back from above).
 * Its own NBLs it keeps and frees instead.
 */
export function NdisFReturnNetBufferLists(
  NdisFilterHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  ReturnFlags: number,
): void {
  const module = asFilterModule(NdisFilterHandle, 'NdisFReturnNetBufferLists');
  if (verifierLevel >= VERIFIER_STANDARD) {
    requireNdisIrql(DISPATCH_LEVEL, 'NdisFReturnNetBufferLists');
    checkDispatchFlag(ReturnFlags, NDIS_RETURN_FLAGS_DISPATCH_LEVEL, 'NdisFReturnNetBufferLists');
    for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
      if (x.SourceHandle === module) {
        nblViolation(
          NdisRule.NdisFilterTimedDataReceive,
          module.address,
          x,
          NblFault.OriginatorPassedUp,
          `${filterName(module)} returned an NBL it originated itself (it must free its own NBLs)`,
        );
      }
      if (holderOf(x) !== module) {
        nblViolation(
          NdisRule.NdisFilterTimedDataReceive,
          module.address,
          x,
          (trackOf(x) & RESOURCES_BIT) !== 0 || holderOf(x) === module.adapter
            ? NblFault.KeptAfterResources
            : NblFault.NotHeld,
          `${filterName(module)} returned a NET_BUFFER_LIST it does not hold (not indicated to it, already returned, or indicated with NDIS_RECEIVE_FLAGS_RESOURCES)`,
        );
      }
    }
  }
  returnDown(module.adapter, module.position, NetBufferLists, ReturnFlags);
}

/** NdisFCancelSendNetBufferLists: passes a cancellation of sends marked with CancelId to the drivers below. */
export function NdisFCancelSendNetBufferLists(NdisFilterHandle: NDIS_HANDLE, CancelId: unknown): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisFCancelSendNetBufferLists');
  const module = asFilterModule(NdisFilterHandle, 'NdisFCancelSendNetBufferLists');
  cancelDown(module.adapter, module.position, CancelId);
}

/** NdisFIndicateStatus: a filter passes a status indication (its own or one it received) up the stack. */
export function NdisFIndicateStatus(NdisFilterHandle: NDIS_HANDLE, StatusIndication: NDIS_STATUS_INDICATION): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisFIndicateStatus');
  const module = asFilterModule(NdisFilterHandle, 'NdisFIndicateStatus');
  statusUp(module.adapter, module.position, StatusIndication);
}

/** NdisFOidRequest: a filter passes an OID request down. Returns the status, or NDIS_STATUS_PENDING. */
export function NdisFOidRequest(NdisFilterHandle: NDIS_HANDLE, OidRequest: NDIS_OID_REQUEST): number {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisFOidRequest');
  const module = asFilterModule(NdisFilterHandle, 'NdisFOidRequest');
  if (module.state === RunState.Detached) return NDIS_STATUS_INVALID_PARAMETER;
  return oidDown(module.adapter, module.position, OidRequest);
}

/** NdisFOidRequestComplete: a filter completes an OID request that it pended, passing the result up. */
export function NdisFOidRequestComplete(
  NdisFilterHandle: NDIS_HANDLE,
  OidRequest: NDIS_OID_REQUEST,
  Status: number,
): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisFOidRequestComplete');
  const module = asFilterModule(NdisFilterHandle, 'NdisFOidRequestComplete');
  oidCompleteUp(module.adapter, module.position, OidRequest, Status);
}

/** The handles: NdisFilterDriverHandle and NdisFilterHandle. */
export type { NdisFilterDriverBlock, NdisFilterModule };
