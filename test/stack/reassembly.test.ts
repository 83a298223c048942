/**
 * Reassembly's bounds: the 60-second timeout from the first-arriving fragment (RFC 8200 4.5; Windows since Vista
 * uses it for IPv4 too) with ICMP / ICMPv6 time exceeded code 1 when the first fragment was held (RFC 792, RFC 8200
 * 4.5), the memory limit (tcpip's ReassemblyLimit), and the queue's own bookkeeping (property).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import { DropReason } from '../../src/stack/counters.js';
import { IPPROTO_UDP } from '../../src/stack/headers.js';
import { REASSEMBLY_TIMEOUT_SECONDS, Reassembled, ReassemblyQueue } from '../../src/stack/reassembly.js';
import { checksumOk, fragment, fragment6, frame } from './frames.js';
import { MAC1, testHost } from './host.js';

function datagram4(id: number, payloadLength = 64) {
  const f = frame({
    protocol: 'udp',
    src: '10.0.1.10',
    dst: '10.0.1.1',
    dstPort: 53,
    payload: Uint8Array.from({ length: payloadLength }, (_, i) => i),
    dstMac: MAC1,
  });
  f[14 + 4] = id >> 8;
  f[14 + 5] = id & 0xff;
  return f;
}

function datagram6() {
  return frame({
    protocol: 'udp',
    src: 'fd00:1::10',
    dst: 'fd00:1::1',
    dstPort: 53,
    payload: new Uint8Array(64),
    dstMac: MAC1,
  });
}

describe('host IP layer: reassembly timeout and limit', () => {
  beforeEach(() => resetSystem());

  it('IPv4: a datagram incomplete 60 s after its first-arriving fragment is dropped (reassembly time exceeded) and ICMP time exceeded code 1 quotes the first fragment (RFC 792)', () => {
    const r = testHost();
    r.host.endpoints.bind(IPPROTO_UDP, 53);
    const [first, , last] = fragment(datagram4(7), [24, 24, 24]);
    r.host.tick(1000);
    r.if1.indicate(first!, 0, first!.length);
    r.host.tick(1030);
    r.if1.indicate(last!, 0, last!.length);
    r.host.tick(1000 + REASSEMBLY_TIMEOUT_SECONDS - 0.001);
    assert.deepEqual(r.host.held(), [{ owner: 'reassembly (fragments waiting)', count: 2 }], 'still waiting');
    assert.equal(r.out.length, 0);
    r.host.tick(1000 + REASSEMBLY_TIMEOUT_SECONDS);
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyTimeout], 2, 'both fragments, from the first arrival');
    assert.deepEqual(r.host.held(), []);
    assert.equal(r.out.length, 1);
    const icmp = r.out[0]!.bytes;
    assert.equal(icmp[14 + 9], 1, 'ICMP');
    assert.equal(icmp[34], 11, 'time exceeded');
    assert.equal(icmp[35], 1, 'code 1: fragment reassembly time exceeded');
    assert.deepEqual([...icmp.subarray(14 + 16, 14 + 20)], [10, 0, 1, 10], 'to the source');
    assert.deepEqual([...icmp.subarray(42, 42 + 28)], [...first!.subarray(14, 42)], 'quoting the first fragment');
    assert.ok(checksumOk(icmp, 34, icmp.length));
    r.finish();
  });

  it('no ICMP error when the first fragment never arrived (RFC 792 / RFC 8200 4.5: only if fragment zero is held)', () => {
    const r = testHost();
    const [, middle, last] = fragment(datagram4(8), [24, 24, 24]);
    r.if1.indicate(middle!, 0, middle!.length);
    r.if1.indicate(last!, 0, last!.length);
    r.host.tick(REASSEMBLY_TIMEOUT_SECONDS);
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyTimeout], 2);
    assert.equal(r.out.length, 0);
    r.finish();
  });

  it('IPv6: the timeout sends ICMPv6 time exceeded code 1 (RFC 8200 4.5, RFC 4443 3.3)', () => {
    const r = testHost();
    const [first] = fragment6(datagram6(), [32, 40]);
    r.host.tick(5);
    r.if1.indicate(first!, 0, first!.length);
    r.host.tick(64.9);
    assert.equal(r.out.length, 0);
    r.host.tick(65);
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyTimeout], 1);
    assert.equal(r.out.length, 1);
    const icmp = r.out[0]!.bytes;
    assert.equal(icmp[14 + 6], 58, 'ICMPv6');
    assert.equal(icmp[54], 3, 'time exceeded');
    assert.equal(icmp[55], 1, 'fragment reassembly time exceeded');
    r.finish();
  });

  it('a datagram completed in time is delivered; the clock never goes back', () => {
    const r = testHost();
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    const parts = fragment(datagram4(9), [24, 24, 24]);
    r.host.tick(100);
    r.if1.indicate(parts[0]!, 0, parts[0]!.length);
    r.host.tick(50); // ignored: time does not run backwards
    assert.equal(r.host.now, 100);
    r.host.tick(159);
    r.if1.indicate(parts[2]!, 0, parts[2]!.length);
    r.if1.indicate(parts[1]!, 0, parts[1]!.length);
    assert.equal(sink.packets, 1);
    r.host.tick(1e6);
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyTimeout], 0);
    r.finish();
  });

  it('the memory bound (ReassemblyLimit): a fragment that would pass it is dropped with its reason; what is held stays and can complete', () => {
    const r = testHost();
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    // Each fragment below is 20 + 24 bytes: room for three.
    r.host.reassembly.limitBytes = 3 * 44;
    const a = fragment(datagram4(1, 40), [24, 24]);
    const b = fragment(datagram4(2, 40), [24, 24]);
    r.if1.indicate(a[0]!, 0, a[0]!.length);
    r.if1.indicate(b[0]!, 0, b[0]!.length);
    r.if1.indicate(b[1]!, 0, b[1]!.length); // 20 + 24: fits, completes b
    assert.equal(sink.packets, 1);
    assert.equal(r.host.reassembly.bytesHeld, 44);
    const c = fragment(datagram4(3, 104), [24, 24, 24, 40]);
    r.if1.indicate(c[0]!, 0, c[0]!.length);
    r.if1.indicate(c[1]!, 0, c[1]!.length);
    assert.equal(r.host.reassembly.bytesHeld, 3 * 44, 'exactly at the limit');
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyLimit], 0);
    r.if1.indicate(c[2]!, 0, c[2]!.length);
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyLimit], 1, 'a fourth fragment held would pass it');
    r.if1.indicate(a[1]!, 0, a[1]!.length); // a's last fragment, 20 + 16 bytes, would not fit either
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyLimit], 2);
    assert.equal(sink.packets, 1);
    r.host.stop();
    assert.equal(r.host.counters.dropped[DropReason.ReassemblyIncomplete], 3);
    r.finish();
  });
});

describe('host IP layer: IPv6 atomic fragments', () => {
  beforeEach(() => resetSystem());

  it('a fragment that is a whole datagram (offset 0, M clear) is processed alone, not mixed with fragments of its identification (RFC 8200 4.5)', () => {
    const r = testHost();
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    const [, second] = fragment6(datagram6(), [32, 40], 0x77);
    r.if1.indicate(second!, 0, second!.length);
    const [atomic] = fragment6(datagram6(), [72], 0x77);
    r.if1.indicate(atomic!, 0, atomic!.length);
    assert.equal(sink.packets, 1, 'delivered at once');
    assert.equal(r.host.counters.dropped[DropReason.FragmentOverlap], 0);
    assert.deepEqual(r.host.held(), [{ owner: 'reassembly (fragments waiting)', count: 1 }], 'the other still waits');
    r.finish();
  });
});

describe('ReassemblyQueue', () => {
  const nbl = {} as NET_BUFFER_LIST;

  function addTo(q: ReassemblyQueue, id: number, offset: number, length: number, more: boolean, now = 0) {
    q.key.fill(0);
    q.key[0] = (4 << 8) | 17;
    q.key[9] = id;
    return q.add(now, 1, nbl, 0x1000 + offset, offset, length, 0, 20, 0, 0, more, 20 + length);
  }

  it('any interleaving of the fragments of several datagrams completes each exactly at its last piece, in offset order, and frees everything (property)', () => {
    const datagram = fc
      .array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 })
      .chain((units) => fc.tuple(fc.constant(units), fc.integer({ min: 1, max: 8 })));
    fc.assert(
      fc.property(fc.array(datagram, { minLength: 1, maxLength: 4 }), fc.infiniteStream(fc.nat()), (ds, picks) => {
        const q = new ReassemblyQueue();
        // Each datagram: fragments of 8 * units bytes, the last one `tail` bytes.
        const pending = ds.map(([units, tail], id) => {
          const frags: { offset: number; length: number; more: boolean }[] = [];
          let at = 0;
          for (const u of units) {
            frags.push({ offset: at, length: 8 * u, more: true });
            at += 8 * u;
          }
          frags.push({ offset: at, length: tail, more: false });
          return { id, frags, total: at + tail, left: frags.length };
        });
        const it = picks[Symbol.iterator]();
        let remaining = pending.reduce((n, p) => n + p.frags.length, 0);
        while (remaining > 0) {
          const live = pending.filter((p) => p.frags.length > 0);
          const p = live[it.next().value! % live.length]!;
          const f = p.frags.splice(it.next().value! % p.frags.length, 1)[0]!;
          remaining--;
          p.left--;
          const status = addTo(q, p.id, f.offset, f.length, f.more);
          if (p.left > 0) {
            assert.equal(status, Reassembled.Held);
            continue;
          }
          assert.equal(status, Reassembled.Complete);
          const d = q.datagram;
          assert.equal(q.payloadBytes(d), p.total);
          let expect = 0;
          for (let g = q.first(d); g >= 0; g = q.next[g]!) {
            assert.equal(q.offset[g], expect, 'in offset order, no gap');
            expect += q.length[g]!;
          }
          assert.equal(expect, p.total);
          q.remove(d);
        }
        assert.equal(q.heldCount(), 0);
        assert.equal(q.datagramCount(), 0);
        assert.equal(q.bytesHeld, 0);
      }),
      { numRuns: 200 },
    );
  });

  it('a duplicate, an overlap, a second last fragment or a piece past the end is an overlap (RFC 5722 rule)', () => {
    const q = new ReassemblyQueue();
    assert.equal(addTo(q, 1, 16, 16, true), Reassembled.Held);
    assert.equal(addTo(q, 1, 16, 16, true), Reassembled.Overlap, 'duplicate');
    assert.equal(addTo(q, 1, 8, 16, true), Reassembled.Overlap, 'overlaps from before');
    assert.equal(addTo(q, 1, 24, 16, true), Reassembled.Overlap, 'overlaps from inside');
    assert.equal(addTo(q, 1, 40, 4, false), Reassembled.Held);
    assert.equal(addTo(q, 1, 48, 8, true), Reassembled.Overlap, 'past the known end');
    assert.equal(addTo(q, 1, 32, 4, false), Reassembled.Overlap, 'a second, shorter last fragment');
    assert.equal(addTo(q, 1, 0, 16, true), Reassembled.Held);
    assert.equal(addTo(q, 1, 32, 8, true), Reassembled.Complete);
  });

  it('expiry: the deadline runs from the first-arriving fragment; expired() is -1 until it comes', () => {
    const q = new ReassemblyQueue();
    addTo(q, 1, 0, 8, true, 10);
    addTo(q, 2, 0, 8, true, 20);
    addTo(q, 1, 8, 8, true, 65);
    assert.equal(q.expired(69.99), -1);
    const d = q.expired(70);
    assert.ok(d >= 0);
    assert.equal(q.fragmentCount(d), 2);
    q.remove(d);
    assert.equal(q.expired(79), -1);
    assert.ok(q.expired(80) >= 0);
  });

  it('reuses its slots: after a warm-up, traffic of the same shape grows no table', () => {
    const q = new ReassemblyQueue();
    const round = () => {
      for (let id = 0; id < 50; id++) {
        addTo(q, id, 0, 8, true);
        addTo(q, id, 8, 8, true);
      }
      for (let id = 0; id < 50; id++) {
        assert.equal(addTo(q, id, 16, 3, false), Reassembled.Complete);
        q.remove(q.datagram);
      }
    };
    round();
    const tables = [q.offset, q.next, q.payloadVa];
    for (let i = 0; i < 20; i++) round();
    assert.deepEqual([q.offset, q.next, q.payloadVa], tables, 'the same typed arrays: nothing reallocated');
  });
});
