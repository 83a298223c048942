/**
 * The host's classify fills a layer's inputs lazily (src/stack/wfp-binding.ts, LazyClassifyInputs): first only
 * the incoming values that the layer's filter conditions test, the other values and the metadata only before the
 * first callout runs. Nothing may tell the difference. These properties run random filter sets (static and
 * callout filters, conditions on any integer or address field of any modelled layer, added and deleted between
 * packets) and random requests through the host's classifier and through a reference that fills everything up
 * front (the binding's fill as it was before it became lazy, written out here) and classifies with
 * classifyAtLayer. Every callout must see the same incoming values and metadata, in the same order, and each
 * packet must get the same verdict. A second property pins the layer's cached filter count and the fields its
 * conditions test against the buckets themselves, across adds, deletes, disabled filters and aborted transactions.
 *
 * A layer whose filters are static decisions on one field the host fills is decided by reading that value from
 * the request, filling nothing (LayerInputs.decideByValue). A third property draws such filter sets on every field
 * it can be (addresses, ports, protocol, interfaces...), spoils them now and then with any other filter (a callout,
 * another field) and deletes filters between packets, with the verifier off (the host's setting, where the common
 * classify is shortest) or on; the reference and every callout's view must still agree. Examples pin the IRQL check
 * under the verifier, a classifier that outlives a system reset, and the call count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DRIVER_VERIFIER_DETECTED_VIOLATION } from '../../src/kernel/bugcheck.js';
import { atIrql, CLOCK_LEVEL } from '../../src/kernel/irql.js';
import { bytesAt } from '../../src/kernel/memory.js';
import { ExAllocatePoolWithTag, NonPagedPoolNx } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { ClassifyRequest, Verdict } from '../../src/stack/filters.js';
import { Layer } from '../../src/stack/layers.js';
import { WfpClassifier } from '../../src/stack/wfp-binding.js';
import { engine, layerState } from '../../src/wfp/engine.js';
import {
  classifyAtLayer,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_CALLOUT_UNKNOWN,
  FWP_ACTION_CONTINUE,
  FWP_ACTION_PERMIT,
  FWP_BYTE_ARRAY16,
  FWP_BYTE_ARRAY16_TYPE,
  FWP_CONDITION_VALUE0,
  FWP_EMPTY,
  FWP_MATCH_EQUAL,
  FWP_MATCH_GREATER,
  FWP_MATCH_LESS,
  FWP_MATCH_NOT_EQUAL,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  FWP_UINT64,
  FWP_V4_ADDR_AND_MASK,
  FWP_V4_ADDR_MASK,
  FWP_V6_ADDR_AND_MASK,
  FWP_V6_ADDR_MASK,
  type FWP_VALUE0,
  FWPM_FILTER_CONDITION0,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_FILTER_FLAG_DISABLED,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  type FWPS_CLASSIFY_OUT0,
  type FWPS_FILTER0,
  FWPS_INCOMING_METADATA_VALUES0,
  FWPS_INCOMING_VALUES0,
  FWPS_METADATA_FIELD_COMPARTMENT_ID,
  FWPS_METADATA_FIELD_DESTINATION_INTERFACE_INDEX,
  FWPS_METADATA_FIELD_DISCARD_REASON,
  FWPS_METADATA_FIELD_FLOW_HANDLE,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FWPS_METADATA_FIELD_PACKET_DIRECTION,
  FWPS_METADATA_FIELD_REMOTE_SCOPE_ID,
  FWPS_METADATA_FIELD_SOURCE_INTERFACE_INDEX,
  FWPS_METADATA_FIELD_TRANSPORT_ENDPOINT_HANDLE,
  FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE,
  FWPS_RIGHT_ACTION_WRITE,
  FwpmFilterDeleteById0,
  FwpmTransactionAbort0,
  FwpmTransactionBegin0,
  FwpmTransactionCommit0,
  setNumber,
  WFP_RULE_IRQL_CLASSIFY,
} from '../../src/wfp/index.js';
import { type LayerInfo, layerById, modelledLayers } from '../../src/wfp/layers.js';
import { assertBugCheck } from '../helpers.js';
import { addCallout, addFilter, addSublayer, guid, openEngine } from './util.js';

const CALLOUT = guid(0x1a2);

// ---- the reference: everything filled up front --------------------------------------------------------------

/** One layer's inputs as the binding filled them before it became lazy: all values emptied, then all filled. */
class ReferenceInputs {
  readonly values: FWPS_INCOMING_VALUES0;
  readonly meta = new FWPS_INCOMING_METADATA_VALUES0();
  private readonly field: (...names: string[]) => number;

  constructor(readonly info: LayerInfo) {
    this.values = new FWPS_INCOMING_VALUES0(info.layerId, info.fields.length);
    for (const v of this.values.incomingValue) v.value.byteArray16 = new FWP_BYTE_ARRAY16(new Uint8Array(16));
    this.field = (...names) => {
      for (const n of names) {
        const i = info.fields.findIndex((f) => f.name === n);
        if (i >= 0) return i;
      }
      return -1;
    };
  }

