/**
 * counting-filter: an NDIS 6 lightweight filter driver in the manner of the Windows-driver-samples "ndis/filter"
 * sample. It attaches to every adapter, passes every send and receive through unchanged, and counts the
 * NET_BUFFER_LISTs and bytes in each direction per adapter. It follows the filter module states: sends that
 * arrive while it is paused are completed with NDIS_STATUS_PAUSED and receives are returned (each counted as a
 * drop with reason 'paused'), and it neither sends nor indicates until restarted.
 *
 * Read the counters with {@link filterCounters}. Load with `wdknet run <capture> --driver examples/counting-filter.ts`.
 */
import {
  type DRIVER_OBJECT,
  ExAllocatePoolWithTag,
  ExFreePoolWithTag,
  type NDIS_FILTER_ATTACH_PARAMETERS,
  NDIS_FILTER_ATTRIBUTES,
  NDIS_FILTER_ATTRIBUTES_REVISION_1,
  NDIS_FILTER_CHARACTERISTICS_REVISION_1,
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  type NDIS_FILTER_PAUSE_PARAMETERS,
  type NDIS_FILTER_RESTART_PARAMETERS,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
  NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NdisFDeregisterFilterDriver,
  NdisFIndicateReceiveNetBufferLists,
  NdisFRegisterFilterDriver,
  NdisFReturnNetBufferLists,
  NdisFSendNetBufferLists,
  NdisFSendNetBufferListsComplete,
  NdisFSetAttributes,
  NET_BUFFER_DATA_LENGTH,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_FIRST_NB,
  NET_BUFFER_LIST_NEXT_NBL,
  NonPagedPoolNx,
  poolTag,
} from 'wdknet/ddi';

/** The filter's identity, as its INF would declare it. */
export const FILTER_FRIENDLY_NAME = 'wdknet counting filter';
/** The filter's unique name (its GUID, as FilterModuleGuidName carries it). */
export const FILTER_UNIQUE_NAME = '{5cbf81bd-5055-47cd-9055-a76b2b4e3697}';
/** The filter's service name. */
export const FILTER_SERVICE_NAME = 'CountingFilter';

/** Pool tag of the filter module contexts ("Cntf" in poolmon). */
const TAG = poolTag('ftnC');
/** Bytes of the context block (what the C structure would take). */
const CONTEXT_BYTES = 128;

/** Filter module states (the sample's FILTER_STATE). */
const FilterState = { Attaching: 1, Paused: 2, Running: 3, Pausing: 4, Detaching: 5 } as const;

/** One adapter's counters. */
export interface AdapterCounters {
  readonly ifIndex: number;
  readonly name: string;
  sentNbls: number;
  sentBytes: number;
  sendCompleted: number;
  receivedNbls: number;
  receivedBytes: number;
  returned: number;
  /** NBLs refused while paused (sends completed with NDIS_STATUS_PAUSED, receives returned). */
  droppedPaused: number;
  pauses: number;
  restarts: number;
}

/** A filter module: one attachment to one adapter. */
class FilterModule {
  state: number = FilterState.Attaching;
  readonly filterHandle: unknown;
  readonly block: number;
  readonly counters: AdapterCounters;
  constructor(filterHandle: unknown, block: number, ifIndex: number, name: string) {
    this.filterHandle = filterHandle;
    this.block = block;
    this.counters = {
      ifIndex,
      name,
      sentNbls: 0,
      sentBytes: 0,
      sendCompleted: 0,
      receivedNbls: 0,
      receivedBytes: 0,
      returned: 0,
      droppedPaused: 0,
      pauses: 0,
      restarts: 0,
    };
  }
}

let filterDriverHandle: unknown = null;
const modules = new Set<FilterModule>();
/** Counters of adapters the filter detached from, kept so totals survive a detach. */
const detached: AdapterCounters[] = [];

/** Counters of every adapter the filter is or was attached to since it loaded. */
export function filterCounters(): readonly AdapterCounters[] {
  return [...detached, ...[...modules].map((m) => m.counters)];
}

