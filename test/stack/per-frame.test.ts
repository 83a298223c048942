/**
 * What the per-frame shortcuts of the data path must keep: a promiscuous interface skips the destination-MAC
 * compare (the filter's answer is unchanged), IPFORWARD_V4 marks its DISCARD layer only where a drop comes before
 * the layer is described (every forward drop still reports that layer), the replay's progress calls come every
 * `progressEvery` frames, and the virtual NIC counts each returned receive once, per chain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { LINKTYPE_ETHERNET } from '../../src/capture/linktype.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { FileSink } from '../../src/capture/sink.js';
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';
import { macEquals, writeMacHalves } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { FWPS_DISCARD_FIREWALL_POLICY, Verdict } from '../../src/stack/filters.js';
import { get16, get32, put16, put32 } from '../../src/stack/headers.js';
import { Layer } from '../../src/stack/layers.js';
import { replay } from '../../src/stack/replay.js';
import { frame } from './frames.js';
import { A_MAC, MAC1, testHost } from './host.js';

const tmp = mkdtempSync(join(tmpdir(), 'wdknet-per-frame-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('per-frame shortcuts keep what the slow path did', () => {
  beforeEach(() => resetSystem());

  it('the destination-MAC filter: taken when promiscuous, a group address, or the interface MAC; else dropped as not for this host (property)', () => {
    const macs = fc.oneof(
      fc.constant(MAC1),
      fc.constant(0xffff_ffff_ffff),
      fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      // A group address: the I/G bit (low bit of the first octet) set.
      fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((m) => 0x01_00_00_00_00_00 + m),
      // Differs from the interface MAC in one octet.
      fc.integer({ min: 0, max: 5 }).map((octet) => MAC1 + 2 ** (8 * octet)),
    );
    fc.assert(
      fc.property(macs, fc.boolean(), (dstMac, promiscuous) => {
        resetSystem();
        const r = testHost();
        r.if1.promiscuous = promiscuous;
        const f = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac, srcMac: A_MAC });
        assert.ok(r.if1.indicate(f, 0, f.length));
        const group = Math.floor(dstMac / 2 ** 40) % 2 === 1;
        const taken = promiscuous || group || dstMac === MAC1;
        assert.equal(r.host.counters.dropped[DropReason.NotForThisHost] ?? 0, taken ? 0 : 1);
        assert.equal(r.host.counters.forwarded, taken ? 1 : 0);
        r.finish();
      }),
      { numRuns: 150 },
    );
  });

  it('every IPv4 forward drop reports the IPFORWARD_V4 DISCARD layer: TTL and no route (before the layer is described), a block and DF too big (after)', () => {
    const r = testHost();
    const seen: { layer: number; reason: number }[] = [];
    let forwarded = 0;
    r.host.classifier = (req) => {
      if (req.discardModule >= 0) {
        seen.push({ layer: req.layerId, reason: req.discardReason });
        return Verdict.Permit;
      }
      // Block the first packet classified at IPFORWARD_V4 (the third sent: the first two never reach the layer).
      return req.layerId === Layer.Ipforward4 && ++forwarded === 1 ? Verdict.Block : Verdict.Permit;
    };
    r.if2.mtu = 100;
    const send = (spec: Omit<Parameters<typeof frame>[0], 'protocol'>, dontFragment = false) => {
      const f = frame({ protocol: 'udp', dstMac: MAC1, srcMac: A_MAC, ...spec });
      if (dontFragment) {
        f[14 + 6] = 0x40;
        f[14 + 10] = f[14 + 11] = 0;
        let c = 0;
        for (let i = 14; i < 34; i += 2) c += (f[i]! << 8) | f[i + 1]!;
        while (c > 0xffff) c = (c & 0xffff) + (c >>> 16);
        f[14 + 10] = (~c >> 8) & 0xff;
        f[14 + 11] = ~c & 0xff;
      }
      assert.ok(r.if1.indicate(f, 0, f.length));
    };
    send({ src: '10.0.1.10', dst: '10.0.2.20', ttl: 1 });
    send({ src: '10.0.1.10', dst: '192.0.2.1' });
    send({ src: '10.0.1.10', dst: '10.0.2.99' });
    send({ src: '10.0.1.10', dst: '10.0.2.20', payload: new Uint8Array(200) }, true);
    assert.deepEqual(seen, [
      { layer: Layer.Ipforward4 + 1, reason: DropReason.TtlExpired },
      { layer: Layer.Ipforward4 + 1, reason: DropReason.NoRoute },
      { layer: Layer.Ipforward4 + 1, reason: FWPS_DISCARD_FIREWALL_POLICY },
      { layer: Layer.Ipforward4 + 1, reason: DropReason.TooBig },
    ]);
    assert.equal(r.host.counters.totalDropped(), 4);
    r.finish();
  });
});

describe("the DISCARD layer mark in the list's Scratch", () => {
  beforeEach(() => resetSystem());

  it('what the last owner left in Scratch is no mark: a frame dropped before any layer classifies no DISCARD layer; every list goes back with Scratch cleared', () => {
    const r = testHost();
    const seen: number[] = [];
    r.host.classifier = (req) => {
      if (req.discardModule >= 0) seen.push(req.layerId);
      return Verdict.Permit;
    };
    // The miniport's own value in Scratch, one that reads as a layer id, on every list it indicates.
    const receive = r.host.receive.bind(r.host);
    r.host.receive = (iface, nbl) => {
      nbl.Scratch = Layer.InboundIppacket4 + 1;
      receive(iface, nbl);
    };
    const back: unknown[] = [];
    const returnReceived = r.if1.returnReceived.bind(r.if1);
    r.if1.returnReceived = (nbl) => {
      back.push(nbl.Scratch);
      returnReceived(nbl);
    };
    const f = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1, srcMac: A_MAC });
    assert.ok(r.if1.indicate(f, 0, 10)); // shorter than an Ethernet header: malformed, before any layer
    const arp = f.slice();
    arp[12] = 0x88; // an EtherType the host has no protocol for
    arp[13] = 0xb5;
    assert.ok(r.if1.indicate(arp, 0, arp.length));
    assert.ok(r.if1.indicate(f, 0, f.length)); // forwarded
    const bad = f.slice();
    bad[14 + 10] ^= 0xff; // header checksum: dropped at INBOUND_IPPACKET_V4
    assert.ok(r.if1.indicate(bad, 0, bad.length));
    assert.deepEqual(seen, [Layer.InboundIppacket4 + 1]);
    assert.equal(r.host.counters.dropped[DropReason.Malformed], 1);
    assert.equal(r.host.counters.dropped[DropReason.NoProtocol], 1);
    assert.equal(r.host.counters.dropped[DropReason.BadHeaderChecksum], 1);
    assert.equal(r.host.counters.forwarded, 1);
    assert.deepEqual(back, [null, null, null, null]);
    r.finish();
  });
});

describe('word-wide memory access gives what byte-wise access gave', () => {
  beforeEach(() => resetSystem());

  const TAG = poolTag('tseT');
  /** 16 bytes of pool, filled with `fill`; the test works at `va + at` (any alignment). */
  function scratch(fill: readonly number[]): number {
    const va = ExAllocatePoolWithTag(NonPagedPoolNx, 16, TAG);
    memory.set(fill, va - ARENA_BASE);
    return va;
  }
  const bytes16 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });

  it('get16/get32 read big-endian at any offset; put16/put32 write exactly their bytes, big-endian (property)', () => {
    fc.assert(
      fc.property(bytes16, fc.integer({ min: 0, max: 12 }), fc.integer(), (fill, at, value) => {
        const va = scratch(fill);
        const o = va - ARENA_BASE + at;
        const b = (i: number) => memory[o + i]!;
        assert.equal(get16(va + at), (b(0) << 8) | b(1));
        assert.equal(get32(va + at), ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0);
        put16(va + at, value);
        const after16 = Array.from(memory.subarray(va - ARENA_BASE, va - ARENA_BASE + 16));
        const want16 = [...fill];
        want16[at] = (value >>> 8) & 0xff;
        want16[at + 1] = value & 0xff;
        assert.deepEqual(after16, want16);
        put32(va + at, value);
        const want32 = [...want16];
        for (let i = 0; i < 4; i++) want32[at + i] = (value >>> (24 - 8 * i)) & 0xff;
        assert.deepEqual(Array.from(memory.subarray(va - ARENA_BASE, va - ARENA_BASE + 16)), want32);
        ExFreePoolWithTag(va, TAG);
      }),
      { numRuns: 300 },
    );
  });

  it('writeMacHalves writes the six octets and nothing around them; macEquals is false when any octet differs (property)', () => {
    fc.assert(
      fc.property(
        bytes16,
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.integer({ min: 0, max: 5 }),
        (fill, at, high, low, spoil) => {
          const va = scratch(fill);
          writeMacHalves(va + at, high, low);
          const want = [...fill];
          const octets = [high >>> 16, (high >>> 8) & 0xff, high & 0xff, low >>> 16, (low >>> 8) & 0xff, low & 0xff];
          for (let i = 0; i < 6; i++) want[at + i] = octets[i]!;
          assert.deepEqual(Array.from(memory.subarray(va - ARENA_BASE, va - ARENA_BASE + 16)), want);
          assert.ok(macEquals(va + at, high, low));
          memory[va - ARENA_BASE + at + spoil]! ^= 0x10;
          assert.ok(!macEquals(va + at, high, low));
          ExFreePoolWithTag(va, TAG);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('replay: progress and NIC return counters', () => {
  beforeEach(() => resetSystem());

  function capture(name: string, frames: number): string {
    const path = join(tmp, name);
    const w = new PcapWriter(new FileSink(path), { linkType: LINKTYPE_ETHERNET, nanoseconds: true });
    for (let i = 0; i < frames; i++) {
      const f = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', srcPort: 1000 + i, dstPort: 9 });
      w.writePacket(1_700_000_000, i * 1000, f, 0, f.length);
    }
    w.close();
    return path;
  }

  it('onProgress is called every progressEvery frames with the frames played so far (property over counts)', () => {
    const input = capture('progress.pcap', 40);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 45 }), (every) => {
        resetSystem();
        const calls: number[] = [];
        const run = replay({ input, progressEvery: every, onProgress: (n) => calls.push(n) });
        run.finish();
        const expected: number[] = [];
        for (let n = every; n <= 40; n += every) expected.push(n);
        assert.deepEqual(calls, expected);
      }),
      { numRuns: 20 },
    );
  });

  it('every receive the NIC indicated without RESOURCES comes back once: returned counts them per chain', () => {
    for (const moderationUs of [0, 50]) {
      resetSystem();
      const run = replay({ input: capture(`returns-${moderationUs}.pcap`, 100), interruptModerationUs: moderationUs });
      run.finish();
      assert.equal(run.nics.framesIn, 100);
      assert.equal(run.nics.returned + run.nics.indicatedWithResources, run.nics.framesIn);
      assert.ok(run.nics.returned > 0);
      assert.deepEqual(collectLeaks(), []);
    }
  });
});
