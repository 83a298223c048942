/**
 * Binding a host to the WFP filter engine: the host's {@link Classifier} fills the layer's
 * FWPS_INCOMING_VALUES0 and FWPS_INCOMING_METADATA_VALUES0 from a {@link ClassifyRequest} and calls
 * classifyAtLayer; and the host is the engine's injection sink, so FwpsInject*Async0 packets re-enter its IP
 * layer where the injection function says.
 *
 * The values and metadata are preallocated per layer, and the field indexes found once by field name, so a
 * classify allocates nothing. A layer with no filters is not classified at all (its default action is PERMIT).
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { STATUS_SUCCESS } from '../kernel/status.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { classifyAtLayer } from '../wfp/classify.js';
import {
  FWP_ACTION_BLOCK,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  FWPS_METADATA_FIELD_COMPARTMENT_ID,
  FWPS_METADATA_FIELD_DESTINATION_INTERFACE_INDEX,
  FWPS_METADATA_FIELD_DISCARD_REASON,
  FWPS_METADATA_FIELD_FLOW_HANDLE,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FWPS_METADATA_FIELD_PACKET_DIRECTION,
  FWPS_METADATA_FIELD_SOURCE_INTERFACE_INDEX,
  FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE,
} from '../wfp/constants.js';
import { engine, layerState } from '../wfp/engine.js';
import { completeInjectedNetBufferList, type InjectionSink, setInjectionSink } from '../wfp/injection.js';
import { layerById } from '../wfp/layers.js';
import { FWPS_INCOMING_METADATA_VALUES0, FWPS_INCOMING_VALUES0 } from '../wfp/structures.js';
import {
  FWP_BYTE_ARRAY16,
  FWP_BYTE_ARRAY16_TYPE,
  FWP_EMPTY,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  type FWP_VALUE0,
} from '../wfp/values.js';
import { type Classifier, type ClassifyRequest, Verdict } from './filters.js';
import { get32 } from './headers.js';
import type { InjectionOwner, InjectPoint, IpLayer } from './ip.js';
import { Layer } from './layers.js';

/** The default network compartment (Windows numbers it 1). */
const DEFAULT_COMPARTMENT = 1;
/** NL_ADDRESS_TYPE */
const NlatUnicast = 0;
const NlatMulticast = 2;
const NlatBroadcast = 3;

const NONE = -1;

/** The inputs of one layer, with its field indexes (-1 where the layer lacks the field). */
class LayerInputs {
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

  constructor(layerId: number) {
    const info = layerById(layerId)!;
    this.values = new FWPS_INCOMING_VALUES0(layerId, info.fields.length);
    for (const v of this.values.incomingValue) v.value.byteArray16 = new FWP_BYTE_ARRAY16(new Uint8Array(16));
    const at = (...names: string[]) => {
      for (const n of names) {
        const i = info.fields.findIndex((f) => f.name === n);
        if (i >= 0) return i;
      }
      return NONE;
    };
    this.local = at('IP_LOCAL_ADDRESS', 'IP_SOURCE_ADDRESS');
    this.remote = at('IP_REMOTE_ADDRESS', 'IP_DESTINATION_ADDRESS');
    this.protocol = at('IP_PROTOCOL');
    this.localPort = at('IP_LOCAL_PORT', 'ICMP_TYPE');
    this.remotePort = at('IP_REMOTE_PORT', 'ICMP_CODE');
    this.interfaceIndex = at('INTERFACE_INDEX', 'SOURCE_INTERFACE_INDEX', 'ARRIVAL_INTERFACE_INDEX');
    this.subInterfaceIndex = at('SUB_INTERFACE_INDEX', 'SOURCE_SUB_INTERFACE_INDEX');
    this.destinationInterfaceIndex = at('DESTINATION_INTERFACE_INDEX', 'NEXTHOP_INTERFACE_INDEX');
    this.compartment = at('COMPARTMENT_ID');
    this.direction = at('DIRECTION');
    this.localAddressType = at('IP_LOCAL_ADDRESS_TYPE');
    this.destinationAddressType = at('IP_DESTINATION_ADDRESS_TYPE');
  }
}

