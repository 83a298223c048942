/**
 * Running the registered firewall hooks on a packet: what TCP/IP did on receive and transmit, and what the
 * host's IP layer calls.
 *
 * Each hook gets the packet as an IPRcvBuf chain through `pData`, with `ppRcvBuf` set to NULL before the call.
 * Ownership, as TCP/IP handled it:
 * - DROP (and ICMP_ON_DROP, after which the IP layer may send an ICMP error): the IP layer frees the packet
 *   (`*pData`, if not NULL) and any replacement the hook handed back, with IPFreeBuff. Nothing else runs.
 * - FORWARD with a replacement in `*ppRcvBuf`: the IP layer frees the chain it passed (`*pData`, if not NULL)
 *   with IPFreeBuff and carries on with the replacement, which is now the IP layer's to free; later hooks see it.
 * - FORWARD without a replacement: the packet (possibly changed in place) goes on to the next hook.
 * After the last FORWARD the chain belongs to the caller of runFirewallHooks, who frees it with IPFreeBuff once
 * the packet is delivered or sent. A hook never frees the chain it was given, except by setting `*pData` to
 * NULL after freeing it itself.
 */
import { DISPATCH_LEVEL, KeGetCurrentIrql, KeLowerIrql, KeRaiseIrql, requireIrqlAtMost } from '../kernel/irql.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { buildRcvBufChain } from './chain.js';
import { DROP, FirewallViolation, FORWARD, firewallViolation, ICMP_ON_DROP, IP_TRANSMIT } from './constants.js';
import { IPFreeBuff, IRQL_FIREWALL_RULE } from './iprcvbuf.js';
import { FIREWALL_CONTEXT_T, firewallHooks } from './registry.js';

/**
 * The outcome of {@link runFirewallHooks}. The same object is reused by every (outermost) call: read it before
 * the next.
 */
export interface FirewallVerdict {
  /** FORWARD, DROP or ICMP_ON_DROP. */
  action: number;
  /** On FORWARD, the chain to deliver or send (the caller frees it with IPFreeBuff); 0 otherwise. */
  chain: number;
  /** The send interface index after the hooks (they may change it). */
  sendInterfaceIndex: number;
  /** The destination type after the hooks (DEST_INVALID: a hook rewrote the destination address). */
  destinationType: number;
  /** How many hooks ran. */
  hooksCalled: number;
  /** True when some hook replaced the chain (the caller should recompute lengths and the header pointer). */
  bufferChanged: boolean;
}

/** The out boxes and the verdict one run uses; the outermost run reuses one set, a nested run makes its own. */
class RunState {
  readonly verdict: FirewallVerdict = {
    action: FORWARD,
    chain: 0,
    sendInterfaceIndex: 0,
    destinationType: 0,
    hooksCalled: 0,
    bufferChanged: false,
  };
  readonly pData = { value: 0 };
  readonly pSendInterfaceIndex = { value: 0 };
  readonly pDestinationType = { value: 0 };
  readonly ppRcvBuf = { value: 0 };
  readonly oldIrql = { value: 0 };
}

const shared = new RunState();
/** Runs in progress (a hook may run the hooks again, e.g. for a packet it injects). */
let depth = 0;

/**
 * Runs every registered firewall hook on a packet, as TCP/IP did: on receive (Context.Direction IP_RECEIVE) from
 * the front of the queue (lowest Priority first), on transmit from the rear; the first DROP or ICMP_ON_DROP
 * ends it. `packet` is an IPRcvBuf chain (the caller's, whose ownership passes to this call) or the packet's
 * bytes (a chain is built from them; if pool memory runs out the packet is dropped). Hooks run at
 * DISPATCH_LEVEL (raised from below if need be). Under the verifier a hook returning something that is not a
 * FORWARD_ACTION, or forwarding with no packet left, is reported. Makes no JavaScript objects in steady state.
 */
export function runFirewallHooks(
  packet: number | Uint8Array,
  RecvInterfaceIndex: number,
  SendInterfaceIndex: number,
  DestinationType: number,
  Context: FIREWALL_CONTEXT_T,
): FirewallVerdict {
  requireIrqlAtMost(DISPATCH_LEVEL, 'runFirewallHooks', IRQL_FIREWALL_RULE);
  const state = depth === 0 ? shared : new RunState();
  const { verdict, pData, pSendInterfaceIndex, pDestinationType, ppRcvBuf } = state;
  let chain = typeof packet === 'number' ? packet : buildRcvBufChain(packet);
  verdict.hooksCalled = 0;
  verdict.bufferChanged = false;
  verdict.sendInterfaceIndex = SendInterfaceIndex;
  verdict.destinationType = DestinationType;
  if (chain === 0) {
    verdict.action = DROP;
    verdict.chain = 0;
    return verdict;
  }
  const queue = firewallHooks();
  const n = queue.length;
  if (n === 0) {
    verdict.action = FORWARD;
    verdict.chain = chain;
    return verdict;
  }
  const before = KeGetCurrentIrql();
  if (before < DISPATCH_LEVEL) KeRaiseIrql(DISPATCH_LEVEL, state.oldIrql);
  depth++;
  const fromRear = Context.Direction === IP_TRANSMIT;
  pSendInterfaceIndex.value = SendInterfaceIndex;
  pDestinationType.value = DestinationType;
  let action = FORWARD;
  let called = 0;
  let changed = false;
  try {
    for (let k = 0; k < n; k++) {
      const hook = queue[fromRear ? n - 1 - k : k]!;
      pData.value = chain;
      ppRcvBuf.value = 0;
      action = hook(
        pData,
        RecvInterfaceIndex,
        pSendInterfaceIndex,
        pDestinationType,
        Context,
        FIREWALL_CONTEXT_T.sizeof,
        ppRcvBuf,
      );
      called++;
      chain = pData.value;
      const replacement = ppRcvBuf.value;
      if (action === DROP || action === ICMP_ON_DROP) {
        if (chain !== 0) IPFreeBuff(chain);
        if (replacement !== 0) IPFreeBuff(replacement);
        chain = 0;
        break;
      }
      if (action !== FORWARD && verifierLevel >= VERIFIER_STANDARD) {
        firewallViolation(
          FirewallViolation.InvalidAction,
          action,
          k,
          0,
          `firewall hook ${k + 1} returned ${action}, which is not FORWARD (0), DROP (1) or ICMP_ON_DROP (2)`,
        );
      }
      // A free build of TCP/IP took anything but DROP as FORWARD.
      action = FORWARD;
      if (replacement !== 0) {
        if (chain !== 0) IPFreeBuff(chain);
        chain = replacement;
        changed = true;
      }
      if (chain === 0) {
        if (verifierLevel >= VERIFIER_STANDARD) {
          firewallViolation(
            FirewallViolation.PacketLost,
            k,
            0,
            0,
            `firewall hook ${k + 1} returned FORWARD but set *pData to NULL without handing back a replacement chain`,
          );
        }
        action = DROP;
        break;
      }
    }
  } finally {
    depth--;
    if (before < DISPATCH_LEVEL) KeLowerIrql(before);
  }
  verdict.action = action;
  verdict.chain = action === FORWARD ? chain : 0;
  verdict.sendInterfaceIndex = pSendInterfaceIndex.value;
  verdict.destinationType = pDestinationType.value;
  verdict.hooksCalled = called;
  verdict.bufferChanged = changed;
  return verdict;
}
