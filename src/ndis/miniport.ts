/**
 * NDIS 6 miniport drivers: NdisMRegisterMiniportDriver / NdisMDeregisterMiniportDriver, adapter initialization
 * with NdisMSetMiniportAttributes, and the miniport's side of the data path (NdisMIndicateReceiveNetBufferLists,
 * NdisMSendNetBufferListsComplete), of pause and restart (NdisMPauseComplete, NdisMRestartComplete), of OID
 * requests (NdisMOidRequestComplete) and of status (NdisMIndicateStatusEx).
 *
 * Adapters arrive the way Plug and Play would start a device: {@link addMiniportAdapter} (wdknet's, not a DDI)
 * calls the driver's MiniportInitializeEx and then brings the stack up; {@link removeMiniportAdapter} halts it.
 */

import type { DRIVER_OBJECT } from '../kernel/driver.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL } from '../kernel/irql.js';
import {
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_INVALID_PARAMETER,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NT_SUCCESS,
} from '../kernel/status.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import {
  allocateBlock,
  asAdapter,
  asMiniportDriver,
  freeBlock,
  NdisMiniportBlock,
  NdisMiniportDriverBlock,
  RunState,
  registry,
  TAG_MINIPORT_BLOCK,
  TAG_MINIPORT_DRIVER,
} from './driver-blocks.js';
import { checkCharacteristics } from './driver-characteristics.js';
import {
  IF_TYPE_ETHERNET_CSMACD,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NdisHaltDeviceSurpriseRemoved,
} from './driver-constants.js';
import {
  completeUp,
  indicatedByMiniport,
  indicateFromMiniport,
  oidCompleteUp,
  returnFlagsFor,
  statusUp,
} from './driver-datapath.js';
import {
  drainNdisPnpWork,
  haltAdapter,
  miniportPauseCompleted,
  miniportRestartCompleted,
  startAdapter,
} from './driver-lifecycle.js';
import {
  type NDIS_HANDLE,
  type NDIS_MINIPORT_ADAPTER_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  type NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_MINIPORT_INIT_PARAMETERS,
  type NDIS_OID_REQUEST,
  type NDIS_STATUS_INDICATION,
} from './driver-structures.js';
import {
  chainLength,
  checkDispatchFlag,
  driverViolation,
  holderOf,
  NblFault,
  NdisBugcheck,
  NdisDriverViolation,
  NdisRule,
  nblViolation,
  ndisDriverBugcheck,
  requireNdisIrql,
} from './driver-verifier.js';
import type { NET_BUFFER_LIST } from './structures.js';

/** The handlers every NDIS 6 miniport must supply (NdisMRegisterMiniportDriver fails without them). */
const REQUIRED_MINIPORT_HANDLERS = [
  'InitializeHandlerEx',
  'HaltHandlerEx',
  'UnloadHandler',
  'PauseHandler',
  'RestartHandler',
  'OidRequestHandler',
  'SendNetBufferListsHandler',
  'ReturnNetBufferListsHandler',
  'CancelSendHandler',
  'DevicePnPEventNotifyHandler',
  'ShutdownHandlerEx',
  'CancelOidRequestHandler',
] as const;

/**
 * NdisMRegisterMiniportDriver: registers a miniport driver's entry points. Called from DriverEntry at
 * PASSIVE_LEVEL. Returns NDIS_STATUS_SUCCESS and the driver handle, NDIS_STATUS_BAD_CHARACTERISTICS for a
 * malformed characteristics structure or a missing required handler, NDIS_STATUS_BAD_VERSION for a version other
 * than NDIS 6.x, or NDIS_STATUS_RESOURCES. If the driver supplies MiniportSetOptions, NDIS calls it before
 * returning.
 */
