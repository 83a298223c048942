/**
 * divert: a divert-style WFP callout at the IPv4 IP-packet layers. Every packet it did not inject itself is
 * copied out (IP header first) into a pool buffer, blocked and absorbed. A DPC hands the copy to user code
 * — the handler set with {@link setDivertHandler} — and reinjects what the handler returns: the bytes go into
 * new pool memory, described by an MDL, wrapped in a new NET_BUFFER_LIST from
 * FwpsAllocateNetBufferAndNetBufferList0, and injected with FwpsInjectNetworkSendAsync0 or
 * FwpsInjectNetworkReceiveAsync0. The completion frees the list (FwpsFreeNetBufferList0), the MDL and the memory.
 * A handler that returns null drops the packet (counted as 'handler'). Packets that this or another callout
 * injected are let through, not diverted again. Every packet is accounted in `divertStats`.
 *
 * Load with `wdknet run <capture> --driver examples/divert.ts`.
 */
import {
  AF_INET,
  BugCheck,
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
  FWPS_PACKET_INJECTED_BY_OTHER,
  FWPS_PACKET_INJECTED_BY_SELF,
  FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF,
  FWPS_RIGHT_ACTION_WRITE,
  FwpsAllocateNetBufferAndNetBufferList0,
  FwpsFreeNetBufferList0,
  FwpsInjectionHandleCreate0,
  FwpsInjectionHandleDestroy0,
  FwpsInjectNetworkReceiveAsync0,
  FwpsInjectNetworkSendAsync0,
  FwpsQueryPacketInjectionState0,
  IoAllocateMdl,
  IoCreateDevice,
  IoDeleteDevice,
  IoFreeMdl,
  KDPC,
  KeFlushQueuedDpcs,
  KeInitializeDpc,
  KeInsertQueueDpc,
  type MDL,
  MmBuildMdlForNonPagedPool,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_PROTOCOL_ID_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_STATUS_SUCCESS,
  NdisAdvanceNetBufferDataStart,
  NdisAllocateNetBufferListPool,
  NdisFreeNetBufferListPool,
  NdisGetDataBuffer,
  NdisRetreatNetBufferDataStart,
  NET_BUFFER_DATA_LENGTH,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_FIRST_NB,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NonPagedPoolNx,
  NT_SUCCESS,
  poolTag,
  RtlCopyMemory,
  STATUS_INSUFFICIENT_RESOURCES,
  UNSPECIFIED_COMPARTMENT_ID,
} from 'wdknet/ddi';
import { PacketAccounting } from './lib/accounting.js';
import { CalloutRegistration, RegisterCallouts, UnregisterCallouts } from './lib/callouts.js';
import { PendingInjections } from './lib/injections.js';

/** Which way a diverted packet was going. */
export type DivertDirection = 'outbound' | 'inbound';
/**
 * User code: sees a packet's bytes (IP header first; the view is valid only during the call) and returns the
 * bytes to send on in its place (the same view, changed or not, or new bytes), or null to drop it.
 */
export type DivertHandler = (bytes: Uint8Array, direction: DivertDirection) => Uint8Array | null;

/** Key of the outbound IP-packet callout (made up for the example, as a driver generates its own). */
export const DIVERT_OUTBOUND_CALLOUT = '9d1f47a0-1b52-4c3e-8f0e-1d2c3b4a5f01';
/** Key of the inbound IP-packet callout. */
export const DIVERT_INBOUND_CALLOUT = '9d1f47a0-1b52-4c3e-8f0e-1d2c3b4a5f02';
/** Key of the driver's sublayer. */
export const DIVERT_SUBLAYER = '9d1f47a0-1b52-4c3e-8f0e-1d2c3b4a5f03';

/** Pool tag of the copies and the NBL pool ("Dvrt" in poolmon). */
const TAG = poolTag('trvD');
const QUEUE_CAPACITY = 1024;
/** Largest packet handed to user code (an IPv4 datagram). */
const MAX_PACKET = 65535;
/**
 * Unused space kept in front of every packet it builds: the new list's dataOffset (W-5, "the initial amount of
 * available backfill space"), so the stack can prepend its link-layer header without allocating an MDL. Set it
 * before DriverEntry runs; 0 makes the stack allocate an MDL to prepend (a case the tests run).
 */
