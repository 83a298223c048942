/**
 * udp-redirect: a WFP callout driver that redirects UDP, in the manner of the Windows-driver-samples "ddproxy"
 * sample, at the IPv4 IP-packet layers. Outbound datagrams to `from` (address and port) are cloned, their
 * destination rewritten to `to`, checksums fixed, and the clone sent with FwpsInjectNetworkSendAsync0; the
 * original is blocked and absorbed. Inbound replies from `to` are cloned, their source rewritten back to `from`,
 * and indicated with FwpsInjectNetworkReceiveAsync0, so the application sees the peer it talked to. The injection
 * completion frees the clone (FwpsFreeCloneNetBufferList0). Every packet is accounted in `redirectStats`.
 *
 * DriverEntry reads the redirection from the driver's Parameters registry key (ZwOpenKey on
 * RegistryPath\Parameters, ZwQueryValueKey for each value): FromAddress and ToAddress (REG_SZ, dotted IPv4),
 * FromPort and ToPort (REG_DWORD). A value that is absent keeps its current setting, the one
 * {@link configureRedirect} made (code callers may still use it) or none. From the command line:
 *
 *   wdknet run capture.pcap --driver examples/udp-redirect.ts \
 *     --param udp-redirect:FromAddress=8.8.8.8 --param udp-redirect:FromPort=dword:53 \
 *     --param udp-redirect:ToAddress=10.53.0.1 --param udp-redirect:ToPort=dword:5353
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
  FwpsFreeCloneNetBufferList0,
  FwpsInjectionHandleCreate0,
  FwpsInjectionHandleDestroy0,
  FwpsInjectNetworkReceiveAsync0,
  FwpsInjectNetworkSendAsync0,
  FwpsQueryPacketInjectionState0,
  InitializeObjectAttributes,
  IoCreateDevice,
  IoDeleteDevice,
  KEY_READ,
  KEY_VALUE_PARTIAL_INFORMATION,
  KeFlushQueuedDpcs,
  KeyValuePartialInformation,
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
  OBJ_CASE_INSENSITIVE,
  OBJ_KERNEL_HANDLE,
  OBJECT_ATTRIBUTES,
  PagedPool,
  poolTag,
  REG_DWORD,
  REG_SZ,
  RTL_CONSTANT_STRING,
  RtlCopyMemory,
  RtlInitUnicodeString,
  STATUS_BUFFER_OVERFLOW,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_OBJECT_TYPE_MISMATCH,
  STATUS_SUCCESS,
  UNICODE_STRING,
  UNSPECIFIED_COMPARTMENT_ID,
  ZwClose,
  ZwOpenKey,
  ZwQueryValueKey,
} from 'wdknet/ddi';
import { PacketAccounting } from './lib/accounting.js';
import { CalloutRegistration, RegisterCallouts, UnregisterCallouts } from './lib/callouts.js';
import {
  fixIpv4Checksum,
  IPPROTO_UDP,
  IPV4_DESTINATION,
  IPV4_MIN_HEADER,
  IPV4_PROTOCOL,
  IPV4_SOURCE,
  ipv4HeaderLength,
  isLaterFragment,
  L4_DESTINATION_PORT,
  L4_SOURCE_PORT,
  read16,
  read32,
  rewriteAddressAndPort,
  UDP_CHECKSUM,
  UDP_HEADER,
} from './lib/inet.js';
import { PendingInjections } from './lib/injections.js';

/** Key of the outbound IP-packet callout (made up for the example, as a driver generates its own). */
export const REDIRECT_OUTBOUND_CALLOUT = '3b7c2e91-5d4a-4f6b-b8e2-7a1c9d0e4f01';
/** Key of the inbound IP-packet callout. */
export const REDIRECT_INBOUND_CALLOUT = '3b7c2e91-5d4a-4f6b-b8e2-7a1c9d0e4f02';
/** Key of the driver's sublayer. */
export const REDIRECT_SUBLAYER = '3b7c2e91-5d4a-4f6b-b8e2-7a1c9d0e4f03';

