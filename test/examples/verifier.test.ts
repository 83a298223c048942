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
import { settle } from 'wdknet';
import { FIREWALL_CONTEXT_T, FORWARD, IP_RECEIVE, IP_TRANSMIT, IPFreeBuff, resetSystem } from 'wdknet/ddi';
import * as counting from '../../examples/counting-filter.js';
import * as divert from '../../examples/divert.js';
import * as inspect from '../../examples/inspect-reinject.js';
import type { PacketAccounting } from '../../examples/lib/accounting.js';
import { ipv4ChecksumOk, transportChecksumOk } from '../../examples/lib/inet.js';
import * as telnet from '../../examples/telnet-firewall-hook.js';
import * as redirect from '../../examples/udp-redirect.js';
import { buildRcvBufChain, flattenRcvBufChain } from '../../src/fwhook/chain.js';
import { runFirewallHooks } from '../../src/fwhook/run.js';
import { loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import {
  disableFaultInjection,
  enableFaultInjection,
  type FaultPlan,
  faultInjectionStats,
} from '../../src/kernel/faults.js';
import { drainNdisPnpWork } from '../../src/ndis/driver-lifecycle.js';
import { addMiniportAdapter } from '../../src/ndis/miniport.js';
import { assertNoLeaks } from './leaks.js';
import { TestMiniport, TestProtocol } from './ndis-stack.js';
import { ethernetFrame, ip, ipv4Packet } from './packets.js';
import { IpPacketHarness } from './wfp-harness.js';

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
  verifier: fc.constantFrom('standard' as const, 'full' as const),
});
type Schedule = typeof arbSchedule extends fc.Arbitrary<infer T> ? T : never;

function plan(s: Schedule): FaultPlan {
  if (s.kind === 'probability') return { seed: s.seed, probability: s.probability };
  if (s.kind === 'everyNth') return { seed: s.seed, everyNth: s.everyNth };
  return { seed: s.seed, failCalls: s.failCalls };
}

