/**
 * The injection sink used until the host registers its own: it has no network, so it only loops an injected
 * packet back through this filter engine. After the injection call returns, it reads the packet's IP and
 * TCP/UDP headers, classifies it at the layer the injection function leads to (OUTBOUND_IPPACKET for a network
 * send, INBOUND_IPPACKET for a network receive, IPFORWARD, OUTBOUND_TRANSPORT, INBOUND_TRANSPORT), positioning
 * the data as that layer expects, and then completes it with STATUS_SUCCESS - the injection itself succeeded,
 * even if a filter then dropped the packet, as on Windows. `onDeliver` sees each verdict.
 */
import { ARENA_BASE, memory } from '../kernel/arena.js';
import { queueDeferredWork } from '../kernel/deferred.js';
import { STATUS_SUCCESS } from '../kernel/status.js';
import { mdlVa } from '../ndis/chain.js';
import { NdisAdvanceNetBufferDataStart, NdisRetreatNetBufferDataStart } from '../ndis/retreat.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { classifyAtLayer } from './classify.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  FWP_DIRECTION_INBOUND,
  FWP_DIRECTION_OUTBOUND,
  FWPS_METADATA_FIELD_COMPARTMENT_ID,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FWPS_METADATA_FIELD_PACKET_DIRECTION,
  FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE,
} from './constants.js';
import * as F from './fields.js';
import { completeInjectedNetBufferList, type InjectionSink } from './injection.js';
import { layerById } from './layers.js';
import {
  FWPS_INCOMING_METADATA_VALUES0,
  FWPS_INCOMING_VALUES0,
  type FWPS_TRANSPORT_SEND_PARAMS0,
} from './structures.js';
import {
  FWP_BYTE_ARRAY16,
  FWP_BYTE_ARRAY16_TYPE,
  FWP_EMPTY,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  type FWP_VALUE0,
} from './values.js';

/** What the loopback did with one injected packet. */
export interface LoopbackVerdict {
  /** The FWPS_LAYER_* id it was classified at. */
  layerId: number;
  /** FWP_ACTION_PERMIT or FWP_ACTION_BLOCK. */
  action: number;
  /** FWPS_CLASSIFY_OUT0.flags (FWPS_CLASSIFY_OUT_FLAG_ABSORB...). */
  flags: number;
}

/** Headers read from a packet. */
class Parsed {
  family = AF_UNSPEC;
  ipHeaderSize = 0;
  protocol = 0;
  transportHeaderSize = 0;
  src4 = 0;
  dst4 = 0;
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);
  srcPort = 0;
  dstPort = 0;
  hasPorts = false;
}

/**
 * Copies up to `n` bytes of `nbl`'s first NET_BUFFER data into `into` (walking the MDLs from the current
 * position, so data spread over several MDLs reads correctly); returns how many.
 */
function peek(nbl: NET_BUFFER_LIST, into: Uint8Array, n: number): number {
  const nb = nbl.FirstNetBuffer;
  if (nb === null) return 0;
  const len = Math.min(n, nb.DataLength);
  let done = 0;
  let off = nb.CurrentMdlOffset;
  for (let m = nb.CurrentMdl; m !== null && done < len; m = m.Next) {
    const take = Math.min(m.ByteCount - off, len - done);
    if (take > 0) {
      const start = mdlVa(m) + off - ARENA_BASE;
      into.set(memory.subarray(start, start + take), done);
      done += take;
    }
    off = 0;
  }
  return done;
}

const TCP = 6;
const UDP = 17;

/** Reads IP (and TCP/UDP) headers starting at the data of `nbl`; false if there is no IP header. */
function parseIp(nbl: NET_BUFFER_LIST, out: Parsed, scratch: Uint8Array): boolean {
  const n = peek(nbl, scratch, 80);
  if (n < 20) return false;
  const version = scratch[0]! >> 4;
  if (version === 4) {
    out.family = AF_INET;
    out.ipHeaderSize = (scratch[0]! & 0x0f) * 4;
    out.protocol = scratch[9]!;
    out.src4 = ((scratch[12]! << 24) | (scratch[13]! << 16) | (scratch[14]! << 8) | scratch[15]!) >>> 0;
    out.dst4 = ((scratch[16]! << 24) | (scratch[17]! << 16) | (scratch[18]! << 8) | scratch[19]!) >>> 0;
  } else if (version === 6 && n >= 40) {
    out.family = AF_INET6;
    out.ipHeaderSize = 40;
    out.protocol = scratch[6]!;
    out.src6.set(scratch.subarray(8, 24));
    out.dst6.set(scratch.subarray(24, 40));
  } else return false;
  parseTransport(scratch, out.ipHeaderSize, n, out);
  return true;
}