/** Pool tag ("Rdir" in poolmon). */
const TAG = poolTag('ridR');
/** Headers read to decide: a maximal IPv4 header and a UDP header. */
const HEADER_BYTES = 60 + UDP_HEADER;

/** Where UDP to `fromAddress:fromPort` goes instead (addresses as 32-bit numbers, a.b.c.d = a<<24|...). */
export const redirectConfig = { fromAddress: 0, fromPort: 0, toAddress: 0, toPort: 0 };
/** Every packet, accounted for. */
export const redirectStats = new PacketAccounting();

/** Sets the redirection for code callers (before DriverEntry; values in the Parameters key take precedence). */
export function configureRedirect(fromAddress: number, fromPort: number, toAddress: number, toPort: number): void {
  redirectConfig.fromAddress = fromAddress >>> 0;
  redirectConfig.fromPort = fromPort;
  redirectConfig.toAddress = toAddress >>> 0;
  redirectConfig.toPort = toPort;
}

let device: DEVICE_OBJECT | null = null;
/** Injections accepted and not yet completed; DriverUnload waits for them (the completion is our code). */
const pendingInjections = new PendingInjections();
let injectionHandle: unknown = null;
let scratch = 0;
/** A view of `scratch`, made once when it is allocated: headers are read and rewritten there, no view per packet. */
let scratchView: Uint8Array = new Uint8Array(0);
const cloneBox: { value: NET_BUFFER_LIST | null } = { value: null };

/** What classify decided about a packet's headers (kept in module state: no object per packet). */
const MATCH_NONE = 0;
const MATCH_OUTBOUND = 1;
const MATCH_INBOUND = 2;
/** IP header length of the packet classifyHeaders last matched. */
let matchedHeaderLength = 0;

/** Reads the IPv4 and UDP headers at the start of `nb`'s data and says whether this driver rewrites it. */
function classifyHeaders(nb: NET_BUFFER, inbound: boolean): number {
  const available = Math.min(NET_BUFFER_DATA_LENGTH(nb), HEADER_BYTES);
  if (available < IPV4_MIN_HEADER + UDP_HEADER) return MATCH_NONE;
  const at = NdisGetDataBuffer(nb, available, scratch, 1, 0);
  if (at === 0) return MATCH_NONE;
  if (at !== scratch) RtlCopyMemory(scratch, at, available);
  const b = scratchView;
  if (b[0]! >>> 4 !== 4 || b[IPV4_PROTOCOL] !== IPPROTO_UDP || isLaterFragment(b)) return MATCH_NONE;
  const ihl = ipv4HeaderLength(b);
  if (ihl < IPV4_MIN_HEADER || ihl + UDP_HEADER > available) return MATCH_NONE;
  const c = redirectConfig;
  matchedHeaderLength = ihl;
  if (!inbound) {
    return read32(b, IPV4_DESTINATION) === c.fromAddress && read16(b, ihl + L4_DESTINATION_PORT) === c.fromPort
      ? MATCH_OUTBOUND
      : MATCH_NONE;
  }
  return read32(b, IPV4_SOURCE) === c.toAddress && read16(b, ihl + L4_SOURCE_PORT) === c.toPort
    ? MATCH_INBOUND
    : MATCH_NONE;
}

