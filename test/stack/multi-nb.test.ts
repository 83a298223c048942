/**
 * Lists that carry several NET_BUFFERs (NDIS allows it on receive and on send: "Receiving Network Data", the WFP
 * "Packet Indication Format" page): every NET_BUFFER is one packet, received, forwarded, sent and dropped alone,
 * and the list goes back to its owner once, when its last packet is done.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { disableFaultInjection, enableFaultInjection } from '../../src/kernel/faults.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';
import { mdlVa } from '../../src/ndis/chain.js';
import { NDIS_RECEIVE_FLAGS_RESOURCES } from '../../src/ndis/driver-constants.js';
import {
  NdisAllocateNetBufferMdlAndData,
  NdisAllocateNetBufferPool,
  NdisFreeNetBuffer,
  NdisFreeNetBufferPool,
} from '../../src/ndis/netBuffer.js';
import {
  NdisAllocateNetBufferList,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
} from '../../src/ndis/netBufferList.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  type NET_BUFFER,
  type NET_BUFFER_LIST,
  NET_BUFFER_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
} from '../../src/ndis/structures.js';
import { parseIpv4 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { type ClassifyRequest, Verdict } from '../../src/stack/filters.js';
import { IPPROTO_UDP } from '../../src/stack/headers.js';
import { IpLayer } from '../../src/stack/ip.js';
import { Layer } from '../../src/stack/layers.js';
import { unloadVirtualNicDriver, VirtualNic } from '../../src/stack/nic.js';
import { allocateListPool } from '../../src/stack/pools.js';
import { IpProtocol } from '../../src/stack/protocol.js';
import { arp, frame, u16 } from './frames.js';
import { A_MAC, B_MAC, MAC1, MAC2, testHost } from './host.js';

const TAG = poolTag('tsET');

/** A callout's list of several IP packets (data at each IP header), from pools of the test's own. */
function injectable(packets: readonly Uint8Array[]) {
  const pool = allocateListPool(TAG, 2048, true, 0)!;
  const p = new NET_BUFFER_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  );
  p.PoolTag = TAG;
  p.DataSize = 2048;
  const nbPool = NdisAllocateNetBufferPool(null, p)!;
  const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
  let tail: NET_BUFFER | null = null;
  for (const bytes of packets) {
    const nb: NET_BUFFER = tail === null ? nbl.FirstNetBuffer! : NdisAllocateNetBufferMdlAndData(nbPool)!;
    memory.set(bytes, mdlVa(nb.MdlChain!) + nb.DataOffset - ARENA_BASE);
    nb.DataLength = bytes.length;
    if (tail !== null) tail.Next = nb;
    tail = nb;
  }
  const free = () => {
    const extra = nbl.FirstNetBuffer!.Next;
    nbl.FirstNetBuffer!.Next = null;
    for (let nb: NET_BUFFER | null = extra; nb !== null; ) {
      const next: NET_BUFFER | null = nb.Next;
      nb.Next = null;
      NdisFreeNetBuffer(nb);
      nb = next;
    }
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferListPool(pool);
    NdisFreeNetBufferPool(nbPool);
  };
  return { nbl, free };
}

