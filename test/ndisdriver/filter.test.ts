import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { RunState } from '../../src/ndis/driver-blocks.js';
import { drainNdisPnpWork } from '../../src/ndis/driver-lifecycle.js';
import { NblFault, NdisRule } from '../../src/ndis/driver-verifier.js';
import { addMiniportAdapter, removeMiniportAdapter } from '../../src/ndis/miniport.js';
import { assertBugCheck } from '../helpers.js';
import {
  DRIVER_OBJECT,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_STATUS_BAD_CHARACTERISTICS,
  NDIS_STATUS_BAD_VERSION,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_SUCCESS,
  NdisDeregisterProtocolDriver,
  NdisFDeregisterFilterDriver,
  NdisFIndicateReceiveNetBufferLists,
  NdisFPauseComplete,
  NdisFRegisterFilterDriver,
  NdisFReturnNetBufferLists,
  NdisFreeNetBufferListPool,
  NdisFSendNetBufferLists,
  NdisFSendNetBufferListsComplete,
  NdisMDeregisterMiniportDriver,
  NdisMIndicateReceiveNetBufferLists,
  resetSystem,
} from './ddi.js';
import { allocChain, type EventLog, TestFilter, TestMiniport, TestProtocol, toArray } from './drivers.js';

function build(filters: { name: string; noSend?: boolean; noReceive?: boolean; pendPause?: boolean }[], opts = {}) {
  const log: EventLog = [];
  const miniport = new TestMiniport(opts);
  assert.equal(miniport.register(), NDIS_STATUS_SUCCESS);
  const fs = filters.map((f) => new TestFilter({ ...f, log }));
  for (const f of fs) assert.equal(f.register(), NDIS_STATUS_SUCCESS);
  const { adapter } = addMiniportAdapter(miniport.handle as never, { name: 'Filtered Adapter' });
  const protocol = new TestProtocol({ holdReceives: true });
  assert.equal(protocol.register(), NDIS_STATUS_SUCCESS);
  log.length = 0;
  return { log, miniport, a: miniport.adapters[0]!, filters: fs, protocol, b: protocol.bindings[0]!, block: adapter! };
}

