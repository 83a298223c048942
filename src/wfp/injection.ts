/**
 * Packet injection (fwpsk.h): injection handles, the five FwpsInject*Async0 functions and
 * FwpsQueryPacketInjectionState0.
 *
 * An accepted injection marks the list (injectionState.ts) and hands it to the host through the registered
 * {@link InjectionSink}; the host (or, until one is registered, the {@link EngineOnlyInjectionSink}) sends it on
 * - which classifies it again at the matching layer, where a callout recognises its own packet with
 * FwpsQueryPacketInjectionState0 - and then reports completion with {@link completeInjectedNetBufferList}. The
 * driver's completion function runs exactly once per accepted injection, asynchronously (deferred work, at
 * DISPATCH_LEVEL), with the list's Status set. A rejected injection returns an error status and never completes.
 */
import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { queueDeferredWork } from '../kernel/deferred.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import { STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../kernel/status.js';
import { onSystemReset } from '../kernel/system.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { checkNblDataInChains } from '../ndis/nb-checks.js';
import { checkLiveNbl } from '../ndis/netBufferList.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  FWPS_INJECTION_TYPE_FORWARD,
  FWPS_INJECTION_TYPE_L2,
  FWPS_INJECTION_TYPE_NETWORK,
  FWPS_INJECTION_TYPE_STREAM,
  FWPS_INJECTION_TYPE_TRANSPORT,
  FWPS_PACKET_INJECTED_BY_OTHER,
  FWPS_PACKET_INJECTED_BY_SELF,
  FWPS_PACKET_NOT_INJECTED,
  FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF,
  STATUS_FWP_INJECT_HANDLE_CLOSING,
} from './constants.js';
import {
  type FWPS_INJECT_COMPLETE0,
  FwpsInjectionHandle,
  type InjectionRecord,
  injectionOf,
  liveHandles,
  releaseRecord,
  setInjection,
  takeRecord,
} from './injectionState.js';
// sink.ts imports this module too; each only uses the other's exports at call time, so the cycle is safe.
import { EngineOnlyInjectionSink, ipVersionOf } from './sink.js';
import type { FWPS_TRANSPORT_SEND_PARAMS0 } from './structures.js';

export {
  type FWPS_INJECT_COMPLETE0,
  FwpsInjectionHandle,
  type OutstandingInjection,
  outstandingInjectionHandles,
  outstandingInjections,
} from './injectionState.js';

/** wdknet's DDI rule ids (DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1) for injection misuse. */
export const WFP_RULE_IRQL_INJECTION = 0x00090030;
/** Parameter 1: a list injected while an earlier injection of it has not completed. */
export const WFP_RULE_INJECT_IN_USE = 0x00090031;
/** Parameter 1: completeInjectedNetBufferList for a list with no injection in progress (a second completion). */
export const WFP_RULE_COMPLETE_NOT_INJECTED = 0x00090032;

/**
 * Where injected packets go: the host's IP layer implements this and registers it with
 * {@link setInjectionSink}. Each method takes the list (positioned as the injection function documents),
 * returns an NTSTATUS - an error refuses the injection, which then never completes - and later calls
 * {@link completeInjectedNetBufferList} exactly once for an accepted list.
 */
export interface InjectionSink {
  /** FwpsInjectNetworkSendAsync0: data starts at the IP header. */
  networkSend(nbl: NET_BUFFER_LIST, compartmentId: number, addressFamily: number): number;
  /** FwpsInjectNetworkReceiveAsync0: data starts at the IP header. */
  networkReceive(
    nbl: NET_BUFFER_LIST,
    compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
    addressFamily: number,
  ): number;
  /** FwpsInjectForwardAsync0: data starts at the IP header; sent out of `interfaceIndex`. */
  forward(nbl: NET_BUFFER_LIST, compartmentId: number, interfaceIndex: number, addressFamily: number): number;
  /** FwpsInjectTransportSendAsync0: data starts at the transport header. */
  transportSend(
    nbl: NET_BUFFER_LIST,
    endpointHandle: number,
    sendArgs: FWPS_TRANSPORT_SEND_PARAMS0 | null,
    addressFamily: number,
    compartmentId: number,
  ): number;
  /** FwpsInjectTransportReceiveAsync0: data starts at the IP header. */
  transportReceive(
    nbl: NET_BUFFER_LIST,
    compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
    addressFamily: number,
  ): number;
}

let sink: InjectionSink | null = null;

/** Registers the host's sink (null goes back to the engine-only loopback sink). */
export function setInjectionSink(s: InjectionSink | null): void {
  sink = s;
}

