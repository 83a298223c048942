import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';
import {
  formatIpv4,
  formatIpv6,
  formatMac,
  isGroupMacAt,
  macEquals,
  parseIpv4,
  parseIpv6,
  parseMac,
  readMac,
  writeMac,
} from '../../src/stack/addr.js';
import { IpLayer } from '../../src/stack/ip.js';
import { NeighborCache } from '../../src/stack/neighbors.js';
import { RouteTable } from '../../src/stack/route.js';

/** The reference answer: the longest matching prefix, ties to the lowest metric, by brute force. */
function bestRoute4(routes: { prefix: number; length: number; metric: number; ifIndex: number }[], dst: number) {
  let best: (typeof routes)[number] | undefined;
  for (const r of routes) {
    const mask = r.length === 0 ? 0 : (0xffffffff << (32 - r.length)) >>> 0;
    if ((dst & mask) >>> 0 !== (r.prefix & mask) >>> 0) continue;
    if (best === undefined || r.length > best.length || (r.length === best.length && r.metric < best.metric)) {
      best = r;
    }
  }
  return best;
}

describe('addresses', () => {
  it('IPv4 text round-trips for every 32-bit value', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => parseIpv4(formatIpv4(v)) === v));
  });

  it('IPv6 text round-trips (RFC 5952 form) for any four words', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }), (w) => {
        assert.deepEqual(Array.from(parseIpv6(formatIpv6(w))), w);
      }),
    );
    assert.equal(formatIpv6(parseIpv6('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
    assert.equal(formatIpv6(parseIpv6('::ffff:10.0.0.1')), '::ffff:a00:1');
    assert.throws(() => parseIpv6('1::2::3'), RangeError);
  });

  it("MACs written to and read from simulated memory round-trip; the group bit is the first octet's low bit; a MAC compares by its 24-bit halves", () => {
    resetSystem();
    const va = ExAllocatePoolWithTag(NonPagedPoolNx, 8, poolTag('tseT'));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (m) => {
        writeMac(va, m);
        assert.equal(readMac(va), m);
        assert.equal(isGroupMacAt(va), (Math.floor(m / 2 ** 40) & 1) === 1);
        const high = Math.floor(m / 2 ** 24);
        const low = m % 2 ** 24;
        assert.ok(macEquals(va, high, low));
        assert.ok(!macEquals(va, high, low ^ 1) && !macEquals(va, high ^ 0x800000, low));
      }),
    );
    ExFreePoolWithTag(va, poolTag('tseT'));
  });

  it('MAC text round-trips', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (m) => parseMac(formatMac(m)) === m));
  });
});

describe('local addresses', () => {
  it('isLocal4: an address of the host, a directed broadcast of its subnets (not on /31 and /32), limited broadcast, all-hosts (property against the definition)', () => {
    const address = fc.record({
      address: fc.integer({ min: 0, max: 0xffffffff }),
      length: fc.integer({ min: 0, max: 32 }),
      ifIndex: fc.integer({ min: 1, max: 3 }),
    });
    const dst = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.constantFrom(0xffffffff, 0xe0000001, 0xe0000002, 0, 0x7fffffff, 0x80000000),
    );
    fc.assert(
      fc.property(fc.array(address, { maxLength: 6 }), fc.array(dst, { maxLength: 20 }), fc.nat(), (as, ds, cut) => {
        const host = new IpLayer({});
        for (const a of as) host.addAddress4(a.ifIndex, a.address, a.length);
        const reference = (list: typeof as, d: number) => {
          if (d === 0xffffffff) return true;
          if (d >>> 28 === 0xe) return d === 0xe0000001;
          return list.some((a) => {
            if (a.address >>> 0 === d) return true;
            if (a.length >= 31) return false;
            const hostBits = a.length === 0 ? 0xffffffff : 0xffffffff >>> a.length;
            return (d & hostBits) >>> 0 === hostBits && (d & ~hostBits) >>> 0 === (a.address & ~hostBits) >>> 0;
          });
        };
        // The host's own addresses and their broadcasts are probed too, as random values rarely hit them.
        const probes = [
          ...ds,
          ...as.map((a) => a.address),
          ...as.map((a) => (a.address | (0xffffffff >>> a.length)) >>> 0),
        ];
        for (const d of probes) assert.equal(host.isLocal4(d), reference(as, d), `dst ${formatIpv4(d)}`);
        // Removing an interface takes its addresses out of the test.
        const gone = as.length === 0 ? 1 : as[cut % as.length]!.ifIndex;
        host.removeInterface(gone);
        const left = as.filter((a) => a.ifIndex !== gone);
        for (const d of probes)
          assert.equal(host.isLocal4(d), reference(left, d), `dst ${formatIpv4(d)} after removal`);
      }),
    );
  });
});

