/**
 * Captures of links without Ethernet headers played into the host's Ethernet NICs (src/stack/link-adapt.ts): the
 * link header becomes the Ethernet header its protocol calls for, and what the host forwards leaves as Ethernet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../../src/capture/linktype.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { packets } from '../../src/capture/reader.js';
import { FileSink } from '../../src/capture/sink.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { resetSystem } from '../../src/kernel/system.js';
import { EthernetEquivalent, toEthernet } from '../../src/stack/link-adapt.js';
import { replay } from '../../src/stack/replay.js';
import { frame } from './frames.js';

const dir = mkdtempSync(join(tmpdir(), 'wdknet-link-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The IP packet of an Ethernet frame built by frames.ts (its 14-byte header cut off), one way or back. */
function ipPacket(version: 4 | 6, back = false): Uint8Array {
  const [a, b] = version === 4 ? ['10.0.1.10', '10.0.2.20'] : ['fd00:1::10', 'fd00:2::20'];
  const f = frame({ protocol: 'udp', src: back ? b : a, dst: back ? a : b, srcPort: 1000, dstPort: 9 });
  return f.subarray(14);
}

function sll(packetType: number, protocol: number, mac: number[] | null, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(16);
  h[1] = packetType;
  h[3] = 1; // ARPHRD_ETHER
  h[5] = mac === null ? 0 : 6;
  if (mac !== null) h.set(mac, 6);
  h[14] = protocol >> 8;
  h[15] = protocol & 0xff;
  return Uint8Array.from([...h, ...payload]);
}

function sll2(packetType: number, protocol: number, mac: number[], payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  h[0] = protocol >> 8;
  h[1] = protocol & 0xff;
  h[9] = 1; // ARPHRD_ETHER
  h[10] = packetType;
  h[11] = 6;
  h.set(mac, 12);
  return Uint8Array.from([...h, ...payload]);
}

function nullHeader(family: number, littleEndian: boolean): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, family, littleEndian);
  return h;
}

describe('link types without Ethernet headers, played into Ethernet NICs (link-adapt.ts)', () => {
  beforeEach(() => resetSystem());

  it('each link header gives the EtherType, the payload offset and, from SLL, the sender MAC', () => {
    const out = new EthernetEquivalent();
    const v4 = ipPacket(4);
    const v6 = ipPacket(6);
    const mac = [2, 0x11, 0x22, 0x33, 0x44, 0x55];
    const cases: [number, Uint8Array, number, number][] = [
      [LINKTYPE_RAW, v4, 0x0800, 0],
      [LINKTYPE_RAW, v6, 0x86dd, 0],
      [LINKTYPE_IPV6, v6, 0x86dd, 0],
      [LINKTYPE_NULL, Uint8Array.from([...nullHeader(2, true), ...v4]), 0x0800, 4],
      [LINKTYPE_NULL, Uint8Array.from([...nullHeader(30, false), ...v6]), 0x86dd, 4],
      [LINKTYPE_LOOP, Uint8Array.from([...nullHeader(24, false), ...v6]), 0x86dd, 4],
      [LINKTYPE_LINUX_SLL, sll(0, 0x0800, mac, v4), 0x0800, 16],
      [LINKTYPE_LINUX_SLL2, sll2(4, 0x86dd, mac, v6), 0x86dd, 20],
    ];
    for (const [type, bytes, etherType, header] of cases) {
      assert.ok(toEthernet(type, bytes, 0, bytes.length, out), `link type ${type}`);
      assert.equal(out.etherType, etherType);
      assert.equal(out.payload, header);
      assert.equal(out.length, bytes.length - header);
      if (type === LINKTYPE_LINUX_SLL || type === LINKTYPE_LINUX_SLL2) {
        assert.deepEqual([out.sourceHigh, out.sourceLow], [0x021122, 0x334455]);
      } else assert.equal(out.sourceHigh, -1);
    }
    const broadcast = sll(1, 0x0806, null, new Uint8Array(28));
    assert.ok(toEthernet(LINKTYPE_LINUX_SLL, broadcast, 0, broadcast.length, out));
    assert.ok(out.broadcast);
    assert.equal(out.sourceHigh, -1, 'no six-byte address: no sender MAC');
  });

  it('frames with nothing an Ethernet NIC could indicate are refused: cut-short headers, other protocols, unknown families', () => {
    const out = new EthernetEquivalent();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(0, 108, 101, 113, 276), (bytes, type) => {
        const ok = toEthernet(type, bytes, 0, bytes.length, out);
        if (ok) {
          assert.ok([0x0800, 0x86dd, 0x0806].includes(out.etherType));
          assert.ok(out.payload + out.length === bytes.length && out.length >= 0);
        }
      }),
    );
    const netlink = sll(0, 0x0010, null, new Uint8Array(20));
    assert.equal(toEthernet(LINKTYPE_LINUX_SLL, netlink, 0, netlink.length, out), false);
    const ipx = Uint8Array.from([...nullHeader(23, true), 1, 2, 3]);
    assert.equal(toEthernet(LINKTYPE_NULL, ipx, 0, ipx.length, out), false);
    assert.equal(toEthernet(LINKTYPE_LINUX_SLL2, new Uint8Array(19), 0, 19, out), false);
  });

  it('a raw-IP capture plays through the router: every datagram is forwarded, out as Ethernet with TTL - 1, nothing leaked', () => {
    const input = join(dir, 'raw.pcap');
    const w = new PcapWriter(new FileSink(input), { linkType: LINKTYPE_RAW });
    // Both ends talk (the router learns each address from its packets), IPv4 and IPv6.
    const sent = [ipPacket(4), ipPacket(4, true), ipPacket(6), ipPacket(6, true)];
    for (let i = 0; i < 12; i++) {
      const p = sent[i % 4]!;
      w.writePacket(1_700_000_000, i * 1000, p, 0, p.length);
    }
    w.close();
    const output = join(dir, 'raw-out.pcap');
    const run = replay({ input, output });
    run.finish();
    assert.deepEqual([...run.notAttached.entries()], []);
    assert.equal(run.host.counters.received, 12);
    assert.equal(run.host.counters.forwarded, 12);
    assert.equal(run.host.counters.balance(0), 0);
    assert.deepEqual(collectLeaks(), []);
    const out = [...packets(output)];
    assert.ok(out.every((p) => p.linkType === LINKTYPE_ETHERNET));
    const udp = out
      .map((p) => p.data)
      .filter((d) => {
        const type = (d[12]! << 8) | d[13]!;
        return (type === 0x0800 && d[23] === 17) || (type === 0x86dd && d[20] === 17);
      });
    assert.equal(udp.length, 12, 'every datagram left, as Ethernet');
    for (const d of udp) {
      const ip = d.subarray(14);
      const v4 = ip[0]! >>> 4 === 4;
      const original = sent.find((p) => p.length === ip.length && p.subarray(12).every((b, k) => b === ip[12 + k]))!;
      assert.ok(original !== undefined, 'addresses and payload unchanged');
      if (v4) assert.equal(ip[8], original[8]! - 1, 'TTL - 1');
      else assert.equal(ip[7], original[7]! - 1, 'hop limit - 1');
    }
  });
});
