/**
 * The structures of the NDIS 6 driver model with the field names of ndis.h: driver characteristics (the handler
 * tables drivers register), the parameters NDIS passes to those handlers, the attributes drivers hand back, OID
 * requests, status indications and PnP event notifications.
 *
 * As with every structure in wdknet, each is a JavaScript object; a new one is zeroed (all handlers NULL), as a
 * driver's NdisZeroMemory would leave it, and the driver fills in the Header and the fields it uses. Handler
 * types spell out the documented parameters; handles are opaque objects (`NDIS_HANDLE`).
 */
import type { DEVICE_OBJECT, DRIVER_OBJECT } from '../kernel/driver.js';
import { NDIS_OBJECT_HEADER, type NET_BUFFER_LIST } from './structures.js';

/** An opaque handle: a driver context it chose, or one of NDIS's blocks. */
export type NDIS_HANDLE = unknown;
/** A Unicode string; in wdknet a JavaScript string. */
export type NDIS_STRING = string;
/** NET_LUID: a 64-bit value, kept as a bigint. */
export type NET_LUID = bigint;
/** A MAC address: NDIS_MAX_PHYS_ADDRESS_LENGTH bytes of which MacAddressLength are used. */
export type MacAddressBytes = Uint8Array;

// --- handler types ----------------------------------------------------------------------------------------------

/** MiniportSetOptions / FilterSetOptions / ProtocolSetOptions: registers optional services. */
export type SET_OPTIONS = (NdisDriverHandle: NDIS_HANDLE, DriverContext: NDIS_HANDLE) => number;
/** MiniportInitializeEx: NDIS starts an adapter. */
export type MINIPORT_INITIALIZE = (
  NdisMiniportHandle: NDIS_HANDLE,
  MiniportDriverContext: NDIS_HANDLE,
  MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
) => number;
/** MiniportHaltEx: NDIS stops an adapter for good. */
export type MINIPORT_HALT = (MiniportAdapterContext: NDIS_HANDLE, HaltAction: number) => void;
/** MiniportDriverUnload: the driver is unloading. */
export type MINIPORT_UNLOAD = (DriverObject: DRIVER_OBJECT) => void;
/** MiniportPause: stop sending and indicating; may pend (NdisMPauseComplete). */
export type MINIPORT_PAUSE = (
  MiniportAdapterContext: NDIS_HANDLE,
  PauseParameters: NDIS_MINIPORT_PAUSE_PARAMETERS,
) => number;
/** MiniportRestart: resume; may pend (NdisMRestartComplete). */
export type MINIPORT_RESTART = (
  MiniportAdapterContext: NDIS_HANDLE,
  RestartParameters: NDIS_MINIPORT_RESTART_PARAMETERS,
) => number;
/** MiniportOidRequest: query or set an adapter parameter; may pend (NdisMOidRequestComplete). */
export type MINIPORT_OID_REQUEST = (MiniportAdapterContext: NDIS_HANDLE, OidRequest: NDIS_OID_REQUEST) => number;
/** MiniportSendNetBufferLists: transmit; completed with NdisMSendNetBufferListsComplete. */
export type MINIPORT_SEND_NET_BUFFER_LISTS = (
  MiniportAdapterContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  SendFlags: number,
) => void;
/** MiniportReturnNetBufferLists: receive indications coming back. */
export type MINIPORT_RETURN_NET_BUFFER_LISTS = (
  MiniportAdapterContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  ReturnFlags: number,
) => void;
/** MiniportCancelSend: cancel sends marked with CancelId. */
export type MINIPORT_CANCEL_SEND = (MiniportAdapterContext: NDIS_HANDLE, CancelId: unknown) => void;
/** MiniportCheckForHangEx: is the adapter hung? */
export type MINIPORT_CHECK_FOR_HANG = (MiniportAdapterContext: NDIS_HANDLE) => boolean;
/** MiniportResetEx: reset the hardware. */
export type MINIPORT_RESET = (MiniportAdapterContext: NDIS_HANDLE, AddressingReset: { value: boolean }) => number;
/** MiniportDevicePnPEventNotify: a device Plug and Play event. */
export type MINIPORT_DEVICE_PNP_EVENT_NOTIFY = (
  MiniportAdapterContext: NDIS_HANDLE,
  NetDevicePnPEvent: unknown,
) => void;
/** MiniportShutdownEx: the system is shutting down. */
export type MINIPORT_SHUTDOWN = (MiniportAdapterContext: NDIS_HANDLE, ShutdownAction: number) => void;
/** MiniportCancelOidRequest: cancel an OID request. */
export type MINIPORT_CANCEL_OID_REQUEST = (MiniportAdapterContext: NDIS_HANDLE, RequestId: unknown) => void;