/** The sink injections go to now: the host's, or the engine-only loopback until the host registers one. */
export function currentInjectionSink(): InjectionSink {
  if (sink === null) sink = new EngineOnlyInjectionSink();
  return sink;
}

const KNOWN_TYPES =
  FWPS_INJECTION_TYPE_STREAM |
  FWPS_INJECTION_TYPE_TRANSPORT |
  FWPS_INJECTION_TYPE_NETWORK |
  FWPS_INJECTION_TYPE_FORWARD |
  FWPS_INJECTION_TYPE_L2;

/**
 * FwpsInjectionHandleCreate0: an injection handle for `addressFamily` (AF_INET, AF_INET6 or AF_UNSPEC for
 * both) and the FWPS_INJECTION_TYPE_* kinds in `flags` (0 means network and forward, as on Windows before
 * the flag existed - decided). IRQL PASSIVE_LEVEL.
 */
export function FwpsInjectionHandleCreate0(
  addressFamily: number,
  flags: number,
  injectionHandle: { value: unknown },
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'FwpsInjectionHandleCreate0', WFP_RULE_IRQL_INJECTION);
  injectionHandle.value = null;
  if (addressFamily !== AF_INET && addressFamily !== AF_INET6 && addressFamily !== AF_UNSPEC)
    return STATUS_INVALID_PARAMETER;
  if ((flags & ~KNOWN_TYPES) !== 0) return STATUS_INVALID_PARAMETER;
  const types = flags === 0 ? FWPS_INJECTION_TYPE_NETWORK | FWPS_INJECTION_TYPE_FORWARD : flags;
  injectionHandle.value = new FwpsInjectionHandle(addressFamily, types);
  return STATUS_SUCCESS;
}

/**
 * FwpsInjectionHandleDestroy0: destroys a handle. Injections it has in progress still complete; new ones are
 * refused with STATUS_FWP_INJECT_HANDLE_CLOSING. IRQL PASSIVE_LEVEL.
 */
export function FwpsInjectionHandleDestroy0(injectionHandle: unknown): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'FwpsInjectionHandleDestroy0', WFP_RULE_IRQL_INJECTION);
  if (!(injectionHandle instanceof FwpsInjectionHandle) || !injectionHandle.live) return STATUS_INVALID_PARAMETER;
  injectionHandle.live = false;
  liveHandles.delete(injectionHandle);
  return STATUS_SUCCESS;
}

/** Common checks and marking; returns the record (holding both contexts), or an NTSTATUS error. */
function begin(
  ddi: string,
  handle: unknown,
  needType: number,
  addressFamily: number,
  flags: number,
  nbl: NET_BUFFER_LIST | null,
  completionFn: FWPS_INJECT_COMPLETE0 | null,
  injectionContext: unknown,
  completionContext: unknown,
): InjectionRecord | number {
  requireIrqlAtMost(DISPATCH_LEVEL, ddi, WFP_RULE_IRQL_INJECTION);
  if (!(handle instanceof FwpsInjectionHandle)) return STATUS_INVALID_PARAMETER;
  if (!handle.live) return STATUS_FWP_INJECT_HANDLE_CLOSING;
  if ((handle.injectionType & needType) === 0) return STATUS_INVALID_PARAMETER;
  if (addressFamily !== AF_INET && addressFamily !== AF_INET6) return STATUS_INVALID_PARAMETER;
  if (handle.addressFamily !== AF_UNSPEC && handle.addressFamily !== addressFamily) return STATUS_INVALID_PARAMETER;
  if (flags !== 0 || nbl === null || typeof completionFn !== 'function') return STATUS_INVALID_PARAMETER;
  // Decided: one list per call (the documentation describes a single NET_BUFFER_LIST).
  if (nbl.Next !== null) return STATUS_INVALID_PARAMETER;
  checkLiveNbl(nbl, ddi);
  if (verifierLevel >= VERIFIER_STANDARD) checkNblDataInChains(nbl, ddi);
  if (injectionOf(nbl) !== null) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_INJECT_IN_USE,
      0,
      0,
      0,
      `${ddi}: this NET_BUFFER_LIST is still being injected; wait for its completion function before injecting it again`,
    );
  }
  const r = takeRecord();
  r.handle = handle;
  r.completionFn = completionFn;
  r.completionContext = completionContext;
  r.context = injectionContext;
  r.nbl = nbl;
  setInjection(nbl, r);
  handle.pending++;
  return r;
}

/** After the sink answered: an error unmarks the list (no completion); success waits for the host. */
function accepted(r: InjectionRecord, status: number): number {
  if (status < 0) {
    setInjection(r.nbl!, null);
    r.handle!.pending--;
    releaseRecord(r);
  }
  return status;
}