/** Bytes of every NET_BUFFER of one NET_BUFFER_LIST. */
function nblBytes(nbl: NET_BUFFER_LIST): number {
  let bytes = 0;
  for (let nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb !== null; nb = nb.Next) bytes += NET_BUFFER_DATA_LENGTH(nb);
  return bytes;
}

/** FilterAttach: makes the module context and tells NDIS about it. */
function FilterAttach(
  NdisFilterHandle: unknown,
  _FilterDriverContext: unknown,
  AttachParameters: NDIS_FILTER_ATTACH_PARAMETERS,
): number {
  const block = ExAllocatePoolWithTag(NonPagedPoolNx, CONTEXT_BYTES, TAG);
  if (block === 0) return NDIS_STATUS_RESOURCES;
  const module = new FilterModule(
    NdisFilterHandle,
    block,
    AttachParameters.BaseMiniportIfIndex,
    String(AttachParameters.BaseMiniportName ?? ''),
  );
  const attributes = new NDIS_FILTER_ATTRIBUTES();
  attributes.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
    NDIS_FILTER_ATTRIBUTES_REVISION_1,
    NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1,
  );
  attributes.Flags = 0;
  const status = NdisFSetAttributes(NdisFilterHandle, module, attributes);
  if (status !== NDIS_STATUS_SUCCESS) {
    ExFreePoolWithTag(block, TAG);
    return status;
  }
  module.state = FilterState.Paused;
  modules.add(module);
  return NDIS_STATUS_SUCCESS;
}

/** FilterDetach: the module is paused; free its context. */
function FilterDetach(FilterModuleContext: unknown): void {
  const module = FilterModuleContext as FilterModule;
  module.state = FilterState.Detaching;
  modules.delete(module);
  detached.push(module.counters);
  ExFreePoolWithTag(module.block, TAG);
}

/** FilterRestart: back to Running. */
function FilterRestart(FilterModuleContext: unknown, _RestartParameters: NDIS_FILTER_RESTART_PARAMETERS): number {
  const module = FilterModuleContext as FilterModule;
  module.state = FilterState.Running;
  module.counters.restarts++;
  return NDIS_STATUS_SUCCESS;
}

/**
 * FilterPause: a pass-through filter originates no sends or receives of its own and queues nothing, so there
 * is nothing to wait for (what it passed on belongs to the drivers above and below): it is paused at once.
 */
function FilterPause(FilterModuleContext: unknown, _PauseParameters: NDIS_FILTER_PAUSE_PARAMETERS): number {
  const module = FilterModuleContext as FilterModule;
  module.state = FilterState.Pausing;
  module.counters.pauses++;
  module.state = FilterState.Paused;
  return NDIS_STATUS_SUCCESS;
}