  fill(r: ClassifyRequest): void {
    const values = this.values.incomingValue;
    for (const v of values) v.value.type = FWP_EMPTY;
    const put = (names: string[], type: number, n: number) => {
      const i = this.field(...names);
      if (i >= 0) setNumber(values[i]!.value, type, n);
    };
    const address = (names: string[], va: number, fallback4: number): number => {
      const i = this.field(...names);
      if (i < 0) return 0;
      const v = values[i]!.value;
      if (r.ipVersion === 4) {
        const a = va === 0 ? fallback4 >>> 0 : readBe32(va);
        setNumber(v, FWP_UINT32, a);
        return a === 0xffffffff ? 3 : a >>> 28 === 0xe ? 2 : 0;
      }
      v.type = FWP_BYTE_ARRAY16_TYPE;
      const bytes = v.byteArray16!.byteArray16;
      if (va === 0) bytes.fill(0);
      else bytes.set(bytesAt(va, 16));
      return bytes[0] === 0xff ? 2 : 0;
    };
    const localType = address(['IP_LOCAL_ADDRESS', 'IP_SOURCE_ADDRESS'], r.localAddressVa, r.localAddress4);
    const remoteType = address(['IP_REMOTE_ADDRESS', 'IP_DESTINATION_ADDRESS'], r.remoteAddressVa, r.remoteAddress4);
    put(['IP_PROTOCOL'], FWP_UINT8, r.protocol);
    const icmp = r.protocol === 1 || r.protocol === 58;
    if (r.localPort !== 0 || icmp) put(['IP_LOCAL_PORT', 'ICMP_TYPE'], FWP_UINT16, r.localPort);
    if (r.remotePort !== 0 || icmp) put(['IP_REMOTE_PORT', 'ICMP_CODE'], FWP_UINT16, r.remotePort);
    put(['INTERFACE_INDEX', 'SOURCE_INTERFACE_INDEX', 'ARRIVAL_INTERFACE_INDEX'], FWP_UINT32, r.interfaceIndex);
    put(['SUB_INTERFACE_INDEX', 'SOURCE_SUB_INTERFACE_INDEX'], FWP_UINT32, 0);
    if (r.destinationInterfaceIndex !== 0) {
      put(['DESTINATION_INTERFACE_INDEX', 'NEXTHOP_INTERFACE_INDEX'], FWP_UINT32, r.destinationInterfaceIndex);
    }
    put(['COMPARTMENT_ID'], FWP_UINT32, 1);
    put(['DIRECTION'], FWP_UINT32, r.direction);
    put(['IP_LOCAL_ADDRESS_TYPE'], FWP_UINT8, localType);
    put(['IP_DESTINATION_ADDRESS_TYPE'], FWP_UINT8, remoteType);
    const m = this.meta;
    m.compartmentId = 1;
    m.packetDirection = r.direction;
    m.ipHeaderSize = r.ipHeaderSize;
    m.transportHeaderSize = r.transportHeaderSize;
    m.flowHandle = r.flowHandle;
    m.transportEndpointHandle = r.endpointHandle;
    m.remoteScopeId = r.remoteScopeId < 0 ? 0 : r.remoteScopeId;
    m.sourceInterfaceIndex = r.interfaceIndex;
    m.destinationInterfaceIndex = r.destinationInterfaceIndex;
    const discard = r.discardModule >= 0;
    if (discard) {
      m.discardMetadata.discardModule = r.discardModule;
      m.discardMetadata.discardReason = r.discardReason;
      m.discardMetadata.filterId = r.discardFilterId;
    }
    m.currentMetadataValues =
      (discard ? FWPS_METADATA_FIELD_DISCARD_REASON : 0) |
      FWPS_METADATA_FIELD_COMPARTMENT_ID |
      FWPS_METADATA_FIELD_PACKET_DIRECTION |
      (r.ipHeaderSize > 0 ? FWPS_METADATA_FIELD_IP_HEADER_SIZE : 0) |
      (r.transportHeaderSize > 0 ? FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE : 0) |
      (r.flowHandle !== 0 ? FWPS_METADATA_FIELD_FLOW_HANDLE : 0) |
      (r.endpointHandle !== 0 ? FWPS_METADATA_FIELD_TRANSPORT_ENDPOINT_HANDLE : 0) |
      (r.remoteScopeId >= 0 ? FWPS_METADATA_FIELD_REMOTE_SCOPE_ID : 0) |
      (r.destinationInterfaceIndex !== 0
        ? FWPS_METADATA_FIELD_SOURCE_INTERFACE_INDEX | FWPS_METADATA_FIELD_DESTINATION_INTERFACE_INDEX
        : 0);
  }

  /** The verdict the binding gives (and what it writes back into the request). */
  classify(r: ClassifyRequest): number {
    this.fill(r);
    const aleConnect = r.layerId === Layer.AleAuthConnect4 || r.layerId === Layer.AleAuthConnect6;
    const out = classifyAtLayer(r.layerId, this.values, this.meta, aleConnect && r.protocol === 6 ? null : r.nbl);
    if ((out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB) !== 0) {
      const f = engine.filters.get(out.filterId);
      r.absorbedBy = f?.callout ? `callout ${f.callout.key}` : `filter ${out.filterId}`;
      return Verdict.Absorb;
    }
    if (out.actionType !== FWP_ACTION_BLOCK) return Verdict.Permit;
    r.discardFilterId = out.filterId;
    return Verdict.Block;
  }
}

