/**
 * Where the IP layer calls out to filters: the WFP layers (through {@link Classifier}) and the legacy firewall
 * hook (through {@link FirewallHookCall}). The IP layer fills one preallocated {@link ClassifyRequest} per call
 * (no allocation per packet); the code that binds a host to the WFP engine turns it into FWPS_INCOMING_VALUES0
 * and FWPS_INCOMING_METADATA_VALUES0 for the layer. Keeping the IP layer on this narrow interface lets it run, and
 * be tested, with no filter engine at all.
 */
import type { NET_BUFFER_LIST } from '../ndis/structures.js';

/** What a filter decided. */
export const Verdict = {
  /** Let the packet go on. */
  Permit: 0,
  /** Drop it (counted as a WFP BLOCK or firewall-hook DROP). */
  Block: 1,
  /** A callout took it silently (FWPS_CLASSIFY_OUT_FLAG_ABSORB): counted as absorbed, owned by the callout. */
  Absorb: 2,
} as const;

/** Direction of the packet at the layer (FWP_DIRECTION). */
export const DIRECTION_OUTBOUND = 0;
export const DIRECTION_INBOUND = 1;

/**
 * Everything a WFP layer's incoming values and metadata are made of, for one classify. Addresses are given as
 * the simulated address of their bytes in the packet (4 or 16 bytes, network order), so nothing is copied.
 */
export class ClassifyRequest {
  /** FWPS_BUILTIN_LAYERS run-time layer id. */
  layerId = 0;
  /** 4 or 6. */
  ipVersion = 4;
  /** DIRECTION_INBOUND or DIRECTION_OUTBOUND. */
  direction = DIRECTION_INBOUND;
  /** IP protocol (transport, ALE and ICMP layers). */
  protocol = 0;
  /** Address of the local address bytes (for IPFORWARD: the source address). */
  localAddressVa = 0;
  /** Address of the remote address bytes (for IPFORWARD: the destination address). */
  remoteAddressVa = 0;
  /**
   * IPv4 only, when the address is not in memory yet (outbound ALE and transport layers, before the IP header
   * exists): the local and remote addresses as numbers; used when the *Va field is 0.
   */
  localAddress4 = 0;
  remoteAddress4 = 0;
  /** Local port, or the ICMP type. */
  localPort = 0;
  /** Remote port, or the ICMP code. */
  remotePort = 0;
  /** Interface the packet arrived on or leaves through. */
  interfaceIndex = 0;
  /** IPFORWARD: the interface it leaves through. */
  destinationInterfaceIndex = 0;
  /** Bytes of the IP header (metadata ipHeaderSize). */
  ipHeaderSize = 0;
  /** Bytes of the transport header (metadata transportHeaderSize). */
  transportHeaderSize = 0;
  /** ALE flow handle, 0 when none. */
  flowHandle = 0;
  /** The transport endpoint's handle (metadata transportEndpointHandle), 0 when the layer has none. */
  endpointHandle = 0;
  /** Outbound layers with an endpoint: the remote address's scope (metadata remoteScopeId); -1 when none. */
  remoteScopeId = -1;
  /** The packet; its NET_BUFFER's data starts where the layer says it must. */
  nbl: NET_BUFFER_LIST | null = null;
  /** After a call that absorbed: the name of the callout that absorbed it. */
  absorbedBy = '';
  /** Discard layers: FWPS_DISCARD_MODULE0 value, or -1 at other layers. */
  discardModule = -1;
  /** Discard layers: why (FWPS_GENERAL_DISCARD_REASON for the general module, else the host's DropReason). */
  discardReason = 0;
  /** Discard layers: the filter that blocked it, when a filter did. */
  discardFilterId = 0;
}

/** FWPS_DISCARD_MODULE0 (fwpsk.h). */
export const FWPS_DISCARD_MODULE_NETWORK = 0;
export const FWPS_DISCARD_MODULE_TRANSPORT = 1;
export const FWPS_DISCARD_MODULE_GENERAL = 2;
/** FWPS_GENERAL_DISCARD_REASON: dropped by a filter. */
export const FWPS_DISCARD_FIREWALL_POLICY = 0;

/** Runs the filters of one layer on `request` and returns a {@link Verdict}. */
export type Classifier = (request: ClassifyRequest) => number;

/** FORWARD_ACTION values (ipfirewall.h). */
export const FORWARD = 0;
export const DROP = 1;
export const ICMP_ON_DROP = 2;

/**
 * The legacy firewall hook at the IP layer. `nbl` holds the IP packet (data at the IP header). Returns FORWARD,
 * DROP or ICMP_ON_DROP; a hook that rewrote the packet returns its replacement through `replacement.value` (a
 * new NET_BUFFER_LIST built by the hook layer, owned by the host from then on). The IP layer makes the call only
 * while a hook is registered (firewallHooksRegistered).
 */
export type FirewallHookCall = (
  direction: number,
  nbl: NET_BUFFER_LIST,
  interfaceIndex: number,
  replacement: { value: NET_BUFFER_LIST | null },
) => number;
