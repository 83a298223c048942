import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { queueDeferredWork } from '../../src/kernel/deferred.js';
import { RunState } from '../../src/ndis/driver-blocks.js';
import { drainNdisPnpWork } from '../../src/ndis/driver-lifecycle.js';
import { NdisBugcheck, NdisDriverViolation, NdisWatchdog } from '../../src/ndis/driver-verifier.js';
import { addMiniportAdapter, removeMiniportAdapter } from '../../src/ndis/miniport.js';
import { assertBugCheck } from '../helpers.js';
import {
  BUGCODE_NDIS_DRIVER,
  DISPATCH_LEVEL,
  DRIVER_OBJECT,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  HIGH_LEVEL,
  KeLowerIrql,
  KeRaiseIrql,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
  NDIS_OID_REQUEST,
  NDIS_OPEN_PARAMETERS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
  NDIS_STATUS_BAD_CHARACTERISTICS,
  NDIS_STATUS_BAD_VERSION,
  NDIS_STATUS_INDICATION,
  NDIS_STATUS_LINK_STATE,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NDIS_STATUS_UNSUPPORTED_MEDIA,
  NdisCancelSendNetBufferLists,
  NdisCloseAdapterEx,
  NdisCompleteBindAdapterEx,
  NdisFDeregisterFilterDriver,
  NdisFIndicateStatus,
  NdisFOidRequest,
  NdisFOidRequestComplete,
  NdisFRestartComplete,
  NdisMedium802_5,
  NdisMIndicateStatusEx,
  NdisMOidRequestComplete,
  NdisMPauseComplete,
  NdisMRegisterMiniportDriver,
  NdisMRestartComplete,
  NdisMSetMiniportAttributes,
  NdisOidRequest,
  NdisOpenAdapterEx,
  NdisRegisterProtocolDriver,
  NdisSendNetBufferLists,
  NetEventRestart,
  resetSystem,
} from './ddi.js';
import { type EventLog, TestFilter, TestMiniport, TestProtocol } from './drivers.js';