/** FilterAttach: attach a module to an adapter (must call NdisFSetAttributes). */
export type FILTER_ATTACH = (
  NdisFilterHandle: NDIS_HANDLE,
  FilterDriverContext: NDIS_HANDLE,
  AttachParameters: NDIS_FILTER_ATTACH_PARAMETERS,
) => number;
/** FilterDetach: the paused module goes away. */
export type FILTER_DETACH = (FilterModuleContext: NDIS_HANDLE) => void;
/** FilterRestart: resume; may pend (NdisFRestartComplete). */
export type FILTER_RESTART = (
  FilterModuleContext: NDIS_HANDLE,
  RestartParameters: NDIS_FILTER_RESTART_PARAMETERS,
) => number;
/** FilterPause: stop and drain; may pend (NdisFPauseComplete); must not fail. */
export type FILTER_PAUSE = (FilterModuleContext: NDIS_HANDLE, PauseParameters: NDIS_FILTER_PAUSE_PARAMETERS) => number;
/** FilterSendNetBufferLists: sends from above. */
export type FILTER_SEND_NET_BUFFER_LISTS = (
  FilterModuleContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  SendFlags: number,
) => void;
/** FilterSendNetBufferListsComplete: completions from below. */
export type FILTER_SEND_NET_BUFFER_LISTS_COMPLETE = (
  FilterModuleContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  SendCompleteFlags: number,
) => void;
/** FilterReceiveNetBufferLists: receive indications from below. */
export type FILTER_RECEIVE_NET_BUFFER_LISTS = (
  FilterModuleContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  NumberOfNetBufferLists: number,
  ReceiveFlags: number,
) => void;
/** FilterReturnNetBufferLists: returns from above. */
export type FILTER_RETURN_NET_BUFFER_LISTS = (
  FilterModuleContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  ReturnFlags: number,
) => void;
/** FilterCancelSendNetBufferLists: a cancellation from above. */
export type FILTER_CANCEL_SEND_NET_BUFFER_LISTS = (FilterModuleContext: NDIS_HANDLE, CancelId: unknown) => void;
/** FilterStatus: a status indication from below. */
export type FILTER_STATUS = (FilterModuleContext: NDIS_HANDLE, StatusIndication: NDIS_STATUS_INDICATION) => void;
/** FilterOidRequest: an OID request from above. */
export type FILTER_OID_REQUEST = (FilterModuleContext: NDIS_HANDLE, OidRequest: NDIS_OID_REQUEST) => number;
/** FilterOidRequestComplete: an OID request the filter passed down completed. */
export type FILTER_OID_REQUEST_COMPLETE = (
  FilterModuleContext: NDIS_HANDLE,
  OidRequest: NDIS_OID_REQUEST,
  Status: number,
) => void;
/** FilterNetPnPEvent: a network Plug and Play event. */
export type FILTER_NET_PNP_EVENT = (
  FilterModuleContext: NDIS_HANDLE,
  NetPnPEvent: NET_PNP_EVENT_NOTIFICATION,
) => number;