function parseTransport(b: Uint8Array, t: number, n: number, out: Parsed): void {
  out.hasPorts = false;
  out.transportHeaderSize = 0;
  if ((out.protocol === TCP || out.protocol === UDP) && n >= t + 4) {
    out.srcPort = (b[t]! << 8) | b[t + 1]!;
    out.dstPort = (b[t + 2]! << 8) | b[t + 3]!;
    out.hasPorts = true;
    out.transportHeaderSize = out.protocol === UDP ? 8 : n >= t + 13 ? (b[t + 12]! >> 4) * 4 : 20;
  }
}

/** Field indexes of one layer by field name. */
function fieldIndex(layerId: number): Map<string, number> {
  const m = new Map<string, number>();
  const fields = layerById(layerId)!.fields;
  for (let i = 0; i < fields.length; i++) m.set(fields[i]!.name, i);
  return m;
}

/** Per-layer reusable classify inputs. */
class LayerInputs {
  readonly values: FWPS_INCOMING_VALUES0;
  readonly meta = new FWPS_INCOMING_METADATA_VALUES0();
  readonly idx: Map<string, number>;
  constructor(readonly layerId: number) {
    const info = layerById(layerId)!;
    this.values = new FWPS_INCOMING_VALUES0(layerId, info.fields.length);
    for (const v of this.values.incomingValue) v.value.byteArray16 = new FWP_BYTE_ARRAY16(new Uint8Array(16));
    this.idx = fieldIndex(layerId);
  }
  clear(): void {
    for (const v of this.values.incomingValue) v.value.type = FWP_EMPTY;
    this.meta.currentMetadataValues = 0;
  }
  slot(name: string): FWP_VALUE0 | null {
    const i = this.idx.get(name);
    return i === undefined ? null : this.values.incomingValue[i]!.value;
  }
  setU(name: string, type: number, n: number): void {
    const v = this.slot(name);
    if (!v) return;
    v.type = type;
    if (type === FWP_UINT8) v.uint8 = n;
    else if (type === FWP_UINT16) v.uint16 = n;
    else v.uint32 = n >>> 0;
  }
  setAddress(name: string, p: Parsed, src: boolean): void {
    const v = this.slot(name);
    if (!v) return;
    if (p.family === AF_INET) {
      v.type = FWP_UINT32;
      v.uint32 = src ? p.src4 : p.dst4;
    } else {
      v.type = FWP_BYTE_ARRAY16_TYPE;
      v.byteArray16!.byteArray16.set(src ? p.src6 : p.dst6);
    }
  }
}

type Op = 'networkSend' | 'networkReceive' | 'forward' | 'transportSend' | 'transportReceive';

/** A queued loopback (preallocated objects recycled, so steady-state injection allocates nothing). */
class Job {
  op: Op = 'networkSend';
  nbl: NET_BUFFER_LIST | null = null;
  family = AF_UNSPEC;
  compartmentId = 0;
  interfaceIndex = 0;
  subInterfaceIndex = 0;
  remote = new Uint8Array(16);
  hasRemote = false;
}

/**
 * The built-in sink: loops injected packets back through this engine (see the file comment). Tests and tools
 * may create their own with an `onDeliver` hook; the engine uses a shared one until the host registers a sink.
 */
export class EngineOnlyInjectionSink implements InjectionSink {
  private readonly inputs = new Map<number, LayerInputs>();
  private readonly parsed = new Parsed();
  private readonly scratch = new Uint8Array(80);
  private readonly spare: Job[] = [];
  private readonly run = (job: unknown) => this.loop(job as Job);

  /** `onDeliver(nbl, verdict)` runs after each classify, before the completion is reported. */
  constructor(private readonly onDeliver: ((nbl: NET_BUFFER_LIST, verdict: LoopbackVerdict) => void) | null = null) {}