export const divertOptions = { backfill: 64 };

/** Every packet, accounted for. */
export const divertStats = new PacketAccounting();
let handler: DivertHandler = (bytes) => bytes;

/** Sets the user code that sees every packet (the default passes each one on unchanged). */
export function setDivertHandler(fn: DivertHandler): void {
  handler = fn;
}

/** A packet copied out at classify and waiting for user code; then the injection it became. */
class DivertedPacket {
  /** The copy: pool memory with divertOptions.backfill unused bytes, then the packet's bytes, IP header first. */
  copy = 0;
  length = 0;
  direction = FWP_DIRECTION_OUTBOUND;
  compartmentId = UNSPECIFIED_COMPARTMENT_ID;
  interfaceIndex = 0;
  subInterfaceIndex = 0;
  /** What is being injected: the memory, its MDL, the list. */
  data = 0;
  mdl: MDL | null = null;
  next: DivertedPacket | null = null;
}

let device: DEVICE_OBJECT | null = null;
/** Injections accepted and not yet completed; DriverUnload waits for them (the completion is our code). */
const pendingInjections = new PendingInjections();
let injectionHandle: unknown = null;
let nblPool: ReturnType<typeof NdisAllocateNetBufferListPool> = null;
const divertDpc = new KDPC();
const freeSlots: DivertedPacket[] = [];
let queueHead: DivertedPacket | null = null;
let queueTail: DivertedPacket | null = null;
const nblBox: { value: NET_BUFFER_LIST | null } = { value: null };