/** The address family of a network-layer injection: the handle's, or the packet's IP version for AF_UNSPEC. */
function networkFamily(handle: unknown, nbl: NET_BUFFER_LIST | null): number {
  if (!(handle instanceof FwpsInjectionHandle)) return AF_UNSPEC;
  if (handle.addressFamily !== AF_UNSPEC || nbl === null) return handle.addressFamily;
  return ipVersionOf(nbl);
}

/**
 * FwpsInjectNetworkSendAsync0: injects an IP packet (data at the IP header) into the send path. `flags` is
 * reserved (0). The packet is classified again at the OUTBOUND_IPPACKET layer.
 */
export function FwpsInjectNetworkSendAsync0(
  injectionHandle: unknown,
  injectionContext: unknown,
  flags: number,
  compartmentId: number,
  netBufferList: NET_BUFFER_LIST,
  completionFn: FWPS_INJECT_COMPLETE0,
  completionContext: unknown,
): number {
  const af = networkFamily(injectionHandle, netBufferList);
  const r = begin(
    'FwpsInjectNetworkSendAsync0',
    injectionHandle,
    FWPS_INJECTION_TYPE_NETWORK,
    af,
    flags,
    netBufferList,
    completionFn,
    injectionContext,
    completionContext,
  );
  if (typeof r === 'number') return r;
  return accepted(r, currentInjectionSink().networkSend(netBufferList, compartmentId, af));
}

/** FwpsInjectNetworkReceiveAsync0: injects an IP packet (data at the IP header) into the receive path. */
export function FwpsInjectNetworkReceiveAsync0(
  injectionHandle: unknown,
  injectionContext: unknown,
  flags: number,
  compartmentId: number,
  interfaceIndex: number,
  subInterfaceIndex: number,
  netBufferList: NET_BUFFER_LIST,
  completionFn: FWPS_INJECT_COMPLETE0,
  completionContext: unknown,
): number {
  const af = networkFamily(injectionHandle, netBufferList);
  const r = begin(
    'FwpsInjectNetworkReceiveAsync0',
    injectionHandle,
    FWPS_INJECTION_TYPE_NETWORK,
    af,
    flags,
    netBufferList,
    completionFn,
    injectionContext,
    completionContext,
  );
  if (typeof r === 'number') return r;
  return accepted(
    r,
    currentInjectionSink().networkReceive(netBufferList, compartmentId, interfaceIndex, subInterfaceIndex, af),
  );
}

/** FwpsInjectForwardAsync0: injects a packet into the forwarding path, out of `interfaceIndex`. */
export function FwpsInjectForwardAsync0(
  injectionHandle: unknown,
  injectionContext: unknown,
  flags: number,
  addressFamily: number,
  compartmentId: number,
  interfaceIndex: number,
  netBufferList: NET_BUFFER_LIST,
  completionFn: FWPS_INJECT_COMPLETE0,
  completionContext: unknown,
): number {
  const r = begin(
    'FwpsInjectForwardAsync0',
    injectionHandle,
    FWPS_INJECTION_TYPE_FORWARD,
    addressFamily,
    flags,
    netBufferList,
    completionFn,
    injectionContext,
    completionContext,
  );
  if (typeof r === 'number') return r;
  return accepted(r, currentInjectionSink().forward(netBufferList, compartmentId, interfaceIndex, addressFamily));
}

/**
 * FwpsInjectTransportSendAsync0: injects a transport segment (data at the transport header) into the send
 * path from the endpoint `endpointHandle` names (the transportEndpointHandle of the classify that produced it);
 * `sendArgs` gives the remote address, scope and control data, and may be NULL only for a list that starts at an
 * IP header (a raw socket's send). The sink judges the endpoint and the NULL case.
 */
export function FwpsInjectTransportSendAsync0(
  injectionHandle: unknown,
  injectionContext: unknown,
  endpointHandle: number,
  flags: number,
  sendArgs: FWPS_TRANSPORT_SEND_PARAMS0 | null,
  addressFamily: number,
  compartmentId: number,
  netBufferList: NET_BUFFER_LIST,
  completionFn: FWPS_INJECT_COMPLETE0,
  completionContext: unknown,
): number {
  const r = begin(
    'FwpsInjectTransportSendAsync0',
    injectionHandle,
    FWPS_INJECTION_TYPE_TRANSPORT,
    addressFamily,
    flags,
    netBufferList,
    completionFn,
    injectionContext,
    completionContext,
  );
  if (typeof r === 'number') return r;
  const remote = sendArgs?.remoteAddress;
  if (sendArgs !== null && (!remote || remote.length !== (addressFamily === AF_INET ? 4 : 16))) {
    return accepted(r, STATUS_INVALID_PARAMETER);
  }
  return accepted(
    r,
    currentInjectionSink().transportSend(netBufferList, endpointHandle, sendArgs, addressFamily, compartmentId),
  );
}

