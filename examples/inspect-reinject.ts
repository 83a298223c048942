/**
 * inspect-reinject: a WFP callout driver in the manner of the Windows-driver-samples "inspect" sample, at the
 * IPv4 IP-packet layers. Each packet it did not inject itself is cloned with FwpsAllocateCloneNetBufferList0,
 * referenced (FwpsReferenceNetBufferList0), blocked and absorbed at classify, and queued; a DPC inspects the clone
 * out of band and reinjects it with FwpsInjectNetworkSendAsync0 (outbound) or FwpsInjectNetworkReceiveAsync0
 * (inbound). The injection completion frees the clone with FwpsFreeCloneNetBufferList0 and dereferences the
 * original. Packets it injected
 * come back through classify and are recognised with FwpsQueryPacketInjectionState0 and permitted.
 *
 * The inspection: a TCP or UDP packet to a port in `inspectPolicy.blockedPorts` is dropped (default: 9, discard).
 * Every packet is accounted for in `inspectStats`.
 *
 * Load with `wdknet run <capture> --driver examples/inspect-reinject.ts`.
 */
import {
  AF_INET,
  bytesAt,
  type DEVICE_OBJECT,
  type DRIVER_OBJECT,
  ExAllocatePoolWithTag,
  ExFreePoolWithTag,
  FILE_DEVICE_NETWORK,
  FILE_DEVICE_SECURE_OPEN,
  FWP_ACTION_BLOCK,
  FWP_ACTION_PERMIT,
  FWP_DIRECTION_INBOUND,
  FWP_DIRECTION_OUTBOUND,
  FWPM_LAYER_INBOUND_IPPACKET_V4,
  FWPM_LAYER_OUTBOUND_IPPACKET_V4,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  type FWPS_CLASSIFY_OUT0,
  FWPS_FIELD_INBOUND_IPPACKET_V4_INTERFACE_INDEX,
  FWPS_FIELD_INBOUND_IPPACKET_V4_SUB_INTERFACE_INDEX,
  FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  type FWPS_FILTER0,
  type FWPS_INCOMING_METADATA_VALUES0,
  type FWPS_INCOMING_VALUES0,
  FWPS_INJECTION_TYPE_NETWORK,
  FWPS_IS_METADATA_FIELD_PRESENT,
  FWPS_LAYER_INBOUND_IPPACKET_V4,
  FWPS_METADATA_FIELD_COMPARTMENT_ID,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FWPS_PACKET_INJECTED_BY_SELF,
  FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF,
  FWPS_RIGHT_ACTION_WRITE,
  FwpsAllocateCloneNetBufferList0,
  FwpsDereferenceNetBufferList0,
  FwpsFreeCloneNetBufferList0,
  FwpsInjectionHandleCreate0,
  FwpsInjectionHandleDestroy0,
  FwpsInjectNetworkReceiveAsync0,
  FwpsInjectNetworkSendAsync0,
  FwpsQueryPacketInjectionState0,
  FwpsReferenceNetBufferList0,
  IoCreateDevice,
  IoDeleteDevice,
  KDPC,
  KeFlushQueuedDpcs,
  KeInitializeDpc,
  KeInsertQueueDpc,
  NDIS_STATUS_SUCCESS,
  NdisAdvanceNetBufferDataStart,
  NdisGetDataBuffer,
  NdisRetreatNetBufferDataStart,
  type NET_BUFFER,
  NET_BUFFER_DATA_LENGTH,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_FIRST_NB,
  NonPagedPoolNx,
  NT_SUCCESS,
  poolTag,
  RtlCopyMemory,
  STATUS_INSUFFICIENT_RESOURCES,
  UNSPECIFIED_COMPARTMENT_ID,
} from 'wdknet/ddi';
import { PacketAccounting } from './lib/accounting.js';
import { CalloutRegistration, RegisterCallouts, UnregisterCallouts } from './lib/callouts.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPV4_PROTOCOL, ipv4HeaderLength, isLaterFragment, read16 } from './lib/inet.js';
import { PendingInjections } from './lib/injections.js';

