import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { TAG_MINIPORT_BLOCK, TAG_MINIPORT_DRIVER, TAG_OPEN, TAG_PROTOCOL } from '../../src/ndis/driver-blocks.js';
import { NblFault, NdisDriverViolation, NdisRule } from '../../src/ndis/driver-verifier.js';
import { addMiniportAdapter, removeMiniportAdapter } from '../../src/ndis/miniport.js';
import { assertBugCheck } from '../helpers.js';
import {
  BUGCODE_NDIS_DRIVER,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  KeLowerIrql,
  KeRaiseIrql,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_SUCCESS,
  NdisAllocateNetBufferList,
  NdisDeregisterProtocolDriver,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisMDeregisterMiniportDriver,
  NdisMIndicateReceiveNetBufferLists,
  NdisMSendNetBufferListsComplete,
  NdisReturnNetBufferLists,
  NdisSendNetBufferLists,
  NetEventPause,
  resetSystem,
} from './ddi.js';
import { allocChain, dispatchFlag, TestMiniport, TestProtocol, toArray } from './drivers.js';

function stack(miniportOptions = {}, protocolOptions = {}) {
  const miniport = new TestMiniport(miniportOptions);
  assert.equal(miniport.register(), NDIS_STATUS_SUCCESS);
  const { status, adapter } = addMiniportAdapter(miniport.handle as never, { name: 'Test Adapter 1' });
  assert.equal(status, NDIS_STATUS_SUCCESS);
  const protocol = new TestProtocol(protocolOptions);
  assert.equal(protocol.register(), NDIS_STATUS_SUCCESS);
  assert.equal(protocol.bindings.length, 1);
  return { miniport, block: adapter!, a: miniport.adapters[0]!, protocol, b: protocol.bindings[0]! };
}