describe('routing table', () => {
  it('IPv4 lookup is the longest prefix match, then the lowest metric (property against brute force)', () => {
    const route = fc.record({
      prefix: fc.integer({ min: 0, max: 0xffffffff }),
      length: fc.integer({ min: 0, max: 32 }),
      metric: fc.integer({ min: 0, max: 5 }),
      ifIndex: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(route, { maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 0xffffffff })), (rs, ds) => {
        const t = new RouteTable();
        for (const r of rs) t.add({ family: 'ipv4', ...r });
        // Destinations inside the prefixes too, so matches are common.
        for (const d of [...ds, ...rs.map((r) => r.prefix ^ 1)]) {
          const want = bestRoute4(rs, d >>> 0);
          const got = t.lookup4(d >>> 0);
          if (want === undefined) assert.equal(got, -1);
          else {
            assert.notEqual(got, -1);
            const listed = t.list()[got]!;
            assert.equal(listed.length, want.length);
            assert.equal(listed.metric, want.metric);
          }
        }
      }),
    );
  });

  it('on-link routes give the destination as next hop; gateway routes give the gateway', () => {
    const t = new RouteTable();
    t.add({ family: 'ipv4', prefix: parseIpv4('10.0.1.0'), length: 24, ifIndex: 1 });
    t.add({ family: 'ipv4', prefix: 0, length: 0, ifIndex: 2, nextHop: parseIpv4('10.0.2.1') });
    const dst = parseIpv4('10.0.1.7');
    const r1 = t.lookup4(dst);
    assert.equal(t.interface4(r1), 1);
    assert.equal(t.nextHop4(r1, dst), dst);
    const far = parseIpv4('192.0.2.9');
    const r2 = t.lookup4(far);
    assert.equal(t.interface4(r2), 2);
    assert.equal(formatIpv4(t.nextHop4(r2, far)), '10.0.2.1');
    assert.equal(new RouteTable().lookup4(far), -1);
  });

  it('IPv6 lookup is the longest prefix match across word boundaries', () => {
    const t = new RouteTable();
    t.add({ family: 'ipv6', prefix: parseIpv6('fd00::'), length: 8, ifIndex: 1 });
    t.add({ family: 'ipv6', prefix: parseIpv6('fd00:1::'), length: 32, ifIndex: 2 });
    t.add({ family: 'ipv6', prefix: parseIpv6('fd00:1:0:0:8000::'), length: 65, ifIndex: 3 });
    t.add({ family: 'ipv6', prefix: parseIpv6('::'), length: 0, ifIndex: 4, nextHop: parseIpv6('fe80::1') });
    const at = (a: string) => t.interface6(t.lookup6(parseIpv6(a)));
    assert.equal(at('fd00:1::8000:0:0:1'), 3);
    assert.equal(at('fd00:1::7fff:0:0:1'), 2);
    assert.equal(at('fd77::1'), 1);
    assert.equal(at('2001:db8::1'), 4);
    const hop = new Uint32Array(4);
    t.nextHop6(t.lookup6(parseIpv6('2001:db8::1')), parseIpv6('2001:db8::1'), 0, hop);
    assert.equal(formatIpv6(hop), 'fe80::1');
    const dst = parseIpv6('fd77::1');
    t.nextHop6(t.lookup6(dst), dst, 0, hop);
    assert.equal(formatIpv6(hop), 'fd77::1');
  });

  it('rejects prefix lengths beyond the family', () => {
    const t = new RouteTable();
    assert.throws(() => t.add({ family: 'ipv4', prefix: 0, length: 33, ifIndex: 1 }), RangeError);
    assert.throws(() => t.add({ family: 'ipv6', prefix: [0, 0, 0, 0], length: 129, ifIndex: 1 }), RangeError);
  });
});