/** classifyFn0 for both IP-packet layers. */
function RedirectClassify(
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  filter: FWPS_FILTER0,
  _flowContext: number,
  classifyOut: FWPS_CLASSIFY_OUT0,
): void {
  if ((classifyOut.rights & FWPS_RIGHT_ACTION_WRITE) === 0 || layerData === null) return;
  redirectStats.seen++;
  const state = FwpsQueryPacketInjectionState0(injectionHandle, layerData, null);
  if (state === FWPS_PACKET_INJECTED_BY_SELF || state === FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
    permit(filter, classifyOut);
    return;
  }
  const inbound = inFixedValues.layerId === FWPS_LAYER_INBOUND_IPPACKET_V4;
  const nb = NET_BUFFER_LIST_FIRST_NB(layerData)!;
  // Inbound data starts after the IP header: step back over it to see it (and so the clone starts there too).
  const ipHeaderSize =
    inbound && FWPS_IS_METADATA_FIELD_PRESENT(inMetaValues, FWPS_METADATA_FIELD_IP_HEADER_SIZE)
      ? inMetaValues.ipHeaderSize
      : 0;
  if (ipHeaderSize > 0 && NdisRetreatNetBufferDataStart(nb, ipHeaderSize, 0, null) !== NDIS_STATUS_SUCCESS) {
    // Not knowing whether it is ours, let it pass as the stack would without us.
    permit(filter, classifyOut);
    return;
  }
  const match = classifyHeaders(nb, inbound);
  let status = STATUS_SUCCESS;
  if (match !== MATCH_NONE) status = FwpsAllocateCloneNetBufferList0(layerData, null, null, 0, cloneBox);
  if (ipHeaderSize > 0) NdisAdvanceNetBufferDataStart(nb, ipHeaderSize, false, null);
  if (match === MATCH_NONE) {
    permit(filter, classifyOut);
    return;
  }
  if (!NT_SUCCESS(status)) {
    block(classifyOut, 'clone-failed');
    return;
  }

  const clone = cloneBox.value!;
  cloneBox.value = null;
  const cloneNb = NET_BUFFER_LIST_FIRST_NB(clone)!;
  // The clone shares the original's data, which is ours to change: the original is absorbed below.
  const headerLength = matchedHeaderLength;
  const headerBytes = headerLength + UDP_HEADER;
  // Where the headers are, in place (NULL Storage): they are changed in the scratch copy and written back there.
  const at = NdisGetDataBuffer(cloneNb, headerBytes, 0, 1, 0);
  if (at === 0) {
    FwpsFreeCloneNetBufferList0(clone, 0);
    block(classifyOut, 'headers-not-contiguous');
    return;
  }
  RtlCopyMemory(scratch, at, headerBytes);
  const b = scratchView;
  const c = redirectConfig;
  const checksumAt = headerLength + UDP_CHECKSUM;
  if (match === MATCH_OUTBOUND) {
    rewriteAddressAndPort(
      b,
      IPV4_DESTINATION,
      c.toAddress,
      headerLength + L4_DESTINATION_PORT,
      c.toPort,
      checksumAt,
      true,
    );
  } else {
    rewriteAddressAndPort(b, IPV4_SOURCE, c.fromAddress, headerLength + L4_SOURCE_PORT, c.fromPort, checksumAt, true);
  }
  fixIpv4Checksum(b);
  RtlCopyMemory(at, scratch, headerBytes);

  const compartmentId = FWPS_IS_METADATA_FIELD_PRESENT(inMetaValues, FWPS_METADATA_FIELD_COMPARTMENT_ID)
    ? inMetaValues.compartmentId
    : UNSPECIFIED_COMPARTMENT_ID;
  status =
    match === MATCH_OUTBOUND
      ? FwpsInjectNetworkSendAsync0(injectionHandle, null, 0, compartmentId, clone, RedirectInjectComplete, null)
      : FwpsInjectNetworkReceiveAsync0(
          injectionHandle,
          null,
          0,
          compartmentId,
          inFixedValues.incomingValue[FWPS_FIELD_INBOUND_IPPACKET_V4_INTERFACE_INDEX]!.value.uint32,
          inFixedValues.incomingValue[FWPS_FIELD_INBOUND_IPPACKET_V4_SUB_INTERFACE_INDEX]!.value.uint32,
          clone,
          RedirectInjectComplete,
          null,
        );
  if (!NT_SUCCESS(status)) {
    FwpsFreeCloneNetBufferList0(clone, 0);
    block(classifyOut, 'inject-failed');
    return;
  }
  pendingInjections.started();
  classifyOut.actionType = FWP_ACTION_BLOCK;
  classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  classifyOut.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
  redirectStats.absorbed++;
}

