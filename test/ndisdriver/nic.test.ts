import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { disableFaultInjection, enableFaultInjection } from '../../src/kernel/faults.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { bytesAt } from '../../src/kernel/memory.js';
import { StatusError } from '../../src/kernel/status.js';
import { mdlVa } from '../../src/ndis/chain.js';
import { RunState } from '../../src/ndis/driver-blocks.js';
import { unloadVirtualNicDriver, VirtualNic } from '../../src/stack/nic.js';
import { OUTSIDE, Wire } from '../../src/stack/wire.js';
import {
  ExAllocatePoolWithTag,
  ExFreePool,
  MediaConnectStateConnected,
  MediaConnectStateDisconnected,
  type NDIS_LINK_STATE,
  NDIS_OID_REQUEST,
  NDIS_PACKET_TYPE_PROMISCUOUS,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_STATUS_LINK_STATE,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NdisAllocateNetBufferList,
  NdisDeregisterProtocolDriver,
  NdisFreeNetBufferListPool,
  NdisOidRequest,
  NdisRequestQueryInformation,
  NdisRequestSetInformation,
  NdisSendNetBufferLists,
  NonPagedPoolNx,
  OID_802_3_CURRENT_ADDRESS,
  OID_GEN_CURRENT_PACKET_FILTER,
  poolTag,
  resetSystem,
} from './ddi.js';
import { type TestBinding, TestProtocol } from './drivers.js';

const MAC_A = [2, 0, 0, 0, 0, 0xa];
const MAC_B = [2, 0, 0, 0, 0, 0xb];
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** An Ethernet frame: destination, source, EtherType 0x88b5 (local experimental), then `payload`. */
function frame(dst: readonly number[], src: readonly number[], payload: readonly number[]): Uint8Array {
  return Uint8Array.from([...dst, ...src, 0x88, 0xb5, ...payload]);
}

/** A protocol sends `bytes` as one frame on a binding. */
function sendFrame(b: TestBinding, bytes: Uint8Array): void {
  const nbl = NdisAllocateNetBufferList(b.protocol.pool!, 0, 0)!;
  const nb = nbl.FirstNetBuffer!;
  memory.set(bytes, mdlVa(nb.MdlChain!) - ARENA_BASE);
  nb.DataLength = bytes.length;
  nbl.SourceHandle = b.handle;
  NdisSendNetBufferLists(b.handle, nbl, 0, 0);
}

/** The bytes of the first NET_BUFFER of a received NBL. */
function dataOf(b: TestBinding, i: number): number[] {
  const nb = b.received[i]!.FirstNetBuffer!;
  return [...bytesAt(mdlVa(nb.MdlChain!) + nb.DataOffset, nb.DataLength)];
}

function twoHosts(optionsA = {}, optionsB = {}) {
  const wire = new Wire('segment');
  const nicA = new VirtualNic({ name: 'A', mac: MAC_A, ...optionsA });
  const nicB = new VirtualNic({ name: 'B', mac: MAC_B, ...optionsB });
  nicA.connect(wire);
  nicB.connect(wire);
  const protocol = new TestProtocol({ holdReceives: true });
  assert.equal(protocol.register(), NDIS_STATUS_SUCCESS);
  const byName = (n: string) => protocol.bindings.find((b) => b.params!.AdapterName === n)!;
  return { wire, nicA, nicB, protocol, a: byName('A'), b: byName('B') };
}