/** ProtocolBindAdapterEx: bind to an adapter (NdisOpenAdapterEx with the BindContext). */
export type PROTOCOL_BIND_ADAPTER_EX = (
  ProtocolDriverContext: NDIS_HANDLE,
  BindContext: NDIS_HANDLE,
  BindParameters: NDIS_BIND_PARAMETERS,
) => number;
/** ProtocolUnbindAdapterEx: unbind (NdisCloseAdapterEx). */
export type PROTOCOL_UNBIND_ADAPTER_EX = (UnbindContext: NDIS_HANDLE, ProtocolBindingContext: NDIS_HANDLE) => number;
/** ProtocolOpenAdapterCompleteEx: a pended NdisOpenAdapterEx finished. */
export type PROTOCOL_OPEN_ADAPTER_COMPLETE_EX = (ProtocolBindingContext: NDIS_HANDLE, Status: number) => void;
/** ProtocolCloseAdapterCompleteEx: a pended NdisCloseAdapterEx finished. */
export type PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX = (ProtocolBindingContext: NDIS_HANDLE) => void;
/** ProtocolNetPnPEvent: NetEventPause, NetEventRestart and other Plug and Play events. */
export type PROTOCOL_NET_PNP_EVENT = (
  ProtocolBindingContext: NDIS_HANDLE,
  NetPnPEventNotification: NET_PNP_EVENT_NOTIFICATION,
) => number;
/** ProtocolUninstall: the protocol is being uninstalled. */
export type PROTOCOL_UNINSTALL = () => void;
/** ProtocolOidRequestComplete: a pended NdisOidRequest finished. */
export type PROTOCOL_OID_REQUEST_COMPLETE = (
  ProtocolBindingContext: NDIS_HANDLE,
  OidRequest: NDIS_OID_REQUEST,
  Status: number,
) => void;
/** ProtocolStatusEx: a status indication from the adapter. */
export type PROTOCOL_STATUS_EX = (
  ProtocolBindingContext: NDIS_HANDLE,
  StatusIndication: NDIS_STATUS_INDICATION,
) => void;
/** ProtocolReceiveNetBufferLists: receive indications. */
export type PROTOCOL_RECEIVE_NET_BUFFER_LISTS = (
  ProtocolBindingContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  NumberOfNetBufferLists: number,
  ReceiveFlags: number,
) => void;
/** ProtocolSendNetBufferListsComplete: the binding's sends came back. */
export type PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE = (
  ProtocolBindingContext: NDIS_HANDLE,
  NetBufferLists: NET_BUFFER_LIST,
  SendCompleteFlags: number,
) => void;

// --- characteristics --------------------------------------------------------------------------------------------