describe('registration, binding and the adapter life cycle', () => {
  beforeEach(() => resetSystem());

  it('NdisMRegisterMiniportDriver checks the header (type, revision, size), the NDIS version and the required handlers, and calls MiniportSetOptions', () => {
    const m = new TestMiniport();
    const good = m.chars;
    const box = { value: null as unknown };
    const bad = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS({ ...good, Header: new NDIS_OBJECT_HEADER(0x80, 1, 136) });
    assert.equal(NdisMRegisterMiniportDriver(m.driverObject, '', null, bad, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    const small = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS({ ...good, Header: new NDIS_OBJECT_HEADER(0x8a, 1, 64) });
    assert.equal(NdisMRegisterMiniportDriver(m.driverObject, '', null, small, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    const v5 = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS({ ...good, MajorNdisVersion: 5 });
    assert.equal(NdisMRegisterMiniportDriver(m.driverObject, '', null, v5, box), NDIS_STATUS_BAD_VERSION);
    const noCancel = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS({ ...good, CancelSendHandler: null });
    assert.equal(NdisMRegisterMiniportDriver(m.driverObject, '', null, noCancel, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    assert.equal(box.value, null);
    let options = 0;
    const withOptions = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS({
      ...good,
      SetOptionsHandler: (h) => {
        options++;
        assert.notEqual(h, null);
        return NDIS_STATUS_SUCCESS;
      },
    });
    assert.equal(NdisMRegisterMiniportDriver(m.driverObject, '', null, withOptions, box), NDIS_STATUS_SUCCESS);
    assert.equal(options, 1);
  });

  it('NdisRegisterProtocolDriver needs a Name, the required handlers and NDIS 6', () => {
    const p = new TestProtocol();
    const box = { value: null as unknown };
    const noName = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS({ ...p.chars, Name: '' });
    assert.equal(NdisRegisterProtocolDriver(null, noName, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    const noReceive = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS({ ...p.chars, ReceiveNetBufferListsHandler: null });
    assert.equal(NdisRegisterProtocolDriver(null, noReceive, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    const v5 = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS({ ...p.chars, MajorNdisVersion: 5 });
    assert.equal(NdisRegisterProtocolDriver(null, v5, box), NDIS_STATUS_BAD_VERSION);
  });

  it('NdisMSetMiniportAttributes is legal only inside MiniportInitializeEx, and initialization must set both kinds of attributes', () => {
    const m = new TestMiniport();
    m.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    const reg = new NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES();
    reg.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, 1, 28);
    assertBugCheck(
      () => NdisMSetMiniportAttributes(adapter, reg),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.WrongState,
    );
    resetSystem();
    const bare = new TestMiniport({ skipAttributes: true });
    bare.register();
    assertBugCheck(
      () => addMiniportAdapter(bare.handle as never),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.WrongState,
    );
  });

  it('a failing MiniportInitializeEx leaves no adapter behind and its status is the result', () => {
    const m = new TestMiniport({ failInit: NDIS_STATUS_RESOURCES });
    m.register();
    const { status, adapter } = addMiniportAdapter(m.handle as never);
    assert.equal(status, NDIS_STATUS_RESOURCES);
    assert.equal(adapter, null);
  });

  it('NdisOpenAdapterEx outside ProtocolBindAdapterEx is NDIS_BUGCHECK_INVALID_OPEN_IN_BIND_CONTEXT (0x7C, 0x16)', () => {
    const m = new TestMiniport();
    m.register();
    addMiniportAdapter(m.handle as never);
    const p = new TestProtocol();
    p.register();
    const open = new NDIS_OPEN_PARAMETERS();
    open.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_OPEN_PARAMETERS, 1, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1);
    assertBugCheck(
      () => NdisOpenAdapterEx(p.handle, {}, open, {}, { value: null }),
      BUGCODE_NDIS_DRIVER,
      NdisBugcheck.INVALID_OPEN_IN_BIND_CONTEXT,
    );
  });

  it('NdisOpenAdapterEx fails with NDIS_STATUS_UNSUPPORTED_MEDIA when the adapter’s medium is not in MediumArray, and no binding is made', () => {
    const m = new TestMiniport();
    m.register();
    addMiniportAdapter(m.handle as never);
    const p = new TestProtocol();
    let status = 0;
    p.chars.BindAdapterHandlerEx = (_ctx, bindContext) => {
      const open = new NDIS_OPEN_PARAMETERS();
      open.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_OPEN_PARAMETERS, 1, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1);
      open.MediumArray = [NdisMedium802_5];
      open.MediumArraySize = 1;
      status = NdisOpenAdapterEx(p.handle, {}, open, bindContext, { value: null });
      return status;
    };
    p.register();
    assert.equal(status, NDIS_STATUS_UNSUPPORTED_MEDIA);
    assert.equal(p.bindings.length, 0);
  });

  it('NDIS offers each adapter to a protocol once: a protocol that declines is not asked again when more adapters or filters arrive', () => {
    const m = new TestMiniport();
    m.register();
    const p = new TestProtocol();
    const offered: string[] = [];
    p.chars.BindAdapterHandlerEx = (_ctx, _bindContext, params) => {
      offered.push(params.AdapterName);
      return 0xc0010007 | 0;
    };
    p.register();
    addMiniportAdapter(m.handle as never, { name: 'One' });
    new TestFilter({ name: 'F', log: [] }).register();
    addMiniportAdapter(m.handle as never, { name: 'Two' });
    drainNdisPnpWork();
    assert.deepEqual(offered, ['One', 'Two']);
  });

  it('a bind that pends finishes with NdisCompleteBindAdapterEx; the binding is restarted (NetEventRestart) before it may send', () => {
    const m = new TestMiniport();
    m.register();
    addMiniportAdapter(m.handle as never);
    const p = new TestProtocol({ keepCompleted: true });
    const bind = p.chars.BindAdapterHandlerEx!;
    let pending: unknown = null;
    p.chars.BindAdapterHandlerEx = (ctx, bindContext, params) => {
      const status = bind(ctx, bindContext, params);
      pending = bindContext;
      return status === NDIS_STATUS_SUCCESS ? NDIS_STATUS_PENDING : status;
    };
    p.register();
    const b = p.bindings[0]!;
    assert.equal(b.pnpEvents.length, 0, 'not restarted yet');
    const nbl = b.send(1);
    assert.deepEqual(b.statuses, [NDIS_STATUS_PAUSED], 'a binding that is not running completes sends with PAUSED');
    NdisCompleteBindAdapterEx(pending, NDIS_STATUS_SUCCESS);
    assert.deepEqual(b.pnpEvents, [NetEventRestart]);
    NdisSendNetBufferLists(b.handle, nbl, 0, 0);
    assert.deepEqual(b.statuses, [NDIS_STATUS_PAUSED, NDIS_STATUS_SUCCESS]);
  });

  it('NdisCloseAdapterEx pends while sends are outstanding and ProtocolCloseAdapterCompleteEx follows their completion', () => {
    const m = new TestMiniport({ holdSends: true });
    m.register();
    addMiniportAdapter(m.handle as never);
    const p = new TestProtocol();
    let closed = 0;
    p.chars.CloseAdapterCompleteHandlerEx = () => closed++;
    p.register();
    const b = p.bindings[0]!;
    b.send(2);
    assert.equal(NdisCloseAdapterEx(b.handle), NDIS_STATUS_PENDING);
    assert.equal(closed, 0);
    m.adapters[0]!.completeHeld();
    assert.equal(b.completed.length, 2, 'the sends still complete to the protocol');
    assert.equal(closed, 1);
  });

  it('closing a binding while holding received NBLs is NDIS_BUGCHECK_LEAKED_NBL (0x7C, 0x27)', () => {
    const m = new TestMiniport();
    m.register();
    addMiniportAdapter(m.handle as never);
    const p = new TestProtocol({ holdReceives: true });
    p.register();
    m.adapters[0]!.indicate(1);
    assertBugCheck(() => NdisCloseAdapterEx(p.bindings[0]!.handle), BUGCODE_NDIS_DRIVER, NdisBugcheck.LEAKED_NBL);
  });

  it('NdisMPauseComplete / NdisMRestartComplete with nothing pending are NDIS_BUGCHECK_ILLEGAL_MINIPORT_STATE_TRANSITION (0x7C, 0x1F, 1 or 2)', () => {
    const m = new TestMiniport();
    m.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    let e = assertBugCheck(() => NdisMPauseComplete(adapter), BUGCODE_NDIS_DRIVER, 0x1f);
    assert.equal(e.parameters[1], 1);
    e = assertBugCheck(() => NdisMRestartComplete(adapter, 0), BUGCODE_NDIS_DRIVER, 0x1f);
    assert.equal(e.parameters[1], 2);
  });

  it('a miniport pause that pends (MiniportPause returns NDIS_STATUS_PENDING) holds the halt until NdisMPauseComplete', () => {
    const m = new TestMiniport();
    let adapterHandle: unknown = null;
    m.chars.PauseHandler = (ctx) => {
      adapterHandle = (ctx as { handle: unknown }).handle;
      // Complete later, from a DPC: NDIS runs deferred work while the halt waits for the pause.
      queueDeferredWork(() => NdisMPauseComplete(adapterHandle), null);
      return NDIS_STATUS_PENDING;
    };
    m.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    removeMiniportAdapter(adapter!);
    assert.equal(m.adapters[0]!.halted, true);
  });

  it('restarts that pend (MiniportRestart, FilterRestart return NDIS_STATUS_PENDING) finish with NdisMRestartComplete / NdisFRestartComplete, bottom-up, before bindings are made', () => {
    const log: EventLog = [];
    const m = new TestMiniport();
    let adapterHandle: unknown = null;
    m.chars.RestartHandler = (ctx) => {
      adapterHandle = (ctx as { handle: unknown }).handle;
      log.push('M:restart');
      return NDIS_STATUS_PENDING;
    };
    m.register();
    const f = new TestFilter({ name: 'F', log });
    let moduleHandle: unknown = null;
    f.chars.RestartHandler = (ctx) => {
      moduleHandle = (ctx as { handle: unknown }).handle;
      log.push('F:restart');
      return NDIS_STATUS_PENDING;
    };
    f.register();
    const p = new TestProtocol();
    p.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    assert.deepEqual(log, ['F:attach', 'M:restart']);
    assert.equal(p.bindings.length, 0, 'protocols bind only once the stack runs');
    NdisMRestartComplete(adapterHandle, NDIS_STATUS_SUCCESS);
    assert.deepEqual(log, ['F:attach', 'M:restart', 'F:restart']);
    assert.equal(adapter!.filters[0]!.state, RunState.Restarting);
    NdisFRestartComplete(moduleHandle, NDIS_STATUS_SUCCESS);
    assert.equal(adapter!.filters[0]!.state, RunState.Running);
    assert.equal(p.bindings.length, 1);
    assertBugCheck(
      () => NdisFRestartComplete(moduleHandle, NDIS_STATUS_SUCCESS),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.WrongState,
    );
  });

  it('a filter pause that never completes makes deregistration fire NDIS’s watchdog (0x7C, NDIS_BUGCHECK_WATCHDOG, FILTER_PAUSE)', () => {
    const log: EventLog = [];
    const m = new TestMiniport();
    m.register();
    addMiniportAdapter(m.handle as never);
    const f = new TestFilter({ name: 'Stuck', log });
    f.chars.PauseHandler = () => NDIS_STATUS_PENDING;
    f.register();
    const e = assertBugCheck(() => NdisFDeregisterFilterDriver(f.handle), BUGCODE_NDIS_DRIVER, NdisBugcheck.WATCHDOG);
    assert.equal(e.parameters[1], NdisWatchdog.FILTER_PAUSE);
  });

  it('a protocol that keeps receives when its binding is paused stalls the halt: NDIS’s watchdog names the protocol pause (0x7C, 0x25, 0x01)', () => {
    const m = new TestMiniport();
    m.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    const p = new TestProtocol({ holdReceives: true });
    p.register();
    m.adapters[0]!.indicate(1);
    const e = assertBugCheck(() => removeMiniportAdapter(adapter!), BUGCODE_NDIS_DRIVER, NdisBugcheck.WATCHDOG);
    assert.equal(e.parameters[1], NdisWatchdog.PROTOCOL_PAUSE);
  });

  it('a handle of the wrong kind is caught, and a DDI above its IRQL is caught', () => {
    const m = new TestMiniport();
    m.register();
    assertBugCheck(
      () => NdisSendNetBufferLists(m.handle, null as never, 0, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisDriverViolation.InvalidHandle,
    );
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    try {
      assertBugCheck(
        () => NdisMRegisterMiniportDriver(new DRIVER_OBJECT('x'), '', null, m.chars, { value: null }),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        NdisDriverViolation.IrqlTooHigh,
      );
      const hi = { value: 0 };
      KeRaiseIrql(HIGH_LEVEL, hi);
      try {
        assertBugCheck(
          () => NdisCancelSendNetBufferLists(null, 1),
          DRIVER_VERIFIER_DETECTED_VIOLATION,
          NdisDriverViolation.IrqlTooHigh,
        );
      } finally {
        KeLowerIrql(hi.value);
      }
    } finally {
      KeLowerIrql(old.value);
    }
  });

  it('status indications reach filters with a status handler and every binding’s ProtocolStatusEx (NdisMIndicateStatusEx)', () => {
    const log: EventLog = [];
    const m = new TestMiniport();
    m.register();
    const f = new TestFilter({ name: 'F', log });
    f.chars.StatusHandler = (ctx, s) => {
      log.push(`F:status ${s.StatusCode.toString(16)}`);
      NdisFIndicateStatus((ctx as { handle: unknown }).handle, s);
    };
    f.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    const p = new TestProtocol();
    const seen: number[] = [];
    p.chars.StatusHandlerEx = (_ctx, s) => seen.push(s.StatusCode);
    p.register();
    const s = new NDIS_STATUS_INDICATION();
    s.StatusCode = NDIS_STATUS_LINK_STATE;
    NdisMIndicateStatusEx(adapter, s);
    assert.deepEqual(
      log.filter((l) => l.includes('status')),
      [`F:status ${NDIS_STATUS_LINK_STATE.toString(16)}`],
    );
    assert.deepEqual(seen, [NDIS_STATUS_LINK_STATE]);
    assert.equal(s.SourceHandle, adapter);
  });

  it('an OID request passes a filter’s FilterOidRequest to the miniport and, when pended, completes back up through the filter to the protocol', () => {
    const log: EventLog = [];
    const m = new TestMiniport();
    let pendingRequest: NDIS_OID_REQUEST | null = null;
    m.chars.OidRequestHandler = (_ctx, req) => {
      pendingRequest = req;
      return NDIS_STATUS_PENDING;
    };
    m.register();
    const f = new TestFilter({ name: 'F', log });
    f.chars.OidRequestHandler = (ctx, req) => {
      log.push('F:oid');
      return NdisFOidRequest((ctx as { handle: unknown }).handle, req);
    };
    f.chars.OidRequestCompleteHandler = (ctx, req, status) => {
      log.push('F:oid-complete');
      NdisFOidRequestComplete((ctx as { handle: unknown }).handle, req, status);
    };
    f.register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    const p = new TestProtocol();
    const done: number[] = [];
    p.chars.OidRequestCompleteHandler = (_ctx, _req, status) => done.push(status);
    p.register();
    const req = new NDIS_OID_REQUEST();
    assert.equal(NdisOidRequest(p.bindings[0]!.handle, req), NDIS_STATUS_PENDING);
    assert.equal(pendingRequest, req);
    NdisMOidRequestComplete(adapter, req, NDIS_STATUS_SUCCESS);
    assert.deepEqual(
      log.filter((l) => l.startsWith('F:oid')),
      ['F:oid', 'F:oid-complete'],
    );
    assert.deepEqual(done, [NDIS_STATUS_SUCCESS]);
  });

  it('NdisCancelSendNetBufferLists reaches the miniport’s MiniportCancelSend (filters without a cancel handler are bypassed)', () => {
    const m = new TestMiniport();
    const cancelled: unknown[] = [];
    m.chars.CancelSendHandler = (_ctx, id) => cancelled.push(id);
    m.register();
    new TestFilter({ name: 'F', log: [] }).register();
    addMiniportAdapter(m.handle as never);
    const p = new TestProtocol();
    p.register();
    NdisCancelSendNetBufferLists(p.bindings[0]!.handle, 42);
    assert.deepEqual(cancelled, [42]);
  });

  it('with the verifier off the data path still routes every NBL (checks cost nothing, bookkeeping stays)', () => {
    resetSystem({ verifier: 'off' });
    const m = new TestMiniport({ holdSends: true });
    m.register();
    new TestFilter({ name: 'F', log: [] }).register();
    const { adapter } = addMiniportAdapter(m.handle as never);
    const p = new TestProtocol({ holdReceives: true });
    p.register();
    const b = p.bindings[0]!;
    b.send(3);
    m.adapters[0]!.completeHeld();
    m.adapters[0]!.indicate(2);
    b.returnHeld();
    assert.equal(b.completed.length, 3);
    assert.equal(m.adapters[0]!.returned.length, 2);
    assert.equal(adapter!.state, RunState.Running);
    drainNdisPnpWork();
  });
});