describe('the virtual NIC (a miniport) and the wire', () => {
  beforeEach(() => resetSystem());

  it('binds like any adapter: NDIS_BIND_PARAMETERS carries its MAC address, MTU, interface index and name', () => {
    const nic = new VirtualNic({ name: 'Ether 7', mac: [2, 1, 2, 3, 4, 5], mtu: 9000, ifIndex: 7 });
    const protocol = new TestProtocol();
    protocol.register();
    const p = protocol.bindings[0]!.params!;
    assert.equal(p.AdapterName, 'Ether 7');
    assert.equal(p.BoundIfIndex, 7);
    assert.equal(p.MtuSize, 9000);
    assert.equal(p.MacAddressLength, 6);
    assert.deepEqual([...p.CurrentMacAddress.subarray(0, 6)], [2, 1, 2, 3, 4, 5]);
    assert.equal(nic.ifIndex, 7);
  });

  it('a frame sent on one NIC reaches the protocol bound to the other, byte for byte, and the send completes', () => {
    const { wire, nicA, nicB, a, b } = twoHosts();
    const f = frame(MAC_B, MAC_A, [1, 2, 3, 4, 5]);
    sendFrame(a, f);
    assert.deepEqual(a.statuses, [NDIS_STATUS_SUCCESS], 'the NIC completes the send once the frame is on the wire');
    assert.equal(b.received.length, 0, 'delivery waits for the wire to be drained');
    assert.equal(wire.pending, 1);
    drainDeferredWork();
    assert.equal(b.received.length, 1);
    assert.deepEqual(dataOf(b, 0), [...f]);
    assert.equal(
      b.receiveFlags[0]! & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
      NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
      'the wire delivers from a DPC, so the NIC indicates at DISPATCH_LEVEL',
    );
    assert.equal(a.received.length, 0, 'a NIC does not receive its own frame');
    assert.equal(nicA.counters.framesOut, 1);
    assert.equal(nicB.counters.framesIn, 1);
    assert.equal(nicB.counters.bytesIn, f.length);
    b.returnHeld();
    assert.equal(nicB.counters.returned, 1);
  });

  it('delivery is in order, to every other port, and taps see every frame with its sender', () => {
    const { wire, a, b } = twoHosts();
    const nicC = new VirtualNic({ name: 'C', mac: [2, 0, 0, 0, 0, 0xc] });
    nicC.connect(wire);
    const seen: [number, number][] = [];
    wire.tap((bytes, from) => seen.push([bytes[14]!, from]));
    for (let i = 0; i < 5; i++) sendFrame(a, frame(BROADCAST, MAC_A, [i]));
    wire.drain();
    assert.deepEqual(
      b.received.map((_, i) => dataOf(b, i)[14]),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      seen,
      [0, 1, 2, 3, 4].map((i) => [i, 0]),
    );
    assert.equal(nicC.counters.framesIn, 5, 'every station on the segment receives a broadcast');
    b.returnHeld();
  });

  it('frames not for the NIC are filtered (counted), unless its packet filter is promiscuous (OID_GEN_CURRENT_PACKET_FILTER)', () => {
    const { wire, nicB, a, b } = twoHosts();
    sendFrame(a, frame([2, 0, 0, 0, 0, 0x99], MAC_A, [1]));
    wire.drain();
    assert.equal(b.received.length, 0);
    assert.equal(nicB.counters.filtered, 1);
    const buf = ExAllocatePoolWithTag(NonPagedPoolNx, 16, poolTag('tsoT'));
    new DataView(memory.buffer).setUint32(buf - ARENA_BASE, NDIS_PACKET_TYPE_PROMISCUOUS, true);
    const req = new NDIS_OID_REQUEST();
    req.RequestType = NdisRequestSetInformation;
    req.DATA.Oid = OID_GEN_CURRENT_PACKET_FILTER;
    req.DATA.InformationBuffer = buf;
    req.DATA.InformationBufferLength = 4;
    assert.equal(NdisOidRequest(b.handle, req), NDIS_STATUS_SUCCESS);
    sendFrame(a, frame([2, 0, 0, 0, 0, 0x99], MAC_A, [2]));
    wire.drain();
    assert.equal(b.received.length, 1);
    const q = new NDIS_OID_REQUEST();
    q.RequestType = NdisRequestQueryInformation;
    q.DATA.Oid = OID_802_3_CURRENT_ADDRESS;
    q.DATA.InformationBuffer = buf;
    q.DATA.InformationBufferLength = 6;
    assert.equal(NdisOidRequest(b.handle, q), NDIS_STATUS_SUCCESS);
    assert.deepEqual([...bytesAt(buf, 6)], MAC_B);
    ExFreePool(buf);
    b.returnHeld();
  });

  it('with receiveBatch the NIC indicates what one drain brought as NET_BUFFER_LIST chains of up to that many, in order', () => {
    const { wire, nicB, a, b } = twoHosts({}, { receiveBatch: 4 });
    for (let i = 0; i < 10; i++) sendFrame(a, frame(MAC_B, MAC_A, [i]));
    wire.drain();
    assert.deepEqual(b.indicationSizes, [4, 4, 2]);
    assert.deepEqual(
      b.received.map((_, i) => dataOf(b, i)[14]),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    b.returnHeld();
    assert.equal(nicB.counters.returned, 10);
    const {
      wire: w2,
      a: a2,
      b: b2,
    } = (() => {
      resetSystem();
      return twoHosts({}, { receiveBatch: 3, receiveWithResources: true, receiveBuffers: 3 });
    })();
    for (let i = 0; i < 7; i++) sendFrame(a2, frame(MAC_B, MAC_A, [i]));
    w2.drain();
    assert.deepEqual(b2.indicationSizes, [3, 3, 1], 'RESOURCES chains give their buffers back at once');
  });

  it('with receiveWithResources every indication carries NDIS_RECEIVE_FLAGS_RESOURCES and the buffer is reused at once', () => {
    const { wire, nicB, a, b } = twoHosts({}, { receiveWithResources: true, receiveBuffers: 1 });
    for (let i = 0; i < 3; i++) sendFrame(a, frame(MAC_B, MAC_A, [i]));
    wire.drain();
    assert.equal(b.received.length, 3, 'one buffer serves every frame');
    assert.ok(b.receiveFlags.every((f) => (f & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0));
    assert.equal(b.holding.length, 0, 'nothing indicated with RESOURCES may be kept');
    assert.equal(nicB.counters.indicatedWithResources, 3);
  });

  it('when the protocol holds every receive buffer, further frames are dropped and counted (noReceiveBuffers)', () => {
    const { wire, nicB, a, b } = twoHosts({}, { receiveBuffers: 2, lowWater: 0 });
    for (let i = 0; i < 4; i++) sendFrame(a, frame(MAC_B, MAC_A, [i]));
    wire.drain();
    assert.equal(b.holding.length, 2);
    assert.equal(nicB.counters.dropNoReceiveBuffers, 2);
    b.returnHeld();
    sendFrame(a, frame(MAC_B, MAC_A, [9]));
    wire.drain();
    assert.equal(b.holding.length, 1, 'returned buffers are used again');
    b.returnHeld();
  });

  it('a NIC low on receive buffers indicates with RESOURCES (NdisMIndicateReceiveNetBufferLists)', () => {
    const { wire, a, b } = twoHosts({}, { receiveBuffers: 4, lowWater: 3 });
    for (let i = 0; i < 3; i++) sendFrame(a, frame(MAC_B, MAC_A, [i]));
    wire.drain();
    assert.deepEqual(
      b.receiveFlags.map((f) => (f & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0),
      [false, true, true],
    );
    b.returnHeld();
  });

  it('frames from outside (a capture feeding the wire) reach every NIC; indicateFrame feeds one NIC directly', () => {
    const { wire, nicA, a, b } = twoHosts();
    const seen: number[] = [];
    wire.tap((_bytes, from) => seen.push(from));
    wire.inject(frame(BROADCAST, [2, 9, 9, 9, 9, 9], [7]));
    wire.drain();
    assert.deepEqual(seen, [OUTSIDE]);
    assert.equal(a.received.length, 1);
    assert.equal(b.received.length, 1);
    const f = frame(MAC_A, [2, 9, 9, 9, 9, 9], [8, 8]);
    nicA.indicateFrame(f);
    assert.equal(a.received.length, 2);
    assert.deepEqual(dataOf(a, 1), [...f]);
    assert.equal(b.received.length, 1, 'indicateFrame does not touch the wire');
    a.returnHeld();
    b.returnHeld();
  });

  it('indicateMemory indicates pool memory in place (zero copy) and releases it when the NBL comes back', () => {
    const { nicB, b } = twoHosts();
    const buf = ExAllocatePoolWithTag(NonPagedPoolNx, 64, poolTag('tszT'));
    memory.set(frame(MAC_B, MAC_A, [4, 2]), buf - ARENA_BASE);
    let released = 0;
    assert.equal(
      nicB.indicateMemory(buf, 17, () => released++),
      true,
    );
    const nb = b.received[0]!.FirstNetBuffer!;
    assert.equal(mdlVa(nb.MdlChain!), buf, 'the NBL describes the caller’s memory itself');
    assert.equal(released, 0);
    b.returnHeld();
    assert.equal(released, 1);
    ExFreePool(buf);
  });

  it('plugging and unplugging the cable indicates NDIS_STATUS_LINK_STATE with an NDIS_LINK_STATE (NdisMIndicateStatusEx)', () => {
    const nic = new VirtualNic({ name: 'L' });
    const protocol = new TestProtocol();
    const states: number[] = [];
    protocol.chars.StatusHandlerEx = (_ctx, s) => {
      assert.equal(s.StatusCode, NDIS_STATUS_LINK_STATE);
      states.push((s.StatusBuffer as NDIS_LINK_STATE).MediaConnectState);
    };
    protocol.register();
    const wire = new Wire('w');
    nic.connect(wire);
    nic.disconnect();
    assert.deepEqual(states, [MediaConnectStateConnected, MediaConnectStateDisconnected]);
    const b = protocol.bindings[0]!;
    sendFrame(b, frame(MAC_B, MAC_A, [1]));
    assert.equal(nic.counters.sendsNoCarrier, 1, 'a frame sent with no cable is lost and counted');
    wire.close();
  });

  it('a NIC with a jumbo MTU takes every frame up to MTU + 18 bytes intact, its receive NBLs growing to full size only for long frames', () => {
    const { wire, nicB, b } = twoHosts({}, { mtu: 65535, receiveBuffers: 3, lowWater: 0 });
    // Lengths around the 2 KiB small buffer and up to the largest frame the MTU allows (MTU + 802.1Q header).
    const lengths = [60, 2048, 2049, 65553, 1514, 9018, 65553, 100, 4000];
    const sent: number[][] = [];
    for (let i = 0; i < lengths.length; i++) {
      const f = new Uint8Array(lengths[i]!);
      f.set(MAC_B, 0);
      f.set(MAC_A, 6);
      f[12] = 0x88;
      f[13] = 0xb5;
      for (let j = 14; j < f.length; j++) f[j] = (j * 7 + i) & 0xff;
      sent.push([...f]);
      wire.inject(f);
      drainDeferredWork();
      assert.deepEqual(dataOf(b, b.received.length - 1), sent[i], `frame ${i} of ${lengths[i]} bytes arrives intact`);
      // Three receive buffers: give them back before they run out, so no frame is dropped for want of one.
      if (b.received.length % 3 === 0) b.returnHeld();
    }
    assert.equal(nicB.counters.framesIn, lengths.length);
    assert.equal(nicB.counters.dropNoReceiveBuffers, 0);
    assert.equal(nicB.counters.dropBadLength, 0);
    b.returnHeld();
    const tooLong = new Uint8Array(65554);
    tooLong.set(MAC_B, 0);
    wire.inject(tooLong);
    drainDeferredWork();
    assert.equal(nicB.counters.dropBadLength, 1, 'one byte more than MTU + 18 is refused');
  });

  it('a NIC that cannot get pool for a full-size receive buffer drops the long frame as noReceiveBuffers and keeps receiving', () => {
    const { wire, nicB, b } = twoHosts({}, { mtu: 9000, receiveBuffers: 2 });
    const long = new Uint8Array(3000);
    long.set(MAC_B, 0);
    long.set(MAC_A, 6);
    long[2999] = 0x5a;
    enableFaultInjection({ tags: [poolTag('ciNV')], everyNth: 1 });
    wire.inject(long);
    drainDeferredWork();
    disableFaultInjection();
    assert.equal(nicB.counters.dropNoReceiveBuffers, 1);
    assert.equal(b.received.length, 0);
    const short = frame(MAC_B, MAC_A, [9, 8, 7]);
    wire.inject(short);
    wire.inject(long);
    drainDeferredWork();
    assert.equal(b.received.length, 2, "both buffers are still the NIC's: the failed swap gave the small one back");
    assert.deepEqual(dataOf(b, 0), [...short]);
    assert.deepEqual(dataOf(b, 1), [...long]);
    b.returnHeld();
    nicB.remove();
    assert.equal(nicB.counters.returned, 2);
  });

  it('a NIC whose receive buffers do not fit in the pool fails to initialize with NDIS_STATUS_RESOURCES, leaving nothing behind', () => {
    resetSystem({ poolLimit: 256 * 1024 });
    assert.throws(
      () => new VirtualNic({ name: 'big', receiveBuffers: 1000 }),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_RESOURCES,
    );
    unloadVirtualNicDriver();
    assert.deepEqual(collectLeaks(), []);
  });

  it('a paused NIC completes sends with NDIS_STATUS_PAUSED and drops what arrives (paused), each counted', () => {
    const { wire, nicA, nicB, a } = twoHosts();
    const blockB = nicB.adapter!;
    // Pause B the way NDIS does when its stack is reconfigured: through its MiniportPause.
    assert.equal(blockB.driver.chars.PauseHandler!(blockB.MiniportAdapterContext, null as never), NDIS_STATUS_SUCCESS);
    sendFrame(a, frame(MAC_B, MAC_A, [1]));
    wire.drain();
    assert.equal(nicB.counters.dropPaused, 1);
    nicB.restart();
    const blockA = nicA.adapter!;
    blockA.driver.chars.PauseHandler!(blockA.MiniportAdapterContext, null as never);
    sendFrame(a, frame(MAC_B, MAC_A, [2]));
    assert.equal(nicA.counters.sendsPaused, 1);
    assert.equal(a.statuses.at(-1), 0xc023002a | 0);
    nicA.restart();
  });

  it('removing the NIC waits for held receives: its pause pends until the protocol returns them', () => {
    const { wire, nicB, a, b, protocol } = twoHosts();
    sendFrame(a, frame(MAC_B, MAC_A, [1]));
    wire.drain();
    assert.equal(b.holding.length, 1);
    // The protocol gives the frame back when NDIS pauses its binding (a well-behaved protocol returns what it holds).
    const pnp = protocol.chars.NetPnPEventHandler!;
    protocol.chars.NetPnPEventHandler = (ctx, ev) => {
      (ctx as TestBinding).returnHeld();
      return pnp(ctx, ev);
    };
    nicB.remove();
    assert.equal(nicB.counters.returned, 1);
    assert.equal(nicB.adapter, null);
  });

  it('pools back to zero: after the NICs are removed and the wire closed, nothing is outstanding', () => {
    const { wire, nicA, nicB, a, b, protocol } = twoHosts();
    for (let i = 0; i < 10; i++) sendFrame(a, frame(MAC_B, MAC_A, [i]));
    wire.drain();
    b.returnHeld();
    nicA.remove();
    nicB.remove();
    NdisDeregisterProtocolDriver(protocol.handle);
    NdisFreeNetBufferListPool(protocol.pool!);
    wire.close();
    unloadVirtualNicDriver();
    assert.deepEqual(collectLeaks(), []);
  });

  it('unloading the NIC driver halts the NICs still present; the full verifier runs the same traffic', () => {
    resetSystem({ verifier: 'full' });
    const { wire, nicA, nicB, a, b, protocol } = twoHosts();
    for (let i = 0; i < 5; i++) sendFrame(a, frame(MAC_B, MAC_A, [i]));
    wire.drain();
    assert.equal(b.holding.length, 5);
    b.returnHeld();
    NdisDeregisterProtocolDriver(protocol.handle);
    NdisFreeNetBufferListPool(protocol.pool!);
    unloadVirtualNicDriver();
    assert.equal(nicA.adapter?.state, RunState.Halted);
    assert.equal(nicB.counters.returned, 5);
    wire.close();
    assert.deepEqual(collectLeaks(), []);
  });
});