function permit(filter: FWPS_FILTER0, classifyOut: FWPS_CLASSIFY_OUT0): void {
  classifyOut.actionType = FWP_ACTION_PERMIT;
  if ((filter.flags & FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0) classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  redirectStats.passed++;
}

function block(classifyOut: FWPS_CLASSIFY_OUT0, reason: string): void {
  classifyOut.actionType = FWP_ACTION_BLOCK;
  classifyOut.rights &= ~FWPS_RIGHT_ACTION_WRITE;
  redirectStats.drop(reason);
}

/** FWPS_INJECT_COMPLETE0: the rewritten clone has been through the stack. */
function RedirectInjectComplete(_context: unknown, netBufferList: NET_BUFFER_LIST, _dispatchLevel: boolean): void {
  pendingInjections.completed();
  const ok = NT_SUCCESS(netBufferList.Status);
  FwpsFreeCloneNetBufferList0(netBufferList, 0);
  if (ok) redirectStats.reinjected++;
  else redirectStats.dropAbsorbed('inject-completed-with-error');
}

/** The sublayer, the two callouts and their filters; the engine handle and callout ids once registered. */
const redirectCallouts = new CalloutRegistration({
  sublayerKey: REDIRECT_SUBLAYER,
  sublayerName: 'UDP redirect sublayer',
  sublayerWeight: 0x300,
  filterName: 'UDP redirect',
  classifyFn: RedirectClassify,
  callouts: [
    {
      calloutKey: REDIRECT_OUTBOUND_CALLOUT,
      layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
      name: 'UDP redirect: requests',
    },
    { calloutKey: REDIRECT_INBOUND_CALLOUT, layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4, name: 'UDP redirect: replies' },
  ],
});

/** Room for a KEY_VALUE_PARTIAL_INFORMATION holding the longest value read ("255.255.255.255" and its NUL). */
const VALUE_BUFFER = KEY_VALUE_PARTIAL_INFORMATION.sizeof + 32;

/**
 * Reads one value of the Parameters key into `info`: STATUS_SUCCESS with its type and data there,
 * STATUS_OBJECT_NAME_NOT_FOUND when it is not set, or the failure (a value too long for the buffer is invalid).
 */
function queryValue(key: number, name: string, info: number): number {
  const resultLength = { value: 0 };
  const status = ZwQueryValueKey(
    key,
    RTL_CONSTANT_STRING(name),
    KeyValuePartialInformation,
    info,
    VALUE_BUFFER,
    resultLength,
  );
  // Longer than any valid value: the data did not fit (STATUS_BUFFER_OVERFLOW).
  return status === STATUS_BUFFER_OVERFLOW ? STATUS_INVALID_PARAMETER : status;
}

/** An IPv4 address value (REG_SZ "a.b.c.d") as a number, or a failing status (as a negative number). */
function readAddress(key: number, name: string, info: number, current: number): number {
  const status = queryValue(key, name, info);
  if (status === STATUS_OBJECT_NAME_NOT_FOUND) return current;
  if (!NT_SUCCESS(status)) return status;
  const value = new KEY_VALUE_PARTIAL_INFORMATION(info);
  if (value.Type !== REG_SZ) return STATUS_OBJECT_TYPE_MISMATCH;
  const chars = bytesAt(value.Data, value.DataLength);
  let text = '';
  for (let i = 0; i + 1 < chars.length; i += 2) {
    const c = chars[i]! | (chars[i + 1]! << 8);
    if (c === 0) break;
    text += String.fromCharCode(c);
  }
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return STATUS_INVALID_PARAMETER;
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}

/** A port value (REG_DWORD, 1 to 65535), or a failing status. */
function readPort(key: number, name: string, info: number, current: number): number {
  const status = queryValue(key, name, info);
  if (status === STATUS_OBJECT_NAME_NOT_FOUND) return current;
  if (!NT_SUCCESS(status)) return status;
  const value = new KEY_VALUE_PARTIAL_INFORMATION(info);
  if (value.Type !== REG_DWORD || value.DataLength !== 4) return STATUS_OBJECT_TYPE_MISMATCH;
  const b = bytesAt(value.Data, 4);
  const port = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  return port >= 1 && port <= 0xffff ? port : STATUS_INVALID_PARAMETER;
}

/**
 * Reads the redirection from RegistryPath\Parameters. No key leaves the configuration as it is; a value of the
 * wrong type or out of range fails DriverEntry with that status, and nothing changes.
 */
function readParameters(RegistryPath: string): number {
  const keyName = new UNICODE_STRING();
  RtlInitUnicodeString(keyName, `${RegistryPath}\\Parameters`);
  const attributes = new OBJECT_ATTRIBUTES();
  InitializeObjectAttributes(attributes, keyName, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, null, null);
  const key = { value: 0 };
  const status = ZwOpenKey(key, KEY_READ, attributes);
  if (status === STATUS_OBJECT_NAME_NOT_FOUND) return STATUS_SUCCESS;
  if (!NT_SUCCESS(status)) return status;
  const info = ExAllocatePoolWithTag(PagedPool, VALUE_BUFFER, TAG);
  if (info === 0) {
    ZwClose(key.value);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  const c = redirectConfig;
  // Addresses are 0..0xFFFFFFFF and ports 1..65535; every failing status is negative.
  const read = [
    readAddress(key.value, 'FromAddress', info, c.fromAddress),
    readPort(key.value, 'FromPort', info, c.fromPort),
    readAddress(key.value, 'ToAddress', info, c.toAddress),
    readPort(key.value, 'ToPort', info, c.toPort),
  ];
  ExFreePoolWithTag(info, TAG);
  ZwClose(key.value);
  const failed = read.find((v) => v < 0);
  if (failed !== undefined) return failed;
  configureRedirect(read[0]!, read[1]!, read[2]!, read[3]!);
  return STATUS_SUCCESS;
}

/** DriverEntry: the Parameters key, then device, scratch buffer, injection handle, callouts and filters. */
export function DriverEntry(DriverObject: DRIVER_OBJECT, RegistryPath: string): number {
  pendingInjections.reset();
  redirectStats.reset();
  const configured = readParameters(RegistryPath);
  if (!NT_SUCCESS(configured)) return configured;
  const deviceBox = { value: null as DEVICE_OBJECT | null };
  let status = IoCreateDevice(DriverObject, 0, null, FILE_DEVICE_NETWORK, FILE_DEVICE_SECURE_OPEN, false, deviceBox);
  if (!NT_SUCCESS(status)) return status;
  device = deviceBox.value;
  DriverObject.DriverUnload = DriverUnload;
  scratch = ExAllocatePoolWithTag(NonPagedPoolNx, HEADER_BYTES, TAG);
  if (scratch === 0) {
    cleanup();
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  scratchView = bytesAt(scratch, HEADER_BYTES);
  const injection = { value: null as unknown };
  status = FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, injection);
  if (!NT_SUCCESS(status)) {
    cleanup();
    return status;
  }
  injectionHandle = injection.value;
  status = RegisterCallouts(device, redirectCallouts);
  if (!NT_SUCCESS(status)) cleanup();
  return status;
}

function DriverUnload(_DriverObject: DRIVER_OBJECT): void {
  cleanup();
}

function cleanup(): void {
  // Closing the dynamic session removes the filters, so classify stops; then the callouts can go.
  UnregisterCallouts(redirectCallouts);
  // Injections still in flight complete (and free their clones) before the handle goes.
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
