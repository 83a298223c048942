/**
 * The WFP structures a callout driver fills or reads (fwpmtypes.h, fwpstypes.h, fwpsk.h), with their WDK field
 * names. GUIDs are lowercase strings; UINT64 ids and handles are numbers; pointers to structures are objects.
 */
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { FWP_ACTION_BLOCK, FWP_ACTION_CONTINUE } from './constants.js';
import {
  type FWP_BYTE_BLOB,
  FWP_CONDITION_VALUE0,
  type FWP_DATA_TYPE,
  FWP_EMPTY,
  FWP_MATCH_EQUAL,
  FWP_VALUE0,
} from './values.js';

/** A GUID in its lowercase registry form, e.g. 'c86fd1bf-21cd-497e-a0bb-17425c885c58'. The zero GUID is GUID_NULL. */
export type GUID = string;
/** The all-zero GUID: on an add, it asks the engine to generate a key. */
export const GUID_NULL: GUID = '00000000-0000-0000-0000-000000000000';

/** FWPM_DISPLAY_DATA0. */
export class FWPM_DISPLAY_DATA0 {
  name: string | null;
  description: string | null;
  constructor(name: string | null = null, description: string | null = null) {
    this.name = name;
    this.description = description;
  }
}

/** FWPM_SESSION0 (what FwpmEngineOpen0 uses of it). FWPM_SESSION_FLAG_DYNAMIC deletes the session's objects on close. */
export class FWPM_SESSION0 {
  sessionKey: GUID = GUID_NULL;
  displayData = new FWPM_DISPLAY_DATA0();
  flags = 0;
  txnWaitTimeoutInMSec = 0;
}
export const FWPM_SESSION_FLAG_DYNAMIC = 0x00000001;

/** FWPM_SUBLAYER0. */
export class FWPM_SUBLAYER0 {
  subLayerKey: GUID = GUID_NULL;
  displayData = new FWPM_DISPLAY_DATA0();
  flags = 0;
  providerKey: GUID | null = null;
  providerData: FWP_BYTE_BLOB | null = null;
  weight = 0;
}

/** FWPM_CALLOUT0 (the management object; the driver registers the functions with FwpsCalloutRegister*). */
export class FWPM_CALLOUT0 {
  calloutKey: GUID = GUID_NULL;
  displayData = new FWPM_DISPLAY_DATA0();
  flags = 0;
  providerKey: GUID | null = null;
  providerData: FWP_BYTE_BLOB | null = null;
  applicableLayer: GUID = GUID_NULL;
  calloutId = 0;
}

/** FWPM_FILTER_CONDITION0: field key, match type and value. */
export class FWPM_FILTER_CONDITION0 {
  fieldKey: GUID;
  matchType: number;
  conditionValue: FWP_CONDITION_VALUE0;
  constructor(fieldKey: GUID = GUID_NULL, matchType = FWP_MATCH_EQUAL, conditionValue = new FWP_CONDITION_VALUE0()) {
    this.fieldKey = fieldKey;
    this.matchType = matchType;
    this.conditionValue = conditionValue;
  }
}

/** FWPM_ACTION0: the action type and, for callout actions, the callout key (the union's calloutKey member). */
export class FWPM_ACTION0 {
  type = FWP_ACTION_BLOCK;
  filterType: GUID = GUID_NULL;
  calloutKey: GUID = GUID_NULL;
}

/** FWPM_FILTER0. `filterId` and `effectiveWeight` are filled by the engine. */
export class FWPM_FILTER0 {
  filterKey: GUID = GUID_NULL;
  displayData = new FWPM_DISPLAY_DATA0();
  flags = 0;
  providerKey: GUID | null = null;
  providerData: FWP_BYTE_BLOB | null = null;
  layerKey: GUID = GUID_NULL;
  subLayerKey: GUID = GUID_NULL;
  weight: FWP_VALUE0 = new FWP_VALUE0();
  numFilterConditions = 0;
  filterCondition: FWPM_FILTER_CONDITION0[] = [];
  action = new FWPM_ACTION0();
  rawContext = 0n;
  providerContextKey: GUID = GUID_NULL;
  reserved: GUID | null = null;
  filterId = 0;
  effectiveWeight: FWP_VALUE0 = new FWP_VALUE0();
}