describe('issue "verifier": example drivers under random fault schedules lose no packet and leak nothing', () => {
  beforeEach(() => resetSystem());

  it('telnet-firewall-hook: in = forwarded + counted drops; every forward is the packet or its correct rewrite', async () => {
    await fc.assert(
      fc.asyncProperty(arbTraffic, arbSchedule, async (traffic, schedule) => {
        resetSystem({ verifier: schedule.verifier });
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
      { numRuns: 150 },
    );
  });

  /**
   * A WFP example under a fault schedule: the packets are built before the faults start (the stack's own memory is
   * not what is being tested), then classified, their DPCs, injections and completions run under the schedule.
   */
  async function runWfpExample(
    name: string,
    module: { DriverEntry: (d: never, r: string) => number },
    stats: PacketAccounting,
    traffic: [Kind, Uint8Array, boolean][],
    schedule: Schedule,
  ): Promise<void> {
    resetSystem({ verifier: schedule.verifier });
    if (schedule.duringLoad) enableFaultInjection(plan(schedule));
    const loaded = loadDriver(name, module as never);
    disableFaultInjection();
    if (loaded.status < 0) {
      assertNoLeaks();
      return;
    }
    const h = new IpPacketHarness();
    const built = traffic.map(([kind, extra, inbound], i) => {
      const p = h.build(makePacket(kind, extra, i));
      assert.ok(p !== null);
      return { p, inbound };
    });
    enableFaultInjection(plan(schedule));
    try {
      for (const { p, inbound } of built) {
        h.classify(p, inbound);
        h.pump();
      }
      await h.drain();
    } finally {
      disableFaultInjection();
    }
    const out = h.sent.length + h.delivered.length;
    assert.equal(traffic.length, out + stats.totalDropped(), `in = out + drops ${JSON.stringify(stats.drops)}`);
    assert.equal(h.blocked, stats.dropped, 'every packet the layer blocked was a drop the driver counted');
    assert.equal(h.injectedBlocked, 0, 'its own injections are recognised and permitted');
    assert.ok(stats.balanced(), 'seen = passed + dropped + absorbed');
    assert.equal(stats.inFlight(), 0, 'every absorbed packet was reinjected or dropped with a reason');
    unloadDriver(loaded);
    await h.drain();
    h.release();
    assertNoLeaks();
  }

  const arbWfpTraffic = fc.array(fc.tuple(arbKind, fc.uint8Array({ maxLength: 48 }), fc.boolean()), {
    minLength: 1,
    maxLength: 25,
  });

  it('inspect-reinject: in = out + counted drops; no leak', async () => {
    await fc.assert(
      fc.asyncProperty(arbWfpTraffic, arbSchedule, (traffic, schedule) =>
        runWfpExample('inspect', inspect, inspect.inspectStats, traffic, schedule),
      ),
      { numRuns: 100 },
    );
  });

  it('udp-redirect: in = out + counted drops; no leak', async () => {
    await fc.assert(
      fc.asyncProperty(arbWfpTraffic, arbSchedule, (traffic, schedule) => {
        // Redirect the traffic mix's UDP (destination port 53) to a local service.
        redirect.configureRedirect(B, 53, ip('10.9.9.9'), 5353);
        return runWfpExample('redirect', redirect, redirect.redirectStats, traffic, schedule);
      }),
      { numRuns: 100 },
    );
  });

  it('divert: in = out + counted drops; no leak', async () => {
    await fc.assert(
      fc.asyncProperty(arbWfpTraffic, arbSchedule, fc.integer({ min: 0, max: 3 }), (traffic, schedule, mode) => {
        // User code that passes, rewrites in place, replaces, or drops every third packet.
        let n = 0;
        divert.setDivertHandler((bytes) => {
          n++;
          if (mode === 1) bytes[8] = 33;
          if (mode === 2) return bytes.slice(0, Math.max(20, bytes.length - 1));
          if (mode === 3 && n % 3 === 0) return null;
          return bytes;
        });
        return runWfpExample('divert', divert, divert.divertStats, traffic, schedule);
      }),
      { numRuns: 100 },
    );
    divert.setDivertHandler((bytes) => bytes);
  });

  it('the three WFP examples loaded together: every packet goes out once or is dropped once with a reason; no leak', async () => {
    await fc.assert(
      fc.asyncProperty(arbWfpTraffic, arbSchedule, async (traffic, schedule) => {
        resetSystem({ verifier: schedule.verifier });
        redirect.configureRedirect(B, 53, ip('10.9.9.9'), 5353);
        divert.setDivertHandler((bytes) => bytes);
        const drivers = [
          loadDriver('redirect', redirect),
          loadDriver('divert', divert),
          loadDriver('inspect', inspect),
        ];
        for (const d of drivers) assert.equal(d.status, 0);
        const h = new IpPacketHarness();
        const built = traffic.map(([kind, extra, inbound], i) => ({
          p: h.build(makePacket(kind, extra, i))!,
          inbound,
        }));
        enableFaultInjection(plan(schedule));
        try {
          for (const { p, inbound } of built) {
            h.classify(p, inbound);
            h.pump();
          }
          await h.drain();
        } finally {
          disableFaultInjection();
        }
        const all = [redirect.redirectStats, divert.divertStats, inspect.inspectStats];
        const drops = all.reduce((n, s) => n + s.totalDropped(), 0);
        // A packet one driver injected and another then blocked is counted by both: as the blocker's drop, and as
        // the injector's injection completed with an error. The stack saw each such block once.
        const completedWithError = all.reduce((n, s) => n + (s.drops['inject-completed-with-error'] ?? 0), 0);
        assert.equal(completedWithError, h.injectedBlocked, 'an injection fails only when the layer blocked it');
        assert.equal(
          traffic.length,
          h.sent.length + h.delivered.length + drops - h.injectedBlocked,
          'in = out + drops, across the drivers',
        );
        for (const s of all) {
          assert.ok(s.balanced());
          assert.equal(s.inFlight(), 0);
        }
        assert.ok(h.injected <= 2 * traffic.length, 'each packet reinjected at most once per absorbing callout');
        for (const d of drivers.reverse()) unloadDriver(d);
        await h.drain();
        h.release();
        assertNoLeaks();
      }),
      { numRuns: 80 },
    );
  });

  it('DriverEntry of every example fails cleanly at each of its allocations in turn (exhaustive), or loads and unloads clean', async () => {
    const modules: [string, { DriverEntry: (d: never, r: string) => number }][] = [
      ['telnethook', telnet],
      ['inspect', inspect],
      ['redirect', redirect],
      ['divert', divert],
    ];
    for (const [name, module] of modules) {
      // Count the allocations a normal DriverEntry makes.
      resetSystem();
      enableFaultInjection({ probability: 0 });
      const ok = loadDriver(name, module as never);
      const calls = faultInjectionStats().calls;
      disableFaultInjection();
      assert.equal(ok.status, 0);
      unloadDriver(ok);
      assert.ok(calls > 0, `${name} allocates in DriverEntry`);
      for (let k = 1; k <= calls; k++) {
        resetSystem();
        enableFaultInjection({ failCalls: [k] });
        const d = loadDriver(name, module as never);
        disableFaultInjection();
        if (d.status >= 0) {
          unloadDriver(d);
          await settle();
        } else {
          assert.equal(d.object.DeviceObject, null, 'a failed DriverEntry deletes the device it created');
        }
        assertNoLeaks();
      }
    }
  });

  it('counting-filter: attach under low resources fails cleanly; what crosses it is counted exactly; no leak', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbSchedule,
        fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 200 })), { maxLength: 20 }),
        async (schedule, ops) => {
          resetSystem({ verifier: schedule.verifier });
          const mp = new TestMiniport();
          const proto = new TestProtocol();
          const m = loadDriver('testmp', mp.module);
          assert.equal(addMiniportAdapter(mp.driverHandle as never, { ifIndex: 31 }).status, 0);
          assert.equal(addMiniportAdapter(mp.driverHandle as never, { ifIndex: 32 }).status, 0);
          const p = loadDriver('testproto', proto.module);
          for (let i = 0; i < 5; i++) {
            drainNdisPnpWork();
            await settle();
          }
          // The filter allocates only when it attaches: that is where the schedule applies.
          enableFaultInjection(plan(schedule));
          const f = loadDriver('countingfilter', counting);
          for (let i = 0; i < 5; i++) {
            drainNdisPnpWork();
            await settle();
          }
          disableFaultInjection();
          const attached = new Set(counting.filterCounters().map((c) => c.ifIndex));
          let rx = 0;
          let tx = 0;
          for (const [send, resources, size] of ops) {
            const frame = ethernetFrame(
              ipv4Packet({ protocol: 'udp', source: A, destination: B, payload: new Uint8Array(size) }),
            );
            const binding = proto.bindings[0];
            if (send && binding !== undefined) {
              binding.send(frame);
              tx++;
            } else {
              mp.adapters[0]!.indicate(frame, resources);
              rx++;
            }
          }
          await settle();
          const received = proto.bindings.reduce((n, b) => n + b.received.length, 0);
          const wire = mp.adapters.reduce((n, a) => n + a.wire.length, 0);
          assert.equal(received + wire, rx + tx, 'a pass-through filter loses nothing');
          const counted = counting.filterCounters();
          const totals = counted.reduce((n, c) => n + c.receivedNbls + c.sentNbls, 0);
          if (attached.size === 2) assert.equal(totals, rx + tx, 'every NBL that crossed it counted');
          assert.ok(totals <= rx + tx);
          if (f.status >= 0) unloadDriver(f);
          unloadDriver(p);
          unloadDriver(m);
          for (let i = 0; i < 5; i++) {
            drainNdisPnpWork();
            await settle();
          }
          assertNoLeaks();
        },
      ),
      { numRuns: 40 },
    );
  });
});
