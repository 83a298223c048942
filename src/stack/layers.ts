/**
 * The WFP run-time layers the IP layer classifies at (FWPS_BUILTIN_LAYERS ids), and where the NET_BUFFER's data
 * starts at each when the classify happens, as the WFP documentation sets out ("Data offsets at each layer").
 */
import * as F from '../wfp/fields.js';

/** The layers, by the name the IP layer uses. */
export const Layer = {
  InboundIppacket4: F.FWPS_LAYER_INBOUND_IPPACKET_V4,
  InboundIppacket6: F.FWPS_LAYER_INBOUND_IPPACKET_V6,
  OutboundIppacket4: F.FWPS_LAYER_OUTBOUND_IPPACKET_V4,
  OutboundIppacket6: F.FWPS_LAYER_OUTBOUND_IPPACKET_V6,
  Ipforward4: F.FWPS_LAYER_IPFORWARD_V4,
  Ipforward6: F.FWPS_LAYER_IPFORWARD_V6,
  InboundTransport4: F.FWPS_LAYER_INBOUND_TRANSPORT_V4,
  InboundTransport6: F.FWPS_LAYER_INBOUND_TRANSPORT_V6,
  OutboundTransport4: F.FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  OutboundTransport6: F.FWPS_LAYER_OUTBOUND_TRANSPORT_V6,
  DatagramData4: F.FWPS_LAYER_DATAGRAM_DATA_V4,
  DatagramData6: F.FWPS_LAYER_DATAGRAM_DATA_V6,
  InboundIcmpError4: F.FWPS_LAYER_INBOUND_ICMP_ERROR_V4,
  InboundIcmpError6: F.FWPS_LAYER_INBOUND_ICMP_ERROR_V6,
  OutboundIcmpError4: F.FWPS_LAYER_OUTBOUND_ICMP_ERROR_V4,
  OutboundIcmpError6: F.FWPS_LAYER_OUTBOUND_ICMP_ERROR_V6,
  AleAuthConnect4: F.FWPS_LAYER_ALE_AUTH_CONNECT_V4,
  AleAuthConnect6: F.FWPS_LAYER_ALE_AUTH_CONNECT_V6,
  AleAuthRecvAccept4: F.FWPS_LAYER_ALE_AUTH_RECV_ACCEPT_V4,
  AleAuthRecvAccept6: F.FWPS_LAYER_ALE_AUTH_RECV_ACCEPT_V6,
  AleFlowEstablished4: F.FWPS_LAYER_ALE_FLOW_ESTABLISHED_V4,
  AleFlowEstablished6: F.FWPS_LAYER_ALE_FLOW_ESTABLISHED_V6,
} as const;

/** Where the data starts at a layer: the IP header, the transport header, or the transport payload. */
export type DataStart = 'ip' | 'transport' | 'payload';

/**
 * Where the IP layer puts the data start at each layer it classifies at (for tests and the trace). Inbound
 * DATAGRAM_DATA is at the payload; the ALE receive layers at the payload as INBOUND_TRANSPORT; outbound ALE
 * connect at the transport header; ICMP error layers at the ICMP header.
 */
export const DATA_START: Readonly<Record<number, DataStart>> = {
  [Layer.InboundIppacket4]: 'transport',
  [Layer.InboundIppacket6]: 'transport',
  [Layer.OutboundIppacket4]: 'ip',
  [Layer.OutboundIppacket6]: 'ip',
  [Layer.Ipforward4]: 'ip',
  [Layer.Ipforward6]: 'ip',
  [Layer.InboundTransport4]: 'payload',
  [Layer.InboundTransport6]: 'payload',
  [Layer.OutboundTransport4]: 'transport',
  [Layer.OutboundTransport6]: 'transport',
  [Layer.DatagramData4]: 'payload',
  [Layer.DatagramData6]: 'payload',
  [Layer.InboundIcmpError4]: 'transport',
  [Layer.InboundIcmpError6]: 'transport',
  [Layer.OutboundIcmpError4]: 'transport',
  [Layer.OutboundIcmpError6]: 'transport',
  [Layer.AleAuthConnect4]: 'transport',
  [Layer.AleAuthConnect6]: 'transport',
  [Layer.AleAuthRecvAccept4]: 'payload',
  [Layer.AleAuthRecvAccept6]: 'payload',
  [Layer.AleFlowEstablished4]: 'payload',
  [Layer.AleFlowEstablished6]: 'payload',
};
