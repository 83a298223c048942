import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  buildRcvBufChain,
  buildRcvBufChainFromMemory,
  FirewallViolation,
  firewallHooks,
  flattenRcvBufChain,
  rcvBufChainCount,
  runFirewallHooks,
  TAG_FIREWALL_HOOKS,
} from '../../src/fwhook/index.js';
import { firewallHooksRegistered } from '../../src/fwhook/registry.js';
import { sendDeviceIoControl } from '../../src/kernel/driver.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { poolmon } from '../../src/kernel/pool.js';
import { assertBugCheck } from '../helpers.js';
import {
  bytesAt,
  DD_IP_DEVICE_NAME,
  DEST_INVALID,
  DEST_LOCAL,
  type DEVICE_OBJECT,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  DROP,
  ExAllocatePoolWithTag,
  Executive,
  ExFreePool,
  FIREWALL_CONTEXT_T,
  FORWARD,
  ICMP_ON_DROP,
  INVALID_IF_INDEX,
  IO_STATUS_BLOCK,
  IOCTL_IP_SET_FIREWALL_HOOK,
  IoBuildDeviceIoControlRequest,
  IoCallDriver,
  IoGetDeviceObjectPointer,
  IP_RECEIVE,
  IP_SET_FIREWALL_HOOK_INFO,
  IP_TRANSMIT,
  IPAllocBuff,
  IPFreeBuff,
  type IPPacketFirewallPtr,
  IPRcvBuf,
  KEVENT,
  KeGetCurrentIrql,
  KeInitializeEvent,
  KernelMode,
  KeWaitForSingleObject,
  LOCAL_IF_INDEX,
  NonPagedPool,
  NotificationEvent,
  NT_SUCCESS,
  poolTag,
  resetSystem,
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_PENDING,
  STATUS_SUCCESS,
  STATUS_UNSUCCESSFUL,
} from './ddi.js';

/** Registers or removes a hook the way a firewall-hook driver did: IOCTL_IP_SET_FIREWALL_HOOK to \Device\Ip. */
function setHook(hook: IPPacketFirewallPtr, priority: number, add: boolean): number {
  const device = { value: null as DEVICE_OBJECT | null };
  const status = IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device);
  if (!NT_SUCCESS(status)) return status;
  const info = new IP_SET_FIREWALL_HOOK_INFO(hook, priority, add);
  return sendDeviceIoControl(device.value!, IOCTL_IP_SET_FIREWALL_HOOK, info, IP_SET_FIREWALL_HOOK_INFO.sizeof);
}

/** Every pool tag's outstanding bytes are zero. */
function poolIsEmpty(): boolean {
  return poolmon().every((row) => row.bytes === 0);
}

const receive = () => new FIREWALL_CONTEXT_T(IP_RECEIVE, 0x3000_0000, 0);
const transmit = () => new FIREWALL_CONTEXT_T(IP_TRANSMIT, 0x3000_0000, 0);

/** An IPv4/TCP header pair with the destination port at bytes 22..23. */
function tcpPacket(dstPort: number, payload = 'hello'): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  p[0] = 0x45;
  p[8] = 64; // TTL
  p[9] = 6; // TCP
  p[22] = dstPort >> 8;
  p[23] = dstPort & 0xff;
  for (let i = 0; i < payload.length; i++) p[40 + i] = payload.charCodeAt(i);
  return p;
}

/** Reads the destination port of the packet in a chain (flattening it). */
function dstPort(chain: number): number {
  const bytes = flattenRcvBufChain(chain);
  return (bytes[22]! << 8) | bytes[23]!;
}

/** A hook that drops telnet. */
const dropTelnet: IPPacketFirewallPtr = (pData) => (dstPort(pData.value) === 23 ? DROP : FORWARD);

