/** Helpers shared by the WFP tests: an engine session, a device for callouts, filters and packets in a few lines. */
import assert from 'node:assert/strict';
import { type DEVICE_OBJECT, DRIVER_OBJECT, IoCreateDevice } from '../../src/kernel/driver.js';
import { STATUS_SUCCESS } from '../../src/kernel/status.js';
import {
  FWP_ACTION_BLOCK,
  FWP_CONDITION_VALUE0,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  FWP_UINT64,
  FWP_VALUE0,
  FWPM_CALLOUT0,
  FWPM_FILTER_CONDITION0,
  FWPM_FILTER0,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPM_SUBLAYER0,
  type FWPS_CALLOUT_CLASSIFY_FN1,
  FWPS_CALLOUT0,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_LOCAL_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_LOCAL_PORT,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_PROTOCOL,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_PORT,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_MAX,
  FWPS_INCOMING_METADATA_VALUES0,
  FWPS_INCOMING_VALUES0,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  FwpmCalloutAdd0,
  FwpmEngineOpen0,
  FwpmFilterAdd0,
  FwpmSubLayerAdd0,
  FwpsCalloutRegister1,
  type GUID,
  type HANDLE,
  RPC_C_AUTHN_WINNT,
  setNumber,
} from '../../src/wfp/index.js';

export type { HANDLE };

/** Opens a kernel-mode engine session. */
export function openEngine(): HANDLE {
  const h = { value: null as HANDLE | null };
  assert.equal(FwpmEngineOpen0(null, RPC_C_AUTHN_WINNT, null, null, h), STATUS_SUCCESS);
  return h.value!;
}

let deviceCount = 0;
/** A device object to register callouts against. */
export function calloutDevice(): DEVICE_OBJECT {
  const d = { value: null as DEVICE_OBJECT | null };
  assert.equal(
    IoCreateDevice(new DRIVER_OBJECT('\\Driver\\wfptest'), 0, `\\Device\\WfpTest${deviceCount++}`, 0x12, 0, false, d),
    STATUS_SUCCESS,
  );
  return d.value!;
}

/** A GUID from a small number, for readable tests. */
export function guid(n: number): GUID {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Adds a sublayer with `weight` and returns its key. */
export function addSublayer(h: HANDLE, weight: number, key: GUID = guid(0x5000 + weight)): GUID {
  const s = new FWPM_SUBLAYER0();
  s.subLayerKey = key;
  s.weight = weight;
  assert.equal(FwpmSubLayerAdd0(h, s, null), STATUS_SUCCESS);
  return key;
}

/** A condition value of an integer type. */
export function intValue(type: number, n: number): FWP_CONDITION_VALUE0 {
  return setNumber(new FWP_CONDITION_VALUE0(), type, n);
}

/** A condition. */
export function cond(fieldKey: GUID, matchType: number, value: FWP_CONDITION_VALUE0): FWPM_FILTER_CONDITION0 {
  return new FWPM_FILTER_CONDITION0(fieldKey, matchType, value);
}

/** What {@link addFilter} needs. */
export interface FilterSpec {
  layerKey?: GUID;
  subLayerKey?: GUID;
  weight?: bigint | { uint8: number } | null;
  action?: number;
  calloutKey?: GUID;
  flags?: number;
  conditions?: FWPM_FILTER_CONDITION0[];
  rawContext?: bigint;
}

/** Builds an FWPM_FILTER0 from a spec. */
export function filterOf(spec: FilterSpec): FWPM_FILTER0 {
  const f = new FWPM_FILTER0();
  f.layerKey = spec.layerKey ?? FWPM_LAYER_OUTBOUND_TRANSPORT_V4;
  if (spec.subLayerKey) f.subLayerKey = spec.subLayerKey;
  const w = new FWP_VALUE0();
  if (typeof spec.weight === 'bigint') {
    w.type = FWP_UINT64;
    w.uint64 = spec.weight;
  } else if (spec.weight) {
    w.type = FWP_UINT8;
    w.uint8 = spec.weight.uint8;
  }
  f.weight = w;
  f.action.type = spec.action ?? FWP_ACTION_BLOCK;
  if (spec.calloutKey) f.action.calloutKey = spec.calloutKey;
  f.flags = spec.flags ?? 0;
  f.filterCondition = spec.conditions ?? [];
  f.numFilterConditions = f.filterCondition.length;
  f.rawContext = spec.rawContext ?? 0n;
  return f;
}

/** Adds a filter and returns its id (asserting success). */
export function addFilter(h: HANDLE, spec: FilterSpec): number {
  const id = { value: 0 };
  const status = FwpmFilterAdd0(h, filterOf(spec), null, id);
  assert.equal(status, STATUS_SUCCESS, `FwpmFilterAdd0 returned 0x${(status >>> 0).toString(16)}`);
  return id.value;
}

/** Adds the management object of a callout at a layer and registers its functions; returns the callout id. */
export function addCallout(
  h: HANDLE,
  key: GUID,
  classifyFn: FWPS_CALLOUT_CLASSIFY_FN1,
  options: {
    layerKey?: GUID;
    notifyFn?: FWPS_CALLOUT0['notifyFn'];
    flowDeleteFn?: FWPS_CALLOUT0['flowDeleteFn'];
    flags?: number;
    register?: boolean;
  } = {},
): number {
  const m = new FWPM_CALLOUT0();
  m.calloutKey = key;
  m.applicableLayer = options.layerKey ?? FWPM_LAYER_OUTBOUND_TRANSPORT_V4;
  const id = { value: 0 };
  assert.equal(FwpmCalloutAdd0(h, m, null, id), STATUS_SUCCESS);
  if (options.register !== false) {
    const c = new FWPS_CALLOUT0();
    c.calloutKey = key;
    c.classifyFn = classifyFn;
    c.notifyFn = options.notifyFn ?? (() => STATUS_SUCCESS);
    c.flowDeleteFn = options.flowDeleteFn ?? null;
    c.flags = options.flags ?? 0;
    const rid = { value: 0 };
    assert.equal(FwpsCalloutRegister1(calloutDevice(), c, rid), STATUS_SUCCESS);
    assert.equal(rid.value, id.value);
  }
  return id.value;
}

/** A packet's outbound-transport fields. */
export interface Tuple {
  protocol: number;
  localAddress: number;
  remoteAddress: number;
  localPort: number;
  remotePort: number;
}

/** FWPS_INCOMING_VALUES0 for FWPS_LAYER_OUTBOUND_TRANSPORT_V4 filled from a tuple (other fields FWP_EMPTY). */
export function transportValues(
  t: Tuple,
  values = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, FWPS_FIELD_OUTBOUND_TRANSPORT_V4_MAX),
): FWPS_INCOMING_VALUES0 {
  const v = values.incomingValue;
  setNumber(v[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_PROTOCOL]!.value, FWP_UINT8, t.protocol);
  setNumber(v[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_LOCAL_ADDRESS]!.value, FWP_UINT32, t.localAddress);
  setNumber(v[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS]!.value, FWP_UINT32, t.remoteAddress);
  setNumber(v[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_LOCAL_PORT]!.value, FWP_UINT16, t.localPort);
  setNumber(v[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_PORT]!.value, FWP_UINT16, t.remotePort);
  return values;
}

/** Empty metadata. */
export function noMetadata(): FWPS_INCOMING_METADATA_VALUES0 {
  return new FWPS_INCOMING_METADATA_VALUES0();
}

/** The IPv4 address a.b.c.d as a host-order number. */
export function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