/**
 * FwpsInjectTransportReceiveAsync0: injects a received packet (data at the IP header, which the list must begin
 * with) into the receive path at the transport: the sink delivers it past the IP layers.
 */
export function FwpsInjectTransportReceiveAsync0(
  injectionHandle: unknown,
  injectionContext: unknown,
  reserved: unknown,
  flags: number,
  addressFamily: number,
  compartmentId: number,
  interfaceIndex: number,
  subInterfaceIndex: number,
  netBufferList: NET_BUFFER_LIST,
  completionFn: FWPS_INJECT_COMPLETE0,
  completionContext: unknown,
): number {
  if (reserved !== null && reserved !== undefined) return STATUS_INVALID_PARAMETER;
  const r = begin(
    'FwpsInjectTransportReceiveAsync0',
    injectionHandle,
    FWPS_INJECTION_TYPE_TRANSPORT,
    addressFamily,
    flags,
    netBufferList,
    completionFn,
    injectionContext,
    completionContext,
  );
  if (typeof r === 'number') return r;
  return accepted(
    r,
    currentInjectionSink().transportReceive(
      netBufferList,
      compartmentId,
      interfaceIndex,
      subInterfaceIndex,
      addressFamily,
    ),
  );
}

function runCompletion(context: unknown): void {
  const r = context as InjectionRecord;
  const nbl = r.nbl!;
  const fn = r.completionFn!;
  const completionContext = r.completionContext;
  setInjection(nbl, null);
  r.handle!.pending--;
  nbl.Status = r.status;
  releaseRecord(r);
  fn(completionContext, nbl, true);
}

/**
 * For the host: the injected `nbl` has been sent, delivered or dropped; the driver's completion function runs
 * with `nbl.Status = status`, asynchronously (deferred work at DISPATCH_LEVEL). Exactly once per accepted
 * injection: a second report is a verifier bug check.
 */
export function completeInjectedNetBufferList(nbl: NET_BUFFER_LIST, status: number): void {
  const r = injectionOf(nbl);
  if (r === null || r.completing) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_COMPLETE_NOT_INJECTED,
      0,
      0,
      0,
      'completeInjectedNetBufferList: this NET_BUFFER_LIST has no injection waiting for completion',
    );
  }
  r.completing = true;
  r.status = status;
  queueDeferredWork(runCompletion, r);
}

/**
 * FwpsQueryPacketInjectionState0: whether `netBufferList` was injected by `injectionHandle`
 * (FWPS_PACKET_INJECTED_BY_SELF), by another handle (FWPS_PACKET_INJECTED_BY_OTHER), is derived from a list this
 * handle injected (FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) or was not injected (FWPS_PACKET_NOT_INJECTED). For
 * the self states `injectionContext.value` receives the context given to the injection function.
 */
export function FwpsQueryPacketInjectionState0(
  injectionHandle: unknown,
  netBufferList: NET_BUFFER_LIST,
  injectionContext: { value: unknown } | null,
): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'FwpsQueryPacketInjectionState0', WFP_RULE_IRQL_INJECTION);
  const own = injectionOf(netBufferList);
  if (own !== null) {
    if (own.handle === injectionHandle) {
      if (injectionContext) injectionContext.value = own.context;
      return FWPS_PACKET_INJECTED_BY_SELF;
    }
    return FWPS_PACKET_INJECTED_BY_OTHER;
  }
  for (let p = netBufferList.ParentNetBufferList; p !== null; p = p.ParentNetBufferList) {
    const r = injectionOf(p);
    if (r !== null && r.handle === injectionHandle) {
      if (injectionContext) injectionContext.value = r.context;
      return FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF;
    }
  }
  return FWPS_PACKET_NOT_INJECTED;
}

/** Version-independent names. */
export const FwpsInjectionHandleCreate = FwpsInjectionHandleCreate0;
export const FwpsInjectionHandleDestroy = FwpsInjectionHandleDestroy0;
export const FwpsInjectNetworkSendAsync = FwpsInjectNetworkSendAsync0;
export const FwpsInjectNetworkReceiveAsync = FwpsInjectNetworkReceiveAsync0;
export const FwpsInjectForwardAsync = FwpsInjectForwardAsync0;
export const FwpsInjectTransportSendAsync = FwpsInjectTransportSendAsync0;
export const FwpsInjectTransportReceiveAsync = FwpsInjectTransportReceiveAsync0;
export const FwpsQueryPacketInjectionState = FwpsQueryPacketInjectionState0;

onSystemReset(() => {
  sink = null;
});
