/**
 * The IP layer as an NDIS 6 protocol driver over the virtual NIC miniport and the wire: it registers, binds with
 * NdisOpenAdapterEx, sends with NdisSendNetBufferLists and returns receives with NdisReturnNetBufferLists. Two
 * hosts on one segment ping each other, resolving each other with ARP; a router between two segments forwards.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { NdisAllocateMdl, NdisFreeMdl } from '../../src/kernel/mdl.js';
import { bytesAt } from '../../src/kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';
import { NDIS_RECEIVE_FLAGS_RESOURCES } from '../../src/ndis/driver-constants.js';
import { NdisMIndicateReceiveNetBufferLists } from '../../src/ndis/miniport.js';
import {
  NdisAllocateNetBufferAndNetBufferList,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
} from '../../src/ndis/netBufferList.js';
import { formatIpv4, parseIpv4 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { IPPROTO_UDP } from '../../src/stack/headers.js';
import { IpLayer } from '../../src/stack/ip.js';
import { unloadVirtualNicDriver, VirtualNic } from '../../src/stack/nic.js';
import { allocateListPool } from '../../src/stack/pools.js';
import { IpProtocol } from '../../src/stack/protocol.js';
import { Wire } from '../../src/stack/wire.js';
import { frame } from './frames.js';

/** A host with its own protocol registration, bound to the NICs whose names start with `prefix`. */
function host(prefix: string, forwarding = false) {
  const ip = new IpLayer({ forwarding });
  ip.start();
  const protocol = new IpProtocol(ip, `TCPIP-${prefix}`, (name) => name.startsWith(prefix));
  return { ip, protocol };
}

function stopAll(...hosts: ReturnType<typeof host>[]) {
  drainDeferredWork();
  for (const h of hosts) {
    h.ip.stop();
    h.protocol.deregister();
    assert.equal(h.ip.counters.balance(0), 0, 'every packet accounted for');
  }
}

/** Nothing leaked once the NIC driver is unloaded (NDIS's internal pools are its own, not reported). */
function assertNoLeaks(): void {
  unloadVirtualNicDriver();
  assert.deepEqual(collectLeaks(), []);
}