export function NdisMRegisterMiniportDriver(
  DriverObject: DRIVER_OBJECT,
  RegistryPath: string,
  MiniportDriverContext: NDIS_HANDLE,
  MiniportDriverCharacteristics: NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NdisMiniportDriverHandle: { value: NDIS_HANDLE },
): number {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisMRegisterMiniportDriver');
  void RegistryPath;
  NdisMiniportDriverHandle.value = null;
  const c = MiniportDriverCharacteristics;
  const valid = checkCharacteristics(c, {
    type: NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
    minSize: NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    minRevision: NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    maxRevision: NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3,
    required: REQUIRED_MINIPORT_HANDLERS,
  });
  if (valid !== NDIS_STATUS_SUCCESS) return valid;
  if (registry.miniportDrivers.some((d) => d.DriverObject === DriverObject)) return NDIS_STATUS_FAILURE;
  const address = allocateBlock('driver', TAG_MINIPORT_DRIVER);
  if (address === 0) return NDIS_STATUS_RESOURCES;
  const block = new NdisMiniportDriverBlock(DriverObject, MiniportDriverContext, c, address);
  if (c.SetOptionsHandler !== null) {
    const status = c.SetOptionsHandler(block, MiniportDriverContext);
    if (!NT_SUCCESS(status)) {
      freeBlock(address);
      return status;
    }
  }
  registry.miniportDrivers.push(block);
  NdisMiniportDriverHandle.value = block;
  return NDIS_STATUS_SUCCESS;
}

/**
 * NdisMDeregisterMiniportDriver: releases a miniport driver's registration (from MiniportDriverUnload or a
 * failing DriverEntry). PASSIVE_LEVEL. Adapters still present are halted first, as Plug and Play removes a
 * driver's devices before unloading it (decided: on Windows the devices are already gone at this point).
 */
export function NdisMDeregisterMiniportDriver(NdisMiniportDriverHandle: NDIS_HANDLE): void {
  requireNdisIrql(PASSIVE_LEVEL, 'NdisMDeregisterMiniportDriver');
  const driver = asMiniportDriver(NdisMiniportDriverHandle, 'NdisMDeregisterMiniportDriver');
  if (!driver.registered) {
    ndisDriverBugcheck(
      NdisBugcheck.DRIVER_UNLOAD_UNEXPECTED,
      driver.address,
      0,
      0,
      'NdisMDeregisterMiniportDriver for a driver that is not registered',
    );
  }
  for (const adapter of [...driver.adapters]) haltAdapter(adapter);
  driver.registered = false;
  registry.miniportDrivers.splice(registry.miniportDrivers.indexOf(driver), 1);
  freeBlock(driver.address);
}

/** How a simulated device appears to NDIS (what Plug and Play and the registry would supply). */
export interface AdapterOptions {
  /** The adapter's instance name, e.g. "wdknet Ethernet 1". */
  name?: string;
  /** The interface index NDIS assigns (unique per adapter; chosen automatically when absent). */
  ifIndex?: number;
  /** IANA interface type for the NET_LUID (default IF_TYPE_ETHERNET_CSMACD). */
  ifType?: number;
  /**
   * What MiniportAddDevice would have left for MiniportInitializeEx: passed as
   * NDIS_MINIPORT_INIT_PARAMETERS.MiniportAddDeviceContext (how a simulated device hands its configuration over).
   */
  addDeviceContext?: unknown;
}

let nextIfIndex = 10;

/**
 * A device arrives: NDIS makes the adapter block and calls MiniportInitializeEx; on success the miniport must
 * have called NdisMSetMiniportAttributes with registration and general attributes. Then filter modules attach,
 * the stack restarts and protocols bind. Returns the status of MiniportInitializeEx and, on success, the adapter.
 */
