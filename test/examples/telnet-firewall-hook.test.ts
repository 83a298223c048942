import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { collectLeaks, formatLeaks } from 'wdknet';
import {
  DROP,
  FIREWALL_CONTEXT_T,
  FORWARD,
  IP_RECEIVE,
  IP_TRANSMIT,
  IPFreeBuff,
  poolTag,
  resetSystem,
} from 'wdknet/ddi';
import { ipv4ChecksumOk, transportChecksumOk } from '../../examples/lib/inet.js';
import * as driver from '../../examples/telnet-firewall-hook.js';
import { buildRcvBufChain, flattenRcvBufChain, rcvBufChainCount } from '../../src/fwhook/chain.js';
import { firewallHooks } from '../../src/fwhook/registry.js';
import { runFirewallHooks } from '../../src/fwhook/run.js';
import { loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { enableFaultInjection } from '../../src/kernel/faults.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { ip, ipv4Packet } from './packets.js';

const enc = new TextEncoder();
const A = ip('10.0.0.1');
const B = ip('10.0.0.2');

function run(bytes: Uint8Array, direction = IP_RECEIVE, segment = 0) {
  const chain = buildRcvBufChain(bytes, segment);
  assert.notEqual(chain, 0);
  const v = runFirewallHooks(chain, 1, 2, 0, new FIREWALL_CONTEXT_T(direction));
  const out = v.action === FORWARD ? flattenRcvBufChain(v.chain) : null;
  const result = { action: v.action, changed: v.bufferChanged, buffers: v.chain ? rcvBufChainCount(v.chain) : 0, out };
  if (v.action === FORWARD) IPFreeBuff(v.chain); // the forwarded chain is the caller's (the IP layer's) to free
  return result;
}

function pingPacket(extra: Uint8Array) {
  const payload = new Uint8Array([...enc.encode(driver.PING_MARKER), ...extra]);
  return ipv4Packet({
    protocol: 'udp',
    source: A,
    destination: B,
    sourcePort: 4000,
    destinationPort: 7,
    payload,
    ttl: 9,
  });
}

describe('example telnet-firewall-hook (IOCTL_IP_SET_FIREWALL_HOOK, IPRcvBuf chains)', () => {
  let loaded: ReturnType<typeof loadDriver>;
  beforeEach(() => {
    resetSystem();
    loaded = loadDriver('telnethook', driver);
    assert.equal(loaded.status, 0);
  });

  it('registers its hook through \\Device\\Ip and removes it on unload, leaving nothing behind', () => {
    assert.equal(firewallHooks().length, 1);
    unloadDriver(loaded);
    assert.equal(firewallHooks().length, 0);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('drops telnet (TCP port 23) either way, in both directions, and counts the reason', () => {
    for (const [sp, dp, dir] of [
      [50000, 23, IP_TRANSMIT],
      [23, 50000, IP_RECEIVE],
    ] as const) {
      const r = run(
        ipv4Packet({ protocol: 'tcp', source: A, destination: B, sourcePort: sp, destinationPort: dp }),
        dir,
      );
      assert.equal(r.action, DROP);
    }
    assert.equal(driver.hookStats.drops.telnet, 2);
    unloadDriver(loaded);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('forwards other traffic unchanged', () => {
    for (const p of [
      ipv4Packet({ protocol: 'tcp', source: A, destination: B, destinationPort: 80 }),
      ipv4Packet({ protocol: 'udp', source: A, destination: B, payload: enc.encode('wdknet:pin') }),
      ipv4Packet({ protocol: 'icmp', source: A, destination: B }),
    ]) {
      const r = run(p);
      assert.equal(r.action, FORWARD);
      assert.equal(r.changed, false);
      assert.deepEqual(r.out, p);
    }
    assert.ok(driver.hookStats.balanced());
  });

  it('FH-1 FH-2 FH-4: rewrites a ping into a new two-descriptor chain with pong, the TTL and valid checksums', () => {
    const extra = enc.encode(' and the rest of the payload');
    const r = run(pingPacket(extra));
    assert.equal(r.action, FORWARD);
    assert.equal(r.changed, true, 'the hook handed back a replacement chain');
    assert.equal(r.buffers, 2, 'headers + marker, then the rest');
    const out = r.out!;
    assert.equal(out[8], driver.hookConfig.ttl);
    assert.deepEqual(out.subarray(28, 28 + driver.PONG_MARKER.length), enc.encode(driver.PONG_MARKER));
    assert.deepEqual(out.subarray(28 + driver.PONG_MARKER.length), extra);
    assert.ok(ipv4ChecksumOk(out), 'IP header checksum');
    assert.ok(transportChecksumOk(out), 'UDP checksum');
    assert.equal(driver.hookStats.rewritten, 1);
    // The descriptors were allocated as the documentation says: nonpaged, sizeof(IPRcvBuf), 'fPCT'.
    assert.ok((poolTagStats(poolTag('fPCT'))?.allocs ?? 0) >= 2);
    unloadDriver(loaded);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('rewrites correctly whatever the original chain segmentation and payload (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 64 }), (extra, segment) => {
        const r = run(pingPacket(extra), IP_RECEIVE, segment);
        assert.equal(r.action, FORWARD);
        const out = r.out!;
        assert.equal(out.length, 28 + driver.PING_MARKER.length + extra.length);
        assert.deepEqual(out.subarray(28 + driver.PONG_MARKER.length), extra);
        assert.ok(ipv4ChecksumOk(out) && transportChecksumOk(out));
      }),
      { numRuns: 150 },
    );
    unloadDriver(loaded);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('FH-3: when IPAllocBuff fails the hook frees its descriptor with ExFreePool and forwards the packet as it was', () => {
    const packet = pingPacket(enc.encode('xyz'));
    // IPAllocBuff's buffer allocation is the only one tagged 'bPCT': fail the first (the header buffer).
    enableFaultInjection({ failCalls: [1], tags: [poolTag('bPCT')] });
    const before = poolTagStats(poolTag('fPCT'));
    const r = run(packet);
    assert.equal(r.action, FORWARD);
    assert.equal(r.changed, false);
    assert.deepEqual(r.out, packet);
    assert.equal(driver.hookStats.rewriteFailed, 1);
    const after = poolTagStats(poolTag('fPCT'))!;
    assert.equal(after.allocs - after.frees, (before?.allocs ?? 0) - (before?.frees ?? 0), 'no descriptor left behind');
    unloadDriver(loaded);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('FH-5: when the second buffer cannot be had, FreeIprBuff gives back the small one and the descriptor carries the whole packet', () => {
    const extra = enc.encode('more payload');
    const packet = pingPacket(extra);
    // IPAllocBuff's allocations are the only ones tagged 'bPCT': 1 header buffer, 2 payload buffer, 3 whole packet.
    enableFaultInjection({ failCalls: [2], tags: [poolTag('bPCT')] });
    const r = run(packet);
    assert.equal(r.action, FORWARD);
    assert.equal(r.changed, true);
    assert.equal(r.buffers, 1, 'one descriptor, one buffer for the whole packet');
    const out = r.out!;
    assert.equal(out[8], driver.hookConfig.ttl);
    assert.deepEqual(out.subarray(28 + driver.PONG_MARKER.length), extra);
    assert.ok(ipv4ChecksumOk(out) && transportChecksumOk(out));
    assert.equal(driver.hookStats.rewritten, 1);
    unloadDriver(loaded);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('FH-3 FH-5: when the whole-packet buffer cannot be had either, the descriptor is freed with ExFreePool and the packet goes on unchanged', () => {
    const packet = pingPacket(enc.encode('more'));
    enableFaultInjection({ failCalls: [2, 3], tags: [poolTag('bPCT')] });
    const r = run(packet);
    assert.equal(r.action, FORWARD);
    assert.equal(r.changed, false);
    assert.deepEqual(r.out, packet);
    assert.equal(driver.hookStats.rewriteFailed, 1);
    unloadDriver(loaded);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });

  it('a failing DriverEntry (no pool for the hook queue) leaves nothing registered or allocated', () => {
    unloadDriver(loaded);
    enableFaultInjection({ probability: 1, ddis: ['IOCTL_IP_SET_FIREWALL_HOOK'] });
    const failed = loadDriver('telnethook2', driver);
    assert.ok(failed.status < 0);
    assert.equal(firewallHooks().length, 0);
    assert.deepEqual(collectLeaks(), [], formatLeaks(collectLeaks()));
  });
});
