import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildRcvBufChain,
  flattenRcvBufChain,
  runFirewallHooks,
  TAG_FIREWALL_BUFFER,
  TAG_FIREWALL_HOOKS,
} from '../../src/fwhook/index.js';
import { sendDeviceIoControl } from '../../src/kernel/driver.js';
import { enableFaultInjection } from '../../src/kernel/faults.js';
import { poolmon } from '../../src/kernel/pool.js';
import {
  bytesAt,
  DD_IP_DEVICE_NAME,
  DEST_LOCAL,
  type DEVICE_OBJECT,
  DROP,
  ExAllocatePoolWithTag,
  ExFreePool,
  FIREWALL_CONTEXT_T,
  FORWARD,
  ICMP_ON_DROP,
  IOCTL_IP_SET_FIREWALL_HOOK,
  IoGetDeviceObjectPointer,
  IP_RECEIVE,
  IP_SET_FIREWALL_HOOK_INFO,
  IP_TRANSMIT,
  IPAllocBuff,
  IPFreeBuff,
  type IPPacketFirewallPtr,
  IPRcvBuf,
  LOCAL_IF_INDEX,
  NonPagedPool,
  poolTag,
  resetSystem,
} from './ddi.js';

type Behaviour = 'forward' | 'drop' | 'icmp' | 'replace' | 'replace-and-free-original' | 'edit-in-place';

/** Builds a replacement chain of `pieces` descriptors holding `bytes` (a hook's own, as documented). */
function replacement(bytes: Uint8Array, pieces: number): number {
  let head = 0;
  let prev: IPRcvBuf | null = null;
  const size = Math.ceil(bytes.length / pieces);
  for (let at = 0; at < bytes.length; at += size) {
    const n = Math.min(size, bytes.length - at);
    const rcv = ExAllocatePoolWithTag(NonPagedPool, IPRcvBuf.sizeof, poolTag('fPCT'));
    if (rcv === 0) break;
    bytesAt(rcv, IPRcvBuf.sizeof).fill(0);
    if (IPAllocBuff(rcv, n) !== 1) {
      ExFreePool(rcv); // FH-3: the descriptor is still the hook's
      break;
    }
    const view = new IPRcvBuf(rcv);
    bytesAt(view.ipr_buffer, n).set(bytes.subarray(at, at + n));
    if (prev === null) head = rcv;
    else prev.ipr_next = rcv;
    prev = view;
    if (at + n >= bytes.length) return head;
  }
  if (head !== 0) IPFreeBuff(head); // incomplete: give it all back (FH-4)
  return 0;
}

function hookFor(behaviour: Behaviour, id: number, log: number[]): IPPacketFirewallPtr {
  return (pData, _r, _s, _d, _c, _l, ppRcvBuf) => {
    log.push(id);
    const bytes = flattenRcvBufChain(pData.value);
    switch (behaviour) {
      case 'drop':
        return DROP;
      case 'icmp':
        return ICMP_ON_DROP;
      case 'edit-in-place':
        bytesAt(new IPRcvBuf(pData.value).ipr_buffer, 1)[0]! ^= 0xff;
        return FORWARD;
      case 'replace':
        ppRcvBuf.value = replacement(bytes, 1 + (id % 3));
        return FORWARD;
      case 'replace-and-free-original': {
        const r = replacement(bytes, 2);
        if (r === 0) return FORWARD; // could not build one: keep the original
        ppRcvBuf.value = r;
        IPFreeBuff(pData.value);
        pData.value = 0;
        return FORWARD;
      }
      default:
        return FORWARD;
    }
  };
}

function register(hook: IPPacketFirewallPtr, priority: number): void {
  const device = { value: null as DEVICE_OBJECT | null };
  IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device);
  const status = sendDeviceIoControl(
    device.value!,
    IOCTL_IP_SET_FIREWALL_HOOK,
    new IP_SET_FIREWALL_HOOK_INFO(hook, priority, true),
    IP_SET_FIREWALL_HOOK_INFO.sizeof,
  );
  assert.equal(status, 0);
}

describe('firewall hooks: every buffer and descriptor accounted for', () => {
  beforeEach(() => resetSystem());

  it('property: whatever the hooks do, in whatever order, the verdict follows the queue and no pool memory is lost', () => {
    const behaviour = fc.constantFrom<Behaviour>(
      'forward',
      'drop',
      'icmp',
      'replace',
      'replace-and-free-original',
      'edit-in-place',
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ behaviour, priority: fc.integer({ min: 0, max: 5 }) }), { maxLength: 6 }),
        fc.uint8Array({ minLength: 20, maxLength: 300 }),
        fc.integer({ min: 0, max: 64 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        (hooks, packet, segment, receive, failAt) => {
          resetSystem();
          const log: number[] = [];
          for (const [id, h] of hooks.entries()) register(hookFor(h.behaviour, id, log), h.priority);
          // Queue order: stable sort by priority; receive runs it front to back, transmit back to front.
          const queue = hooks.map((h, id) => ({ ...h, id })).sort((a, b) => a.priority - b.priority);
          if (!receive) queue.reverse();
          let expected = FORWARD;
          const expectedCalls: number[] = [];
          for (const h of queue) {
            expectedCalls.push(h.id);
            if (h.behaviour === 'drop' || h.behaviour === 'icmp') {
              expected = h.behaviour === 'drop' ? DROP : ICMP_ON_DROP;
              break;
            }
          }
          if (failAt !== undefined) enableFaultInjection({ failCalls: [failAt], tags: [TAG_FIREWALL_BUFFER] });
          const context = new FIREWALL_CONTEXT_T(receive ? IP_RECEIVE : IP_TRANSMIT);
          const v = runFirewallHooks(buildRcvBufChain(packet, segment), 1, LOCAL_IF_INDEX, DEST_LOCAL, context);
          assert.deepEqual(log, expectedCalls);
          assert.equal(v.action, expected);
          if (expected === FORWARD) {
            assert.notEqual(v.chain, 0);
            const out = flattenRcvBufChain(v.chain);
            assert.equal(out.length, packet.length, 'replacements carry the whole packet');
            IPFreeBuff(v.chain);
          } else {
            assert.equal(v.chain, 0);
          }
          const held = poolmon().filter((row) => row.bytes !== 0 && row.tag !== TAG_FIREWALL_HOOKS);
          assert.deepEqual(held, [], 'every IPRcvBuf and buffer was freed exactly once');
        },
      ),
      { numRuns: 300 },
    );
  });
});