export function addMiniportAdapter(
  driver: NdisMiniportDriverBlock,
  options: AdapterOptions = {},
): { status: number; adapter: NdisMiniportBlock | null } {
  requireNdisIrql(PASSIVE_LEVEL, 'MiniportInitializeEx');
  drainNdisPnpWork();
  if (!driver.registered) return { status: NDIS_STATUS_FAILURE, adapter: null };
  const ifIndex = options.ifIndex ?? nextIfIndex++;
  if (registry.adapters.some((a) => a.IfIndex === ifIndex))
    return { status: NDIS_STATUS_INVALID_PARAMETER, adapter: null };
  const ifType = options.ifType ?? IF_TYPE_ETHERNET_CSMACD;
  const luid = (BigInt(ifType) << 48n) | (BigInt(ifIndex) << 24n);
  const address = allocateBlock('adapter', TAG_MINIPORT_BLOCK);
  if (address === 0) return { status: NDIS_STATUS_RESOURCES, adapter: null };
  const adapter = new NdisMiniportBlock(driver, address, options.name ?? `Adapter ${ifIndex}`, ifIndex, luid);
  const params = new NDIS_MINIPORT_INIT_PARAMETERS();
  params.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS;
  params.Header.Revision = 1;
  params.IfIndex = ifIndex;
  params.NetLuid = luid;
  params.MiniportAddDeviceContext = options.addDeviceContext ?? null;
  adapter.state = RunState.Attaching;
  adapter.initializing = true;
  let status: number;
  try {
    status = driver.chars.InitializeHandlerEx!(adapter, driver.MiniportDriverContext, params);
  } finally {
    adapter.initializing = false;
  }
  if (!NT_SUCCESS(status)) {
    freeBlock(address);
    return { status, adapter: null };
  }
  if (!adapter.registrationSet || adapter.general === null) {
    driverViolation(
      NdisDriverViolation.WrongState,
      adapter.address,
      adapter.registrationSet ? 1 : 0,
      adapter.general === null ? 0 : 1,
      'MiniportInitializeEx succeeded without setting both registration and general attributes through NdisMSetMiniportAttributes',
    );
  }
  registry.adapters.push(adapter);
  driver.adapters.push(adapter);
  startAdapter(adapter);
  return { status, adapter };
}

/** The device goes away: unbind, detach, pause and halt (MiniportHaltEx), as Plug and Play removal does. */
export function removeMiniportAdapter(adapter: NdisMiniportBlock, surprise = false): void {
  requireNdisIrql(PASSIVE_LEVEL, 'MiniportHaltEx');
  if (adapter.state === RunState.Halted) return;
  haltAdapter(adapter, surprise ? NdisHaltDeviceSurpriseRemoved : undefined);
}

/**
 * NdisMSetMiniportAttributes: during MiniportInitializeEx, registers the adapter context and flags (registration
 * attributes, first) and the adapter's medium, MTU, MAC address and link (general attributes). Returns
 * NDIS_STATUS_SUCCESS, or NDIS_STATUS_INVALID_PARAMETER for an attributes structure it does not know. Calling it
 * outside MiniportInitializeEx is a violation.
 */