/** FWPS_FILTER_CONDITION0: a condition as a callout sees it (field index instead of key). */
export class FWPS_FILTER_CONDITION0 {
  fieldId: number;
  reserved = 0;
  matchType: number;
  conditionValue: FWP_CONDITION_VALUE0;
  constructor(fieldId: number, matchType: number, conditionValue: FWP_CONDITION_VALUE0) {
    this.fieldId = fieldId;
    this.matchType = matchType;
    this.conditionValue = conditionValue;
  }
}

/** FWPS_ACTION0. */
export class FWPS_ACTION0 {
  type = FWP_ACTION_BLOCK;
  calloutId = 0;
}

/** FWPS_FILTER0 (FWPS_FILTER1..3 add providerContext and context fields; one class serves all versions). */
export class FWPS_FILTER0 {
  filterId = 0;
  weight: FWP_VALUE0 = new FWP_VALUE0();
  subLayerWeight = 0;
  flags = 0;
  numFilterConditions = 0;
  filterCondition: FWPS_FILTER_CONDITION0[] = [];
  action = new FWPS_ACTION0();
  context = 0n;
  providerContext: unknown = null;
}
export { FWPS_FILTER0 as FWPS_FILTER1, FWPS_FILTER0 as FWPS_FILTER2, FWPS_FILTER0 as FWPS_FILTER3 };

/** FWPS_INCOMING_VALUE0: one data field's value. */
export class FWPS_INCOMING_VALUE0 {
  value = new FWP_VALUE0();
}

/** FWPS_INCOMING_VALUES0: the data fields of one classify, indexed by the layer's FWPS_FIELD_* ids. */
export class FWPS_INCOMING_VALUES0 {
  layerId: number;
  valueCount: number;
  incomingValue: FWPS_INCOMING_VALUE0[];
  constructor(layerId = 0, valueCount = 0) {
    this.layerId = layerId;
    this.valueCount = valueCount;
    this.incomingValue = [];
    for (let i = 0; i < valueCount; i++) this.incomingValue.push(new FWPS_INCOMING_VALUE0());
  }
}

/** FWPS_DISCARD_METADATA0. */
export class FWPS_DISCARD_METADATA0 {
  discardModule = 0;
  discardReason = 0;
  filterId = 0;
}

/** FWPS_INCOMING_METADATA_VALUES0: metadata of a classify; `currentMetadataValues` says which fields are set. */
export class FWPS_INCOMING_METADATA_VALUES0 {
  currentMetadataValues = 0;
  flags = 0;
  reserved = 0;
  discardMetadata = new FWPS_DISCARD_METADATA0();
  flowHandle = 0;
  ipHeaderSize = 0;
  transportHeaderSize = 0;
  processPath: FWP_BYTE_BLOB | null = null;
  token = 0;
  processId = 0;
  sourceInterfaceIndex = 0;
  destinationInterfaceIndex = 0;
  compartmentId = 0;
  fragmentMetadata: unknown = null;
  pathMtu = 0;
  completionHandle: unknown = null;
  transportEndpointHandle = 0;
  remoteScopeId = 0;
  controlData: Uint8Array | null = null;
  controlDataLength = 0;
  packetDirection = 0;
  headerIncludeHeader: Uint8Array | null = null;
  headerIncludeHeaderLength = 0;
  destinationPrefix: unknown = null;
  frameLength = 0;
  parentEndpointHandle = 0;
  icmpIdAndSequence = 0;
  localRedirectTargetPID = 0;
  originalDestination: unknown = null;
  redirectRecords: unknown = null;
  currentL2MetadataValues = 0;
  l2Flags = 0;
  ethernetMacHeaderSize = 0;
  wiFiOperationMode = 0;
}