  private queue(
    op: Op,
    nbl: NET_BUFFER_LIST,
    family: number,
    compartmentId: number,
    ifIndex: number,
    subIfIndex: number,
  ): Job {
    const job = this.spare.pop() ?? new Job();
    job.op = op;
    job.nbl = nbl;
    job.family = family;
    job.compartmentId = compartmentId;
    job.interfaceIndex = ifIndex;
    job.subInterfaceIndex = subIfIndex;
    job.hasRemote = false;
    queueDeferredWork(this.run, job);
    return job;
  }

  networkSend(nbl: NET_BUFFER_LIST, compartmentId: number, addressFamily: number): number {
    this.queue('networkSend', nbl, addressFamily, compartmentId, 0, 0);
    return STATUS_SUCCESS;
  }

  networkReceive(
    nbl: NET_BUFFER_LIST,
    compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
    addressFamily: number,
  ): number {
    this.queue('networkReceive', nbl, addressFamily, compartmentId, interfaceIndex, subInterfaceIndex);
    return STATUS_SUCCESS;
  }

  forward(nbl: NET_BUFFER_LIST, compartmentId: number, interfaceIndex: number, addressFamily: number): number {
    this.queue('forward', nbl, addressFamily, compartmentId, interfaceIndex, 0);
    return STATUS_SUCCESS;
  }

  transportSend(
    nbl: NET_BUFFER_LIST,
    endpointHandle: number,
    sendArgs: FWPS_TRANSPORT_SEND_PARAMS0 | null,
    addressFamily: number,
    compartmentId: number,
  ): number {
    void endpointHandle;
    const job = this.queue('transportSend', nbl, addressFamily, compartmentId, 0, 0);
    if (sendArgs?.remoteAddress) {
      job.remote.set(sendArgs.remoteAddress);
      job.hasRemote = true;
    }
    return STATUS_SUCCESS;
  }

  transportReceive(
    nbl: NET_BUFFER_LIST,
    compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
    addressFamily: number,
  ): number {
    this.queue('transportReceive', nbl, addressFamily, compartmentId, interfaceIndex, subInterfaceIndex);
    return STATUS_SUCCESS;
  }

  private inputsFor(layerId: number): LayerInputs {
    let i = this.inputs.get(layerId);
    if (!i) {
      i = new LayerInputs(layerId);
      this.inputs.set(layerId, i);
    }
    return i;
  }

  private loop(job: Job): void {
    const nbl = job.nbl!;
    const v6 = job.family === AF_INET6;
    const p = this.parsed;
    let layerId: number;
    let advance = 0;
    let outbound: boolean;
    if (job.op === 'transportSend') {
      layerId = v6 ? F.FWPS_LAYER_OUTBOUND_TRANSPORT_V6 : F.FWPS_LAYER_OUTBOUND_TRANSPORT_V4;
      outbound = true;
      const n = peek(nbl, this.scratch, 24);
      p.family = job.family;
      p.protocol = 0;
      p.ipHeaderSize = 0;
      // The transport header alone does not name its protocol: take the ports if it looks like TCP or UDP.
      p.hasPorts = n >= 4;
      p.srcPort = n >= 4 ? (this.scratch[0]! << 8) | this.scratch[1]! : 0;
      p.dstPort = n >= 4 ? (this.scratch[2]! << 8) | this.scratch[3]! : 0;
      p.transportHeaderSize = 0;
      p.src4 = 0;
      p.src6.fill(0);
      if (job.hasRemote) {
        if (v6) p.dst6.set(job.remote.subarray(0, 16));
        else p.dst4 = ((job.remote[0]! << 24) | (job.remote[1]! << 16) | (job.remote[2]! << 8) | job.remote[3]!) >>> 0;
      }
    } else {
      if (!parseIp(nbl, p, this.scratch)) p.family = AF_UNSPEC;
      switch (job.op) {
        case 'networkSend':
          layerId = v6 ? F.FWPS_LAYER_OUTBOUND_IPPACKET_V6 : F.FWPS_LAYER_OUTBOUND_IPPACKET_V4;
          outbound = true;
          break;
        case 'networkReceive':
          layerId = v6 ? F.FWPS_LAYER_INBOUND_IPPACKET_V6 : F.FWPS_LAYER_INBOUND_IPPACKET_V4;
          outbound = false;
          advance = p.ipHeaderSize;
          break;
        case 'forward':
          layerId = v6 ? F.FWPS_LAYER_IPFORWARD_V6 : F.FWPS_LAYER_IPFORWARD_V4;
          outbound = true;
          break;
        default:
          layerId = v6 ? F.FWPS_LAYER_INBOUND_TRANSPORT_V6 : F.FWPS_LAYER_INBOUND_TRANSPORT_V4;
          outbound = false;
          advance = p.ipHeaderSize + p.transportHeaderSize;
      }
    }
    const inputs = this.inputsFor(layerId);
    inputs.clear();
    if (p.family !== AF_UNSPEC || job.op === 'transportSend') this.fill(inputs, job, outbound);
    const nb = nbl.FirstNetBuffer;
    if (advance > 0 && nb !== null && advance <= nb.DataLength) {
      for (let b: typeof nb | null = nb; b !== null; b = b.Next) NdisAdvanceNetBufferDataStart(b, advance, false, null);
    } else advance = 0;
    const out = classifyAtLayer(layerId, inputs.values, inputs.meta, nbl);
    const action = out.actionType;
    const flags = out.flags;
    if (advance > 0) {
      for (let b = nbl.FirstNetBuffer; b !== null; b = b.Next) NdisRetreatNetBufferDataStart(b, advance, 0, null);
    }
    job.nbl = null;
    this.spare.push(job);
    if (this.onDeliver) this.onDeliver(nbl, { layerId, action, flags });
    completeInjectedNetBufferList(nbl, STATUS_SUCCESS);
  }