export function NdisMSetMiniportAttributes(
  NdisMiniportAdapterHandle: NDIS_HANDLE,
  MiniportAttributes: NDIS_MINIPORT_ADAPTER_ATTRIBUTES,
): number {
  const adapter = asAdapter(NdisMiniportAdapterHandle, 'NdisMSetMiniportAttributes');
  requireNdisIrql(PASSIVE_LEVEL, 'NdisMSetMiniportAttributes');
  if (!adapter.initializing) {
    driverViolation(
      NdisDriverViolation.WrongState,
      adapter.address,
      MiniportAttributes.Header.Type,
      0,
      'NdisMSetMiniportAttributes may be called only from MiniportInitializeEx',
    );
  }
  const h = MiniportAttributes.Header;
  if (
    h.Type === NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES &&
    MiniportAttributes instanceof NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES
  ) {
    if (h.Revision < NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1) return NDIS_STATUS_INVALID_PARAMETER;
    adapter.MiniportAdapterContext = MiniportAttributes.MiniportAdapterContext;
    adapter.registrationSet = true;
    return NDIS_STATUS_SUCCESS;
  }
  if (
    h.Type === NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES &&
    MiniportAttributes instanceof NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES
  ) {
    if (h.Revision < NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1) return NDIS_STATUS_INVALID_PARAMETER;
    // The registration attributes come first: NDIS needs the adapter context before anything else.
    if (!adapter.registrationSet) return NDIS_STATUS_INVALID_PARAMETER;
    if (MiniportAttributes.MacAddressLength > 32) return NDIS_STATUS_INVALID_PARAMETER;
    adapter.general = MiniportAttributes;
    return NDIS_STATUS_SUCCESS;
  }
  return NDIS_STATUS_INVALID_PARAMETER;
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/**
 * NdisMIndicateReceiveNetBufferLists: a miniport indicates received data. IRQL <= DISPATCH_LEVEL, and
 * NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL must say whether it is DISPATCH_LEVEL. With NDIS_RECEIVE_FLAGS_RESOURCES the
 * NBLs are the miniport's again when the call returns; without it they come back later through
 * MiniportReturnNetBufferLists. An adapter that is not running gets the NBLs straight back (NDIS does not pass
 * indications up a paused stack).
 */
export const NdisMIndicateReceiveNetBufferLists = (
  MiniportAdapterHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  NumberOfNetBufferLists: number,
  ReceiveFlags: number,
): void => {
  const adapter = asAdapter(MiniportAdapterHandle, 'NdisMIndicateReceiveNetBufferLists');
  const resources = (ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0;
  if (verifierLevel >= VERIFIER_STANDARD) checkIndicate(adapter, NetBufferLists, NumberOfNetBufferLists, ReceiveFlags);
  if (adapter.state !== RunState.Running && adapter.state !== RunState.Pausing) {
    if (!resources) {
      for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) x.Status = NDIS_STATUS_PAUSED;
      adapter.driver.chars.ReturnNetBufferListsHandler!(
        adapter.MiniportAdapterContext,
        NetBufferLists,
        returnFlagsFor(ReceiveFlags),
      );
    }
    return;
  }
  indicateFromMiniport(adapter, NetBufferLists, PortNumber, NumberOfNetBufferLists, ReceiveFlags);
};

/**
 * The standard verifier's checks of NdisMIndicateReceiveNetBufferLists (kept out of line, so that the DDI stays
 * small enough for V8 to inline into the miniport's receive path when the verifier is off).
 */
function checkIndicate(
  adapter: NdisMiniportBlock,
  NetBufferLists: NET_BUFFER_LIST,
  NumberOfNetBufferLists: number,
  ReceiveFlags: number,
): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisMIndicateReceiveNetBufferLists');
  checkDispatchFlag(ReceiveFlags, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL, 'NdisMIndicateReceiveNetBufferLists');
  let n = 0;
  for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
    n++;
    if (indicatedByMiniport(x)) {
      ndisDriverBugcheck(
        NdisBugcheck.NFILTER_RECVD_PACKET_BAD_REF_COUNT,
        adapter.address,
        x.address,
        0,
        `adapter ${adapter.name} indicated a NET_BUFFER_LIST that the stack above still holds from an earlier indication`,
      );
    }
    const holder = holderOf(x);
    if (
      holder !== null &&
      holder !== undefined &&
      holder !== adapter &&
      !(holder instanceof NdisMiniportBlock && holder.driver === adapter.driver)
    ) {
      nblViolation(
        NdisRule.NdisTimedDataSend,
        adapter.address,
        x,
        NblFault.AlreadyInFlight,
        `adapter ${adapter.name} indicated a NET_BUFFER_LIST it does not own (another driver holds it)`,
      );
    }
  }
  if (n !== NumberOfNetBufferLists) {
    driverViolation(
      NdisDriverViolation.NblCountMismatch,
      adapter.address,
      NumberOfNetBufferLists,
      n,
      `NdisMIndicateReceiveNetBufferLists: NumberOfNetBufferLists is ${NumberOfNetBufferLists} but the list holds ${n}`,
    );
  }
}