describe('neighbour cache', () => {
  it('learns, looks up and keeps interfaces apart, for any number of neighbours (growth)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 300 }), (addrs) => {
        const c = new NeighborCache<string>();
        for (const [i, a] of addrs.entries()) c.learn4(1, a, i + 1);
        addrs.forEach((a, i) => {
          assert.equal(c.mac4(1, a), i + 1);
          assert.equal(c.mac4(2, a), -1);
        });
      }),
    );
  });

  it('the IPv4 probes (reachable4, learn4At) find exactly what the general lookup of the mapped address finds', () => {
    resetSystem();
    const va = ExAllocatePoolWithTag(NonPagedPoolNx, 8, poolTag('tseT'));
    const entry = fc.record({
      ifIndex: fc.integer({ min: 1, max: 4 }),
      address: fc.integer({ min: 0, max: 0xffffffff }),
      mac: fc.integer({ min: 0, max: 0xffff_ffff_ffff }),
      how: fc.constantFrom('learn4', 'learn6-mapped', 'learn4At', 'hold4', 'learn6-near'),
      // For learn6-near: an IPv6 address that is not the mapped one but ends in the same word.
      near: fc.constantFrom<number[]>([0, 0, 0], [0, 1, 0xffff], [1, 0, 0xffff], [0, 0, 0xfffe], [0xffff, 0, 0]),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 120 }), fc.array(entry, { maxLength: 40 }), (ops, probes) => {
        const c = new NeighborCache<number>();
        const s = { value: false };
        const mapped = (a: number) => Uint32Array.of(0, 0, 0xffff, a);
        for (const [i, o] of ops.entries()) {
          if (o.how === 'learn4') c.learn4(o.ifIndex, o.address, o.mac);
          else if (o.how === 'learn6-mapped') c.learn6(o.ifIndex, mapped(o.address), 0, o.mac);
          else if (o.how === 'hold4') c.hold4(o.ifIndex, o.address, i, s);
          else if (o.how === 'learn6-near') c.learn6(o.ifIndex, Uint32Array.of(...o.near, o.address), 0, o.mac);
          else {
            writeMac(va, o.mac);
            c.learn4At(o.ifIndex, o.address, va);
          }
        }
        for (const p of [...ops, ...probes]) {
          const slot = c.reachable4(p.ifIndex, p.address);
          assert.equal(slot, c.reachable6(p.ifIndex, mapped(p.address), 0));
          const mac = c.mac4(p.ifIndex, p.address);
          if (slot < 0) assert.equal(mac, -1);
          else assert.equal(c.macHigh(slot) * 0x1000000 + c.macLow(slot), mac);
          // Hearing the neighbour again with the MAC it has changes nothing; with another MAC it updates it.
          if (mac >= 0) {
            writeMac(va, mac);
            assert.equal(c.learn4At(p.ifIndex, p.address, va), null);
            assert.equal(c.mac4(p.ifIndex, p.address), mac);
            writeMac(va, (mac + 1) % 0x1_0000_0000_0000);
            c.learn4At(p.ifIndex, p.address, va);
            assert.equal(c.mac4(p.ifIndex, p.address), (mac + 1) % 0x1_0000_0000_0000);
          }
        }
      }),
    );
    ExFreePoolWithTag(va, poolTag('tseT'));
  });

  it('holds one packet per unresolved neighbour (RFC 4861 7.2.2): a newer one displaces the older', () => {
    const c = new NeighborCache<string>();
    const solicit = { value: false };
    assert.equal(c.hold4(1, 7, 'first', solicit), null);
    assert.equal(solicit.value, true);
    assert.equal(c.hold4(1, 7, 'second', solicit), 'first');
    assert.equal(solicit.value, false, 'no second request while one is outstanding');
    assert.equal(c.mac4(1, 7), -1);
    assert.equal(c.heldCount(), 1);
    assert.equal(c.learn4(1, 7, 0xaabbccddeeff), 'second');
    assert.equal(c.mac4(1, 7), 0xaabbccddeeff);
    assert.equal(c.heldCount(), 0);
  });

  it('a permanent (configured) entry is never overwritten by learning', () => {
    const c = new NeighborCache<string>();
    const w = parseIpv6('fd00::1');
    c.learn6(1, w, 0, 0x111111111111, true);
    c.learn6(1, w, 0, 0x222222222222);
    assert.equal(c.mac6(1, w), 0x111111111111);
  });

  it('releaseHeld hands back every waiting packet', () => {
    const c = new NeighborCache<number>();
    const s = { value: false };
    for (let i = 0; i < 10; i++) c.hold4(1, i, i, s);
    assert.deepEqual(
      c.releaseHeld().sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(c.heldCount(), 0);
  });
});