describe('NDIS 6 data path between a protocol and a miniport', () => {
  beforeEach(() => resetSystem());

  it('NdisSendNetBufferLists reaches MiniportSendNetBufferLists; NdisMSendNetBufferListsComplete returns each NBL with its own status (NET_BUFFER_LIST_STATUS) through ProtocolSendNetBufferListsComplete', () => {
    const { a, b } = stack({ holdSends: true }, { keepCompleted: true });
    const sent = toArray(b.send(3, 0));
    assert.deepEqual(a.sent, sent);
    assert.equal(b.completed.length, 0, 'sends are asynchronous: nothing completes before the miniport does');
    a.held[0]!.Status = NDIS_STATUS_SUCCESS;
    a.held[1]!.Status = NDIS_STATUS_FAILURE;
    a.held[2]!.Status = NDIS_STATUS_SUCCESS;
    const list = a.held;
    a.held = [];
    list[0]!.Next = list[1]!;
    list[1]!.Next = list[2]!;
    list[2]!.Next = null;
    NdisMSendNetBufferListsComplete(a.handle, list[0]!, 0);
    assert.deepEqual(b.completed, sent);
    assert.deepEqual(b.statuses, [NDIS_STATUS_SUCCESS, NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS]);
    for (const x of sent) NdisFreeNetBufferList(x);
  });

  it('the miniport may complete sends one at a time and in any order (sending-network-data)', () => {
    const { a, b } = stack({ holdSends: true }, { keepCompleted: true });
    b.send(3, 0);
    const [x0, x1, x2] = a.held;
    a.held = [];
    for (const x of [x2!, x0!, x1!]) {
      x.Next = null;
      x.Status = NDIS_STATUS_SUCCESS;
      NdisMSendNetBufferListsComplete(a.handle, x, 0);
    }
    assert.deepEqual(
      b.completed.map((x) => x.Scratch),
      [2, 0, 1],
    );
    for (const x of b.completed) NdisFreeNetBufferList(x);
  });

  it('a receive indicated without NDIS_RECEIVE_FLAGS_RESOURCES comes back through MiniportReturnNetBufferLists only when the protocol returns it (NdisMIndicateReceiveNetBufferLists)', () => {
    const { a, b } = stack({}, { holdReceives: true });
    const chain = toArray(a.indicate(2));
    assert.deepEqual(b.received, chain);
    assert.equal(a.returned.length, 0);
    b.returnHeld();
    assert.deepEqual(a.returned, chain);
  });

  it('the protocol may return NBLs from several indications in one call, in another order (NdisReturnNetBufferLists)', () => {
    const { a, b } = stack({}, { holdReceives: true });
    a.indicate(1, false, 0);
    a.indicate(2, false, 1);
    b.holding.reverse();
    b.returnHeld();
    assert.deepEqual(
      a.returned.map((x) => x.Scratch),
      [2, 1, 0],
    );
  });

  it('with NDIS_RECEIVE_FLAGS_RESOURCES the NBLs are the miniport’s again when the call returns; returning one later is caught (NdisMIndicateReceiveNetBufferLists)', () => {
    const { a, b } = stack({}, { holdReceives: true });
    const nbl = allocChain(a.pool, 1, a.handle);
    NdisMIndicateReceiveNetBufferLists(a.handle, nbl, 0, 1, NDIS_RECEIVE_FLAGS_RESOURCES);
    assert.equal(b.received.length, 1);
    assert.equal(b.receiveFlags[0]! & NDIS_RECEIVE_FLAGS_RESOURCES, NDIS_RECEIVE_FLAGS_RESOURCES);
    assert.equal(a.returned.length, 0, 'a RESOURCES indication is never returned');
    const e = assertBugCheck(
      () => NdisReturnNetBufferLists(b.handle, nbl, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.ProtocolNblOwnership,
    );
    assert.equal(e.parameters[3], NblFault.KeptAfterResources);
    NdisFreeNetBufferList(nbl);
  });

  it('completing a send twice is a violation of NdisTimedDataSend (0xC4, 0x0009200D)', () => {
    const { a, b } = stack({ holdSends: true }, { keepCompleted: true });
    b.send(1);
    const x = a.held[0]!;
    a.completeHeld();
    const e = assertBugCheck(
      () => NdisMSendNetBufferListsComplete(a.handle, x, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisTimedDataSend,
    );
    assert.equal(e.parameters[2], x.address);
    assert.equal(e.parameters[3], NblFault.NotHeld);
    NdisFreeNetBufferList(x);
  });

  it('completing an NBL the miniport was never given is a violation of NdisTimedDataSend', () => {
    const { a } = stack();
    const stray = NdisAllocateNetBufferList(a.pool, 0, 0)!;
    assertBugCheck(
      () => NdisMSendNetBufferListsComplete(a.handle, stray, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisTimedDataSend,
    );
    NdisFreeNetBufferList(stray);
  });

  it('returning an NBL twice is caught, and so is returning one that was indicated to nobody on this binding', () => {
    const { a, b } = stack({}, { holdReceives: true });
    a.indicate(1);
    const x = b.holding[0]!;
    b.returnHeld();
    // x was freed by the miniport; allocate a fresh one to stand for a stray NBL the protocol never got
    const stray = NdisAllocateNetBufferList(a.pool, 0, 0)!;
    void x;
    assertBugCheck(
      () => NdisReturnNetBufferLists(b.handle, stray, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.ProtocolNblOwnership,
    );
    NdisFreeNetBufferList(stray);
  });

  it('returning an NBL through another adapter’s binding is caught (NdisReturnNetBufferLists: the NBLs must be from the binding the handle identifies)', () => {
    const { miniport, a, b } = stack({}, { holdReceives: true });
    addMiniportAdapter(miniport.handle as never, { name: 'Test Adapter 2' });
    const b2 = b.protocol.bindings[1]!;
    a.indicate(1);
    const nbl = b.holding[0]!;
    const e = assertBugCheck(
      () => NdisReturnNetBufferLists(b2.handle, nbl, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.ProtocolNblOwnership,
    );
    assert.equal(e.parameters[3], NblFault.NotHeld);
  });

  it('the leak report lists what each driver still holds: NBLs in flight per owner, adapters, bindings', () => {
    const { a, b } = stack({ holdSends: true }, { holdReceives: true });
    b.send(2);
    a.indicate(3);
    const inFlight = collectLeaks().filter((l) => l.kind === 'NBL in flight');
    assert.deepEqual(
      inFlight.map((l) => [l.owner, l.size]),
      [
        ['miniport Test Adapter 1', 5],
        ['binding of TESTPROTO to Test Adapter 1', 5],
      ],
    );
    assert.ok(collectLeaks().some((l) => l.kind === 'NDIS binding' && l.owner === 'TESTPROTO'));
    a.completeHeld();
    b.returnHeld();
    assert.deepEqual(
      collectLeaks().filter((l) => l.kind === 'NBL in flight'),
      [],
    );
  });

  it('in full verifier mode the leak report names each NBL in flight, who holds it and where its driver sent or indicated it (!ndiskd.pendingnbls)', () => {
    resetSystem({ verifier: 'full' });
    const { a, b } = stack({ holdSends: true }, { holdReceives: true });
    const sent = b.send(1);
    const indicated = a.indicate(1);
    const nbls = collectLeaks().filter((l) => l.kind === 'NET_BUFFER_LIST in flight');
    assert.deepEqual(
      nbls.map((l) => [l.owner, l.detail]),
      [
        ['miniport adapter Test Adapter 1', `NBL at 0x${sent.address.toString(16)}`],
        ['binding of TESTPROTO to Test Adapter 1', `NBL at 0x${indicated.address.toString(16)}`],
      ],
    );
    assert.ok(
      nbls.every((l) => l.site?.includes('drivers.ts')),
      'the site is the driver’s own code',
    );
    a.completeHeld();
    b.returnHeld();
    assert.deepEqual(
      collectLeaks().filter((l) => l.kind === 'NET_BUFFER_LIST in flight'),
      [],
    );
  });

  it('in full verifier mode a protocol that frees an NBL the miniport still holds is caught when the NBL is next touched (use after free)', () => {
    resetSystem({ verifier: 'full' });
    const { a, b } = stack({ holdSends: true }, { keepCompleted: true });
    const nbl = b.send(1);
    NdisFreeNetBufferList(nbl);
    assertBugCheck(() => a.completeHeld(), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1011);
  });

  it('a miniport that indicates an NBL the stack still holds is caught as BUGCODE_NDIS_DRIVER 0x12 (NDIS_BUGCHECK_NFILTER_RECVD_PACKET_BAD_REF_COUNT)', () => {
    const { a, block } = stack({}, { holdReceives: true });
    const chain = a.indicate(1);
    const e = assertBugCheck(
      () => NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 1, 0),
      BUGCODE_NDIS_DRIVER,
      0x12,
    );
    assert.equal(e.parameters[1], block.address);
    assert.equal(e.parameters[2], chain.address);
  });

  it('NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL must match the IRQL (Dispatch IRQL tracking)', () => {
    const { a } = stack();
    const chain = allocChain(a.pool, 1, a.handle);
    assertBugCheck(
      () => NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.DispatchFlagMismatch,
    );
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    try {
      assertBugCheck(
        () => NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 1, 0),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        NdisDriverViolation.DispatchFlagMismatch,
      );
      // With the flag at DISPATCH_LEVEL it is accepted.
      NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    } finally {
      KeLowerIrql(old.value);
    }
    assert.equal(a.returned.length, 1);
  });

  it('send, complete and return flags carry the DISPATCH_LEVEL bit at DISPATCH_LEVEL', () => {
    const { a, b } = stack({ holdSends: true }, { holdReceives: true });
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    try {
      assert.equal(dispatchFlag(NDIS_SEND_FLAGS_DISPATCH_LEVEL), NDIS_SEND_FLAGS_DISPATCH_LEVEL);
      b.send(1);
      a.completeHeld();
      a.indicate(1);
      b.returnHeld();
      const stray = allocChain(b.protocol.pool!, 1, b.handle);
      assertBugCheck(
        () => NdisSendNetBufferLists(b.handle, stray, 0, 0),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        NdisDriverViolation.DispatchFlagMismatch,
      );
      NdisFreeNetBufferList(stray);
    } finally {
      KeLowerIrql(old.value);
    }
    assert.equal(b.completed.length, 1);
    assert.equal(a.returned.length, 1);
  });

  it('NumberOfNetBufferLists must count the list', () => {
    const { a } = stack();
    const chain = allocChain(a.pool, 2, a.handle);
    assertBugCheck(
      () => NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 3, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.NblCountMismatch,
    );
  });

  it('a protocol must set SourceHandle to its NdisBindingHandle (sending-network-data)', () => {
    const { b } = stack();
    const nbl = NdisAllocateNetBufferList(b.protocol.pool!, 0, 0)!;
    const e = assertBugCheck(
      () => NdisSendNetBufferLists(b.handle, nbl, 0, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.ProtocolNblOwnership,
    );
    assert.equal(e.parameters[3], NblFault.WrongSourceHandle);
    NdisFreeNetBufferList(nbl);
  });

  it('sending an NBL that is still in flight is caught', () => {
    const { a, b } = stack({ holdSends: true }, { keepCompleted: true });
    const nbl = b.send(1);
    assertBugCheck(
      () => NdisSendNetBufferLists(b.handle, nbl, 0, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.ProtocolNblOwnership,
    );
    a.completeHeld();
    NdisFreeNetBufferList(nbl);
  });

  it('an NBL the protocol got back may be sent again', () => {
    const { a, b } = stack({}, { keepCompleted: true });
    const nbl = b.send(1);
    assert.equal(b.completed.length, 1);
    NdisSendNetBufferLists(b.handle, nbl, 0, 0);
    assert.equal(b.completed.length, 2);
    assert.equal(a.sent.length, 2);
    NdisFreeNetBufferList(nbl);
  });

  it('two bindings on one adapter each see every indication; it goes back to the miniport after both return it', () => {
    const { a, b } = stack({}, { holdReceives: true });
    const p2 = new TestProtocol({ holdReceives: true, name: 'SECOND' });
    assert.equal(p2.register(), NDIS_STATUS_SUCCESS);
    const b2 = p2.bindings[0]!;
    a.indicate(2);
    assert.equal(b.received.length, 2);
    assert.equal(b2.received.length, 2);
    assert.deepEqual(b.received, b2.received);
    b.returnHeld();
    assert.equal(a.returned.length, 0, 'still held by the second binding');
    b2.returnHeld();
    assert.equal(a.returned.length, 2);
  });

  it('pools back to zero: halting the adapter, deregistering the protocol and the miniport frees every NDIS block', () => {
    const { miniport, a, b, block, protocol } = stack({ holdSends: true });
    b.send(2);
    a.completeHeld();
    a.indicate(3);
    removeMiniportAdapter(block);
    assert.equal(a.halted, true);
    assert.equal(protocol.bindings.length, 0, 'the protocol was unbound before the halt');
    assert.equal(b.pnpEvents.includes(NetEventPause), true, 'the binding was paused before it was unbound');
    NdisDeregisterProtocolDriver(protocol.handle);
    NdisFreeNetBufferListPool(protocol.pool!);
    NdisMDeregisterMiniportDriver(miniport.handle);
    assert.deepEqual(collectLeaks(), []);
    for (const tag of [TAG_MINIPORT_DRIVER, TAG_MINIPORT_BLOCK, TAG_PROTOCOL, TAG_OPEN]) {
      const stats = poolTagStats(tag);
      assert.ok(stats !== undefined && stats.allocs > 0 && stats.allocs === stats.frees && stats.bytes === 0);
    }
  });
});