/**
 * NdisMSendNetBufferListsComplete: the miniport gives back NBLs it got through MiniportSendNetBufferLists, each
 * with its final status in NET_BUFFER_LIST_STATUS. IRQL <= DISPATCH_LEVEL;
 * NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL must match. Completing an NBL the miniport does not hold (never sent
 * to it, or completed already) is caught by the NdisTimedDataSend rule.
 */
export const NdisMSendNetBufferListsComplete = (
  MiniportAdapterHandle: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  SendCompleteFlags: number,
): void => {
  const adapter = asAdapter(MiniportAdapterHandle, 'NdisMSendNetBufferListsComplete');
  if (verifierLevel >= VERIFIER_STANDARD) checkSendComplete(adapter, NetBufferLists, SendCompleteFlags);
  const n = chainLength(NetBufferLists);
  adapter.sendsHeld -= n;
  adapter.completed += n;
  completeUp(adapter, 0, NetBufferLists, SendCompleteFlags);
};

/** The standard verifier's checks of NdisMSendNetBufferListsComplete (out of line, as checkIndicate). */
function checkSendComplete(
  adapter: NdisMiniportBlock,
  NetBufferLists: NET_BUFFER_LIST,
  SendCompleteFlags: number,
): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisMSendNetBufferListsComplete');
  checkDispatchFlag(SendCompleteFlags, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL, 'NdisMSendNetBufferListsComplete');
  for (let x: NET_BUFFER_LIST | null = NetBufferLists; x !== null; x = x.Next) {
    if (holderOf(x) !== adapter) {
      nblViolation(
        NdisRule.NdisTimedDataSend,
        adapter.address,
        x,
        NblFault.NotHeld,
        `adapter ${adapter.name} completed a NET_BUFFER_LIST it does not hold (not sent to it, or already completed)`,
      );
    }
  }
}

/** NdisMPauseComplete: a miniport whose MiniportPause returned NDIS_STATUS_PENDING has finished pausing. */
export function NdisMPauseComplete(MiniportAdapterHandle: NDIS_HANDLE): void {
  miniportPauseCompleted(asAdapter(MiniportAdapterHandle, 'NdisMPauseComplete'));
}

/** NdisMRestartComplete: a miniport whose MiniportRestart returned NDIS_STATUS_PENDING has finished restarting. */
export function NdisMRestartComplete(MiniportAdapterHandle: NDIS_HANDLE, Status: number): void {
  miniportRestartCompleted(asAdapter(MiniportAdapterHandle, 'NdisMRestartComplete'), Status);
}

/** NdisMOidRequestComplete: completes an OID request for which MiniportOidRequest returned NDIS_STATUS_PENDING. */
export function NdisMOidRequestComplete(
  MiniportAdapterHandle: NDIS_HANDLE,
  OidRequest: NDIS_OID_REQUEST,
  Status: number,
): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisMOidRequestComplete');
  oidCompleteUp(asAdapter(MiniportAdapterHandle, 'NdisMOidRequestComplete'), 0, OidRequest, Status);
}

/** NdisMIndicateStatusEx: a miniport reports a status change (link state, ...) to the drivers above it. */
export function NdisMIndicateStatusEx(
  MiniportAdapterHandle: NDIS_HANDLE,
  StatusIndication: NDIS_STATUS_INDICATION,
): void {
  requireNdisIrql(DISPATCH_LEVEL, 'NdisMIndicateStatusEx');
  const adapter = asAdapter(MiniportAdapterHandle, 'NdisMIndicateStatusEx');
  StatusIndication.SourceHandle = adapter;
  statusUp(adapter, 0, StatusIndication);
}

/** The handles: MiniportAdapterHandle and NdisMiniportDriverHandle. */
export type { NdisMiniportBlock, NdisMiniportDriverBlock };