describe('the IP layer as an NDIS protocol driver', () => {
  beforeEach(() => resetSystem());

  it('binds to its adapters (one protocol per host), learns MAC, MTU and interface index from the bind parameters', () => {
    new VirtualNic({ name: 'A0', mac: [2, 0, 0, 0, 0, 0xa], ifIndex: 11, mtu: 1500 });
    new VirtualNic({ name: 'B0', mac: [2, 0, 0, 0, 0, 0xb], ifIndex: 12 });
    const a = host('A');
    assert.equal(a.protocol.register(), 0);
    assert.equal(a.protocol.bindings.length, 1);
    const b = a.protocol.bindings[0]!;
    assert.equal(b.ifIndex, 11);
    assert.equal(b.mac, 0x02000000000a);
    assert.equal(b.mtu, 1500);
    stopAll(a);
  });

  it("two hosts on one wire: A sends UDP to B; ARP resolves B; the datagram reaches B's sink; everything returns", () => {
    const wire = new Wire('lan');
    const nicA = new VirtualNic({ name: 'A0', mac: [2, 0, 0, 0, 0, 0xa], ifIndex: 1 });
    const nicB = new VirtualNic({ name: 'B0', mac: [2, 0, 0, 0, 0, 0xb], ifIndex: 2 });
    nicA.connect(wire);
    nicB.connect(wire);
    const a = host('A');
    const b = host('B');
    a.protocol.register();
    b.protocol.register();
    a.ip.addAddress4(1, parseIpv4('192.168.7.1'), 24);
    b.ip.addAddress4(2, parseIpv4('192.168.7.2'), 24);
    const sink = b.ip.endpoints.bind(IPPROTO_UDP, 9999);
    const seen: string[] = [];
    wire.tap((frame) => seen.push(frame[12] === 8 && frame[13] === 6 ? `arp ${frame[21]}` : 'ip'));
    assert.ok(a.ip.sendFrom(IPPROTO_UDP, 5000, parseIpv4('192.168.7.2'), 9999, new Uint8Array([1, 2, 3])));
    drainDeferredWork();
    assert.deepEqual(seen, ['arp 1', 'arp 2', 'ip'], 'request, reply, then the held datagram');
    assert.equal(sink.packets, 1);
    assert.equal(sink.bytes, 3);
    assert.equal(formatIpv4(a.ip.sourceFor4(1)), '192.168.7.1');
    assert.equal(nicB.counters.framesIn, 2);
    stopAll(a, b);
    nicA.remove();
    nicB.remove();
    wire.close();
    assertNoLeaks();
  });

  it('a router between two wires forwards, ARPing on the far side; an unbound port answers with ICMP', () => {
    const left = new Wire('left');
    const right = new Wire('right');
    const nics = [
      new VirtualNic({ name: 'A0', mac: [2, 0, 0, 0, 0, 0xa], ifIndex: 1 }),
      new VirtualNic({ name: 'R1', mac: [2, 0, 0, 0, 1, 1], ifIndex: 2 }),
      new VirtualNic({ name: 'R2', mac: [2, 0, 0, 0, 2, 1], ifIndex: 3 }),
      new VirtualNic({ name: 'B0', mac: [2, 0, 0, 0, 0, 0xb], ifIndex: 4 }),
    ];
    nics[0]!.connect(left);
    nics[1]!.connect(left);
    nics[2]!.connect(right);
    nics[3]!.connect(right);
    const a = host('A');
    const r = host('R', true);
    const b = host('B');
    for (const h of [a, r, b]) h.protocol.register();
    a.ip.addAddress4(1, parseIpv4('10.0.1.10'), 24);
    a.ip.routes.add({ family: 'ipv4', prefix: 0, length: 0, ifIndex: 1, nextHop: parseIpv4('10.0.1.1') });
    r.ip.addAddress4(2, parseIpv4('10.0.1.1'), 24);
    r.ip.addAddress4(3, parseIpv4('10.0.2.1'), 24);
    b.ip.addAddress4(4, parseIpv4('10.0.2.20'), 24);
    b.ip.routes.add({ family: 'ipv4', prefix: 0, length: 0, ifIndex: 4, nextHop: parseIpv4('10.0.2.1') });
    const sink = b.ip.endpoints.bind(IPPROTO_UDP, 53);
    a.ip.sendFrom(IPPROTO_UDP, 4000, parseIpv4('10.0.2.20'), 53, new Uint8Array(20));
    drainDeferredWork();
    assert.equal(sink.packets, 1);
    assert.equal(r.ip.counters.forwarded, 1);
    // To a closed port on B: B answers with ICMP port unreachable, routed back to A.
    a.ip.sendFrom(IPPROTO_UDP, 4000, parseIpv4('10.0.2.20'), 54, new Uint8Array(4));
    drainDeferredWork();
    assert.equal(b.ip.counters.originated, 2, 'the ARP reply... and the ICMP error');
    assert.equal(r.ip.counters.forwarded, 3);
    assert.equal(a.ip.counters.delivered >= 2, true, 'A took the ARP reply and the ICMP error');
    stopAll(a, r, b);
    for (const n of nics) n.remove();
    left.close();
    right.close();
    assertNoLeaks();
  });

  it('an adapter removed while the host runs is unbound: its routes go, and a send to it is a counted no-route drop', () => {
    const nic = new VirtualNic({ name: 'A0', mac: [2, 0, 0, 0, 0, 0xa], ifIndex: 1 });
    const a = host('A');
    a.protocol.register();
    a.ip.addAddress4(1, parseIpv4('192.168.9.1'), 24);
    nic.remove(); // NDIS calls ProtocolUnbindAdapterEx
    assert.equal(a.protocol.bindings.length, 0);
    assert.equal(a.ip.interfaceAt(1), undefined);
    assert.equal(a.ip.sendFrom(IPPROTO_UDP, 1, parseIpv4('192.168.9.2'), 9, new Uint8Array(1)), true);
    assert.equal(a.ip.counters.dropped[DropReason.NoRoute], 1);
    stopAll(a);
    assertNoLeaks();
  });

  it("a RESOURCES receive whose frame lies across two of the miniport's MDLs is copied whole and delivered", () => {
    const wire = new Wire('lan');
    const nic = new VirtualNic({ name: 'B0', mac: [2, 0, 0, 0, 0, 0xb], ifIndex: 2 });
    nic.connect(wire);
    const b = host('B');
    b.protocol.register();
    b.ip.addAddress4(2, parseIpv4('192.168.7.2'), 24);
    b.ip.neighbors.learn4(2, parseIpv4('192.168.7.1'), 0x02000000000a, true);
    const sink = b.ip.endpoints.bind(IPPROTO_UDP, 7);
    const f = frame({
      protocol: 'udp',
      src: '192.168.7.1',
      dst: '192.168.7.2',
      dstPort: 7,
      payload: new Uint8Array(30).fill(7),
      srcMac: 0x02000000000a,
      dstMac: 0x02000000000b,
    });
    const split = 20; // inside the IP header
    const tag = poolTag('tseT');
    const first = ExAllocatePoolWithTag(NonPagedPoolNx, split, tag);
    const rest = ExAllocatePoolWithTag(NonPagedPoolNx, f.length - split, tag);
    bytesAt(first, split).set(f.subarray(0, split));
    bytesAt(rest, f.length - split).set(f.subarray(split));
    const m1 = NdisAllocateMdl(null, first, split)!;
    const m2 = NdisAllocateMdl(null, rest, f.length - split)!;
    m1.Next = m2;
    const pool = allocateListPool(tag, 0, true)!;
    const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 0, f.length)!;
    nbl.SourceHandle = nic.adapter;
    NdisMIndicateReceiveNetBufferLists(nic.adapter, nbl, 0, 1, NDIS_RECEIVE_FLAGS_RESOURCES);
    drainDeferredWork();
    const binding = b.protocol.bindings[0]!;
    assert.equal(binding.copyFailures, 0);
    assert.equal(binding.copiedReceives, 1);
    assert.equal(sink.packets, 1);
    assert.equal(sink.bytes, 30);
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferListPool(pool);
    NdisFreeMdl(m1);
    NdisFreeMdl(m2);
    ExFreePoolWithTag(first, tag);
    ExFreePoolWithTag(rest, tag);
    stopAll(b);
    nic.remove();
    wire.close();
    assertNoLeaks();
  });

  it('receives indicated with NDIS_RECEIVE_FLAGS_RESOURCES are copied, never kept', () => {
    const wire = new Wire('lan');
    const nicA = new VirtualNic({ name: 'A0', mac: [2, 0, 0, 0, 0, 0xa], ifIndex: 1 });
    const nicB = new VirtualNic({ name: 'B0', mac: [2, 0, 0, 0, 0, 0xb], ifIndex: 2, receiveWithResources: true });
    nicA.connect(wire);
    nicB.connect(wire);
    const a = host('A');
    const b = host('B');
    a.protocol.register();
    b.protocol.register();
    a.ip.addAddress4(1, parseIpv4('192.168.7.1'), 24);
    b.ip.addAddress4(2, parseIpv4('192.168.7.2'), 24);
    const sink = b.ip.endpoints.bind(IPPROTO_UDP, 7);
    a.ip.sendFrom(IPPROTO_UDP, 5000, parseIpv4('192.168.7.2'), 7, new Uint8Array(8));
    drainDeferredWork();
    assert.equal(sink.packets, 1);
    assert.ok(b.protocol.bindings[0]!.copiedReceives >= 2, 'the ARP request and the datagram were copied');
    stopAll(a, b);
    nicA.remove();
    nicB.remove();
    wire.close();
    assertNoLeaks();
  });
});