function setUint(v: FWP_VALUE0, type: number, n: number): void {
  v.type = type;
  if (type === FWP_UINT8) v.uint8 = n & 0xff;
  else if (type === FWP_UINT16) v.uint16 = n & 0xffff;
  else v.uint32 = n >>> 0;
}

function addressType4(a: number): number {
  if (a === 0xffffffff) return NlatBroadcast;
  return a >>> 28 === 0xe ? NlatMulticast : NlatUnicast;
}

/** The host's classifier over the filter engine. */
export class WfpClassifier {
  private readonly inputs: (LayerInputs | undefined)[] = [];
  /** Classify calls made (layers with filters only). */
  calls = 0;

  /** The function the IP layer calls. */
  readonly classify: Classifier = (r) => this.run(r);

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
    const values = inputs.values.incomingValue;
    for (let i = 0; i < values.length; i++) values[i]!.value.type = FWP_EMPTY;
    const v4 = r.ipVersion === 4;
    let localType = NlatUnicast;
    if (inputs.local !== NONE)
      localType = this.address(values[inputs.local]!.value, v4, r.localAddressVa, r.localAddress4);
    let remoteType = NlatUnicast;
    if (inputs.remote !== NONE) {
      remoteType = this.address(values[inputs.remote]!.value, v4, r.remoteAddressVa, r.remoteAddress4);
    }
    if (inputs.protocol !== NONE) setUint(values[inputs.protocol]!.value, FWP_UINT8, r.protocol);
    const icmp = r.protocol === 1 || r.protocol === 58;
    if (inputs.localPort !== NONE && (r.localPort !== 0 || icmp)) {
      setUint(values[inputs.localPort]!.value, FWP_UINT16, r.localPort);
    }
    if (inputs.remotePort !== NONE && (r.remotePort !== 0 || icmp)) {
      setUint(values[inputs.remotePort]!.value, FWP_UINT16, r.remotePort);
    }
    if (inputs.interfaceIndex !== NONE) setUint(values[inputs.interfaceIndex]!.value, FWP_UINT32, r.interfaceIndex);
    if (inputs.subInterfaceIndex !== NONE) setUint(values[inputs.subInterfaceIndex]!.value, FWP_UINT32, 0);
    if (inputs.destinationInterfaceIndex !== NONE && r.destinationInterfaceIndex !== 0) {
      setUint(values[inputs.destinationInterfaceIndex]!.value, FWP_UINT32, r.destinationInterfaceIndex);
    }
    if (inputs.compartment !== NONE) setUint(values[inputs.compartment]!.value, FWP_UINT32, DEFAULT_COMPARTMENT);
    if (inputs.direction !== NONE) setUint(values[inputs.direction]!.value, FWP_UINT32, r.direction);
    if (inputs.localAddressType !== NONE) setUint(values[inputs.localAddressType]!.value, FWP_UINT8, localType);
    if (inputs.destinationAddressType !== NONE) {
      setUint(values[inputs.destinationAddressType]!.value, FWP_UINT8, remoteType);
    }
    const meta = inputs.meta;
    meta.compartmentId = DEFAULT_COMPARTMENT;
    meta.packetDirection = r.direction;
    meta.ipHeaderSize = r.ipHeaderSize;
    meta.transportHeaderSize = r.transportHeaderSize;
    meta.flowHandle = r.flowHandle;
    meta.sourceInterfaceIndex = r.interfaceIndex;
    meta.destinationInterfaceIndex = r.destinationInterfaceIndex;
    const discard = r.discardModule >= 0;
    if (discard) {
      meta.discardMetadata.discardModule = r.discardModule;
      meta.discardMetadata.discardReason = r.discardReason;
      meta.discardMetadata.filterId = r.discardFilterId;
    }
    meta.currentMetadataValues =
      (discard ? FWPS_METADATA_FIELD_DISCARD_REASON : 0) |
      FWPS_METADATA_FIELD_COMPARTMENT_ID |
      FWPS_METADATA_FIELD_PACKET_DIRECTION |
      (r.ipHeaderSize > 0 ? FWPS_METADATA_FIELD_IP_HEADER_SIZE : 0) |
      (r.transportHeaderSize > 0 ? FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE : 0) |
      (r.flowHandle !== 0 ? FWPS_METADATA_FIELD_FLOW_HANDLE : 0) |
      (r.destinationInterfaceIndex !== 0
        ? FWPS_METADATA_FIELD_SOURCE_INTERFACE_INDEX | FWPS_METADATA_FIELD_DESTINATION_INTERFACE_INDEX
        : 0);
    // ALE_AUTH_CONNECT for TCP has no packet to show (the data position is "not applicable" then).
    const aleConnect = r.layerId === Layer.AleAuthConnect4 || r.layerId === Layer.AleAuthConnect6;
    const layerData = aleConnect && r.protocol === 6 ? null : r.nbl;
    const out = classifyAtLayer(r.layerId, inputs.values, meta, layerData);
    if ((out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB) !== 0) {
      const f = engine.filters.get(out.filterId);
      r.absorbedBy = f?.name ?? (f?.callout ? `callout ${f.callout.key}` : `filter ${out.filterId}`);
      return Verdict.Absorb;
    }
    if (out.actionType !== FWP_ACTION_BLOCK) return Verdict.Permit;
    r.discardFilterId = out.filterId; // the DISCARD layer classified next names the filter that blocked
    return Verdict.Block;
  }

  /** Writes an address into `v`; returns its NL_ADDRESS_TYPE. */
  private address(v: FWP_VALUE0, v4: boolean, va: number, fallback4: number): number {
    if (v4) {
      const a = va === 0 ? fallback4 >>> 0 : get32(va);
      v.type = FWP_UINT32;
      v.uint32 = a;
      return addressType4(a);
    }
    v.type = FWP_BYTE_ARRAY16_TYPE;
    const bytes = v.byteArray16!.byteArray16;
    if (va === 0) bytes.fill(0);
    else bytes.set(memory.subarray(va - ARENA_BASE, va - ARENA_BASE + 16));
    return bytes[0] === 0xff ? NlatMulticast : NlatUnicast;
  }
}

