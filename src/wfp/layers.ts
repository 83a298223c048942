/**
 * The filtering layers this engine models: for each, its run-time id, management key, data fields (with their
 * condition keys and types) and where the NET_BUFFER's data starts when the layer is classified ("Data offset
 * positions" on learn.microsoft.com). The host's IP layer reads {@link LAYER_DATA_OFFSET} to position packets.
 */

import * as F from './fields.js';
import { LAYER_FAMILY_FIELDS, type LayerFieldInfo } from './fieldTable.js';
import type { GUID } from './structures.js';

/** Where a NET_BUFFER's DataOffset points when a layer is classified. */
export const DataPosition = {
  /** layerData is NULL or not a packet at this layer. */
  NotApplicable: 0,
  /** The first byte of the IP header. */
  IpHeader: 1,
  /** The first byte of the transport (or ICMP) header: the IP header is `ipHeaderSize` bytes before it. */
  TransportHeader: 2,
  /** The first byte of the transport payload: headers are `ipHeaderSize + transportHeaderSize` bytes before it. */
  TransportPayload: 3,
  /** The inner IP header of an ICMP error. */
  InnerIpHeader: 4,
  /** Inbound: transport payload; outbound: transport header (datagram-data and ALE layers). */
  PayloadInTransportHeaderOut: 5,
  /** Non-TCP: transport header; TCP: not applicable (ALE_AUTH_CONNECT). */
  TransportHeaderIfNotTcp: 6,
  /** Where the TCP/IP stack stopped processing (inbound / outbound IPPACKET discard layers). */
  WhereProcessingStopped: 7,
} as const;

/** Description of one modelled layer. */
export interface LayerInfo {
  /** FWPS_LAYER_* id. */
  readonly layerId: number;
  /** FWPM_LAYER_* key. */
  readonly layerKey: GUID;
  /** The name without prefix, e.g. 'INBOUND_TRANSPORT_V4'. */
  readonly name: string;
  readonly isV6: boolean;
  readonly isDiscard: boolean;
  /** Field index -> field description (FWPS_FIELD_<LAYER>_* order). */
  readonly fields: readonly LayerFieldInfo[];
  /** Condition key -> field index, for FwpmFilterAdd0. */
  readonly fieldByCondition: ReadonlyMap<GUID, number>;
  /** Where the data starts at classify (a {@link DataPosition} value). */
  readonly dataPosition: number;
}

const positions: Record<string, [normal: number, discard: number]> = {
  INBOUND_IPPACKET: [DataPosition.TransportHeader, DataPosition.WhereProcessingStopped],
  OUTBOUND_IPPACKET: [DataPosition.IpHeader, DataPosition.WhereProcessingStopped],
  IPFORWARD: [DataPosition.IpHeader, DataPosition.IpHeader],
  INBOUND_TRANSPORT: [DataPosition.TransportPayload, DataPosition.TransportPayload],
  OUTBOUND_TRANSPORT: [DataPosition.TransportHeader, DataPosition.TransportHeader],
  DATAGRAM_DATA: [DataPosition.PayloadInTransportHeaderOut, DataPosition.PayloadInTransportHeaderOut],
  INBOUND_ICMP_ERROR: [DataPosition.InnerIpHeader, DataPosition.InnerIpHeader],
  OUTBOUND_ICMP_ERROR: [DataPosition.TransportHeader, DataPosition.TransportHeader],
  ALE_AUTH_RECV_ACCEPT: [DataPosition.PayloadInTransportHeaderOut, DataPosition.PayloadInTransportHeaderOut],
  ALE_AUTH_CONNECT: [DataPosition.TransportHeaderIfNotTcp, DataPosition.TransportHeaderIfNotTcp],
  ALE_FLOW_ESTABLISHED: [DataPosition.PayloadInTransportHeaderOut, DataPosition.PayloadInTransportHeaderOut],
};

const byId: LayerInfo[] = [];
const byKey = new Map<GUID, LayerInfo>();
const exports = F as unknown as Record<string, number | string>;

for (const family of LAYER_FAMILY_FIELDS) {
  for (const [suffix, isV6, isDiscard] of [
    ['_V4', false, false],
    ['_V4_DISCARD', false, true],
    ['_V6', true, false],
    ['_V6_DISCARD', true, true],
  ] as const) {
    const name = family.family + suffix;
    const fields = isV6 ? family.v6 : family.v4;
    const fieldByCondition = new Map<GUID, number>();
    fields.forEach((f, i) => {
      if (f.conditionKey !== null && !fieldByCondition.has(f.conditionKey)) fieldByCondition.set(f.conditionKey, i);
    });
    const info: LayerInfo = {
      layerId: exports[`FWPS_LAYER_${name}`] as number,
      layerKey: exports[`FWPM_LAYER_${name}`] as string,
      name,
      isV6,
      isDiscard,
      fields,
      fieldByCondition,
      dataPosition: positions[family.family]![isDiscard ? 1 : 0],
    };
    byId[info.layerId] = info;
    byKey.set(info.layerKey, info);
  }
}

/** The modelled layer with this FWPS_LAYER_* id, or undefined. */
export function layerById(layerId: number): LayerInfo | undefined {
  return byId[layerId];
}

/** The modelled layer with this FWPM_LAYER_* key, or undefined. */
export function layerByKey(layerKey: GUID): LayerInfo | undefined {
  return byKey.get(layerKey);
}

/** Every modelled layer. */
export function modelledLayers(): readonly LayerInfo[] {
  return byId.filter((l) => l !== undefined);
}

/**
 * LAYER_DATA_OFFSET[layerId]: where a NET_BUFFER's data must start when the host classifies that layer (a
 * {@link DataPosition}); undefined for layers this engine does not model.
 */
export const LAYER_DATA_OFFSET: readonly (number | undefined)[] = byId.map((l) => l?.dataPosition);

/** The number of data fields (FWPS_FIELD_<LAYER>_MAX) of a modelled layer. */
export function layerFieldCount(layerId: number): number {
  return byId[layerId]?.fields.length ?? 0;
}