/** classifyFn0 for both IP-packet layers. */
function DivertClassify(
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  filter: FWPS_FILTER0,
  _flowContext: number,
  classifyOut: FWPS_CLASSIFY_OUT0,
): void {
  if ((classifyOut.rights & FWPS_RIGHT_ACTION_WRITE) === 0 || layerData === null) return;
  divertStats.seen++;
  const state = FwpsQueryPacketInjectionState0(injectionHandle, layerData, null);
  // Its own packets come back through the layer and go on. So do packets another callout injected: they have
  // been through this layer once and user code saw them then; diverting them again would show it the same packet
  // twice, and two callouts that each reinject everything would hand packets to each other forever.
  if (
    state === FWPS_PACKET_INJECTED_BY_SELF ||
    state === FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF ||
    state === FWPS_PACKET_INJECTED_BY_OTHER
  ) {
    classifyOut.actionType = FWP_ACTION_PERMIT;
    if ((filter.flags & FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0) classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
    divertStats.passed++;
    return;
  }
  const inbound = inFixedValues.layerId === FWPS_LAYER_INBOUND_IPPACKET_V4;
  const packet = freeSlots.pop();
  if (packet === undefined) {
    block(classifyOut, 'queue-full');
    return;
  }

  // Inbound data starts after the IP header: step back to copy the whole datagram, then restore the offset.
  const nb = NET_BUFFER_LIST_FIRST_NB(layerData)!;
  const ipHeaderSize =
    inbound && FWPS_IS_METADATA_FIELD_PRESENT(inMetaValues, FWPS_METADATA_FIELD_IP_HEADER_SIZE)
      ? inMetaValues.ipHeaderSize
      : 0;
  if (ipHeaderSize > 0 && NdisRetreatNetBufferDataStart(nb, ipHeaderSize, 0, null) !== NDIS_STATUS_SUCCESS) {
    freeSlots.push(packet);
    block(classifyOut, 'retreat-failed');
    return;
  }
  const length = NET_BUFFER_DATA_LENGTH(nb);
  const copy =
    length > 0 && length <= MAX_PACKET
      ? ExAllocatePoolWithTag(NonPagedPoolNx, divertOptions.backfill + length, TAG)
      : 0;
  if (copy !== 0) {
    const at = NdisGetDataBuffer(nb, length, copy + divertOptions.backfill, 1, 0);
    if (at !== copy + divertOptions.backfill) RtlCopyMemory(copy + divertOptions.backfill, at, length);
  }
  if (ipHeaderSize > 0) NdisAdvanceNetBufferDataStart(nb, ipHeaderSize, false, null);
  if (copy === 0) {
    freeSlots.push(packet);
    block(classifyOut, length > MAX_PACKET ? 'too-large' : 'copy-alloc-failed');
    return;
  }

  packet.copy = copy;
  packet.length = length;
  packet.direction = inbound ? FWP_DIRECTION_INBOUND : FWP_DIRECTION_OUTBOUND;
  packet.compartmentId = FWPS_IS_METADATA_FIELD_PRESENT(inMetaValues, FWPS_METADATA_FIELD_COMPARTMENT_ID)
    ? inMetaValues.compartmentId
    : UNSPECIFIED_COMPARTMENT_ID;
  if (inbound) {
    packet.interfaceIndex = inFixedValues.incomingValue[FWPS_FIELD_INBOUND_IPPACKET_V4_INTERFACE_INDEX]!.value.uint32;
    packet.subInterfaceIndex =
      inFixedValues.incomingValue[FWPS_FIELD_INBOUND_IPPACKET_V4_SUB_INTERFACE_INDEX]!.value.uint32;
  }
  packet.next = null;
  if (queueTail === null) queueHead = packet;
  else queueTail.next = packet;
  queueTail = packet;

  // The original is no longer needed (we hold a copy): block it silently.
  classifyOut.actionType = FWP_ACTION_BLOCK;
  classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  classifyOut.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
  divertStats.absorbed++;
  KeInsertQueueDpc(divertDpc, null, null);
}

function block(classifyOut: FWPS_CLASSIFY_OUT0, reason: string): void {
  classifyOut.actionType = FWP_ACTION_BLOCK;
  classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  divertStats.drop(reason);
}

/** The DPC: hands each queued packet to user code and injects the result. */
function DivertWorker(_dpc: KDPC, _context: unknown, _a1: unknown, _a2: unknown): void {
  while (queueHead !== null) {
    const packet = queueHead;
    queueHead = packet.next;
    if (queueHead === null) queueTail = null;
    packet.next = null;
    deliver(packet);
  }
}

function deliver(packet: DivertedPacket): void {
  const view = bytesAt(packet.copy + divertOptions.backfill, packet.length);
  let out: Uint8Array | null;
  try {
    out = handler(view, packet.direction === FWP_DIRECTION_INBOUND ? 'inbound' : 'outbound');
  } catch (e) {
    if (e instanceof BugCheck) throw e; // a crash stays a crash
    out = null; // user code that throws loses its packet, not the machine
  }
  if (out === null || out.length === 0 || out.length > MAX_PACKET) {
    release(packet, out === null ? 'handler' : 'handler-bad-length');
    return;
  }
  // The copy itself can carry the result when user code handed back (part of) its own view.
  let data = packet.copy;
  if (!(out.buffer === view.buffer && out.byteOffset === view.byteOffset)) {
    data = ExAllocatePoolWithTag(NonPagedPoolNx, divertOptions.backfill + out.length, TAG);
    if (data === 0) {
      release(packet, 'data-alloc-failed');
      return;
    }
    bytesAt(data + divertOptions.backfill, out.length).set(out);
    ExFreePoolWithTag(packet.copy, TAG);
    packet.copy = 0;
  }
  packet.data = data;
  const mdl = IoAllocateMdl(data, divertOptions.backfill + out.length, false, false, null);
  if (mdl === null) {
    release(packet, 'mdl-alloc-failed');
    return;
  }
  MmBuildMdlForNonPagedPool(mdl);
  packet.mdl = mdl;
  const status = FwpsAllocateNetBufferAndNetBufferList0(nblPool, 0, 0, mdl, divertOptions.backfill, out.length, nblBox);
  if (!NT_SUCCESS(status)) {
    release(packet, 'nbl-alloc-failed');
    return;
  }
  const nbl = nblBox.value!;
  nblBox.value = null;
  const injected =
    packet.direction === FWP_DIRECTION_OUTBOUND
      ? FwpsInjectNetworkSendAsync0(injectionHandle, null, 0, packet.compartmentId, nbl, DivertInjectComplete, packet)
      : FwpsInjectNetworkReceiveAsync0(
          injectionHandle,
          null,
          0,
          packet.compartmentId,
          packet.interfaceIndex,
          packet.subInterfaceIndex,
          nbl,
          DivertInjectComplete,
          packet,
        );
  if (!NT_SUCCESS(injected)) {
    FwpsFreeNetBufferList0(nbl);
    release(packet, 'inject-failed');
  } else pendingInjections.started();
}

/** FWPS_INJECT_COMPLETE0: the stack is done with our list. */
function DivertInjectComplete(context: unknown, netBufferList: NET_BUFFER_LIST, _dispatchLevel: boolean): void {
  pendingInjections.completed();
  const packet = context as DivertedPacket;
  const ok = NT_SUCCESS(netBufferList.Status);
  FwpsFreeNetBufferList0(netBufferList);
  freePacket(packet);
  if (ok) divertStats.reinjected++;
  else divertStats.dropAbsorbed('inject-completed-with-error');
}

function release(packet: DivertedPacket, reason: string): void {
  freePacket(packet);
  divertStats.dropAbsorbed(reason);
}

function freePacket(packet: DivertedPacket): void {
  if (packet.mdl !== null) IoFreeMdl(packet.mdl);
  if (packet.data !== 0 && packet.data !== packet.copy) ExFreePoolWithTag(packet.data, TAG);
  if (packet.copy !== 0) ExFreePoolWithTag(packet.copy, TAG);
  packet.mdl = null;
  packet.data = packet.copy = 0;
  freeSlots.push(packet);
}

/** The sublayer, the two callouts and their filters; the engine handle and callout ids once registered. */
const divertCallouts = new CalloutRegistration({
  sublayerKey: DIVERT_SUBLAYER,
  sublayerName: 'Divert sublayer',
  sublayerWeight: 0x200,
  filterName: 'Divert every packet',
  classifyFn: DivertClassify,
  callouts: [
    {
      calloutKey: DIVERT_OUTBOUND_CALLOUT,
      layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
      name: 'Divert outbound IP packets',
    },
    { calloutKey: DIVERT_INBOUND_CALLOUT, layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4, name: 'Divert inbound IP packets' },
  ],
});

/** DriverEntry: device, NBL pool, injection handle, callouts and filters at both IP-packet layers. */
export function DriverEntry(DriverObject: DRIVER_OBJECT, _RegistryPath: string): number {
  pendingInjections.reset();
  divertStats.reset();
  queueHead = queueTail = null;
  freeSlots.length = 0;
  for (let i = 0; i < QUEUE_CAPACITY; i++) freeSlots.push(new DivertedPacket());
  KeInitializeDpc(divertDpc, DivertWorker, null);

  const deviceBox = { value: null as DEVICE_OBJECT | null };
  let status = IoCreateDevice(DriverObject, 0, null, FILE_DEVICE_NETWORK, FILE_DEVICE_SECURE_OPEN, false, deviceBox);
  if (!NT_SUCCESS(status)) return status;
  device = deviceBox.value;
  DriverObject.DriverUnload = DriverUnload;

  const params = new NET_BUFFER_LIST_POOL_PARAMETERS();
  params.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  params.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
  params.fAllocateNetBuffer = true; // FwpsAllocateNetBufferAndNetBufferList0 needs one NET_BUFFER with each list
  params.PoolTag = TAG;
  nblPool = NdisAllocateNetBufferListPool(null, params);
  if (nblPool === null) {
    cleanup();
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  const injection = { value: null as unknown };
  status = FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, injection);
  if (!NT_SUCCESS(status)) {
    cleanup();
    return status;
  }
  injectionHandle = injection.value;
  status = RegisterCallouts(device, divertCallouts);
  if (!NT_SUCCESS(status)) cleanup();
  return status;
}

function DriverUnload(_DriverObject: DRIVER_OBJECT): void {
  cleanup();
}

function cleanup(): void {
  // Closing the dynamic session removes the filters, so classify stops; then the callouts can go.
  UnregisterCallouts(divertCallouts);
  // Whatever is queued goes to user code and is injected; the completions return every list to the pool.
  KeFlushQueuedDpcs();
  pendingInjections.waitForAll();
  if (injectionHandle !== null) FwpsInjectionHandleDestroy0(injectionHandle);
  injectionHandle = null;
  if (nblPool !== null) NdisFreeNetBufferListPool(nblPool);
  nblPool = null;
  if (device !== null) IoDeleteDevice(device);
  device = null;
}