/**
 * A hook that rewrites every packet into a new chain of its own (as the documentation describes: a descriptor
 * from ExAllocatePoolWithTag(NonPagedPool, sizeof(IPRcvBuf), 'fPCT'), a buffer from IPAllocBuff), lowering the
 * TTL, and hands it back through ppRcvBuf.
 */
const rewriteTtl: IPPacketFirewallPtr = (pData, _recv, _send, _dest, _ctx, _len, ppRcvBuf) => {
  const old = flattenRcvBufChain(pData.value);
  const rcv = ExAllocatePoolWithTag(NonPagedPool, IPRcvBuf.sizeof, poolTag('fPCT'));
  if (rcv === 0) return FORWARD;
  bytesAt(rcv, IPRcvBuf.sizeof).fill(0);
  if (IPAllocBuff(rcv, old.length) !== 1) {
    ExFreePool(rcv);
    return FORWARD;
  }
  const view = new IPRcvBuf(rcv);
  bytesAt(view.ipr_buffer, old.length).set(old);
  bytesAt(view.ipr_buffer, old.length)[8] = old[8]! - 1;
  ppRcvBuf.value = rcv;
  return FORWARD;
};

describe('the IP firewall hook: registration and running the hooks', () => {
  beforeEach(() => resetSystem());

  it('IOCTL_IP_SET_FIREWALL_HOOK is CTL_CODE(FILE_DEVICE_NETWORK, 12, METHOD_BUFFERED, FILE_WRITE_ACCESS) = 0x128030', () => {
    assert.equal(IOCTL_IP_SET_FIREWALL_HOOK, 0x00128030);
    assert.equal(DD_IP_DEVICE_NAME, '\\Device\\Ip');
    assert.equal(IP_SET_FIREWALL_HOOK_INFO.sizeof, 16);
    assert.equal(FIREWALL_CONTEXT_T.sizeof, 40);
  });

  it('\\Device\\Ip exists after every resetSystem and answers the IOCTL: add, add again fails, remove, remove again fails', () => {
    const hook: IPPacketFirewallPtr = () => FORWARD;
    // firewallHooksRegistered is the IP layer's per-packet test: it must follow every change of the queue.
    assert.equal(firewallHooksRegistered(), false);
    assert.equal(setHook(hook, 1, true), STATUS_SUCCESS);
    assert.deepEqual(firewallHooks(), [hook]);
    assert.equal(firewallHooksRegistered(), true);
    assert.equal(setHook(hook, 1, true), STATUS_UNSUCCESSFUL, 'already registered');
    assert.equal(setHook(hook, 1, false), STATUS_SUCCESS);
    assert.equal(setHook(hook, 1, false), STATUS_UNSUCCESSFUL, 'not registered');
    assert.deepEqual(firewallHooks(), []);
    assert.equal(firewallHooksRegistered(), false);
    resetSystem();
    assert.equal(setHook(hook, 1, true), STATUS_SUCCESS, 'the device is back after a reset');
    assert.equal(firewallHooksRegistered(), true);
    resetSystem();
    assert.deepEqual(firewallHooks(), [], 'a reset forgets registrations');
    assert.equal(firewallHooksRegistered(), false);
  });

  it('registration exactly as firewall-hook drivers did it: IoBuildDeviceIoControlRequest + IoCallDriver, then wait', () => {
    const hook: IPPacketFirewallPtr = () => FORWARD;
    const call = (add: boolean): number => {
      const device = { value: null as DEVICE_OBJECT | null };
      assert.equal(IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device), STATUS_SUCCESS);
      const event = new KEVENT();
      KeInitializeEvent(event, NotificationEvent, false);
      const ioStatus = new IO_STATUS_BLOCK();
      const info = new IP_SET_FIREWALL_HOOK_INFO(hook, 1, add);
      const irp = IoBuildDeviceIoControlRequest(
        IOCTL_IP_SET_FIREWALL_HOOK,
        device.value!,
        info,
        IP_SET_FIREWALL_HOOK_INFO.sizeof,
        null,
        0,
        false,
        event,
        ioStatus,
      );
      assert.ok(irp);
      let status = IoCallDriver(device.value!, irp);
      if (status === STATUS_PENDING) {
        KeWaitForSingleObject(event, Executive, KernelMode, false, null);
        status = ioStatus.Status;
      }
      return status;
    };
    assert.equal(call(true), STATUS_SUCCESS);
    assert.deepEqual(firewallHooks(), [hook]);
    assert.equal(call(true), STATUS_UNSUCCESSFUL);
    assert.equal(call(false), STATUS_SUCCESS);
    assert.deepEqual(firewallHooks(), []);
  });

  it('the IOCTL refuses a short input buffer, a missing hook and other control codes', () => {
    const device = { value: null as DEVICE_OBJECT | null };
    IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device);
    const hook: IPPacketFirewallPtr = () => FORWARD;
    const info = new IP_SET_FIREWALL_HOOK_INFO(hook, 0, true);
    assert.equal(sendDeviceIoControl(device.value!, IOCTL_IP_SET_FIREWALL_HOOK, info, 15), STATUS_INVALID_PARAMETER);
    assert.equal(sendDeviceIoControl(device.value!, IOCTL_IP_SET_FIREWALL_HOOK, null, 16), STATUS_INVALID_PARAMETER);
    assert.equal(
      sendDeviceIoControl(device.value!, IOCTL_IP_SET_FIREWALL_HOOK, new IP_SET_FIREWALL_HOOK_INFO(null, 0, true), 16),
      STATUS_INVALID_PARAMETER,
    );
    assert.equal(
      sendDeviceIoControl(device.value!, IOCTL_IP_SET_FIREWALL_HOOK + 4, info, 16),
      STATUS_INVALID_DEVICE_REQUEST,
    );
    assert.equal(IoGetDeviceObjectPointer('\\Device\\NoSuch', device), STATUS_OBJECT_NAME_NOT_FOUND);
    assert.deepEqual(firewallHooks(), []);
  });

  it('the hook queue is charged to "TCIm" (32 bytes a hook), listed as a leak while registered, released on removal', () => {
    const a: IPPacketFirewallPtr = () => FORWARD;
    const b: IPPacketFirewallPtr = () => FORWARD;
    setHook(a, 1, true);
    setHook(b, 2, true);
    const row = poolmon().find((r) => r.tag === TAG_FIREWALL_HOOKS)!;
    assert.equal(row.name, 'TCIm');
    assert.equal(row.bytes, 64);
    assert.equal(collectLeaks().filter((l) => l.kind === 'firewall hook').length, 2);
    setHook(a, 1, false);
    setHook(b, 2, false);
    assert.equal(row.bytes, 0);
    assert.equal(collectLeaks().filter((l) => l.kind === 'firewall hook').length, 0);
  });

  it('order: receive calls the lowest Priority first, transmit from the rear; equal priorities keep registration order', () => {
    const calls: string[] = [];
    const named = (name: string): IPPacketFirewallPtr => {
      const hook: IPPacketFirewallPtr = () => {
        calls.push(name);
        return FORWARD;
      };
      return hook;
    };
    setHook(named('p5'), 5, true);
    setHook(named('p1'), 1, true);
    setHook(named('p5b'), 5, true);
    setHook(named('p3'), 3, true);
    let v = runFirewallHooks(tcpPacket(80), 2, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.deepEqual(calls, ['p1', 'p3', 'p5', 'p5b']);
    IPFreeBuff(v.chain);
    calls.length = 0;
    v = runFirewallHooks(tcpPacket(80), INVALID_IF_INDEX, 2, DEST_LOCAL, transmit());
    assert.deepEqual(calls, ['p5b', 'p5', 'p3', 'p1']);
    IPFreeBuff(v.chain);
  });

  it('hooks see the documented arguments at DISPATCH_LEVEL, and may change the send interface and destination type', () => {
    const seen: unknown[] = [];
    const hook: IPPacketFirewallPtr = (pData, recvIf, pSend, pDest, ctx, len, ppRcvBuf) => {
      seen.push(KeGetCurrentIrql(), recvIf, pSend.value, pDest.value, ctx.Direction, ctx.NTE, len, ppRcvBuf.value);
      assert.equal(rcvBufChainCount(pData.value), 1);
      pSend.value = 9;
      pDest.value = DEST_INVALID;
      return FORWARD;
    };
    setHook(hook, 0, true);
    const v = runFirewallHooks(tcpPacket(80), 4, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.deepEqual(seen, [DISPATCH_LEVEL, 4, LOCAL_IF_INDEX, DEST_LOCAL, IP_RECEIVE, 0x3000_0000, 40, 0]);
    assert.equal(KeGetCurrentIrql(), 0, 'IRQL is restored');
    assert.deepEqual([v.action, v.sendInterfaceIndex, v.destinationType], [FORWARD, 9, DEST_INVALID]);
    IPFreeBuff(v.chain);
  });

  it('a hook that drops telnet: the packet is freed by the IP layer and every pool counter is back to zero', () => {
    setHook(dropTelnet, 1, true);
    const v = runFirewallHooks(tcpPacket(23), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(v.action, DROP);
    assert.equal(v.chain, 0);
    const other = runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(other.action, FORWARD);
    assert.equal(dstPort(other.chain), 80);
    IPFreeBuff(other.chain);
    setHook(dropTelnet, 1, false);
    assert.ok(poolIsEmpty(), JSON.stringify(poolmon()));
  });

  it('a hook that rewrites the packet into its own IPAllocBuff chain: the original is freed, the new one delivered', () => {
    setHook(rewriteTtl, 1, true);
    const later: number[] = [];
    const observer: IPPacketFirewallPtr = (pData) => {
      later.push(flattenRcvBufChain(pData.value)[8]!);
      return FORWARD;
    };
    setHook(observer, 2, true);
    const original = buildRcvBufChain(tcpPacket(80, 'data'), 16);
    const v = runFirewallHooks(original, 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(v.action, FORWARD);
    assert.equal(v.bufferChanged, true);
    assert.notEqual(v.chain, original);
    assert.deepEqual(later, [63], 'the next hook sees the replacement');
    const out = flattenRcvBufChain(v.chain);
    assert.equal(out[8], 63);
    assert.equal(String.fromCharCode(...out.subarray(40)), 'data');
    assert.equal(new IPRcvBuf(v.chain).ipr_owner, 4, 'IPR_OWNER_FIREWALL');
    IPFreeBuff(v.chain);
    setHook(rewriteTtl, 1, false);
    setHook(observer, 2, false);
    assert.ok(poolIsEmpty(), JSON.stringify(poolmon().filter((r) => r.bytes !== 0)));
  });

  it('a replacement handed back with DROP is freed too; the first DROP ends the run', () => {
    let after = 0;
    const rewriteThenDrop: IPPacketFirewallPtr = (...args) => {
      rewriteTtl(...args);
      return DROP;
    };
    setHook(rewriteThenDrop, 1, true);
    setHook(
      () => {
        after++;
        return FORWARD;
      },
      2,
      true,
    );
    const v = runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.deepEqual([v.action, v.chain, v.hooksCalled, after], [DROP, 0, 1, 0]);
    resetSystem();
    setHook(() => ICMP_ON_DROP, 1, true);
    const icmp = runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.deepEqual([icmp.action, icmp.chain], [ICMP_ON_DROP, 0]);
    const leftovers = poolmon().filter((r) => r.bytes !== 0 && r.tag !== TAG_FIREWALL_HOOKS);
    assert.deepEqual(leftovers, []);
  });

  it('a hook may free the packet itself and set *pData to NULL before handing back a replacement', () => {
    const replaceAndFree: IPPacketFirewallPtr = (pData, a, b, c, d, e, ppRcvBuf) => {
      rewriteTtl(pData, a, b, c, d, e, ppRcvBuf);
      IPFreeBuff(pData.value);
      pData.value = 0;
      return FORWARD;
    };
    setHook(replaceAndFree, 1, true);
    const v = runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(v.action, FORWARD);
    IPFreeBuff(v.chain);
    const leftovers = poolmon().filter((r) => r.bytes !== 0 && r.tag !== TAG_FIREWALL_HOOKS);
    assert.deepEqual(leftovers, []);
  });

  it('a hook may run the hooks again (for a packet it makes) without disturbing the outer run', () => {
    let inner: number | null = null;
    const outerHook: IPPacketFirewallPtr = (pData) => {
      if (dstPort(pData.value) === 80) {
        const v = runFirewallHooks(tcpPacket(23), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
        inner = v.action;
      }
      return FORWARD;
    };
    setHook(outerHook, 1, true);
    setHook(dropTelnet, 2, true);
    const v = runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(inner, DROP);
    assert.deepEqual([v.action, v.hooksCalled], [FORWARD, 2]);
    assert.equal(dstPort(v.chain), 80);
    IPFreeBuff(v.chain);
  });

  it('no hooks registered: the packet passes untouched', () => {
    const chain = buildRcvBufChain(tcpPacket(23));
    const v = runFirewallHooks(chain, 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.deepEqual([v.action, v.chain, v.hooksCalled], [FORWARD, chain, 0]);
    IPFreeBuff(chain);
  });

  it('verifier: a hook returning a value that is not a FORWARD_ACTION, or forwarding with no packet, is reported', () => {
    setHook(() => 7, 1, true);
    assertBugCheck(
      () => runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive()),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      FirewallViolation.InvalidAction,
    );
    assert.equal(KeGetCurrentIrql(), 0, 'IRQL restored even when a hook bug-checks');
    resetSystem();
    setHook(
      (pData) => {
        IPFreeBuff(pData.value);
        pData.value = 0;
        return FORWARD;
      },
      1,
      true,
    );
    assertBugCheck(
      () => runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive()),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      FirewallViolation.PacketLost,
    );
  });

  it('verifier off: an unknown action is FORWARD, as a free build of TCP/IP took it; a lost packet is a drop', () => {
    resetSystem({ verifier: 'off' });
    setHook(() => 7, 1, true);
    const v = runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(v.action, FORWARD);
    IPFreeBuff(v.chain);
  });

  it('a hook that frees the chain it was given but leaves *pData pointing at it is caught by the pool (double free)', () => {
    setHook(
      (pData) => {
        IPFreeBuff(pData.value);
        return DROP;
      },
      1,
      true,
    );
    assertBugCheck(() => runFirewallHooks(tcpPacket(80), 1, LOCAL_IF_INDEX, DEST_LOCAL, receive()), 0xc2, 0x07);
  });

  it('a packet already in simulated memory becomes a chain (buildRcvBufChainFromMemory) that the run takes over', () => {
    setHook(dropTelnet, 1, true);
    const src = ExAllocatePoolWithTag(NonPagedPool, 45, poolTag('tseT'));
    bytesAt(src, 45).set(tcpPacket(23));
    const chain = buildRcvBufChainFromMemory(src, 45, 10);
    assert.equal(rcvBufChainCount(chain), 5);
    assert.deepEqual(flattenRcvBufChain(chain), tcpPacket(23));
    ExFreePool(src);
    const v = runFirewallHooks(chain, 1, LOCAL_IF_INDEX, DEST_LOCAL, receive());
    assert.equal(v.action, DROP);
    const leftovers = poolmon().filter((r) => r.bytes !== 0 && r.tag !== TAG_FIREWALL_HOOKS);
    assert.deepEqual(leftovers, []);
  });
});
