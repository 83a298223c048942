/**
 * Binding a host to the WFP filter engine: the host's {@link Classifier} fills the layer's
 * FWPS_INCOMING_VALUES0 and FWPS_INCOMING_METADATA_VALUES0 from a {@link ClassifyRequest} and calls
 * classifyLayer (classifyAtLayer for a layer it has already looked up), with the metadata the layer has (transportEndpointHandle and remoteScopeId where a socket's
 * endpoint is known); and the bound hosts together are the engine's injection sink, so FwpsInject*Async0 packets
 * re-enter the IP layer of the host they belong to, where the injection function says.
 *
 * The values and metadata are preallocated per layer, and the field indexes found once by field name, so a
 * classify allocates nothing. A layer with no filters is not classified at all (its default action is PERMIT).
 * They are filled lazily: the values filter conditions test first, the rest only for a callout (WfpClassifier).
 * A layer whose filters the engine decides by one value (staticDecisions.ts) that the host fills is decided from
 * the request itself, nothing filled (LayerInputs.decideByValue; WfpClassifier.decide for IPFORWARD's destination).
 */
import { ARENA_BASE, memory, memoryView } from '../kernel/arena.js';
import { STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../kernel/status.js';
import { onSystemReset } from '../kernel/system.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { classifyLayer, type LazyClassifyInputs, staticDecisionsOf, verifyClassifyIrql } from '../wfp/classify.js';
import {
  FWP_ACTION_BLOCK,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
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
  STATUS_FWP_TCPIP_NOT_READY,
} from '../wfp/constants.js';
import { engine, type LayerState, layerState } from '../wfp/engine.js';
import { completeInjectedNetBufferList, type InjectionSink, setInjectionSink } from '../wfp/injection.js';
import { layerById } from '../wfp/layers.js';
import { ipVersionOf } from '../wfp/sink.js';
import type { StaticDecisions } from '../wfp/staticDecisions.js';
import {
  FWPS_INCOMING_METADATA_VALUES0,
  FWPS_INCOMING_VALUES0,
  type FWPS_TRANSPORT_SEND_PARAMS0,
} from '../wfp/structures.js';
import {
  FWP_BYTE_ARRAY16,
  FWP_BYTE_ARRAY16_TYPE,
  FWP_EMPTY,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  type FWP_VALUE0,
} from '../wfp/values.js';
import { readIpv6Words } from './addr.js';
import { endpointFromHandle } from './endpoints.js';
import { type Classifier, type ClassifyRequest, Verdict } from './filters.js';
import { get32 } from './headers.js';
import type { InjectionOwner, InjectPoint, IpLayer } from './ip.js';
import { Layer } from './layers.js';
import { contiguous } from './nbl-view.js';

/** The default network compartment (Windows numbers it 1). */
const DEFAULT_COMPARTMENT = 1;
/** NL_ADDRESS_TYPE */
const NlatUnicast = 0;
const NlatMulticast = 2;
const NlatBroadcast = 3;

const NONE = -1;

/**
 * The inputs the binding fills, one bit each (a layer has each at most once). A classify first fills only those
 * its filter conditions test, and the rest when a callout is about to run (see LazyClassifyInputs). A const enum:
 * its members are literals in the per-packet code, where module constants would each be a cell load.
 */
const enum Input {
  Local = 1,
  Remote = 2,
  Protocol = 4,
  LocalPort = 8,
  RemotePort = 16,
  Interface = 32,
  SubInterface = 64,
  DestinationInterface = 128,
  Compartment = 256,
  Direction = 512,
  LocalAddressType = 1024,
  DestinationAddressType = 2048,
}

/**
 * The inputs of one layer, with its field indexes (-1 where the layer lacks the field), and the request of the
 * classify in progress at the layer, which it completes for callouts (LazyClassifyInputs).
 */
class LayerInputs implements LazyClassifyInputs {
  readonly values: FWPS_INCOMING_VALUES0;
  readonly meta = new FWPS_INCOMING_METADATA_VALUES0();
  readonly local: number;
  readonly remote: number;
  readonly protocol: number;
  readonly localPort: number;
  readonly remotePort: number;
  readonly interfaceIndex: number;
  readonly subInterfaceIndex: number;
  readonly destinationInterfaceIndex: number;
  readonly compartment: number;
  readonly direction: number;
  readonly localAddressType: number;
  readonly destinationAddressType: number;
  /** Field index -> the input bit that fills it (0 for a field this host never fills: it stays FWP_EMPTY). */
  private readonly inputOfField: Int32Array;
  /** The input bits of the fields this layer has. */
  present = 0;
  /** The layer's filter generation that {@link conditionResets} and {@link conditionInputs} describe. */
  generation = -1;
  /**
   * The engine's state of the layer that {@link generation} is of (a system reset replaces it, and moves the old
   * one's generation).
   */
  state: LayerState | null = null;
  /**
   * The fields the layer's filter conditions test that a fill may leave FWP_EMPTY (a port of 0, no destination
   * interface, a field this host never fills): emptied before each fill. The others are always written.
   */
  conditionResets: Int32Array = new Int32Array(0);
  /** The input bits that fill them (an address type needs its address: that bit comes with it). */
  conditionInputs = 0;
  /**
   * The input whose value alone decides every classify at the layer now, or 0. Set when the layer's filters are
   * static decisions (staticDecisions.ts) on a field this host fills with an integer of the field's type: a
   * classify then looks that value up ({@link decideByValue}) instead of filling incoming values.
   */
  decidedBy = 0;
  /** The layer's static decisions ({@link decidedBy}). */
  private decisions: StaticDecisions | null = null;
  /** The same when the layer is decided by the IPv4 remote address (IPFORWARD_V4's destination), else null. */
  byRemote4: StaticDecisions | null = null;
  /** ALE_AUTH_CONNECT_V4/V6, where a TCP classify has no packet to show. */
  readonly aleConnect: boolean;
  /** An IPv4 layer (its addresses are FWP_UINT32 values; an IPv6 layer's are byte arrays). */
  private readonly v4: boolean;
  /** The classify in progress (or the last one), whose request the values describe. */
  request: ClassifyRequest | null = null;
  /** True once every value and the metadata of {@link request} are filled. */
  complete = false;

  constructor(layerId: number) {
    const info = layerById(layerId)!;
    this.values = new FWPS_INCOMING_VALUES0(layerId, info.fields.length);
    for (const v of this.values.incomingValue) v.value.byteArray16 = new FWP_BYTE_ARRAY16(new Uint8Array(16));
    this.inputOfField = new Int32Array(info.fields.length);
    this.aleConnect = layerId === Layer.AleAuthConnect4 || layerId === Layer.AleAuthConnect6;
    this.v4 = !info.isV6;
    const at = (input: number, ...names: string[]) => {
      for (const n of names) {
        const i = info.fields.findIndex((f) => f.name === n);
        if (i >= 0) {
          this.inputOfField[i] = input;
          this.present |= input;
          return i;
        }
      }
      return NONE;
    };
    this.local = at(Input.Local, 'IP_LOCAL_ADDRESS', 'IP_SOURCE_ADDRESS');
    this.remote = at(Input.Remote, 'IP_REMOTE_ADDRESS', 'IP_DESTINATION_ADDRESS');
    this.protocol = at(Input.Protocol, 'IP_PROTOCOL');
    this.localPort = at(Input.LocalPort, 'IP_LOCAL_PORT', 'ICMP_TYPE');
    this.remotePort = at(Input.RemotePort, 'IP_REMOTE_PORT', 'ICMP_CODE');
    this.interfaceIndex = at(Input.Interface, 'INTERFACE_INDEX', 'SOURCE_INTERFACE_INDEX', 'ARRIVAL_INTERFACE_INDEX');
    this.subInterfaceIndex = at(Input.SubInterface, 'SUB_INTERFACE_INDEX', 'SOURCE_SUB_INTERFACE_INDEX');
    this.destinationInterfaceIndex = at(
      Input.DestinationInterface,
      'DESTINATION_INTERFACE_INDEX',
      'NEXTHOP_INTERFACE_INDEX',
    );
    this.compartment = at(Input.Compartment, 'COMPARTMENT_ID');
    this.direction = at(Input.Direction, 'DIRECTION');
    this.localAddressType = at(Input.LocalAddressType, 'IP_LOCAL_ADDRESS_TYPE');
    this.destinationAddressType = at(Input.DestinationAddressType, 'IP_DESTINATION_ADDRESS_TYPE');
  }

  /** Learns which fields the layer's filters test now (called when its filter generation moved). */
  watch(state: LayerState): void {
    const fields = state.conditionFields();
    let inputs = 0;
    for (let i = 0; i < fields.length; i++) inputs |= this.inputOfField[fields[i]!] ?? 0;
    if ((inputs & Input.LocalAddressType) !== 0) inputs |= Input.Local;
    if ((inputs & Input.DestinationAddressType) !== 0) inputs |= Input.Remote;
    const mayStayEmpty = Input.LocalPort | Input.RemotePort | Input.DestinationInterface;
    this.conditionResets = fields.filter((f) => {
      const input = this.inputOfField[f] ?? 0;
      return input === 0 || (input & mayStayEmpty) !== 0;
    });
    this.conditionInputs = inputs & this.present;
    const d = staticDecisionsOf(state);
    const by = d.field >= 0 ? (this.inputOfField[d.field] ?? 0) : 0;
    this.decidedBy = by !== 0 && integerTypeOf(by, this.v4) === d.fieldType ? by : 0;
    this.decisions = d;
    this.byRemote4 = this.decidedBy === Input.Remote && this.v4 ? d : null;
    this.generation = state.generation;
    this.state = state;
  }

  /**
   * The verdict of `r` from the layer's static decisions ({@link decidedBy}), or -1 when it must be classified in
   * full (an IPv6 request at an IPv4 layer's address, which this host never makes). It is what classifyLayer
   * gives for the same request, without filling anything: the decided field's value is computed from `r` exactly
   * as {@link fillValues} would write it (same type, checked in watch), and the engine's static decision for that
   * value is the result of arbitration (staticDecisions.ts), no flags, no callout run; a field the fill would
   * leave FWP_EMPTY matches no condition and gets the default, PERMIT. A BLOCK names its filter for the DISCARD
   * layer as the full path does. Nothing else of a classify is observable: values and metadata are read only by
   * conditions and callouts (the next full classify fills what its conditions test, a callout gets everything).
   */
  decideByValue(r: ClassifyRequest): number {
    let key: number;
    switch (this.decidedBy) {
      case Input.Remote:
        if (r.ipVersion !== 4) return -1;
        key = address4Key(r.remoteAddressVa, r.remoteAddress4);
        break;
      case Input.Local:
        if (r.ipVersion !== 4) return -1;
        key = address4Key(r.localAddressVa, r.localAddress4);
        break;
      case Input.Protocol:
        key = r.protocol & 0xff;
        break;
      case Input.LocalPort:
        if (r.localPort === 0 && r.protocol !== 1 && r.protocol !== 58) return Verdict.Permit;
        key = r.localPort & 0xffff;
        break;
      case Input.RemotePort:
        if (r.remotePort === 0 && r.protocol !== 1 && r.protocol !== 58) return Verdict.Permit;
        key = r.remotePort & 0xffff;
        break;
      case Input.Interface:
        key = r.interfaceIndex | 0;
        break;
      case Input.SubInterface:
        key = 0;
        break;
      case Input.DestinationInterface:
        if (r.destinationInterfaceIndex === 0) return Verdict.Permit;
        key = r.destinationInterfaceIndex | 0;
        break;
      case Input.Compartment:
        key = DEFAULT_COMPARTMENT;
        break;
      case Input.Direction:
        key = r.direction | 0;
        break;
      case Input.LocalAddressType:
        if (r.ipVersion !== 4) return -1;
        key = addressType4(address4Key(r.localAddressVa, r.localAddress4) >>> 0);
        break;
      case Input.DestinationAddressType:
        if (r.ipVersion !== 4) return -1;
        key = addressType4(address4Key(r.remoteAddressVa, r.remoteAddress4) >>> 0);
        break;
      default:
        return -1;
    }
    return this.verdictFor(r, key);
  }

  /** The verdict of the decided field's value `key` (see decideByValue). */
  private verdictFor(r: ClassifyRequest, key: number): number {
    const d = this.decisions!;
    const i = d.indexOf(key);
    if (i < 0 || d.actions[i] !== FWP_ACTION_BLOCK) return Verdict.Permit;
    r.discardFilterId = d.filterIds[i]!; // the DISCARD layer classified next names the filter that blocked
    return Verdict.Block;
  }

  /**
   * See LazyClassifyInputs: before the first callout of a classify, every value is emptied and filled and the
   * metadata written, exactly as when everything is filled up front.
   */
  prepareCalloutInputs(): void {
    const r = this.request;
    if (r === null || this.complete) return;
    const values = this.values.incomingValue;
    for (let i = 0; i < values.length; i++) values[i]!.value.type = FWP_EMPTY;
    this.fillValues(r, this.present);
    this.fillMetadata(r);
    this.complete = true;
  }

  /**
   * Fills the incoming values of `r` that `which` (input bits the layer has, see {@link present}) names. One
   * step per bit set, lowest first, so an address is written before the address type that is derived from it;
   * the common classify tests one or two fields and pays for those only.
   */
  fillValues(r: ClassifyRequest, which: number): void {
    const values = this.values.incomingValue;
    const v4 = r.ipVersion === 4;
    const icmp = r.protocol === 1 || r.protocol === 58;
    let localType = NlatUnicast;
    let remoteType = NlatUnicast;
    for (let rest = which; rest !== 0; rest &= rest - 1) {
      switch (rest & -rest) {
        case Input.Local:
          localType = address(values[this.local]!.value, v4, r.localAddressVa, r.localAddress4);
          break;
        case Input.Remote:
          remoteType = address(values[this.remote]!.value, v4, r.remoteAddressVa, r.remoteAddress4);
          break;
        case Input.Protocol:
          setUint(values[this.protocol]!.value, FWP_UINT8, r.protocol);
          break;
        case Input.LocalPort:
          if (r.localPort !== 0 || icmp) setUint(values[this.localPort]!.value, FWP_UINT16, r.localPort);
          break;
        case Input.RemotePort:
          if (r.remotePort !== 0 || icmp) setUint(values[this.remotePort]!.value, FWP_UINT16, r.remotePort);
          break;
        case Input.Interface:
          setUint(values[this.interfaceIndex]!.value, FWP_UINT32, r.interfaceIndex);
          break;
        case Input.SubInterface:
          setUint(values[this.subInterfaceIndex]!.value, FWP_UINT32, 0);
          break;
        case Input.DestinationInterface:
          if (r.destinationInterfaceIndex !== 0) {
            setUint(values[this.destinationInterfaceIndex]!.value, FWP_UINT32, r.destinationInterfaceIndex);
          }
          break;
        case Input.Compartment:
          setUint(values[this.compartment]!.value, FWP_UINT32, DEFAULT_COMPARTMENT);
          break;
        case Input.Direction:
          setUint(values[this.direction]!.value, FWP_UINT32, r.direction);
          break;
        case Input.LocalAddressType:
          setUint(values[this.localAddressType]!.value, FWP_UINT8, localType);
          break;
        default: // Input.DestinationAddressType
          setUint(values[this.destinationAddressType]!.value, FWP_UINT8, remoteType);
      }
    }
  }

  /**
   * The discard metadata of a discard classify. Unlike the rest of the metadata it is written only by a discard
   * classify and left as it was by others, so it is written at every discard classify, callout or not: a later
   * callout at the layer then sees what it would have seen with everything filled up front.
   */
  fillDiscardMetadata(r: ClassifyRequest): void {
    const d = this.meta.discardMetadata;
    d.discardModule = r.discardModule;
    d.discardReason = r.discardReason;
    d.filterId = r.discardFilterId;
  }

  /** Writes the metadata of `r` (every field this host sets, and which of them are set). */
  private fillMetadata(r: ClassifyRequest): void {
    const meta = this.meta;
    meta.compartmentId = DEFAULT_COMPARTMENT;
    meta.packetDirection = r.direction;
    meta.ipHeaderSize = r.ipHeaderSize;
    meta.transportHeaderSize = r.transportHeaderSize;
    meta.flowHandle = r.flowHandle;
    meta.transportEndpointHandle = r.endpointHandle;
    meta.remoteScopeId = r.remoteScopeId < 0 ? 0 : r.remoteScopeId;
    meta.sourceInterfaceIndex = r.interfaceIndex;
    meta.destinationInterfaceIndex = r.destinationInterfaceIndex;
    const discard = r.discardModule >= 0;
    if (discard) this.fillDiscardMetadata(r);
    meta.currentMetadataValues =
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
}

function setUint(v: FWP_VALUE0, type: number, n: number): void {
  v.type = type;
  if (type === FWP_UINT8) v.uint8 = n & 0xff;
  else if (type === FWP_UINT16) v.uint16 = n & 0xffff;
  else v.uint32 = n >>> 0;
}

/**
 * The FWP type the fill writes for `input` when it is an integer (see fillValues), or -1 (an IPv6 address, a
 * byte array).
 */
function integerTypeOf(input: number, v4: boolean): number {
  switch (input) {
    case Input.Local:
    case Input.Remote:
      return v4 ? FWP_UINT32 : NONE;
    case Input.Protocol:
    case Input.LocalAddressType:
    case Input.DestinationAddressType:
      return FWP_UINT8;
    case Input.LocalPort:
    case Input.RemotePort:
      return FWP_UINT16;
    default:
      return FWP_UINT32;
  }
}

/** An IPv4 address as {@link address} reads it (from memory at `va`, else `fallback4`), as a signed 32-bit key. */
function address4Key(va: number, fallback4: number): number {
  if (va === 0) return fallback4 | 0;
  const m = memory;
  const o = va - ARENA_BASE;
  return (m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!;
}

function addressType4(a: number): number {
  if (a === 0xffffffff) return NlatBroadcast;
  return a >>> 28 === 0xe ? NlatMulticast : NlatUnicast;
}

/** Writes an address into `v`; returns its NL_ADDRESS_TYPE. */
function address(v: FWP_VALUE0, v4: boolean, va: number, fallback4: number): number {
  if (v4) {
    const a = va === 0 ? fallback4 >>> 0 : get32(va);
    v.type = FWP_UINT32;
    v.uint32 = a;
    return addressType4(a);
  }
  v.type = FWP_BYTE_ARRAY16_TYPE;
  const bytes = v.byteArray16!.byteArray16;
  if (va === 0) bytes.fill(0);
  else {
    // A byte loop, not set(subarray): a view per classify would be an allocation per IPv6 packet.
    const o = va - ARENA_BASE;
    for (let i = 0; i < 16; i++) bytes[i] = memory[o + i]!;
  }
  return bytes[0] === 0xff ? NlatMulticast : NlatUnicast;
}

/**
 * The host's classifier over the filter engine.
 *
 * A classify fills lazily (the engine's LazyClassifyInputs): first only the incoming values the layer's filter
 * conditions test, each exactly as a full fill writes it; the other values and the metadata only when the engine
 * is about to run a callout, which then sees exactly what a full fill up front gives (the values are emptied and
 * refilled whole, the metadata written whole, from the same request). Nothing else reads them, so a classify
 * that runs no callout - the common case - skips most of the work.
 */
export class WfpClassifier {
  private readonly inputs: (LayerInputs | undefined)[] = [];

  /** `host`: the host whose layers it runs (injections from its callouts go to it); null for none. */
  constructor(private readonly host: IpLayer | null = null) {}
  /** Classify calls made (layers with filters only). */
  calls = 0;

  /** The function the IP layer calls. */
  readonly classify: Classifier = (r) => this.decide(r);

  /**
   * The common classify, small enough for V8 to inline into the IP layer's per-packet code: at a layer decided by
   * the IPv4 remote address (LayerInputs.byRemote4: a driver's block list, the host run's IPFORWARD_V4 filter)
   * whose filters have not changed since the inputs learned them, a classify that is not a discard (whose
   * metadata is written, see run) with the verifier off (which checks the IRQL, see run). It is
   * LayerInputs.decideByValue for that input, written out. Everything else goes to {@link run}, which decides
   * by value too where it can.
   */
  private decide(r: ClassifyRequest): number {
    const inputs = this.inputs[r.layerId];
    const d = inputs === undefined ? null : inputs.byRemote4;
    if (
      d === null ||
      r.discardModule >= 0 ||
      r.ipVersion !== 4 ||
      verifierLevel >= VERIFIER_STANDARD ||
      // The layer's filters have changed (or a system reset retired its state, which moves the generation too).
      inputs!.state!.generation !== inputs!.generation
    ) {
      return this.run(r);
    }
    // The address as address4Key reads it, written out (V8 left the helper a call here): one big-endian signed
    // 32-bit load is the four bytes address4Key combines.
    const va = r.remoteAddressVa;
    const key = va === 0 ? r.remoteAddress4 | 0 : memoryView.getInt32(va - ARENA_BASE);
    const i = d.indexOf(key);
    this.calls++;
    if (i < 0 || d.actions[i] !== FWP_ACTION_BLOCK) return Verdict.Permit;
    r.discardFilterId = d.filterIds[i]!; // the DISCARD layer classified next names the filter that blocked
    return Verdict.Block;
  }

  /**
   * True when, as of its last classify at `layerId`, this classifier decides the layer by one value read from the
   * request (LayerInputs.decideByValue) rather than through the engine (for tests and tools).
   */
  decidesByValue(layerId: number): boolean {
    return (this.inputs[layerId]?.decidedBy ?? 0) !== 0;
  }

  private inputsFor(layerId: number): LayerInputs {
    let i = this.inputs[layerId];
    if (i === undefined) this.inputs[layerId] = i = new LayerInputs(layerId);
    return i;
  }

  private run(r: ClassifyRequest): number {
    const state = layerState(r.layerId);
    if (state === undefined || state.filterCount === 0) return Verdict.Permit;
    this.calls++;
    const inputs = this.inputsFor(r.layerId);
    if (inputs.generation !== state.generation || inputs.state !== state) inputs.watch(state);
    if (inputs.decidedBy !== 0) {
      // Decided by one value read from the request (LayerInputs.decideByValue): no incoming value is filled.
      if (r.discardModule >= 0) inputs.fillDiscardMetadata(r);
      if (verifierLevel >= VERIFIER_STANDARD) verifyClassifyIrql();
      const verdict = inputs.decideByValue(r);
      if (verdict >= 0) return verdict;
    }
    // The fields conditions test, exactly as a full fill leaves them: emptied where it may write nothing, filled.
    const values = inputs.values.incomingValue;
    const resets = inputs.conditionResets;
    for (let i = 0; i < resets.length; i++) values[resets[i]!]!.value.type = FWP_EMPTY;
    inputs.fillValues(r, inputs.conditionInputs);
    if (r.discardModule >= 0) inputs.fillDiscardMetadata(r);
    inputs.request = r;
    inputs.complete = false;
    // ALE_AUTH_CONNECT for TCP has no packet to show (the data position is "not applicable" then).
    const layerData = inputs.aleConnect && r.protocol === 6 ? null : r.nbl;
    const outer = classifying;
    classifying = this.host;
    let out: ReturnType<typeof classifyLayer>;
    try {
      out = classifyLayer(state, inputs.values, inputs.meta, layerData, inputs);
    } finally {
      classifying = outer;
    }
    if ((out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB) !== 0) {
      const f = engine.filters.get(out.filterId);
      r.absorbedBy = f?.name ?? (f?.callout ? `callout ${f.callout.key}` : `filter ${out.filterId}`);
      return Verdict.Absorb;
    }
    if (out.actionType !== FWP_ACTION_BLOCK) return Verdict.Permit;
    r.discardFilterId = out.filterId; // the DISCARD layer classified next names the filter that blocked
    return Verdict.Block;
  }
}

/** Completes injected lists back to the engine (which runs the driver's completion function later). */
const completeToEngine: InjectionOwner = {
  complete(nbl: NET_BUFFER_LIST, status: number): void {
    completeInjectedNetBufferList(nbl, status === 0 ? STATUS_SUCCESS : status);
  },
};

/** The hosts bound to the filter engine, in the order they bound (host 1 first). */
const bound: IpLayer[] = [];
/** The host whose classify is running (a callout that injects from its classifyFn injects into it), or null. */
let classifying: IpLayer | null = null;

/** The bound host that owns `ifIndex`, preferring the one classifying now; null when none does. */
function hostWithInterface(ifIndex: number): IpLayer | null {
  if (ifIndex === 0) return null;
  if (classifying?.interfaceAt(ifIndex) !== undefined) return classifying;
  for (let i = 0; i < bound.length; i++) if (bound[i]!.interfaceAt(ifIndex) !== undefined) return bound[i]!;
  return null;
}

/** The bound host that owns the IP source address of `nbl` (data at the IP header), or null. */
function hostWithSource(nbl: NET_BUFFER_LIST): IpLayer | null {
  const nb = nbl.FirstNetBuffer;
  const ip = nb === null ? 0 : contiguous(nb, 20);
  if (ip === 0) return null;
  const v4 = memory[ip - ARENA_BASE]! >>> 4 === 4;
  if (!v4) {
    if (contiguous(nb!, 40) === 0) return null;
    readIpv6Words(ip + 8, source6);
  }
  for (let i = 0; i < bound.length; i++) {
    const h = bound[i]!;
    if (v4 ? ownsAddress4(h, get32(ip + 12)) : h.isLocal6(source6)) return h;
  }
  return null;
}
const source6 = new Uint32Array(4);

function ownsAddress4(h: IpLayer, address: number): boolean {
  const list = h.ipv4Addresses();
  for (let i = 0; i < list.length; i++) if (list[i]!.address === address) return true;
  return false;
}

/**
 * Every bound host as the engine's injection sink: each FwpsInject*Async0 goes to the host that owns it, and
 * there to the IP layer at the point the function documents. A transport send goes to the host whose endpoint
 * its handle names; an injection that names an interface, to the host with that interface; otherwise to the host
 * whose classify is running (the callout injects from its classifyFn), then for a network send the host that owns
 * the packet's source address, and last host 1.
 */
export class HostInjectionSink implements InjectionSink {
  private route(nbl: NET_BUFFER_LIST, ifIndex: number, send: boolean): IpLayer | null {
    return (
      hostWithInterface(ifIndex) ??
      classifying ??
      (send ? hostWithSource(nbl) : null) ??
      (bound[0] as IpLayer | undefined) ??
      null
    );
  }

  private take(nbl: NET_BUFFER_LIST, point: InjectPoint, ifIndex: number): number {
    const host = this.route(nbl, ifIndex, point === 'send');
    if (host === null) return STATUS_FWP_TCPIP_NOT_READY;
    host.inject(nbl, point, completeToEngine, ifIndex);
    return STATUS_SUCCESS;
  }

  /** See {@link InjectionSink.networkSend}. */
  networkSend(nbl: NET_BUFFER_LIST, _compartmentId: number, _addressFamily: number): number {
    return this.take(nbl, 'send', 0);
  }

  /** See {@link InjectionSink.networkReceive}. */
  networkReceive(nbl: NET_BUFFER_LIST, _c: number, interfaceIndex: number, _s: number, _af: number): number {
    return this.take(nbl, 'receive', interfaceIndex);
  }

  /** See {@link InjectionSink.forward}. */
  forward(nbl: NET_BUFFER_LIST, _compartmentId: number, interfaceIndex: number, _af: number): number {
    return this.take(nbl, 'forward', interfaceIndex);
  }

  /**
   * See {@link InjectionSink.transportSend}. The endpoint handle must name an open endpoint of a bound host
   * (else STATUS_INVALID_HANDLE, decided: Windows documents no status for a stale handle, and a verifier must not
   * follow it); `sendArgs` may be NULL only for a list that starts at an IP header (a raw socket's), and this host
   * has no raw sockets, so NULL is STATUS_INVALID_PARAMETER.
   */
  transportSend(
    nbl: NET_BUFFER_LIST,
    endpointHandle: number,
    sendArgs: FWPS_TRANSPORT_SEND_PARAMS0 | null,
    _addressFamily: number,
    _compartmentId: number,
  ): number {
    const endpoint = endpointFromHandle(endpointHandle);
    let host: IpLayer | null = null;
    if (endpoint !== undefined) {
      for (let i = 0; i < bound.length && host === null; i++)
        if (bound[i]!.endpoints === endpoint.table) host = bound[i]!;
    }
    if (endpoint === undefined || host === null) return STATUS_INVALID_HANDLE;
    if (sendArgs === null || sendArgs.remoteAddress === null) return STATUS_INVALID_PARAMETER;
    host.injectTransportSend(nbl, endpoint, sendArgs.remoteAddress, sendArgs.remoteScopeId, completeToEngine);
    return STATUS_SUCCESS;
  }

  /**
   * See {@link InjectionSink.transportReceive}. The list must start at an IP header of the address family given
   * (STATUS_INVALID_PARAMETER otherwise); it is delivered into the transport of the host with `interfaceIndex`.
   */
  transportReceive(
    nbl: NET_BUFFER_LIST,
    _c: number,
    interfaceIndex: number,
    _s: number,
    addressFamily: number,
  ): number {
    if (ipVersionOf(nbl) !== addressFamily) return STATUS_INVALID_PARAMETER;
    return this.take(nbl, 'transport-receive', interfaceIndex);
  }
}

const sink = new HostInjectionSink();

/**
 * Binds `host` to the filter engine: its classifier, and the engine's injection sink (shared by every bound host,
 * which routes each injection to its host). Returns the classifier.
 */
export function bindToFilterEngine(host: IpLayer): WfpClassifier {
  const classifier = new WfpClassifier(host);
  host.classifier = classifier.classify;
  if (!bound.includes(host)) bound.push(host);
  setInjectionSink(sink);
  return classifier;
}

/** Unbinds `host`; once no host is bound, the engine goes back to its loopback sink. */
export function unbindFromFilterEngine(host: IpLayer): void {
  host.classifier = null;
  const i = bound.indexOf(host);
  if (i >= 0) bound.splice(i, 1);
  if (classifying === host) classifying = null;
  if (bound.length === 0) setInjectionSink(null);
}

onSystemReset(() => {
  bound.length = 0;
  classifying = null;
});
