/**
 * Registering firewall hooks, as drivers did it: IOCTL_IP_SET_FIREWALL_HOOK sent to \Device\Ip with an
 * IP_SET_FIREWALL_HOOK_INFO { FirewallPtr, Priority, Add }.
 *
 * As in TCP/IP, the hooks form one queue ordered by Priority, lowest value first; a hook added with a Priority
 * equal to others goes after them. The receive path calls the queue from the front, the transmit path from the
 * rear. Adding a hook that is already registered, or removing one that is not, fails (STATUS_UNSUCCESSFUL). Every
 * update builds a new array (so a run in progress keeps the queue it started with) charged to the pool under
 * 'mICT', sizeof(FIREWALL_HOOK) = 32 bytes per hook, as TCP/IP allocated it; when that allocation fails the
 * IOCTL fails with STATUS_UNSUCCESSFUL too.
 */
import { createSystemDevice, type DEVICE_OBJECT, type DeviceIoControlRequest } from '../kernel/driver.js';
import { poolCharge, poolRelease } from '../kernel/pool.js';
import {
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_INVALID_PARAMETER,
  STATUS_SUCCESS,
  STATUS_UNSUCCESSFUL,
} from '../kernel/status.js';
import { DD_IP_DEVICE_NAME, IOCTL_IP_SET_FIREWALL_HOOK, IP_TRANSMIT, TAG_FIREWALL_HOOKS } from './constants.js';

/**
 * FIREWALL_CONTEXT_T: what a hook learns about the packet's path. NTE and LinkCtxt are the IP layer's opaque
 * pointers (addresses); LContext1 is an NDIS_HANDLE.
 */
export class FIREWALL_CONTEXT_T {
  /** sizeof(FIREWALL_CONTEXT_T) on x64: the ContextLength a hook receives. */
  static readonly sizeof = 40;
  /** IP_TRANSMIT or IP_RECEIVE. */
  Direction: number = IP_TRANSMIT;
  /** The net table entry (local address) the packet arrived on or leaves from. */
  NTE = 0;
  /** The link (next hop on a point-to-multipoint interface), or 0. */
  LinkCtxt = 0;
  LContext1: unknown = null;
  LContext2 = 0;

  constructor(Direction: number = IP_TRANSMIT, NTE = 0, LinkCtxt = 0) {
    this.Direction = Direction;
    this.NTE = NTE;
    this.LinkCtxt = LinkCtxt;
  }
}

/**
 * IPPacketFirewallPtr: a firewall hook. `pData.value` is the packet, an IPRcvBuf chain (address); the hook may
 * change it in place or replace it. To hand back a new chain it built (IPAllocBuff), it stores the head in
 * `ppRcvBuf.value` (0 before the call). It may change `pSendInterfaceIndex.value` and `pDestinationType.value`
 * (DEST_INVALID: the destination address was rewritten). It returns a FORWARD_ACTION. Called at DISPATCH_LEVEL.
 */
export type IPPacketFirewallPtr = (
  pData: { value: number },
  RecvInterfaceIndex: number,
  pSendInterfaceIndex: { value: number },
  pDestinationType: { value: number },
  pContext: FIREWALL_CONTEXT_T,
  ContextLength: number,
  ppRcvBuf: { value: number },
) => number;

/** IP_SET_FIREWALL_HOOK_INFO: the input buffer of IOCTL_IP_SET_FIREWALL_HOOK. */
export class IP_SET_FIREWALL_HOOK_INFO {
  /** sizeof(IP_SET_FIREWALL_HOOK_INFO) on x64: the InputBufferLength to send. */
  static readonly sizeof = 16;
  FirewallPtr: IPPacketFirewallPtr | null;
  /** The hook's place in the queue: lower values are called first on receive (last on transmit). */
  Priority: number;
  /** TRUE to add the hook, FALSE to remove it. */
  Add: boolean;

  constructor(FirewallPtr: IPPacketFirewallPtr | null = null, Priority = 0, Add = false) {
    this.FirewallPtr = FirewallPtr;
    this.Priority = Priority;
    this.Add = Add;
  }
}

/** sizeof(FIREWALL_HOOK) on x64: queue links (16), the pointer (8), the priority (4, padded). */
const SIZEOF_FIREWALL_HOOK = 32;