/** NDIS_MINIPORT_DRIVER_CHARACTERISTICS: what NdisMRegisterMiniportDriver registers. */
export class NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
  Header = new NDIS_OBJECT_HEADER();
  MajorNdisVersion = 0;
  MinorNdisVersion = 0;
  MajorDriverVersion = 0;
  MinorDriverVersion = 0;
  Flags = 0;
  SetOptionsHandler: SET_OPTIONS | null = null;
  InitializeHandlerEx: MINIPORT_INITIALIZE | null = null;
  HaltHandlerEx: MINIPORT_HALT | null = null;
  UnloadHandler: MINIPORT_UNLOAD | null = null;
  PauseHandler: MINIPORT_PAUSE | null = null;
  RestartHandler: MINIPORT_RESTART | null = null;
  OidRequestHandler: MINIPORT_OID_REQUEST | null = null;
  SendNetBufferListsHandler: MINIPORT_SEND_NET_BUFFER_LISTS | null = null;
  ReturnNetBufferListsHandler: MINIPORT_RETURN_NET_BUFFER_LISTS | null = null;
  CancelSendHandler: MINIPORT_CANCEL_SEND | null = null;
  CheckForHangHandlerEx: MINIPORT_CHECK_FOR_HANG | null = null;
  ResetHandlerEx: MINIPORT_RESET | null = null;
  DevicePnPEventNotifyHandler: MINIPORT_DEVICE_PNP_EVENT_NOTIFY | null = null;
  ShutdownHandlerEx: MINIPORT_SHUTDOWN | null = null;
  CancelOidRequestHandler: MINIPORT_CANCEL_OID_REQUEST | null = null;
  DirectOidRequestHandler: MINIPORT_OID_REQUEST | null = null;
  CancelDirectOidRequestHandler: MINIPORT_CANCEL_OID_REQUEST | null = null;
  constructor(init?: Partial<NDIS_MINIPORT_DRIVER_CHARACTERISTICS>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NDIS_FILTER_DRIVER_CHARACTERISTICS: what NdisFRegisterFilterDriver registers. */
export class NDIS_FILTER_DRIVER_CHARACTERISTICS {
  Header = new NDIS_OBJECT_HEADER();
  MajorNdisVersion = 0;
  MinorNdisVersion = 0;
  MajorDriverVersion = 0;
  MinorDriverVersion = 0;
  Flags = 0;
  FriendlyName: NDIS_STRING = '';
  UniqueName: NDIS_STRING = '';
  ServiceName: NDIS_STRING = '';
  SetOptionsHandler: SET_OPTIONS | null = null;
  SetFilterModuleOptionsHandler: ((FilterModuleContext: NDIS_HANDLE) => number) | null = null;
  AttachHandler: FILTER_ATTACH | null = null;
  DetachHandler: FILTER_DETACH | null = null;
  RestartHandler: FILTER_RESTART | null = null;
  PauseHandler: FILTER_PAUSE | null = null;
  SendNetBufferListsHandler: FILTER_SEND_NET_BUFFER_LISTS | null = null;
  SendNetBufferListsCompleteHandler: FILTER_SEND_NET_BUFFER_LISTS_COMPLETE | null = null;
  CancelSendNetBufferListsHandler: FILTER_CANCEL_SEND_NET_BUFFER_LISTS | null = null;
  ReceiveNetBufferListsHandler: FILTER_RECEIVE_NET_BUFFER_LISTS | null = null;
  ReturnNetBufferListsHandler: FILTER_RETURN_NET_BUFFER_LISTS | null = null;
  OidRequestHandler: FILTER_OID_REQUEST | null = null;
  OidRequestCompleteHandler: FILTER_OID_REQUEST_COMPLETE | null = null;
  CancelOidRequestHandler: ((FilterModuleContext: NDIS_HANDLE, RequestId: unknown) => void) | null = null;
  DevicePnPEventNotifyHandler: ((FilterModuleContext: NDIS_HANDLE, NetDevicePnPEvent: unknown) => void) | null = null;
  NetPnPEventHandler: FILTER_NET_PNP_EVENT | null = null;
  StatusHandler: FILTER_STATUS | null = null;
  constructor(init?: Partial<NDIS_FILTER_DRIVER_CHARACTERISTICS>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NDIS_PROTOCOL_DRIVER_CHARACTERISTICS: what NdisRegisterProtocolDriver registers. */
export class NDIS_PROTOCOL_DRIVER_CHARACTERISTICS {
  Header = new NDIS_OBJECT_HEADER();
  MajorNdisVersion = 0;
  MinorNdisVersion = 0;
  MajorDriverVersion = 0;
  MinorDriverVersion = 0;
  Flags = 0;
  Name: NDIS_STRING = '';
  SetOptionsHandler: SET_OPTIONS | null = null;
  BindAdapterHandlerEx: PROTOCOL_BIND_ADAPTER_EX | null = null;
  UnbindAdapterHandlerEx: PROTOCOL_UNBIND_ADAPTER_EX | null = null;
  OpenAdapterCompleteHandlerEx: PROTOCOL_OPEN_ADAPTER_COMPLETE_EX | null = null;
  CloseAdapterCompleteHandlerEx: PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX | null = null;
  NetPnPEventHandler: PROTOCOL_NET_PNP_EVENT | null = null;
  UninstallHandler: PROTOCOL_UNINSTALL | null = null;
  OidRequestCompleteHandler: PROTOCOL_OID_REQUEST_COMPLETE | null = null;
  StatusHandlerEx: PROTOCOL_STATUS_EX | null = null;
  ReceiveNetBufferListsHandler: PROTOCOL_RECEIVE_NET_BUFFER_LISTS | null = null;
  SendNetBufferListsCompleteHandler: PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE | null = null;
  DirectOidRequestCompleteHandler: PROTOCOL_OID_REQUEST_COMPLETE | null = null;
  constructor(init?: Partial<NDIS_PROTOCOL_DRIVER_CHARACTERISTICS>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

// --- miniport parameters and attributes ------------------------------------------------------------------------

/** NDIS_MINIPORT_INIT_PARAMETERS: what MiniportInitializeEx receives. */
export class NDIS_MINIPORT_INIT_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  Flags = 0;
  AllocatedResources: unknown = null;
  IMDeviceInstanceContext: NDIS_HANDLE = null;
  MiniportAddDeviceContext: NDIS_HANDLE = null;
  IfIndex = 0;
  NetLuid: NET_LUID = 0n;
  DefaultPortAuthStates: unknown = null;
  PciDeviceCustomProperties: unknown = null;
}

/** NDIS_MINIPORT_PAUSE_PARAMETERS */
export class NDIS_MINIPORT_PAUSE_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  Flags = 0;
  PauseReason = 0;
}

/** NDIS_MINIPORT_RESTART_PARAMETERS */
export class NDIS_MINIPORT_RESTART_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  RestartAttributes: unknown = null;
  Flags = 0;
}

/** NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES: sets MiniportAdapterContext (NdisMSetMiniportAttributes). */
export class NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
  Header = new NDIS_OBJECT_HEADER();
  MiniportAdapterContext: NDIS_HANDLE = null;
  AttributeFlags = 0;
  CheckForHangTimeInSeconds = 0;
  InterfaceType = 0;
  constructor(init?: Partial<NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES: the adapter's medium, MTU, MAC address, link (NdisMSetMiniportAttributes). */
export class NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES {
  Header = new NDIS_OBJECT_HEADER();
  Flags = 0;
  MediaType = 0;
  PhysicalMediumType = 0;
  MtuSize = 0;
  MaxXmitLinkSpeed = 0n;
  XmitLinkSpeed = 0n;
  MaxRcvLinkSpeed = 0n;
  RcvLinkSpeed = 0n;
  MediaConnectState = 0;
  MediaDuplexState = 0;
  LookaheadSize = 0;
  PowerManagementCapabilities: unknown = null;
  MacOptions = 0;
  SupportedPacketFilters = 0;
  MaxMulticastListSize = 0;
  MacAddressLength = 0;
  PermanentMacAddress: MacAddressBytes = new Uint8Array(32);
  CurrentMacAddress: MacAddressBytes = new Uint8Array(32);
  RecvScaleCapabilities: unknown = null;
  AccessType = 0;
  DirectionType = 0;
  ConnectionType = 0;
  IfType = 0;
  IfConnectorPresent = false;
  SupportedStatistics = 0;
  SupportedPauseFunctions = 0;
  DataBackFillSize = 0;
  ContextBackFillSize = 0;
  SupportedOidList: readonly number[] | null = null;
  SupportedOidListLength = 0;
  AutoNegotiationFlags = 0;
  PowerManagementCapabilitiesEx: unknown = null;
  constructor(init?: Partial<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NDIS_MINIPORT_ADAPTER_ATTRIBUTES: the union NdisMSetMiniportAttributes takes; the Header.Type says which. */
export type NDIS_MINIPORT_ADAPTER_ATTRIBUTES =
  | NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES
  | NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;

// --- filter parameters and attributes --------------------------------------------------------------------------

/** NDIS_FILTER_ATTACH_PARAMETERS: what FilterAttach receives about the adapter below. */
export class NDIS_FILTER_ATTACH_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  IfIndex = 0;
  NetLuid: NET_LUID = 0n;
  FilterModuleGuidName: NDIS_STRING = '';
  BaseMiniportIfIndex = 0;
  BaseMiniportInstanceName: NDIS_STRING = '';
  BaseMiniportName: NDIS_STRING = '';
  MediaConnectState = 0;
  MediaDuplexState = 0;
  XmitLinkSpeed = 0n;
  RcvLinkSpeed = 0n;
  MiniportMediaType = 0;
  MiniportPhysicalMediaType = 0;
  MiniportMediaSpecificAttributes: unknown = null;
  DefaultOffloadConfiguration: unknown = null;
  MacAddressLength = 0;
  CurrentMacAddress: MacAddressBytes = new Uint8Array(32);
  BaseMiniportNetLuid: NET_LUID = 0n;
  LowerIfIndex = 0;
  LowerIfNetLuid: NET_LUID = 0n;
  Flags = 0;
}

/** NDIS_FILTER_ATTRIBUTES: what NdisFSetAttributes takes. */
export class NDIS_FILTER_ATTRIBUTES {
  Header = new NDIS_OBJECT_HEADER();
  Flags = 0;
  constructor(init?: Partial<NDIS_FILTER_ATTRIBUTES>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NDIS_FILTER_PAUSE_PARAMETERS */
export class NDIS_FILTER_PAUSE_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  Flags = 0;
  PauseReason = 0;
}

/** NDIS_FILTER_RESTART_PARAMETERS */
export class NDIS_FILTER_RESTART_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  MiniportMediaType = 0;
  MiniportPhysicalMediaType = 0;
  RestartAttributes: unknown = null;
  LowerIfIndex = 0;
  LowerIfNetLuid: NET_LUID = 0n;
  Flags = 0;
}

// --- protocol parameters ---------------------------------------------------------------------------------------

/** NDIS_BIND_PARAMETERS: what ProtocolBindAdapterEx receives about the adapter it may bind to. */
export class NDIS_BIND_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  ProtocolSection: NDIS_STRING = '';
  AdapterName: NDIS_STRING = '';
  PhysicalDeviceObject: DEVICE_OBJECT | null = null;
  MediaType = 0;
  MtuSize = 0;
  MaxXmitLinkSpeed = 0n;
  XmitLinkSpeed = 0n;
  MaxRcvLinkSpeed = 0n;
  RcvLinkSpeed = 0n;
  MediaConnectState = 0;
  MediaDuplexState = 0;
  LookaheadSize = 0;
  PowerManagementCapabilities: unknown = null;
  SupportedPacketFilters = 0;
  MaxMulticastListSize = 0;
  MacAddressLength = 0;
  CurrentMacAddress: MacAddressBytes = new Uint8Array(32);
  PhysicalMediumType = 0;
  RcvScaleCapabilities: unknown = null;
  BoundIfNetluid: NET_LUID = 0n;
  BoundIfIndex = 0;
  LowestIfNetluid: NET_LUID = 0n;
  LowestIfIndex = 0;
  AccessType = 0;
  DirectionType = 0;
  ConnectionType = 0;
  IfType = 0;
  IfConnectorPresent = false;
  ActivePorts: unknown = null;
  DataBackFillSize = 0;
  ContextBackFillSize = 0;
  MacOptions = 0;
  CompartmentId = 0;
  DefaultOffloadConfiguration: unknown = null;
  TcpConnectionOffloadCapabilities: unknown = null;
  BoundAdapterName: NDIS_STRING = '';
  HDSplitCurrentConfig: unknown = null;
}

/** NDIS_OPEN_PARAMETERS: what a protocol passes to NdisOpenAdapterEx. */
export class NDIS_OPEN_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  AdapterName: NDIS_STRING = '';
  /** The media the protocol can use (NDIS_MEDIUM values). */
  MediumArray: readonly number[] = [];
  MediumArraySize = 0;
  /** Out: NDIS writes the index of the medium it selected into `SelectedMediumIndex.value`. */
  SelectedMediumIndex: { value: number } = { value: 0 };
  /** The EtherTypes the protocol wants (host order), or null. */
  FrameTypeArray: readonly number[] | null = null;
  FrameTypeArraySize = 0;
  constructor(init?: Partial<NDIS_OPEN_PARAMETERS>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NET_PNP_EVENT: the event inside a notification. */
export class NET_PNP_EVENT {
  NetEvent = 0;
  Buffer: unknown = null;
  BufferLength = 0;
}

/** NET_PNP_EVENT_NOTIFICATION: what ProtocolNetPnPEvent / FilterNetPnPEvent receive. */
export class NET_PNP_EVENT_NOTIFICATION {
  Header = new NDIS_OBJECT_HEADER();
  PortNumber = 0;
  NetPnPEvent = new NET_PNP_EVENT();
  Flags = 0;
}

/** NDIS_PROTOCOL_RESTART_PARAMETERS: the Buffer of a NetEventRestart notification. */
export class NDIS_PROTOCOL_RESTART_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  FilterModuleNameBuffer: NDIS_STRING = '';
  FilterModuleNameBufferLength = 0;
  RestartAttributes: unknown = null;
  BoundIfIndex = 0;
  BoundIfNetluid: NET_LUID = 0n;
  Flags = 0;
}

// --- requests and indications ----------------------------------------------------------------------------------

/** The QUERY_INFORMATION / SET_INFORMATION part of an NDIS_OID_REQUEST. */
export class NDIS_OID_REQUEST_INFORMATION {
  Oid = 0;
  /** The caller's buffer: an address in simulated memory (0 for none). */
  InformationBuffer = 0;
  InformationBufferLength = 0;
  /** BytesWritten (query) or BytesRead (set). */
  BytesWritten = 0;
  BytesRead = 0;
  BytesNeeded = 0;
}

/** NDIS_OID_REQUEST (the parts a minimal driver uses). */
export class NDIS_OID_REQUEST {
  Header = new NDIS_OBJECT_HEADER();
  RequestType = 0;
  PortNumber = 0;
  Timeout = 0;
  RequestId: unknown = null;
  RequestHandle: NDIS_HANDLE = null;
  DATA = new NDIS_OID_REQUEST_INFORMATION();
  constructor(init?: Partial<NDIS_OID_REQUEST>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** NDIS_LINK_STATE: the StatusBuffer of an NDIS_STATUS_LINK_STATE indication. */
export class NDIS_LINK_STATE {
  Header = new NDIS_OBJECT_HEADER();
  MediaConnectState = 0;
  MediaDuplexState = 0;
  XmitLinkSpeed = 0n;
  RcvLinkSpeed = 0n;
  PauseFunctions = 0;
  AutoNegotiationFlags = 0;
}

/** NDIS_STATUS_INDICATION: a status a miniport or filter indicates upward (link state, ...). */
export class NDIS_STATUS_INDICATION {
  Header = new NDIS_OBJECT_HEADER();
  SourceHandle: NDIS_HANDLE = null;
  PortNumber = 0;
  StatusCode = 0;
  Flags = 0;
  DestinationHandle: NDIS_HANDLE = null;
  RequestId: unknown = null;
  StatusBuffer: unknown = null;
  StatusBufferSize = 0;
  /** The GUID of a WMI-mapped status, as a string (zeros when none). */
  Guid = '00000000-0000-0000-0000-000000000000';
  NdisReserved: unknown[] = [null, null, null, null];
  constructor(init?: Partial<NDIS_STATUS_INDICATION>) {
    if (init !== undefined) Object.assign(this, init);
  }
}