describe('host IP layer: lists of several NET_BUFFERs', () => {
  beforeEach(() => resetSystem());

  it('receive: each NET_BUFFER is a packet of its own (delivered, dropped, held for a neighbour); the list goes back once, after the last', () => {
    const r = testHost({ neighbours: false });
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    const spoiled = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 53, dstMac: MAC1 });
    spoiled[14 + 10]! ^= 0xff;
    r.if1.indicateMany([
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 53, dstMac: MAC1 }),
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }),
      spoiled,
    ]);
    assert.equal(sink.packets, 1, 'the first packet was delivered');
    assert.equal(r.host.counters.dropped[DropReason.BadHeaderChecksum], 1, 'the third dropped alone');
    assert.equal(r.host.counters.received, 3, 'three packets entered');
    assert.deepEqual(r.host.held(), [{ owner: 'neighbour cache (waiting for ARP / ND)', count: 1 }]);
    assert.equal(r.if1.returned, 0, 'the list stays with the host while one of its packets is held');
    r.if2.indicate(arp(2, B_MAC, '10.0.2.20', MAC2, '10.0.2.1', MAC2), 0, 42);
    const forwarded = r.out.filter((f) => f.ifIndex === 2 && u16(f.bytes, 12) === 0x0800);
    assert.equal(forwarded.length, 1, 'the held packet left once its neighbour answered');
    assert.equal(forwarded[0]!.bytes[14 + 8], 63, 'forwarded with its TTL decremented');
    assert.equal(r.if1.returned, 1, 'and only then the list went back, once');
    r.finish();
  });

  it('receive: WFP classifies each NET_BUFFER in a list of its own (one packet per classify); a BLOCK of one loses none of the others', () => {
    const r = testHost();
    const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
    r.host.endpoints.bind(IPPROTO_UDP, 54);
    const seen: number[] = [];
    r.host.classifier = (req: ClassifyRequest) => {
      const nb = req.nbl!.FirstNetBuffer!;
      assert.equal(nb.Next, null, 'one NET_BUFFER per classify');
      if (req.layerId === Layer.InboundTransport4) seen.push(req.localPort);
      return req.layerId === Layer.InboundTransport4 && req.localPort === 54 ? Verdict.Block : Verdict.Permit;
    };
    r.if1.indicateMany(
      [53, 54, 53].map((port) =>
        frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: port, dstMac: MAC1 }),
      ),
    );
    assert.deepEqual(seen, [53, 54, 53]);
    assert.equal(sink.packets, 2);
    assert.equal(r.host.counters.dropped[DropReason.WfpBlock], 1);
    assert.equal(r.if1.returned, 1);
    r.finish();
  });

  it('injection: a callout list of several IP packets is sent packet by packet, and completes once, after the last, with the failure one of them had', () => {
    const r = testHost();
    const ip = (dst: string) => frame({ protocol: 'udp', src: '10.0.1.1', dst }).subarray(14);
    const completions: { nbl: NET_BUFFER_LIST; status: number }[] = [];
    const owner = { complete: (nbl: NET_BUFFER_LIST, status: number) => completions.push({ nbl, status }) };
    const classified: { layer: number; packets: number; remote: number }[] = [];
    r.host.classifier = (req: ClassifyRequest) => {
      let packets = 0;
      for (let nb = req.nbl!.FirstNetBuffer; nb !== null; nb = nb.Next) packets++;
      classified.push({ layer: req.layerId, packets, remote: req.remoteAddressVa });
      return Verdict.Permit;
    };
    const good = injectable([ip('10.0.2.20'), ip('10.0.1.10')]);
    r.host.inject(good.nbl, 'send', owner, 1);
    assert.deepEqual(
      classified.map((c) => [c.layer, c.packets]),
      [[Layer.OutboundIppacket4, 2]],
      'OUTBOUND_IPPACKET classifies the list once, whole (packet indication format)',
    );
    assert.equal(
      classified[0]!.remote,
      mdlVa(good.nbl.FirstNetBuffer!.MdlChain!) + 16,
      'described by its first packet',
    );
    assert.equal(r.out.length, 2, 'both packets left');
    assert.deepEqual(
      r.out.map((f) => f.ifIndex),
      [2, 1],
    );
    assert.equal(completions.length, 1);
    assert.equal(completions[0]!.nbl, good.nbl);
    assert.equal(completions[0]!.status, 0);
    assert.equal(good.nbl.FirstNetBuffer!.Next!.Next, null, "the list's NET_BUFFER chain is as the callout built it");

    // 192.0.2.1 has no route: that packet is dropped, the other two go; the list completes with the failure.
    const mixed = injectable([ip('10.0.2.20'), ip('192.0.2.1'), ip('10.0.1.10')]);
    r.host.inject(mixed.nbl, 'send', owner, 1);
    assert.equal(r.out.length, 4);
    assert.equal(r.host.counters.dropped[DropReason.NoRoute], 1);
    assert.equal(completions.length, 2);
    assert.notEqual(completions[1]!.status, 0);
    assert.equal(r.host.counters.injected, 5, 'each NET_BUFFER counted as one packet');
    good.free();
    mixed.free();
    r.finish();
  });

  it('injection: a BLOCK at OUTBOUND_IPPACKET takes the whole list (every packet counted), completed once with a failure', () => {
    const r = testHost();
    const ip = (dst: string) => frame({ protocol: 'udp', src: '10.0.1.1', dst }).subarray(14);
    const statuses: number[] = [];
    const owner = { complete: (_nbl: NET_BUFFER_LIST, status: number) => statuses.push(status) };
    let calls = 0;
    r.host.classifier = (req: ClassifyRequest) => {
      if (req.layerId === Layer.OutboundIppacket4) calls++;
      return req.layerId === Layer.OutboundIppacket4 ? Verdict.Block : Verdict.Permit;
    };
    const list = injectable([ip('10.0.2.20'), ip('10.0.1.10'), ip('10.0.2.20')]);
    r.host.inject(list.nbl, 'send', owner, 1);
    assert.equal(calls, 1);
    assert.equal(r.out.length, 0);
    assert.equal(r.host.counters.dropped[DropReason.WfpBlock], 3);
    assert.equal(statuses.length, 1);
    assert.notEqual(statuses[0], 0);
    list.free();
    r.finish();
  });

  it('any mix of valid and mangled frames in one list is fully accounted for, the list returned once (property)', () => {
    const base = [
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstMac: MAC1 }),
      frame({ protocol: 'tcp', src: '10.0.1.10', dst: '10.0.1.1', dstMac: MAC1 }),
      frame({ protocol: 'icmp', src: '10.0.1.10', dst: '10.0.1.1', dstMac: MAC1 }),
      frame({ protocol: 'udp', src: 'fd00:1::10', dst: 'fd00:2::20', dstMac: MAC1 }),
      frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.77', ttl: 1, dstMac: MAC1 }),
      arp(1, A_MAC, '10.0.1.10', 0, '10.0.1.1'),
    ];
    const mutation = fc.record({
      which: fc.integer({ min: 0, max: base.length - 1 }),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat(),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.boolean(), (ms, neighbours) => {
        resetSystem();
        const r = testHost({ neighbours });
        const frames = ms.map((m) => {
          const f = base[m.which]!.slice();
          f[m.at % f.length] = m.value;
          return f.subarray(0, Math.max(1, f.length - (m.cut % 8)));
        });
        r.if1.indicateMany(frames);
        const received = r.host.counters.received;
        r.finish();
        assert.equal(received, ms.length);
        assert.equal(r.if1.returned, 1);
        assert.deepEqual(collectLeaks(), []);
      }),
      { numRuns: 150 },
    );
  });

  it('an NDIS binding copies every NET_BUFFER of a list indicated with NDIS_RECEIVE_FLAGS_RESOURCES, not only the first', () => {
    new VirtualNic({ name: 'B0', mac: [2, 0, 0, 0, 0, 0xb], ifIndex: 2 });
    const ip = new IpLayer();
    ip.start();
    const protocol = new IpProtocol(ip, 'TCPIP-B', (name) => name.startsWith('B'));
    protocol.register();
    ip.addAddress4(2, parseIpv4('192.168.7.2'), 24);
    const sink = ip.endpoints.bind(IPPROTO_UDP, 7);
    const datagram = frame({
      protocol: 'udp',
      src: '192.168.7.1',
      dst: '192.168.7.2',
      dstPort: 7,
      dstMac: 0x02000000000b,
    });
    const list = injectable([datagram, datagram, datagram]);
    protocol.bindings[0]!.receive(list.nbl, NDIS_RECEIVE_FLAGS_RESOURCES);
    assert.equal(sink.packets, 3);
    assert.equal(protocol.bindings[0]!.copiedReceives, 3);
    list.free(); // the indicating driver's again as soon as the handler returned
    drainDeferredWork();
    ip.stop();
    protocol.deregister();
    assert.equal(ip.counters.balance(0), 0);
    unloadVirtualNicDriver();
    assert.deepEqual(collectLeaks(), []);
  });

  it('under the full verifier and with the clone allocations failing (low resources), every NET_BUFFER is still accounted for and the list goes back once', () => {
    for (const failing of [false, true]) {
      resetSystem({ verifier: 'full' });
      const r = testHost();
      const sink = r.host.endpoints.bind(IPPROTO_UDP, 53);
      // Each part takes a list and a NET_BUFFER: calls 1 and 5 fail the first part's list, the third's NET_BUFFER.
      if (failing) enableFaultInjection({ failCalls: [1, 5], ddis: ['NdisAllocateCloneNetBufferList'] });
      r.if1.indicateMany(
        [1, 2, 3, 4].map(() =>
          frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 53, dstMac: MAC1 }),
        ),
      );
      disableFaultInjection();
      assert.equal(sink.packets, failing ? 2 : 4);
      assert.equal(r.host.counters.dropped[DropReason.NoResources], failing ? 2 : 0);
      assert.equal(r.if1.returned, 1);
      r.finish();
    }
  });
});
