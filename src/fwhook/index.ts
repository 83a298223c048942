/**
 * The IP firewall hook: IPRcvBuf chains with IPAllocBuff / IPFreeBuff / FreeIprBuff, registration through
 * IOCTL_IP_SET_FIREWALL_HOOK on \Device\Ip, and the call that runs the hooks on a packet. Importing it creates
 * \Device\Ip (again after every resetSystem) and registers its reset and leak source.
 */
import { registerLeakSource } from '../kernel/leaks.js';
import { onSystemReady, onSystemReset } from '../kernel/system.js';
import { tagToString } from '../kernel/tags.js';
import { TAG_FIREWALL_HOOKS } from './constants.js';
import { createIpDevice, firewallHookPriorities, firewallHooks, resetFirewallHooks } from './registry.js';

export * from './chain.js';
export * from './constants.js';
export * from './iprcvbuf.js';
export * from './registry.js';
export * from './run.js';

onSystemReset(resetFirewallHooks);
onSystemReady(createIpDevice);

registerLeakSource('fwhook', () =>
  firewallHooks().map((hook, i) => ({
    kind: 'firewall hook',
    tag: tagToString(TAG_FIREWALL_HOOKS),
    size: 32,
    owner: `hook ${hook.name || '(anonymous)'} registered with IOCTL_IP_SET_FIREWALL_HOOK`,
    site: undefined,
    detail: `priority ${firewallHookPriorities()[i]}; remove it with Add = FALSE before unloading`,
  })),
);