/** This driver's keys (made up for the example, as a real driver generates its own). */
export const INSPECT_OUTBOUND_CALLOUT = '6a4a5ce2-6b71-4a4b-9a40-3b1e6f2a7c01';
/** Key of the inbound IP-packet callout. */
export const INSPECT_INBOUND_CALLOUT = '6a4a5ce2-6b71-4a4b-9a40-3b1e6f2a7c02';
/** Key of the driver's sublayer. */
export const INSPECT_SUBLAYER = '6a4a5ce2-6b71-4a4b-9a40-3b1e6f2a7c03';

/** Pool tag of the driver's own allocations ("Insp" in poolmon). */
const TAG = poolTag('psnI');
/** Bytes of headers the inspection reads: a maximal IPv4 header plus the ports. */
const INSPECT_BYTES = 64;
/** Most packets waiting for inspection at once; beyond it a packet is blocked (counted as 'queue-full'). */
const QUEUE_CAPACITY = 1024;

/** What the out-of-band inspection drops. */
export const inspectPolicy = { blockedPorts: new Set<number>([9]) };
/** Every packet, accounted for. */
export const inspectStats = new PacketAccounting();

/** A packet waiting in the queue, from classify to injection completion (preallocated, reused). */
class PendedPacket {
  /** The original, referenced until the clone's injection completes. */
  netBufferList: NET_BUFFER_LIST | null = null;
  /** The clone that is inspected and injected (data at the IP header). */
  clone: NET_BUFFER_LIST | null = null;
  direction = FWP_DIRECTION_OUTBOUND;
  compartmentId = UNSPECIFIED_COMPARTMENT_ID;
  interfaceIndex = 0;
  subInterfaceIndex = 0;
  next: PendedPacket | null = null;
}

let device: DEVICE_OBJECT | null = null;
/** Injections accepted and not yet completed; DriverUnload waits for them (the completion is our code). */
const pendingInjections = new PendingInjections();
let injectionHandle: unknown = null;
let scratch = 0;
/** A view of `scratch`, made once when it is allocated: the inspection reads headers there, no view per packet. */
let scratchView: Uint8Array = new Uint8Array(0);
let unloading = false;
const inspectDpc = new KDPC();
const freeSlots: PendedPacket[] = [];
let queueHead: PendedPacket | null = null;
let queueTail: PendedPacket | null = null;
const cloneBox: { value: NET_BUFFER_LIST | null } = { value: null };

/**
 * classifyFn0 for both IP-packet layers. A packet not injected by this driver is cloned (inbound: with the data
 * start moved back to the IP header for the clone, then restored), the original referenced, the pair queued for
 * the DPC, and the original blocked and absorbed. If the clone cannot be had the packet is blocked (a counted
 * drop), as the inspect sample blocks what it cannot pend.
 */
function InspectClassify(
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  filter: FWPS_FILTER0,
  _flowContext: number,
  classifyOut: FWPS_CLASSIFY_OUT0,
): void {
  // Without the right to write the action a higher filter has decided; the packet is not ours to take.
  if ((classifyOut.rights & FWPS_RIGHT_ACTION_WRITE) === 0 || layerData === null) return;
  inspectStats.seen++;

  const state = FwpsQueryPacketInjectionState0(injectionHandle, layerData, null);
  if (state === FWPS_PACKET_INJECTED_BY_SELF || state === FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
    permit(filter, classifyOut);
    inspectStats.passed++;
    return;
  }
  if (unloading) {
    // As the inspect sample does while it unloads: let traffic through rather than queue what nobody will inject.
    permit(filter, classifyOut);
    inspectStats.passed++;
    return;
  }
  const packet = freeSlots.pop();
  if (packet === undefined) {
    block(classifyOut, 'queue-full');
    return;
  }
  const inbound = inFixedValues.layerId === FWPS_LAYER_INBOUND_IPPACKET_V4;
  // Inbound data starts after the IP header; the clone inherits the data start, and must begin at the header.
  const ipHeaderSize =
    inbound && FWPS_IS_METADATA_FIELD_PRESENT(inMetaValues, FWPS_METADATA_FIELD_IP_HEADER_SIZE)
      ? inMetaValues.ipHeaderSize
      : 0;
  const nb = NET_BUFFER_LIST_FIRST_NB(layerData)!;
  if (ipHeaderSize > 0 && NdisRetreatNetBufferDataStart(nb, ipHeaderSize, 0, null) !== NDIS_STATUS_SUCCESS) {
    freeSlots.push(packet);
    block(classifyOut, 'retreat-failed');
    return;
  }
  const status = FwpsAllocateCloneNetBufferList0(layerData, null, null, 0, cloneBox);
  if (ipHeaderSize > 0) NdisAdvanceNetBufferDataStart(nb, ipHeaderSize, false, null);
  if (!NT_SUCCESS(status)) {
    freeSlots.push(packet);
    block(classifyOut, 'clone-failed');
    return;
  }
  packet.clone = cloneBox.value;
  cloneBox.value = null;
  packet.direction = inbound ? FWP_DIRECTION_INBOUND : FWP_DIRECTION_OUTBOUND;
  packet.compartmentId = FWPS_IS_METADATA_FIELD_PRESENT(inMetaValues, FWPS_METADATA_FIELD_COMPARTMENT_ID)
    ? inMetaValues.compartmentId
    : UNSPECIFIED_COMPARTMENT_ID;
  if (inbound) {
    packet.interfaceIndex = inFixedValues.incomingValue[FWPS_FIELD_INBOUND_IPPACKET_V4_INTERFACE_INDEX]!.value.uint32;
    packet.subInterfaceIndex =
      inFixedValues.incomingValue[FWPS_FIELD_INBOUND_IPPACKET_V4_SUB_INTERFACE_INDEX]!.value.uint32;
  }
  // Keep the original alive after classify returns: the stack completes it only when the reference is dropped.
  FwpsReferenceNetBufferList0(layerData, true);
  packet.netBufferList = layerData;
  enqueue(packet);

  classifyOut.actionType = FWP_ACTION_BLOCK;
  classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  classifyOut.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
  inspectStats.absorbed++;
  KeInsertQueueDpc(inspectDpc, null, null);
}