/** FilterSendNetBufferLists: count and pass down, or complete with NDIS_STATUS_PAUSED when not running. */
function FilterSendNetBufferLists(
  FilterModuleContext: unknown,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  SendFlags: number,
): void {
  const module = FilterModuleContext as FilterModule;
  const c = module.counters;
  if (module.state !== FilterState.Running) {
    for (let nbl: NET_BUFFER_LIST | null = NetBufferLists; nbl !== null; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
      nbl.Status = NDIS_STATUS_PAUSED;
      c.droppedPaused++;
    }
    const completeFlags =
      (SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
    NdisFSendNetBufferListsComplete(module.filterHandle, NetBufferLists, completeFlags);
    return;
  }
  for (let nbl: NET_BUFFER_LIST | null = NetBufferLists; nbl !== null; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    c.sentNbls++;
    c.sentBytes += nblBytes(nbl);
  }
  NdisFSendNetBufferLists(module.filterHandle, NetBufferLists, PortNumber, SendFlags);
}

/** FilterSendNetBufferListsComplete: the lists we passed down are done; hand them back up. */
function FilterSendNetBufferListsComplete(
  FilterModuleContext: unknown,
  NetBufferLists: NET_BUFFER_LIST,
  SendCompleteFlags: number,
): void {
  const module = FilterModuleContext as FilterModule;
  for (let nbl: NET_BUFFER_LIST | null = NetBufferLists; nbl !== null; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    module.counters.sendCompleted++;
  }
  NdisFSendNetBufferListsComplete(module.filterHandle, NetBufferLists, SendCompleteFlags);
}

/** FilterReceiveNetBufferLists: count and indicate up, or return them when not running. */
function FilterReceiveNetBufferLists(
  FilterModuleContext: unknown,
  NetBufferLists: NET_BUFFER_LIST,
  PortNumber: number,
  NumberOfNetBufferLists: number,
  ReceiveFlags: number,
): void {
  const module = FilterModuleContext as FilterModule;
  const c = module.counters;
  if (module.state !== FilterState.Running) {
    c.droppedPaused += NumberOfNetBufferLists;
    // With NDIS_RECEIVE_FLAGS_RESOURCES the miniport reclaims the lists when we return from here.
    if ((ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) === 0) {
      const returnFlags =
        (ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
      NdisFReturnNetBufferLists(module.filterHandle, NetBufferLists, returnFlags);
    }
    return;
  }
  for (let nbl: NET_BUFFER_LIST | null = NetBufferLists; nbl !== null; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    c.receivedNbls++;
    c.receivedBytes += nblBytes(nbl);
  }
  NdisFIndicateReceiveNetBufferLists(
    module.filterHandle,
    NetBufferLists,
    PortNumber,
    NumberOfNetBufferLists,
    ReceiveFlags,
  );
}

/** FilterReturnNetBufferLists: the protocol above is done with lists we indicated; return them below. */
function FilterReturnNetBufferLists(
  FilterModuleContext: unknown,
  NetBufferLists: NET_BUFFER_LIST,
  ReturnFlags: number,
): void {
  const module = FilterModuleContext as FilterModule;
  for (let nbl: NET_BUFFER_LIST | null = NetBufferLists; nbl !== null; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    module.counters.returned++;
  }
  NdisFReturnNetBufferLists(module.filterHandle, NetBufferLists, ReturnFlags);
}

/** DriverEntry: registers the filter driver with NDIS. */
export function DriverEntry(DriverObject: DRIVER_OBJECT, _RegistryPath: string): number {
  modules.clear();
  detached.length = 0;
  const chars = new NDIS_FILTER_DRIVER_CHARACTERISTICS();
  chars.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
    NDIS_FILTER_CHARACTERISTICS_REVISION_1,
    NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
  );
  chars.MajorNdisVersion = 6;
  chars.MinorNdisVersion = 0;
  chars.MajorDriverVersion = 1;
  chars.MinorDriverVersion = 0;
  chars.Flags = 0;
  chars.FriendlyName = FILTER_FRIENDLY_NAME;
  chars.UniqueName = FILTER_UNIQUE_NAME;
  chars.ServiceName = FILTER_SERVICE_NAME;
  chars.AttachHandler = FilterAttach;
  chars.DetachHandler = FilterDetach;
  chars.RestartHandler = FilterRestart;
  chars.PauseHandler = FilterPause;
  chars.SendNetBufferListsHandler = FilterSendNetBufferLists;
  chars.SendNetBufferListsCompleteHandler = FilterSendNetBufferListsComplete;
  chars.ReceiveNetBufferListsHandler = FilterReceiveNetBufferLists;
  chars.ReturnNetBufferListsHandler = FilterReturnNetBufferLists;
  const handle = { value: null as unknown };
  const status = NdisFRegisterFilterDriver(DriverObject, DriverObject, chars, handle);
  if (status !== NDIS_STATUS_SUCCESS) return status;
  filterDriverHandle = handle.value;
  DriverObject.DriverUnload = FilterUnload;
  return NDIS_STATUS_SUCCESS;
}

/** DriverUnload: deregistering detaches every module (NDIS pauses and detaches them first). */
function FilterUnload(_DriverObject: DRIVER_OBJECT): void {
  if (filterDriverHandle !== null) NdisFDeregisterFilterDriver(filterDriverHandle);
  filterDriverHandle = null;
}

/** The filter module states, for tests that follow a module through them. */
export { FilterState };
