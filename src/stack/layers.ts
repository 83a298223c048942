/**
 * The WFP run-time layers the IP layer classifies at (FWPS_BUILTIN_LAYERS ids). Where the NET_BUFFER's data
 * starts at each is the filter engine's LAYER_DATA_OFFSET table (wfp/layers.ts); the tests hold the IP layer to it.
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