/** FWPS_IS_METADATA_FIELD_PRESENT: whether `metadataField` is set in the metadata. */
export function FWPS_IS_METADATA_FIELD_PRESENT(
  metadataValues: FWPS_INCOMING_METADATA_VALUES0,
  metadataField: number,
): boolean {
  return (metadataValues.currentMetadataValues & metadataField) !== 0;
}

/** FWPS_CLASSIFY_OUT0: the action a classify returns, the rights left to lower-weight filters, and flags. */
export class FWPS_CLASSIFY_OUT0 {
  actionType = FWP_ACTION_CONTINUE;
  outContext = 0n;
  filterId = 0;
  rights = 0;
  flags = 0;
  reserved = 0;
}

/** classifyFn0: (inFixedValues, inMetaValues, layerData, filter, flowContext, classifyOut). */
export type FWPS_CALLOUT_CLASSIFY_FN0 = (
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  filter: FWPS_FILTER0,
  flowContext: number,
  classifyOut: FWPS_CLASSIFY_OUT0,
) => void;

/** classifyFn1/2/3: as classifyFn0 with classifyContext after layerData. */
export type FWPS_CALLOUT_CLASSIFY_FN1 = (
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  classifyContext: unknown,
  filter: FWPS_FILTER0,
  flowContext: number,
  classifyOut: FWPS_CLASSIFY_OUT0,
) => void;
export type FWPS_CALLOUT_CLASSIFY_FN2 = FWPS_CALLOUT_CLASSIFY_FN1;
export type FWPS_CALLOUT_CLASSIFY_FN3 = FWPS_CALLOUT_CLASSIFY_FN1;

/** notifyFn: (notifyType, filterKey, filter) -> NTSTATUS. notifyFn0 receives the filter key as a GUID. */
export type FWPS_CALLOUT_NOTIFY_FN0 = (notifyType: number, filterKey: GUID, filter: FWPS_FILTER0) => number;
export type FWPS_CALLOUT_NOTIFY_FN1 = FWPS_CALLOUT_NOTIFY_FN0;
export type FWPS_CALLOUT_NOTIFY_FN2 = FWPS_CALLOUT_NOTIFY_FN0;
export type FWPS_CALLOUT_NOTIFY_FN3 = FWPS_CALLOUT_NOTIFY_FN0;

/** flowDeleteFn: (layerId, calloutId, flowContext). */
export type FWPS_CALLOUT_FLOW_DELETE_NOTIFY_FN0 = (layerId: number, calloutId: number, flowContext: number) => void;

/** FWPS_CALLOUT0..3: the functions a callout driver registers. */
export class FWPS_CALLOUT0 {
  calloutKey: GUID = GUID_NULL;
  flags = 0;
  classifyFn: FWPS_CALLOUT_CLASSIFY_FN0 | FWPS_CALLOUT_CLASSIFY_FN1 | null = null;
  notifyFn: FWPS_CALLOUT_NOTIFY_FN0 | null = null;
  flowDeleteFn: FWPS_CALLOUT_FLOW_DELETE_NOTIFY_FN0 | null = null;
}
export { FWPS_CALLOUT0 as FWPS_CALLOUT1, FWPS_CALLOUT0 as FWPS_CALLOUT2, FWPS_CALLOUT0 as FWPS_CALLOUT3 };

/** FWPS_TRANSPORT_SEND_PARAMS0: where FwpsInjectTransportSendAsync0 sends and with which control data. */
export class FWPS_TRANSPORT_SEND_PARAMS0 {
  /** The remote address: 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
  remoteAddress: Uint8Array | null = null;
  remoteScopeId = 0;
  controlData: Uint8Array | null = null;
  controlDataLength = 0;
}

/** FWPS_TRANSPORT_SEND_PARAMS1: adds the IP header-include header. */
export class FWPS_TRANSPORT_SEND_PARAMS1 extends FWPS_TRANSPORT_SEND_PARAMS0 {
  headerIncludeHeader: Uint8Array | null = null;
  headerIncludeHeaderLength = 0;
}

/** The data type a value has, or FWP_EMPTY. */
export function valueType(value: FWP_VALUE0 | null | undefined): FWP_DATA_TYPE {
  return value ? value.type : FWP_EMPTY;
}