/** The registered hooks, in queue order, and their priorities. Replaced (never changed) on every update. */
let hooks: readonly IPPacketFirewallPtr[] = [];
let priorities: readonly number[] = [];
let chargedBytes = 0;
let ipDevice: DEVICE_OBJECT | null = null;

/** The registered hooks in queue order (front first). */
export function firewallHooks(): readonly IPPacketFirewallPtr[] {
  return hooks;
}

/**
 * True when at least one hook is registered: the IP layer tests this on every packet before it calls its hook
 * binding, which with no hook would only answer that there is none (a closure call V8 does not always inline).
 */
export function firewallHooksRegistered(): boolean {
  return hooks.length !== 0;
}

/** The priorities of the registered hooks, in queue order. */
export function firewallHookPriorities(): readonly number[] {
  return priorities;
}

/** Adds or removes a hook (TCP/IP's UpdateFirewallQ). Returns an NTSTATUS. */
function updateFirewallQ(FirewallPtr: IPPacketFirewallPtr, Add: boolean, Priority: number): number {
  const index = hooks.indexOf(FirewallPtr);
  let nextHooks: IPPacketFirewallPtr[];
  let nextPriorities: number[];
  if (Add) {
    if (index >= 0) return STATUS_UNSUCCESSFUL;
    let at = hooks.length;
    for (let i = 0; i < priorities.length; i++) {
      if (Priority < priorities[i]!) {
        at = i;
        break;
      }
    }
    nextHooks = [...hooks.slice(0, at), FirewallPtr, ...hooks.slice(at)];
    nextPriorities = [...priorities.slice(0, at), Priority, ...priorities.slice(at)];
  } else {
    if (index < 0) return STATUS_UNSUCCESSFUL;
    nextHooks = hooks.filter((_, i) => i !== index);
    nextPriorities = priorities.filter((_, i) => i !== index);
  }
  const bytes = nextHooks.length * SIZEOF_FIREWALL_HOOK;
  if (bytes > 0 && !poolCharge(TAG_FIREWALL_HOOKS, bytes, 'IOCTL_IP_SET_FIREWALL_HOOK')) return STATUS_UNSUCCESSFUL;
  if (chargedBytes > 0) poolRelease(TAG_FIREWALL_HOOKS, chargedBytes);
  chargedBytes = bytes;
  hooks = nextHooks;
  priorities = nextPriorities;
  return STATUS_SUCCESS;
}

/**
 * \Device\Ip's device control. IOCTL_IP_SET_FIREWALL_HOOK needs an input buffer of at least
 * sizeof(IP_SET_FIREWALL_HOOK_INFO) (else STATUS_INVALID_PARAMETER, as TCP/IP answered). Decided here: a
 * FirewallPtr that is not a function is refused with STATUS_INVALID_PARAMETER (TCP/IP stored it and crashed on
 * the next packet). Any other control code is STATUS_INVALID_DEVICE_REQUEST. Requests come from kernel mode
 * (TCP/IP refused user-mode requestors with STATUS_ACCESS_DENIED; wdknet has no user mode).
 */
export function ipDeviceControl(request: DeviceIoControlRequest): number {
  if (request.IoControlCode !== IOCTL_IP_SET_FIREWALL_HOOK) return STATUS_INVALID_DEVICE_REQUEST;
  const info = request.InputBuffer as Partial<IP_SET_FIREWALL_HOOK_INFO> | null;
  if (
    typeof info !== 'object' ||
    info === null ||
    !(request.InputBufferLength >= IP_SET_FIREWALL_HOOK_INFO.sizeof) ||
    typeof info.FirewallPtr !== 'function'
  ) {
    return STATUS_INVALID_PARAMETER;
  }
  return updateFirewallQ(info.FirewallPtr, info.Add === true, Number(info.Priority ?? 0) >>> 0);
}

/** \Device\Ip, which wdknet provides (created on load and after every resetSystem). */
export function ipDeviceObject(): DEVICE_OBJECT | null {
  return ipDevice;
}

/** Creates \Device\Ip (run once the machine is clean). */
export function createIpDevice(): void {
  ipDevice = createSystemDevice(DD_IP_DEVICE_NAME, ipDeviceControl);
}

/** Forgets every registration (part of resetSystem; the pool charge goes with the pool's reset). */
export function resetFirewallHooks(): void {
  hooks = [];
  priorities = [];
  chargedBytes = 0;
  ipDevice = null;
}