  private fill(inputs: LayerInputs, job: Job, outbound: boolean): void {
    const p = this.parsed;
    const meta = inputs.meta;
    if (job.op === 'forward') {
      inputs.setAddress('IP_SOURCE_ADDRESS', p, true);
      inputs.setAddress('IP_DESTINATION_ADDRESS', p, false);
      inputs.setU('DESTINATION_INTERFACE_INDEX', FWP_UINT32, job.interfaceIndex);
    } else {
      inputs.setAddress('IP_LOCAL_ADDRESS', p, outbound);
      inputs.setAddress('IP_REMOTE_ADDRESS', p, !outbound);
      inputs.setU('INTERFACE_INDEX', FWP_UINT32, job.interfaceIndex);
      inputs.setU('SUB_INTERFACE_INDEX', FWP_UINT32, job.subInterfaceIndex);
      if (p.protocol !== 0) inputs.setU('IP_PROTOCOL', FWP_UINT8, p.protocol);
      if (p.hasPorts) {
        inputs.setU('IP_LOCAL_PORT', FWP_UINT16, outbound ? p.srcPort : p.dstPort);
        inputs.setU('IP_REMOTE_PORT', FWP_UINT16, outbound ? p.dstPort : p.srcPort);
      }
    }
    inputs.setU('COMPARTMENT_ID', FWP_UINT32, job.compartmentId);
    meta.compartmentId = job.compartmentId;
    meta.ipHeaderSize = p.ipHeaderSize;
    meta.transportHeaderSize = p.transportHeaderSize;
    meta.packetDirection = outbound ? FWP_DIRECTION_OUTBOUND : FWP_DIRECTION_INBOUND;
    meta.currentMetadataValues =
      FWPS_METADATA_FIELD_COMPARTMENT_ID |
      FWPS_METADATA_FIELD_PACKET_DIRECTION |
      (p.ipHeaderSize > 0 ? FWPS_METADATA_FIELD_IP_HEADER_SIZE : 0) |
      (p.transportHeaderSize > 0 ? FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE : 0);
  }
}

const versionByte = new Uint8Array(1);

/** The address family of the IP header at the start of `nbl`'s data (AF_UNSPEC if there is none). */
export function ipVersionOf(nbl: NET_BUFFER_LIST): number {
  if (peek(nbl, versionByte, 1) === 0) return AF_UNSPEC;
  const v = versionByte[0]! >> 4;
  return v === 4 ? AF_INET : v === 6 ? AF_INET6 : AF_UNSPEC;
}