/** Completes injected lists back to the engine (which runs the driver's completion function later). */
const completeToEngine: InjectionOwner = {
  complete(nbl: NET_BUFFER_LIST, status: number): void {
    completeInjectedNetBufferList(nbl, status === 0 ? STATUS_SUCCESS : status);
  },
};

/**
 * The host as the engine's injection sink: each FwpsInject*Async0 hands its list to the IP layer at the point
 * the function documents. Transport sends (data at the transport header, no IP header yet) are not taken: this
 * host has no endpoint objects to send them from, and says so with STATUS_NOT_SUPPORTED rather than pretending.
 */
export class HostInjectionSink implements InjectionSink {
  constructor(private readonly host: IpLayer) {}

  private take(nbl: NET_BUFFER_LIST, point: InjectPoint, ifIndex: number): number {
    this.host.inject(nbl, point, completeToEngine, ifIndex);
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

  /** See {@link InjectionSink.transportSend}. */
  transportSend(): number {
    return 0xc00000bb | 0; // STATUS_NOT_SUPPORTED
  }

  /** See {@link InjectionSink.transportReceive}. */
  transportReceive(nbl: NET_BUFFER_LIST, _c: number, interfaceIndex: number, _s: number, _af: number): number {
    return this.take(nbl, 'transport-receive', interfaceIndex);
  }
}

/** Binds `host` to the filter engine: its classifier and the engine's injection sink. Returns the classifier. */
export function bindToFilterEngine(host: IpLayer): WfpClassifier {
  const classifier = new WfpClassifier();
  host.classifier = classifier.classify;
  setInjectionSink(new HostInjectionSink(host));
  return classifier;
}

/** Unbinds (the engine goes back to its loopback sink). */
export function unbindFromFilterEngine(host: IpLayer): void {
  host.classifier = null;
  setInjectionSink(null);
}