function permit(filter: FWPS_FILTER0, classifyOut: FWPS_CLASSIFY_OUT0): void {
  classifyOut.actionType = FWP_ACTION_PERMIT;
  if ((filter.flags & FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0) classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
}

function block(classifyOut: FWPS_CLASSIFY_OUT0, reason: string): void {
  classifyOut.actionType = FWP_ACTION_BLOCK;
  classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  inspectStats.drop(reason);
}

function enqueue(packet: PendedPacket): void {
  packet.next = null;
  if (queueTail === null) queueHead = packet;
  else queueTail.next = packet;
  queueTail = packet;
}

/** The out-of-band worker: inspects and reinjects everything queued. Runs at DISPATCH_LEVEL. */
function InspectWorker(_dpc: KDPC, _context: unknown, _a1: unknown, _a2: unknown): void {
  while (queueHead !== null) {
    const packet = queueHead;
    queueHead = packet.next;
    if (queueHead === null) queueTail = null;
    packet.next = null;
    inspectAndReinject(packet);
  }
}

function inspectAndReinject(packet: PendedPacket): void {
  const clone = packet.clone!;
  if (isBlocked(NET_BUFFER_LIST_FIRST_NB(clone)!)) {
    finish(packet, 'inspection');
    return;
  }
  const status =
    packet.direction === FWP_DIRECTION_OUTBOUND
      ? FwpsInjectNetworkSendAsync0(
          injectionHandle,
          null,
          0,
          packet.compartmentId,
          clone,
          InspectInjectComplete,
          packet,
        )
      : FwpsInjectNetworkReceiveAsync0(
          injectionHandle,
          null,
          0,
          packet.compartmentId,
          packet.interfaceIndex,
          packet.subInterfaceIndex,
          clone,
          InspectInjectComplete,
          packet,
        );
  // A failed injection never completes: clean up here.
  if (!NT_SUCCESS(status)) finish(packet, 'inject-failed');
  else pendingInjections.started();
}

/** Reads the headers and applies the policy. The NET_BUFFER's data starts at the IP header. */
function isBlocked(nb: NET_BUFFER): boolean {
  const length = Math.min(NET_BUFFER_DATA_LENGTH(nb), INSPECT_BYTES);
  if (length < 20) return false;
  const at = NdisGetDataBuffer(nb, length, scratch, 1, 0);
  if (at === 0) return false;
  if (at !== scratch) RtlCopyMemory(scratch, at, length);
  const b = scratchView;
  const protocol = b[IPV4_PROTOCOL];
  if ((protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) || isLaterFragment(b)) return false;
  const ihl = ipv4HeaderLength(b);
  if (ihl + 4 > length) return false;
  return inspectPolicy.blockedPorts.has(read16(b, ihl + 2));
}

/** FWPS_INJECT_COMPLETE0: the clone has been through the stack; free it and let the original go. */
function InspectInjectComplete(context: unknown, netBufferList: NET_BUFFER_LIST, dispatchLevel: boolean): void {
  pendingInjections.completed();
  const packet = context as PendedPacket;
  const ok = NT_SUCCESS(netBufferList.Status);
  FwpsFreeCloneNetBufferList0(netBufferList, 0);
  FwpsDereferenceNetBufferList0(packet.netBufferList!, dispatchLevel);
  packet.netBufferList = packet.clone = null;
  freeSlots.push(packet);
  if (ok) inspectStats.reinjected++;
  else inspectStats.dropAbsorbed('inject-completed-with-error');
}

/** Ends an absorbed packet that will not be reinjected: frees the clone, drops the reference, counts the reason. */
function finish(packet: PendedPacket, reason: string): void {
  FwpsFreeCloneNetBufferList0(packet.clone!, 0);
  FwpsDereferenceNetBufferList0(packet.netBufferList!, true);
  packet.netBufferList = packet.clone = null;
  freeSlots.push(packet);
  inspectStats.dropAbsorbed(reason);
}

/** The sublayer, the two callouts and their filters; the engine handle and callout ids once registered. */
const inspectCallouts = new CalloutRegistration({
  sublayerKey: INSPECT_SUBLAYER,
  sublayerName: 'Inspect-reinject sublayer',
  sublayerWeight: 0x100,
  filterName: 'Inspect every packet',
  classifyFn: InspectClassify,
  callouts: [
    {
      calloutKey: INSPECT_OUTBOUND_CALLOUT,
      layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
      name: 'Inspect outbound IP packets',
    },
    {
      calloutKey: INSPECT_INBOUND_CALLOUT,
      layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4,
      name: 'Inspect inbound IP packets',
    },
  ],
});

/** DriverEntry: creates the device, the injection handle, registers and adds the callouts and their filters. */
export function DriverEntry(DriverObject: DRIVER_OBJECT, _RegistryPath: string): number {
  pendingInjections.reset();
  inspectStats.reset();
  unloading = false;
  queueHead = queueTail = null;
  freeSlots.length = 0;
  for (let i = 0; i < QUEUE_CAPACITY; i++) freeSlots.push(new PendedPacket());
  KeInitializeDpc(inspectDpc, InspectWorker, null);

  const deviceBox = { value: null as DEVICE_OBJECT | null };
  let status = IoCreateDevice(DriverObject, 0, null, FILE_DEVICE_NETWORK, FILE_DEVICE_SECURE_OPEN, false, deviceBox);
  if (!NT_SUCCESS(status)) return status;
  device = deviceBox.value;
  DriverObject.DriverUnload = DriverUnload;

  scratch = ExAllocatePoolWithTag(NonPagedPoolNx, INSPECT_BYTES, TAG);
  if (scratch === 0) {
    cleanup();
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  scratchView = bytesAt(scratch, INSPECT_BYTES);
  const injection = { value: null as unknown };
  status = FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, injection);
  if (!NT_SUCCESS(status)) {
    cleanup();
    return status;
  }
  injectionHandle = injection.value;

  status = RegisterCallouts(device, inspectCallouts);
  if (!NT_SUCCESS(status)) cleanup();
  return status;
}

/** DriverUnload: stops taking packets, lets every queued one finish, and releases everything. */
function DriverUnload(_DriverObject: DRIVER_OBJECT): void {
  unloading = true;
  cleanup();
}

function cleanup(): void {
  // Closing the dynamic session removes the filters, so classify stops; then the callouts can go.
  UnregisterCallouts(inspectCallouts);
  // Queued packets are inspected and injected; their completions free the clones and the references.
  KeFlushQueuedDpcs();
  pendingInjections.waitForAll();
  if (injectionHandle !== null) FwpsInjectionHandleDestroy0(injectionHandle);
  injectionHandle = null;
  scratchView = new Uint8Array(0);
  if (scratch !== 0) ExFreePoolWithTag(scratch, TAG);
  scratch = 0;
  if (device !== null) IoDeleteDevice(device);
  device = null;
}
