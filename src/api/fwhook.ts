/**
 * The idiomatic API of the IP firewall hook: register a hook (through the same IOCTL a driver sends to
 * \Device\Ip), build and read IPRcvBuf chains, and run the hooks on a packet. The logic lives in src/fwhook.
 */

import {
  DD_IP_DEVICE_NAME,
  IOCTL_IP_SET_FIREWALL_HOOK,
  IP_SET_FIREWALL_HOOK_INFO,
  IPFreeBuff,
  type IPPacketFirewallPtr,
} from '../fwhook/index.js';
import { type DEVICE_OBJECT, IoGetDeviceObjectPointer, sendDeviceIoControl } from '../kernel/driver.js';
import { NT_SUCCESS, StatusError } from '../kernel/status.js';

export {
  buildRcvBufChain,
  buildRcvBufChainFromMdl,
  buildRcvBufChainFromMemory,
  copyRcvBufChain,
  copyRcvBufChainToMemory,
  type FirewallVerdict,
  FirewallViolation,
  firewallHooks,
  flattenRcvBufChain,
  rcvBufChainCount,
  rcvBufChainLength,
  runFirewallHooks,
} from '../fwhook/index.js';

function setHook(hook: IPPacketFirewallPtr, priority: number, add: boolean): void {
  const device = { value: null as DEVICE_OBJECT | null };
  let status = IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device);
  if (NT_SUCCESS(status)) {
    const info = new IP_SET_FIREWALL_HOOK_INFO(hook, priority, add);
    status = sendDeviceIoControl(device.value!, IOCTL_IP_SET_FIREWALL_HOOK, info, IP_SET_FIREWALL_HOOK_INFO.sizeof);
  }
  if (!NT_SUCCESS(status)) {
    throw new StatusError(status, `IOCTL_IP_SET_FIREWALL_HOOK (${add ? 'add' : 'remove'}) failed`);
  }
}

/** A registered firewall hook; `unregister()` removes it. */
export class FirewallHookRegistration {
  readonly hook: IPPacketFirewallPtr;
  readonly priority: number;
  private active = true;

  private constructor(hook: IPPacketFirewallPtr, priority: number) {
    this.hook = hook;
    this.priority = priority;
  }

  /**
   * Registers `hook` at `priority` (lower runs first on receive, last on transmit). Throws StatusError if it is
   * already registered or cannot be.
   */
  static register(hook: IPPacketFirewallPtr, priority = 0): FirewallHookRegistration {
    setHook(hook, priority, true);
    return new FirewallHookRegistration(hook, priority);
  }

  /** Removes the hook (once; later calls do nothing). */
  unregister(): void {
    if (!this.active) return;
    this.active = false;
    setHook(this.hook, this.priority, false);
  }
}

/** Frees an IPRcvBuf chain (every buffer and descriptor); 0 is ignored. */
export function freeRcvBufChain(head: number): void {
  if (head !== 0) IPFreeBuff(head);
}
