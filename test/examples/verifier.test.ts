/**
 * Issue "verifier": every example driver survives fault injection with no leak and no lost packet (each drop
 * counted with its reason). fast-check draws a traffic mix and a seeded fault schedule (enableFaultInjection:
 * probability, every Nth, or listed calls, optionally also during DriverEntry); each driver runs the traffic
 * through its layer under the schedule, is unloaded, and then:
 *   packets in = packets out + drops the driver counted (with reasons) [+ absorbed and reinjected]
 *   the driver's own accounting balances
 *   collectLeaks() is empty
 *   nothing was thrown but the statuses and NULLs the DDIs document.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { collectLeaks, formatLeaks, settle } from 'wdknet';
import { FIREWALL_CONTEXT_T, FORWARD, IP_RECEIVE, IP_TRANSMIT, IPFreeBuff, resetSystem } from 'wdknet/ddi';
import { ipv4ChecksumOk, transportChecksumOk } from '../../examples/lib/inet.js';
import * as telnet from '../../examples/telnet-firewall-hook.js';
import { buildRcvBufChain, flattenRcvBufChain } from '../../src/fwhook/chain.js';
import { runFirewallHooks } from '../../src/fwhook/run.js';
import { loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { disableFaultInjection, enableFaultInjection, type FaultPlan } from '../../src/kernel/faults.js';
import { ip, ipv4Packet } from './packets.js';

const enc = new TextEncoder();
const A = ip('10.0.0.1');
const B = ip('10.0.0.2');

/** One packet of the traffic mix. */
type Kind = 'telnet' | 'ping' | 'udp' | 'tcp' | 'icmp';
const arbKind = fc.constantFrom<Kind>('telnet', 'ping', 'udp', 'tcp', 'icmp');
const arbTraffic = fc.array(fc.tuple(arbKind, fc.uint8Array({ maxLength: 48 }), fc.boolean()), {
  minLength: 1,
  maxLength: 40,
});

function makePacket(kind: Kind, extra: Uint8Array, id: number): Uint8Array {
  switch (kind) {
    case 'telnet':
      return ipv4Packet({
        protocol: 'tcp',
        source: A,
        destination: B,
        sourcePort: 40000 + id,
        destinationPort: 23,
        id,
      });
    case 'ping':
      return ipv4Packet({
        protocol: 'udp',
        source: A,
        destination: B,
        destinationPort: 7,
        payload: new Uint8Array([...enc.encode(telnet.PING_MARKER), ...extra]),
        id,
      });
    case 'udp':
      return ipv4Packet({ protocol: 'udp', source: A, destination: B, destinationPort: 53, payload: extra, id });
    case 'tcp':
      return ipv4Packet({ protocol: 'tcp', source: A, destination: B, destinationPort: 443, payload: extra, id });
    case 'icmp':
      return ipv4Packet({ protocol: 'icmp', source: A, destination: B, id });
  }
}

/** A seeded fault schedule, sometimes also covering DriverEntry. */
const arbSchedule = fc.record({
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  kind: fc.constantFrom('probability', 'everyNth', 'failCalls'),
  probability: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
  everyNth: fc.integer({ min: 1, max: 7 }),
  failCalls: fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 8 }),
  duringLoad: fc.boolean(),
});
type Schedule = typeof arbSchedule extends fc.Arbitrary<infer T> ? T : never;

function plan(s: Schedule): FaultPlan {
  if (s.kind === 'probability') return { seed: s.seed, probability: s.probability };
  if (s.kind === 'everyNth') return { seed: s.seed, everyNth: s.everyNth };
  return { seed: s.seed, failCalls: s.failCalls };
}

function assertNoLeaks(): void {
  const leaks = collectLeaks();
  assert.deepEqual(leaks, [], formatLeaks(leaks));
}

describe('issue "verifier": example drivers under random fault schedules lose no packet and leak nothing', () => {
  beforeEach(() => resetSystem());

  it('telnet-firewall-hook: in = forwarded + counted drops; every forward is the packet or its correct rewrite', async () => {
    await fc.assert(
      fc.asyncProperty(arbTraffic, arbSchedule, async (traffic, schedule) => {
        resetSystem();
        if (schedule.duringLoad) enableFaultInjection(plan(schedule));
        const loaded = loadDriver('telnethook', telnet);
        if (loaded.status < 0) {
          // DriverEntry failed cleanly under low resources: nothing may remain.
          disableFaultInjection();
          assertNoLeaks();
          return;
        }
        // The IP layer's own copies are made before the faults start: only the driver's allocations fail.
        disableFaultInjection();
        const packets = traffic.map(([kind, extra], i) => ({ kind, bytes: makePacket(kind, extra, i) }));
        const chains = packets.map((p) => buildRcvBufChain(p.bytes));
        enableFaultInjection(plan(schedule));
        let out = 0;
        let rewrittenSeen = 0;
        for (let i = 0; i < packets.length; i++) {
          const direction = traffic[i]![2] ? IP_RECEIVE : IP_TRANSMIT;
          const v = runFirewallHooks(chains[i]!, 1, 2, 0, new FIREWALL_CONTEXT_T(direction));
          if (v.action !== FORWARD) continue;
          out++;
          const got = flattenRcvBufChain(v.chain);
          IPFreeBuff(v.chain);
          const { kind, bytes } = packets[i]!;
          assert.notEqual(kind, 'telnet', 'telnet is never forwarded');
          if (kind === 'ping' && v.bufferChanged) {
            rewrittenSeen++;
            assert.equal(got.length, bytes.length);
            assert.ok(ipv4ChecksumOk(got) && transportChecksumOk(got), 'a rewrite has valid checksums');
          } else {
            assert.deepEqual(got, bytes, 'forwarded untouched');
          }
        }
        disableFaultInjection();
        const s = telnet.hookStats;
        assert.equal(packets.length, out + s.totalDropped(), `in = out + drops ${JSON.stringify(s.drops)}`);
        assert.equal(s.totalDropped(), s.drops.telnet ?? 0, 'every drop has its reason');
        assert.ok(s.balanced());
        assert.equal(s.rewritten, rewrittenSeen);
        assert.equal(
          s.rewritten + s.rewriteFailed,
          packets.filter((p) => p.kind === 'ping').length,
          'every ping rewritten or forwarded unchanged',
        );
        unloadDriver(loaded);
        await settle();
        assertNoLeaks();
      }),
      { numRuns: 60 },
    );
  });
});