// ---- addresses in the arena ---------------------------------------------------------------------------------

function readBe32(va: number): number {
  const b = bytesAt(va, 4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

const V4_ADDRESSES = [0x0a000001, 0xc0000209, 0xe0000005, 0xffffffff, 0];
const V6_ADDRESSES = [
  [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5],
  [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
];

// ---- the model ----------------------------------------------------------------------------------------------

/** A condition on field `field` (an index into the layer's usable fields) of one of a few shapes. */
interface CondModel {
  field: number;
  match: number; // 0 equal, 1 not equal, 2 greater, 3 less, 4 prefix
  pick: number;
}

interface FilterModel {
  action: 'block' | 'permit' | 'hardPermit' | 'terminating' | 'inspection' | 'unknown';
  weight: number;
  /** Callouts: what classifyFn returns (0 leave, 1 block, 2 permit, 3 continue), and extra behaviour bits. */
  ret: number;
  /** 1: absorb, 2: clear the write right, 4: scribble over the values and metadata it was given. */
  extra: number;
  disabled: boolean;
  conds: CondModel[];
}

interface RequestModel {
  v4Local: number;
  v4Remote: number;
  v6Local: number;
  v6Remote: number;
  inMemory: boolean;
  protocol: number;
  localPort: number;
  remotePort: number;
  interfaceIndex: number;
  destinationInterfaceIndex: number;
  direction: number;
  ipHeaderSize: number;
  transportHeaderSize: number;
  flowHandle: number;
  endpointHandle: number;
  remoteScopeId: number;
  discardModule: number;
  discardReason: number;
  discardFilterId: number;
}

type Op =
  | { kind: 'add'; filter: FilterModel }
  | { kind: 'delete'; index: number }
  | { kind: 'classify'; request: RequestModel };

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);

const filterArb: fc.Arbitrary<FilterModel> = fc.record({
  action: pick(['block', 'permit', 'hardPermit', 'terminating', 'inspection', 'unknown'] as const),
  weight: fc.integer({ min: 0, max: 15 }),
  ret: fc.integer({ min: 0, max: 3 }),
  extra: fc.integer({ min: 0, max: 7 }),
  disabled: fc.nat(4).map((n) => n === 0),
  conds: fc.array(fc.record({ field: fc.nat(40), match: fc.integer({ min: 0, max: 4 }), pick: fc.nat(7) }), {
    maxLength: 3,
  }),
});

const requestArb: fc.Arbitrary<RequestModel> = fc.record({
  v4Local: fc.nat(V4_ADDRESSES.length - 1),
  v4Remote: fc.nat(V4_ADDRESSES.length - 1),
  v6Local: fc.nat(V6_ADDRESSES.length - 1),
  v6Remote: fc.nat(V6_ADDRESSES.length - 1),
  inMemory: fc.boolean(),
  protocol: pick([1, 6, 17, 58]),
  localPort: pick([0, 53, 80, 1234]),
  remotePort: pick([0, 53, 80, 1234]),
  interfaceIndex: pick([0, 1, 2]),
  destinationInterfaceIndex: pick([0, 2, 3]),
  direction: pick([0, 1]),
  ipHeaderSize: pick([0, 20, 40]),
  transportHeaderSize: pick([0, 8, 20]),
  flowHandle: pick([0, 7]),
  endpointHandle: pick([0, 11]),
  remoteScopeId: pick([-1, 0, 4]),
  discardModule: pick([-1, 0, 1, 2]),
  discardReason: pick([0, 1, 3]),
  discardFilterId: pick([0, 5]),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: filterArb.map((filter) => ({ kind: 'add' as const, filter })) },
  { weight: 1, arbitrary: fc.nat(20).map((index) => ({ kind: 'delete' as const, index })) },
  { weight: 4, arbitrary: requestArb.map((request) => ({ kind: 'classify' as const, request })) },
);

/** The fields the host fills (by name, as the binding finds them); the rest of a layer's fields stay empty. */
const FILLED = new Set([
  'IP_LOCAL_ADDRESS',
  'IP_SOURCE_ADDRESS',
  'IP_REMOTE_ADDRESS',
  'IP_DESTINATION_ADDRESS',
  'IP_PROTOCOL',
  'IP_LOCAL_PORT',
  'ICMP_TYPE',
  'IP_REMOTE_PORT',
  'ICMP_CODE',
  'INTERFACE_INDEX',
  'SOURCE_INTERFACE_INDEX',
  'ARRIVAL_INTERFACE_INDEX',
  'SUB_INTERFACE_INDEX',
  'SOURCE_SUB_INTERFACE_INDEX',
  'DESTINATION_INTERFACE_INDEX',
  'NEXTHOP_INTERFACE_INDEX',
  'COMPARTMENT_ID',
  'DIRECTION',
  'IP_LOCAL_ADDRESS_TYPE',
  'IP_DESTINATION_ADDRESS_TYPE',
]);

/**
 * The fields a condition can test here: integers and addresses. Those the host fills come first and are drawn
 * half the time (see conditionOf), so conditions often test values that change from packet to packet.
 */
function usableFields(info: LayerInfo): number[] {
  const out: number[] = [];
  info.fields.forEach((f, i) => {
    if (f.conditionKey === null) return;
    const t = f.dataType;
    if (t === FWP_UINT8 || t === FWP_UINT16 || t === FWP_UINT32 || t === FWP_UINT64 || t === FWP_BYTE_ARRAY16_TYPE) {
      out.push(i);
    }
  });
  const filled = (i: number) => (FILLED.has(info.fields[i]!.name) ? 0 : 1);
  return out.sort((a, b) => filled(a) - filled(b) || a - b);
}

function filledCount(info: LayerInfo, fields: number[]): number {
  return fields.filter((i) => FILLED.has(info.fields[i]!.name)).length;
}

const SMALL = [0, 1, 2, 3, 6, 17, 53, 80];
function conditionOf(info: LayerInfo, fields: number[], c: CondModel): FWPM_FILTER_CONDITION0 | null {
  if (fields.length === 0) return null;
  const filled = filledCount(info, fields);
  const at = c.field < 20 && filled > 0 ? c.field % filled : c.field % fields.length;
  const f = info.fields[fields[at]!]!;
  const v = new FWP_CONDITION_VALUE0();
  let match = [FWP_MATCH_EQUAL, FWP_MATCH_NOT_EQUAL, FWP_MATCH_GREATER, FWP_MATCH_LESS, FWP_MATCH_EQUAL][c.match]!;
  switch (f.dataType) {
    case FWP_UINT64:
      v.type = FWP_UINT64;
      v.uint64 = BigInt(c.pick);
      match = c.match === 1 ? FWP_MATCH_NOT_EQUAL : FWP_MATCH_EQUAL;
      break;
    case FWP_BYTE_ARRAY16_TYPE: {
      const a = V6_ADDRESSES[c.pick % V6_ADDRESSES.length]!;
      if (c.match === 4 || c.match >= 2) {
        v.type = FWP_V6_ADDR_MASK;
        v.v6AddrMask = new FWP_V6_ADDR_AND_MASK(Uint8Array.from(a), [8, 16, 64, 128][c.pick % 4]!);
        match = c.match === 1 ? FWP_MATCH_NOT_EQUAL : FWP_MATCH_EQUAL;
      } else {
        v.type = FWP_BYTE_ARRAY16_TYPE;
        v.byteArray16 = new FWP_BYTE_ARRAY16(Uint8Array.from(a));
      }
      break;
    }
    case FWP_UINT32:
      if (c.match === 4) {
        v.type = FWP_V4_ADDR_MASK;
        const mask = [0xff000000, 0xffffff00, 0xffffffff, 0xf0000000][c.pick % 4]!;
        v.v4AddrMask = new FWP_V4_ADDR_AND_MASK(V4_ADDRESSES[c.pick % V4_ADDRESSES.length]!, mask);
        match = FWP_MATCH_EQUAL;
      } else if (f.name.endsWith('_ADDRESS')) setNumber(v, FWP_UINT32, V4_ADDRESSES[c.pick % V4_ADDRESSES.length]!);
      else setNumber(v, FWP_UINT32, SMALL[c.pick % SMALL.length]!); // interface indexes, compartment, direction...
      break;
    default:
      setNumber(v, f.dataType, SMALL[c.pick % SMALL.length]!);
      if (c.match === 4) match = FWP_MATCH_EQUAL;
  }
  return new FWPM_FILTER_CONDITION0(f.conditionKey!, match, v);
}

function requestOf(info: LayerInfo, m: RequestModel, memory: number): ClassifyRequest {
  const r = new ClassifyRequest();
  r.layerId = info.layerId;
  r.ipVersion = info.isV6 ? 6 : 4;
  const local = info.isV6 ? V6_ADDRESSES[m.v6Local]! : be(V4_ADDRESSES[m.v4Local]!);
  const remote = info.isV6 ? V6_ADDRESSES[m.v6Remote]! : be(V4_ADDRESSES[m.v4Remote]!);
  if (m.inMemory) {
    bytesAt(memory, local.length).set(local);
    bytesAt(memory + 16, remote.length).set(remote);
    r.localAddressVa = memory;
    r.remoteAddressVa = memory + 16;
  } else if (!info.isV6) {
    r.localAddress4 = V4_ADDRESSES[m.v4Local]!;
    r.remoteAddress4 = V4_ADDRESSES[m.v4Remote]!;
  }
  r.protocol = m.protocol;
  r.localPort = m.localPort;
  r.remotePort = m.remotePort;
  r.interfaceIndex = m.interfaceIndex;
  r.destinationInterfaceIndex = m.destinationInterfaceIndex;
  r.direction = m.direction;
  r.ipHeaderSize = m.ipHeaderSize;
  r.transportHeaderSize = m.transportHeaderSize;
  r.flowHandle = m.flowHandle;
  r.endpointHandle = m.endpointHandle;
  r.remoteScopeId = m.remoteScopeId;
  r.discardModule = m.discardModule;
  r.discardReason = m.discardReason;
  r.discardFilterId = m.discardFilterId;
  return r;
}

function be(a: number): number[] {
  return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff];
}

// ---- what a callout sees ------------------------------------------------------------------------------------

function readable(v: FWP_VALUE0): unknown {
  switch (v.type) {
    case FWP_EMPTY:
      return null;
    case FWP_UINT8:
      return v.uint8;
    case FWP_UINT16:
      return v.uint16;
    case FWP_UINT32:
      return v.uint32;
    case FWP_UINT64:
      return v.uint64;
    case FWP_BYTE_ARRAY16_TYPE:
      return [...v.byteArray16!.byteArray16];
    default:
      return `type ${v.type}`;
  }
}

function snapshot(filterId: number, values: FWPS_INCOMING_VALUES0, meta: FWPS_INCOMING_METADATA_VALUES0): unknown {
  return {
    filterId,
    layerId: values.layerId,
    values: values.incomingValue.map((x) => [x.value.type, readable(x.value)]),
    meta: {
      current: meta.currentMetadataValues,
      compartmentId: meta.compartmentId,
      packetDirection: meta.packetDirection,
      ipHeaderSize: meta.ipHeaderSize,
      transportHeaderSize: meta.transportHeaderSize,
      flowHandle: meta.flowHandle,
      transportEndpointHandle: meta.transportEndpointHandle,
      remoteScopeId: meta.remoteScopeId,
      sourceInterfaceIndex: meta.sourceInterfaceIndex,
      destinationInterfaceIndex: meta.destinationInterfaceIndex,
      discard: { ...meta.discardMetadata },
    },
  };
}

/** A callout whose behaviour is the filter's context: it records what it sees, then decides. */
function recordingCallout(log: unknown[]) {
  return (
    values: FWPS_INCOMING_VALUES0,
    meta: FWPS_INCOMING_METADATA_VALUES0,
    _layerData: unknown,
    _context: unknown,
    filter: FWPS_FILTER0,
    _flowContext: number,
    out: FWPS_CLASSIFY_OUT0,
  ): void => {
    log.push(snapshot(filter.filterId, values, meta));
    const s = Number(filter.context);
    const ret = s & 3;
    const extra = s >> 2;
    if ((extra & 4) !== 0) {
      // A callout that writes over its read-only inputs: what the next packet sees must not depend on it.
      for (const x of values.incomingValue) setNumber(x.value, FWP_UINT8, 99);
      meta.currentMetadataValues = 0;
      meta.flowHandle = 12345;
      meta.discardMetadata.discardReason = 77;
    }
    if (ret === 1) out.actionType = FWP_ACTION_BLOCK;
    else if (ret === 2) out.actionType = FWP_ACTION_PERMIT;
    else if (ret === 3) out.actionType = FWP_ACTION_CONTINUE;
    if ((extra & 1) !== 0) out.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
    if ((extra & 2) !== 0) out.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  };
}

const ACTIONS = {
  block: FWP_ACTION_BLOCK,
  permit: FWP_ACTION_PERMIT,
  hardPermit: FWP_ACTION_PERMIT,
  terminating: FWP_ACTION_CALLOUT_TERMINATING,
  inspection: FWP_ACTION_CALLOUT_INSPECTION,
  unknown: FWP_ACTION_CALLOUT_UNKNOWN,
};

// Any modelled layer serves (the binding treats them alike); the ones the host's forward and transport paths
// classify, which have the most fields it fills, are drawn as often as all the others together.
const LAYERS = modelledLayers().map((l) => l.layerId);
const BUSY_LAYERS = [
  Layer.Ipforward4,
  Layer.Ipforward6,
  Layer.InboundTransport4,
  Layer.OutboundTransport4,
  Layer.InboundIppacket4,
  Layer.OutboundIppacket4,
];
const layerArb = fc.oneof(pick(LAYERS), pick(BUSY_LAYERS));

/**
 * Adds a model filter (any action, callouts included, `disabled` honoured when `canDisable`) at `info`'s layer
 * and returns its id.
 */
function addModelFilter(h: unknown, info: LayerInfo, fields: number[], f: FilterModel, canDisable: boolean): number {
  const action = ACTIONS[f.action];
  return addFilter(h, {
    layerKey: info.layerKey,
    weight: BigInt(f.weight),
    action,
    calloutKey: (action & 0x4000) !== 0 ? CALLOUT : undefined,
    flags:
      (f.action === 'hardPermit' ? FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT : 0) |
      (canDisable && f.disabled ? FWPM_FILTER_FLAG_DISABLED : 0),
    conditions: f.conds.map((c) => conditionOf(info, fields, c)).filter((c) => c !== null),
    rawContext: BigInt(f.ret | (f.extra << 2)),
  });
}

/**
 * Classifies the same request with the host's lazy classifier and with the fill-everything reference, and asserts
 * that every callout saw the same, and the verdict, the blocking filter and the absorber agree.
 */
function assertClassifiesAsReference(
  lazy: WfpClassifier,
  reference: ReferenceInputs,
  info: LayerInfo,
  request: RequestModel,
  memory: number,
  log: unknown[],
): void {
  const a = requestOf(info, request, memory);
  log.length = 0;
  const lazyVerdict = lazy.classify(a);
  const lazyLog = [...log];
  const b = requestOf(info, request, memory);
  log.length = 0;
  // A layer with no filters is not classified at all; the reference must not run its callouts either.
  const referenceVerdict = layerState(info.layerId)!.filterCount === 0 ? Verdict.Permit : reference.classify(b);
  try {
    assert.deepEqual(lazyLog, log, 'what each callout saw');
  } catch (e) {
    console.error(String((e as Error).message).slice(0, 3000));
    throw e;
  }
  assert.equal(lazyVerdict, referenceVerdict, 'verdict');
  assert.equal(a.discardFilterId, b.discardFilterId, 'the filter that blocked');
  assert.equal(a.absorbedBy, b.absorbedBy, 'who absorbed');
}

describe('lazy classify inputs: callouts and verdicts as with everything filled up front (W- classify inputs)', () => {
  it('over random layers, filter sets (added and deleted between packets) and requests', () => {
    fc.assert(
      fc.property(
        layerArb,
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        pick(['off', 'standard'] as const),
        (layerId, ops, verifier) => {
          resetSystem({ verifier });
          const info = layerById(layerId)!;
          const fields = usableFields(info);
          const memory = ExAllocatePoolWithTag(NonPagedPoolNx, 64, 0x7a4c4954);
          const h = openEngine();
          const log: unknown[] = [];
          addCallout(h, CALLOUT, recordingCallout(log), { layerKey: info.layerKey });
          const lazy = new WfpClassifier(null);
          const reference = new ReferenceInputs(info);
          const ids: number[] = [];
          for (const op of ops) {
            if (op.kind === 'add') ids.push(addModelFilter(h, info, fields, op.filter, true));
            else if (op.kind === 'delete') {
              if (ids.length > 0) assert.equal(FwpmFilterDeleteById0(h, ids.splice(op.index % ids.length, 1)[0]!), 0);
            } else assertClassifiesAsReference(lazy, reference, info, op.request, memory, log);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('lazy classify inputs: a value the next packet lacks is empty for its conditions (W- classify inputs)', () => {
  const cases = [
    {
      layer: Layer.OutboundTransport4,
      name: 'IP_LOCAL_PORT',
      type: FWP_UINT16,
      set: (r: ClassifyRequest, n: number) => (r.localPort = n),
    },
    {
      layer: Layer.OutboundTransport4,
      name: 'IP_REMOTE_PORT',
      type: FWP_UINT16,
      set: (r: ClassifyRequest, n: number) => (r.remotePort = n),
    },
    {
      layer: Layer.Ipforward4,
      name: 'DESTINATION_INTERFACE_INDEX',
      type: FWP_UINT32,
      set: (r: ClassifyRequest, n: number) => (r.destinationInterfaceIndex = n),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: a filter on 53 blocks a packet with 53, not the next one with none`, () => {
      resetSystem();
      const info = layerById(c.layer)!;
      const field = info.fields.find((f) => f.name === c.name)!;
      const h = openEngine();
      const value = setNumber(new FWP_CONDITION_VALUE0(), c.type, 53);
      addFilter(h, {
        layerKey: info.layerKey,
        action: FWP_ACTION_BLOCK,
        conditions: [new FWPM_FILTER_CONDITION0(field.conditionKey!, FWP_MATCH_EQUAL, value)],
      });
      const classifier = new WfpClassifier(null);
      const r = new ClassifyRequest();
      r.layerId = c.layer;
      r.protocol = 17;
      c.set(r, 53);
      assert.equal(classifier.classify(r), Verdict.Block);
      c.set(r, 0);
      assert.equal(classifier.classify(r), Verdict.Permit);
    });
  }
});

describe("a layer's cached filter count and condition fields (W- engine property)", () => {
  it('match its buckets across adds, deletes, disabled filters and aborted transactions', () => {
    fc.assert(
      fc.property(
        pick(LAYERS),
        fc.array(
          fc.oneof(
            filterArb.map((filter) => ({ kind: 'add' as const, filter })),
            fc.nat(20).map((index) => ({ kind: 'delete' as const, index })),
            fc.boolean().map((commit) => ({ kind: 'transaction' as const, commit })),
          ),
          { maxLength: 25 },
        ),
        (layerId, ops) => {
          resetSystem();
          const info = layerById(layerId)!;
          const fields = usableFields(info);
          const h = openEngine();
          const ids: number[] = [];
          let inTransaction = false;
          let committed: number[] = [];
          for (const op of ops) {
            if (op.kind === 'add') {
              const f = op.filter;
              ids.push(
                addFilter(h, {
                  layerKey: info.layerKey,
                  action: f.action === 'block' ? FWP_ACTION_BLOCK : FWP_ACTION_PERMIT,
                  flags: f.disabled ? FWPM_FILTER_FLAG_DISABLED : 0,
                  conditions: f.conds.map((c) => conditionOf(info, fields, c)).filter((c) => c !== null),
                }),
              );
            } else if (op.kind === 'delete') {
              if (ids.length > 0) assert.equal(FwpmFilterDeleteById0(h, ids.splice(op.index % ids.length, 1)[0]!), 0);
            } else if (!inTransaction) {
              assert.equal(FwpmTransactionBegin0(h, 0), 0);
              committed = [...ids];
              inTransaction = true;
            } else {
              assert.equal(op.commit ? FwpmTransactionCommit0(h) : FwpmTransactionAbort0(h), 0);
              if (!op.commit) ids.splice(0, ids.length, ...committed);
              inTransaction = false;
            }
            const state = layerState(layerId)!;
            let count = 0;
            const tested = new Set<number>();
            for (const b of state.buckets) {
              count += b.filters.size;
              for (const f of b.filters.filters) for (const g of f.groups) tested.add(g.field);
            }
            assert.equal(state.filterCount, count);
            assert.deepEqual(
              [...state.conditionFields()],
              [...tested].sort((x, y) => x - y),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- layers decided by one value read from the request ----------------------------------------------------

/** A static filter on the one field a run tests: EQUAL on one or two values (IPv4 addresses also as /32 masks). */
interface ExactFilterModel {
  sublayer: number; // -1: universal
  weight: number;
  action: 'block' | 'permit' | 'hardPermit';
  picks: number[];
  mask: boolean;
}

type ValueOp =
  | { kind: 'add'; filter: ExactFilterModel }
  | { kind: 'spoil'; filter: FilterModel }
  | { kind: 'delete'; index: number }
  | { kind: 'classify'; request: RequestModel };

const exactFilterArb: fc.Arbitrary<ExactFilterModel> = fc.record({
  sublayer: fc.integer({ min: -1, max: 1 }),
  weight: fc.nat(5),
  action: pick(['block', 'permit', 'hardPermit'] as const),
  picks: fc.array(fc.nat(7), { minLength: 1, maxLength: 2 }),
  mask: fc.boolean(),
});

const valueOpArb: fc.Arbitrary<ValueOp> = fc.oneof(
  { weight: 3, arbitrary: exactFilterArb.map((filter) => ({ kind: 'add' as const, filter })) },
  // Any filter of the first property (a callout, a range, another field): the layer stops qualifying until it goes.
  { weight: 1, arbitrary: filterArb.map((filter) => ({ kind: 'spoil' as const, filter })) },
  { weight: 2, arbitrary: fc.nat(20).map((index) => ({ kind: 'delete' as const, index })) },
  // Mostly not discards: a discard classify takes the binding's longer way (it writes the discard metadata).
  {
    weight: 6,
    arbitrary: fc
      .tuple(requestArb, fc.nat(3))
      .map(([r, n]) => ({ kind: 'classify' as const, request: n === 0 ? r : { ...r, discardModule: -1 } })),
  },
);

/** The integer fields of `info` that the host fills (the fields a layer can be decided by from the request). */
function filledIntegerFields(info: LayerInfo): number[] {
  const out: number[] = [];
  info.fields.forEach((f, i) => {
    const t = f.dataType;
    if (f.conditionKey !== null && FILLED.has(f.name) && (t === FWP_UINT8 || t === FWP_UINT16 || t === FWP_UINT32))
      out.push(i);
  });
  return out;
}

/** Values a request of requestArb can give each kind of field (and some it cannot). */
function exactConditionOf(info: LayerInfo, field: number, p: number, mask: boolean): FWPM_FILTER_CONDITION0 {
  const f = info.fields[field]!;
  const v = new FWP_CONDITION_VALUE0();
  if (f.name.endsWith('_ADDRESS')) {
    const a = V4_ADDRESSES[p % V4_ADDRESSES.length]!;
    if (mask) {
      v.type = FWP_V4_ADDR_MASK;
      v.v4AddrMask = new FWP_V4_ADDR_AND_MASK(a, 0xffffffff);
    } else setNumber(v, FWP_UINT32, a);
  } else {
    const ports = [0, 53, 80, 1234, 1, 6, 17, 58];
    setNumber(v, f.dataType, (f.dataType === FWP_UINT16 ? ports : SMALL)[p]!);
  }
  return new FWPM_FILTER_CONDITION0(f.conditionKey!, FWP_MATCH_EQUAL, v);
}

describe('layers decided by one value from the request: as with everything filled up front (W- classify inputs)', () => {
  it('over random layers, decided fields, filter sets changing between packets, and requests', () => {
    let decided = 0;
    let classified = 0;
    fc.assert(
      fc.property(
        layerArb,
        fc.nat(20),
        fc.array(valueOpArb, { minLength: 1, maxLength: 40, size: 'medium' }),
        pick(['off', 'standard'] as const),
        (layerId, fieldPick, ops, verifier) => {
          // With the verifier off, as the host runs, the common classify takes the binding's shortest way.
          resetSystem({ verifier });
          const info = layerById(layerId)!;
          const candidates = filledIntegerFields(info);
          if (candidates.length === 0) return;
          // The remote address (the host run's block list) half the time, where the layer has one.
          const remote = candidates.find((i) => /^IP_(REMOTE|DESTINATION)_ADDRESS$/.test(info.fields[i]!.name));
          const field = remote !== undefined && fieldPick < 10 ? remote : candidates[fieldPick % candidates.length]!;
          const memory = ExAllocatePoolWithTag(NonPagedPoolNx, 64, 0x7a4c4954);
          const h = openEngine();
          const subs = [addSublayer(h, 0x9000, guid(0x7200)), addSublayer(h, 0x1000, guid(0x7201))];
          const log: unknown[] = [];
          addCallout(h, CALLOUT, recordingCallout(log), { layerKey: info.layerKey });
          const fields = usableFields(info);
          const lazy = new WfpClassifier(null);
          const reference = new ReferenceInputs(info);
          const ids: number[] = [];
          for (const op of ops) {
            if (op.kind === 'add') {
              const f = op.filter;
              ids.push(
                addFilter(h, {
                  layerKey: info.layerKey,
                  subLayerKey: f.sublayer < 0 ? undefined : subs[f.sublayer],
                  weight: BigInt(f.weight),
                  action: f.action === 'block' ? FWP_ACTION_BLOCK : FWP_ACTION_PERMIT,
                  flags: f.action === 'hardPermit' ? FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT : 0,
                  conditions: f.picks.map((p) => exactConditionOf(info, field, p, f.mask)),
                }),
              );
            } else if (op.kind === 'spoil') {
              ids.push(addModelFilter(h, info, fields, op.filter, false));
            } else if (op.kind === 'delete') {
              if (ids.length > 0) assert.equal(FwpmFilterDeleteById0(h, ids.splice(op.index % ids.length, 1)[0]!), 0);
            } else {
              assertClassifiesAsReference(lazy, reference, info, op.request, memory, log);
              classified++;
              if (lazy.decidesByValue(layerId)) decided++;
            }
          }
        },
      ),
      { numRuns: 600 },
    );
    // The property is about the path that reads the value from the request: most classifies must take it.
    assert.ok(decided > classified / 3, `${decided} of ${classified} classifies were decided by value`);
  });
});

describe('a layer decided by one value from the request: the rules of a classify still hold (W- classify inputs)', () => {
  /** IPFORWARD_V4 with the host run's filter: BLOCK when the destination is 192.0.2.9. */
  function blockList(h = openEngine()): number {
    const info = layerById(Layer.Ipforward4)!;
    const field = info.fields.find((f) => f.name === 'IP_DESTINATION_ADDRESS')!;
    return addFilter(h, {
      layerKey: info.layerKey,
      action: FWP_ACTION_BLOCK,
      conditions: [
        new FWPM_FILTER_CONDITION0(
          field.conditionKey!,
          FWP_MATCH_EQUAL,
          setNumber(new FWP_CONDITION_VALUE0(), FWP_UINT32, 0xc0000209),
        ),
      ],
    });
  }
  function forwardTo(remote: number): ClassifyRequest {
    const r = new ClassifyRequest();
    r.layerId = Layer.Ipforward4;
    r.protocol = 17;
    r.localAddress4 = 0x0a000001;
    r.remoteAddress4 = remote;
    r.destinationInterfaceIndex = 2;
    return r;
  }

  it('decides the host run shape by value, and names the blocking filter for the DISCARD layer', () => {
    resetSystem({ verifier: 'off' });
    const id = blockList();
    const classifier = new WfpClassifier(null);
    assert.equal(classifier.classify(forwardTo(0xc6336407)), Verdict.Permit);
    assert.ok(classifier.decidesByValue(Layer.Ipforward4));
    const blocked = forwardTo(0xc0000209);
    assert.equal(classifier.classify(blocked), Verdict.Block);
    assert.equal(blocked.discardFilterId, id);
    assert.equal(classifier.calls, 2, 'each classify is counted');
  });

  it('checks the IRQL under the verifier (DRIVER_VERIFIER_DETECTED_VIOLATION, WFP_RULE_IRQL_CLASSIFY)', () => {
    resetSystem();
    blockList();
    const classifier = new WfpClassifier(null);
    assert.equal(classifier.classify(forwardTo(0xc6336407)), Verdict.Permit);
    assert.ok(classifier.decidesByValue(Layer.Ipforward4));
    assertBugCheck(
      () => atIrql(CLOCK_LEVEL, () => classifier.classify(forwardTo(0xc6336407))),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_IRQL_CLASSIFY,
    );
  });

  it('a classifier that outlives a system reset decides by the new filters, not the old ones', () => {
    resetSystem({ verifier: 'off' });
    blockList();
    const classifier = new WfpClassifier(null);
    assert.equal(classifier.classify(forwardTo(0xc0000209)), Verdict.Block);
    // After the reset the layer's new state has the same generation as the old one had (one filter added), but
    // its filter blocks another address.
    resetSystem({ verifier: 'off' });
    const info = layerById(Layer.Ipforward4)!;
    const field = info.fields.find((f) => f.name === 'IP_DESTINATION_ADDRESS')!;
    addFilter(openEngine(), {
      layerKey: info.layerKey,
      action: FWP_ACTION_BLOCK,
      conditions: [
        new FWPM_FILTER_CONDITION0(
          field.conditionKey!,
          FWP_MATCH_EQUAL,
          setNumber(new FWP_CONDITION_VALUE0(), FWP_UINT32, 0xc6336407),
        ),
      ],
    });
    assert.equal(classifier.classify(forwardTo(0xc0000209)), Verdict.Permit);
    assert.equal(classifier.classify(forwardTo(0xc6336407)), Verdict.Block);
  });
});