describe('NDIS 6 lightweight filters', () => {
  beforeEach(() => resetSystem());

  it('NdisFRegisterFilterDriver: Attach, Detach, Restart and Pause handlers are required; the header and version are checked (NDIS_FILTER_DRIVER_CHARACTERISTICS)', () => {
    const driver = new DRIVER_OBJECT('\\Driver\\Bad');
    const box = { value: null as unknown };
    const c = new NDIS_FILTER_DRIVER_CHARACTERISTICS();
    assert.equal(NdisFRegisterFilterDriver(driver, null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
      1,
      NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 5;
    assert.equal(NdisFRegisterFilterDriver(driver, null, c, box), NDIS_STATUS_BAD_VERSION);
    c.MajorNdisVersion = 6;
    assert.equal(NdisFRegisterFilterDriver(driver, null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    c.AttachHandler = () => 0;
    c.DetachHandler = () => {};
    c.RestartHandler = () => 0;
    assert.equal(NdisFRegisterFilterDriver(driver, null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS, 'no PauseHandler');
    c.Header.Size = 8;
    c.PauseHandler = () => 0;
    assert.equal(NdisFRegisterFilterDriver(driver, null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS, 'Size too small');
    assert.equal(box.value, null);
  });

  it('filter modules stack in registration order: sends pass them top-down, receives bottom-up, completions and returns bottom-up again', () => {
    const { log, a, b } = build([{ name: 'F1' }, { name: 'F2' }, { name: 'F3' }], { holdSends: true });
    b.send(1);
    assert.deepEqual(log, ['F3:send', 'F2:send', 'F1:send']);
    log.length = 0;
    a.completeHeld();
    assert.deepEqual(log, ['F1:complete', 'F2:complete', 'F3:complete']);
    assert.equal(b.completed.length, 1);
    log.length = 0;
    a.indicate(2);
    assert.deepEqual(log, ['F1:receive', 'F2:receive', 'F3:receive']);
    assert.equal(b.received.length, 2);
    log.length = 0;
    b.returnHeld();
    assert.deepEqual(log, ['F3:return', 'F2:return', 'F1:return']);
    assert.equal(a.returned.length, 2);
  });

  it('a filter that leaves its send or receive handlers NULL is bypassed in that direction (NDIS_FILTER_DRIVER_CHARACTERISTICS)', () => {
    const { log, a, b } = build(
      [
        { name: 'F1', noReceive: true },
        { name: 'F2', noSend: true },
      ],
      { holdSends: true },
    );
    b.send(1);
    a.completeHeld();
    a.indicate(1);
    b.returnHeld();
    assert.deepEqual(log, ['F1:send', 'F1:complete', 'F2:receive', 'F2:return']);
  });

  it('FilterAttach receives the adapter’s interface index, name, medium and MAC address (NDIS_FILTER_ATTACH_PARAMETERS)', () => {
    const log: EventLog = [];
    const miniport = new TestMiniport({ mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee] });
    miniport.register();
    const f = new TestFilter({ name: 'F', log });
    let seen: { ifIndex: number; name: string; mac: number[] } | null = null;
    const attach = f.chars.AttachHandler!;
    f.chars.AttachHandler = (h, ctx, p) => {
      seen = { ifIndex: p.BaseMiniportIfIndex, name: p.BaseMiniportName, mac: [...p.CurrentMacAddress.subarray(0, 6)] };
      return attach(h, ctx, p);
    };
    f.register();
    addMiniportAdapter(miniport.handle as never, { name: 'Named', ifIndex: 77 });
    assert.deepEqual(seen, { ifIndex: 77, name: 'Named', mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee] });
  });

  it('a filter whose FilterAttach fails is left out of the stack; the rest works (FilterAttach)', () => {
    const log: EventLog = [];
    const miniport = new TestMiniport();
    miniport.register();
    const bad = new TestFilter({ name: 'Bad', log });
    bad.chars.AttachHandler = () => 0xc000009a | 0;
    bad.register();
    const good = new TestFilter({ name: 'Good', log });
    good.register();
    const { adapter } = addMiniportAdapter(miniport.handle as never);
    assert.equal(adapter!.filters.length, 1);
    assert.equal(adapter!.filters[0]!.driver.chars.FriendlyName, 'Good');
    const protocol = new TestProtocol();
    protocol.register();
    log.length = 0;
    protocol.bindings[0]!.send(1);
    assert.deepEqual(log, ['Good:send', 'Good:complete']);
  });

  it('NBLs a filter originates (SourceHandle = NdisFilterHandle) complete to that filter, never to the protocol', () => {
    const { log, a, b, filters } = build([{ name: 'F1' }, { name: 'F2' }], { holdSends: true });
    const m2 = filters[1]!.modules[0]!;
    const own = toArray(m2.originateSend(2));
    b.send(1);
    assert.deepEqual(log, ['F1:send', 'F2:send', 'F1:send']);
    log.length = 0;
    a.completeHeld();
    assert.deepEqual(m2.ownBack, own, 'the filter got its own NBLs back');
    assert.equal(b.completed.length, 1, 'the protocol got only its own');
    assert.equal(m2.own, 0);
  });

  it('NBLs a filter indicates itself come back through its FilterReturnNetBufferLists', () => {
    const { a, b, filters } = build([{ name: 'F1' }, { name: 'F2' }]);
    const m1 = filters[0]!.modules[0]!;
    const own = toArray(m1.originateReceive(2));
    assert.deepEqual(b.received, own);
    b.returnHeld();
    assert.deepEqual(m1.ownBack, own);
    assert.equal(a.returned.length, 0, 'nothing reaches the miniport');
  });

  it('a filter that passes up the completion of its own NBL is caught (NdisFilterTimedDataSend)', () => {
    const { a, filters } = build([{ name: 'F1' }], { holdSends: true });
    const m = filters[0]!.modules[0]!;
    // Break the filter: pass everything up, its own included.
    filters[0]!.chars.SendNetBufferListsCompleteHandler = (_ctx, nbls, flags) =>
      NdisFSendNetBufferListsComplete(m.handle, nbls, flags);
    m.originateSend(1);
    const e = assertBugCheck(
      () => a.completeHeld(),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataSend,
    );
    assert.equal(e.parameters[3], NblFault.OriginatorPassedUp);
  });

  it('a filter that completes or returns an NBL it does not hold is caught (NdisFilterTimedDataSend / NdisFilterTimedDataReceive)', () => {
    const { a, filters } = build([{ name: 'F1' }]);
    const m = filters[0]!.modules[0]!;
    const stray = allocChain(a.pool, 1, a.handle);
    assertBugCheck(
      () => NdisFSendNetBufferListsComplete(m.handle, stray, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataSend,
    );
    assertBugCheck(
      () => NdisFReturnNetBufferLists(m.handle, stray, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataReceive,
    );
  });

  it('a filter may not send a received NBL back down, nor indicate a send back up: it must copy it (NdisFilterTimedDataSend / NdisFilterTimedDataReceive)', () => {
    const { a, filters } = build([{ name: 'F1' }], { holdSends: true });
    const m = filters[0]!.modules[0]!;
    filters[0]!.chars.ReceiveNetBufferListsHandler = (_ctx, nbls, port) =>
      NdisFSendNetBufferLists(m.handle, nbls, port, 0);
    const rx = allocChain(a.pool, 1, a.handle);
    assertBugCheck(
      () => NdisMIndicateReceiveNetBufferLists(a.handle, rx, 0, 1, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataSend,
    );
    resetSystem();
    const s = build([{ name: 'F1' }], { holdSends: true });
    const m2 = s.filters[0]!.modules[0]!;
    s.filters[0]!.chars.SendNetBufferListsHandler = (_ctx, nbls, port) =>
      NdisFIndicateReceiveNetBufferLists(m2.handle, nbls, port, 1, 0);
    assertBugCheck(() => s.b.send(1), DRIVER_VERIFIER_DETECTED_VIOLATION, NdisRule.NdisFilterTimedDataReceive);
  });

  it('an NBL received with NDIS_RECEIVE_FLAGS_RESOURCES may not be indicated up without it (FilterReceiveNetBufferLists)', () => {
    const { a, filters } = build([{ name: 'F1' }]);
    const m = filters[0]!.modules[0]!;
    filters[0]!.chars.ReceiveNetBufferListsHandler = (_ctx, nbls, port, count, flags) =>
      NdisFIndicateReceiveNetBufferLists(m.handle, nbls, port, count, flags & ~NDIS_RECEIVE_FLAGS_RESOURCES);
    const chain = allocChain(a.pool, 1, a.handle);
    const e = assertBugCheck(
      () => NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 1, NDIS_RECEIVE_FLAGS_RESOURCES),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataReceive,
    );
    assert.equal(e.parameters[3], NblFault.KeptAfterResources);
  });

  it('a filter that returns an NBL it got with RESOURCES after the indication ended is caught', () => {
    const { a, filters } = build([{ name: 'F1' }]);
    const m = filters[0]!.modules[0]!;
    let kept: unknown = null;
    filters[0]!.chars.ReceiveNetBufferListsHandler = (_ctx, nbls) => {
      kept = nbls;
    };
    const chain = allocChain(a.pool, 1, a.handle);
    NdisMIndicateReceiveNetBufferLists(a.handle, chain, 0, 1, NDIS_RECEIVE_FLAGS_RESOURCES);
    const e = assertBugCheck(
      () => NdisFReturnNetBufferLists(m.handle, kept as never, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataReceive,
    );
    assert.equal(e.parameters[3], NblFault.KeptAfterResources);
  });

  it('attaching a filter to a running adapter pauses the stack top-down, attaches, and restarts bottom-up (Starting/Pausing a filter module)', () => {
    const { log, b, a } = build([{ name: 'F1' }]);
    const f2 = new TestFilter({ name: 'F2', log });
    f2.register();
    assert.deepEqual(log, ['F1:pause', 'F2:attach', 'F1:restart', 'F2:restart']);
    assert.equal(a.pauses, 1);
    assert.equal(a.restarts, 2);
    assert.ok(b.pnpEvents.length >= 2, 'the binding was paused and restarted through ProtocolNetPnPEvent');
    log.length = 0;
    b.send(1);
    assert.deepEqual(log, ['F2:send', 'F1:send', 'F1:complete', 'F2:complete']);
  });

  it('pause draining: a filter whose FilterPause pends completes it once its own NBLs are back, and only then does NDIS go on (NdisFPauseComplete)', () => {
    const { log, a, filters } = build([{ name: 'F1', pendPause: true }], { holdSends: true });
    const m = filters[0]!.modules[0]!;
    m.originateSend(2);
    const f2 = new TestFilter({ name: 'F2', log });
    f2.register();
    assert.deepEqual(log, ['F1:pause'], 'the attach waits for the pause');
    assert.equal(f2.attaches, 0);
    assert.equal(m.pausePending, true);
    a.completeHeld();
    assert.equal(m.own, 0);
    assert.deepEqual(log, ['F1:pause', 'F1:complete', 'F2:attach', 'F1:restart', 'F2:restart']);
    assert.equal(f2.attaches, 1);
  });

  it('a filter that completes its pause with NBLs still outstanding is caught (NdisFilterTimedPauseComplete 0x00092010)', () => {
    const { filters, a } = build([{ name: 'F1' }], { holdSends: true });
    const f = filters[0]!;
    const m = f.modules[0]!;
    f.chars.PauseHandler = () => 0x103;
    m.originateSend(1);
    const f2 = new TestFilter({ name: 'F2', log: [] });
    f2.register();
    const e = assertBugCheck(
      () => NdisFPauseComplete(m.handle),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedPauseComplete,
    );
    assert.equal(e.parameters[2], 1, 'one send outstanding');
    void a;
  });

  it('FilterPause returning success with sends outstanding, or failing, is caught; completing a pause twice is caught (NdisFilterTimedPauseComplete)', () => {
    const { filters } = build([{ name: 'F1' }], { holdSends: true });
    const m = filters[0]!.modules[0]!;
    m.originateSend(1);
    const f2 = new TestFilter({ name: 'F2', log: [] });
    const box = { value: null as unknown };
    NdisFRegisterFilterDriver(f2.driverObject, f2, f2.chars, box);
    assertBugCheck(() => drainNdisPnpWork(), DRIVER_VERIFIER_DETECTED_VIOLATION, NdisRule.NdisFilterTimedPauseComplete);
    resetSystem();
    const s = build([{ name: 'F1' }]);
    const m2 = s.filters[0]!.modules[0]!;
    assertBugCheck(
      () => NdisFPauseComplete(m2.handle),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedPauseComplete,
    );
    resetSystem();
    const t = build([{ name: 'F1' }]);
    t.filters[0]!.chars.PauseHandler = () => 0xc0000001 | 0;
    const f3 = new TestFilter({ name: 'F3', log: [] });
    NdisFRegisterFilterDriver(f3.driverObject, f3, f3.chars, box);
    assertBugCheck(() => drainNdisPnpWork(), DRIVER_VERIFIER_DETECTED_VIOLATION, NdisRule.NdisFilterTimedPauseComplete);
  });

  it('sends a paused filter originates complete back to it with NDIS_STATUS_PAUSED; the protocol’s sends on a paused binding complete with NDIS_STATUS_PAUSED', () => {
    const { filters, b, block } = build([{ name: 'F1', pendPause: true }], { holdSends: true });
    const m = filters[0]!.modules[0]!;
    const moduleBlock = block.filters[0]!;
    moduleBlock.state = RunState.Paused;
    const own = toArray(m.originateSend(1));
    assert.deepEqual(m.ownBack, own);
    assert.equal(own[0]!.Status, NDIS_STATUS_PAUSED);
    moduleBlock.state = RunState.Running;
    b.protocol.bindings[0]!;
    const open = block.opens[0]!;
    open.state = RunState.Paused;
    b.send(1);
    assert.deepEqual(b.statuses, [NDIS_STATUS_PAUSED]);
    open.state = RunState.Running;
  });

  it('NdisFDeregisterFilterDriver detaches every module and the stack keeps running without it', () => {
    const { log, b, filters, a } = build([{ name: 'F1' }, { name: 'F2' }]);
    NdisFDeregisterFilterDriver(filters[0]!.handle);
    assert.deepEqual(log, ['F2:pause', 'F1:pause', 'F1:detach', 'F2:restart']);
    log.length = 0;
    b.send(1);
    assert.deepEqual(log, ['F2:send', 'F2:complete']);
    assert.equal(a.sent.length, 1);
  });

  it('pools back to zero: after unbinding, detaching and halting, collectLeaks() is empty', () => {
    const { miniport, protocol, filters, block, a, b } = build([{ name: 'F1' }, { name: 'F2' }], { holdSends: true });
    b.send(2);
    filters[1]!.modules[0]!.originateSend(1);
    a.completeHeld();
    a.indicate(2);
    b.returnHeld();
    filters[0]!.modules[0]!.originateReceive(1);
    b.returnHeld();
    NdisFDeregisterFilterDriver(filters[0]!.handle);
    removeMiniportAdapter(block);
    NdisFDeregisterFilterDriver(filters[1]!.handle);
    NdisDeregisterProtocolDriver(protocol.handle);
    NdisFreeNetBufferListPool(protocol.pool!);
    NdisMDeregisterMiniportDriver(miniport.handle);
    assert.deepEqual(collectLeaks(), []);
  });
});
