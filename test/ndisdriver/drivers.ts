/**
 * Small NDIS 6 drivers for the driver-model tests, written against the faithful face as a driver would: a test
 * miniport (sends completed at once or held until the test completes them; receives indicated from its own NBL
 * pool), a test protocol (records what it receives and what completes, returns or holds indications) and a
 * configurable pass-through filter (records the order in which it sees traffic, can originate NBLs, can pend
 * its pause until its own NBLs are back).
 */

import { DISPATCH_LEVEL, KeGetCurrentIrql } from '../../src/kernel/irql.js';
import { drainNdisPnpWork } from '../../src/ndis/driver-lifecycle.js';
import type { NetBufferListPool } from '../../src/ndis/pools.js';
import {
  DRIVER_OBJECT,
  MediaConnectStateConnected,
  MediaDuplexStateFull,
  type NDIS_BIND_PARAMETERS,
  NDIS_FILTER_ATTRIBUTES,
  NDIS_FILTER_ATTRIBUTES_REVISION_1,
  NDIS_FILTER_CHARACTERISTICS_REVISION_1,
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  type NDIS_HANDLE,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
  NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
  NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_OPEN_PARAMETERS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_SUCCESS,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisCloseAdapterEx,
  NdisFIndicateReceiveNetBufferLists,
  NdisFPauseComplete,
  NdisFRegisterFilterDriver,
  NdisFReturnNetBufferLists,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisFSendNetBufferLists,
  NdisFSendNetBufferListsComplete,
  NdisFSetAttributes,
  NdisMedium802_3,
  NdisMIndicateReceiveNetBufferLists,
  NdisMRegisterMiniportDriver,
  NdisMSendNetBufferListsComplete,
  NdisMSetMiniportAttributes,
  NdisOpenAdapterEx,
  NdisPhysicalMedium802_3,
  NdisRegisterProtocolDriver,
  NdisReturnNetBufferLists,
  NdisSendNetBufferLists,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  poolTag,
} from './ddi.js';

/** Flags for the current IRQL: what a driver that tracks its IRQL would pass. */
export function dispatchFlag(flag: number): number {
  return KeGetCurrentIrql() === DISPATCH_LEVEL ? flag : 0;
}

/** An NBL pool with a built-in NET_BUFFER and `dataSize` bytes of data per list. */
export function makePool(tag: string, dataSize = 256): NetBufferListPool {
  const p = new NET_BUFFER_LIST_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  p.fAllocateNetBuffer = true;
  p.DataSize = dataSize;
  p.PoolTag = poolTag(tag);
  const pool = NdisAllocateNetBufferListPool(null, p);
  if (pool === null) throw new Error('no pool');
  return pool;
}

/** Allocates `n` NBLs from `pool` chained through Next, each tagged with an id in Scratch. */
export function allocChain(pool: NetBufferListPool, n: number, source: NDIS_HANDLE, firstId = 0): NET_BUFFER_LIST {
  let head: NET_BUFFER_LIST | null = null;
  let tail: NET_BUFFER_LIST | null = null;
  for (let i = 0; i < n; i++) {
    const nbl = NdisAllocateNetBufferList(pool, 0, 0);
    if (nbl === null) throw new Error('no NBL');
    nbl.SourceHandle = source;
    nbl.Scratch = firstId + i;
    if (tail === null) head = nbl;
    else tail.Next = nbl;
    tail = nbl;
  }
  return head!;
}

/** The NBLs of a list as an array (for assertions; not used on any measured path). */
export function toArray(nbls: NET_BUFFER_LIST | null): NET_BUFFER_LIST[] {
  const out: NET_BUFFER_LIST[] = [];
  for (let x = nbls; x !== null; x = x.Next) out.push(x);
  return out;
}

/** Frees a list of NBLs. */
export function freeChain(nbls: NET_BUFFER_LIST | null): void {
  let x = nbls;
  while (x !== null) {
    const next: NET_BUFFER_LIST | null = x.Next;
    x.Next = null;
    NdisFreeNetBufferList(x);
    x = next;
  }
}

// --- the test miniport -------------------------------------------------------------------------------------------

/** One adapter of the test miniport. */
export class TestAdapter {
  readonly handle: NDIS_HANDLE;
  /** NBLs sent to it and not yet completed (held mode). */
  held: NET_BUFFER_LIST[] = [];
  /** Every NBL it was given, in order. */
  sent: NET_BUFFER_LIST[] = [];
  /** NBLs that came back through MiniportReturnNetBufferLists, and their ids (Scratch) at that moment. */
  returned: NET_BUFFER_LIST[] = [];
  returnedIds: unknown[] = [];
  /** The next id `indicate` gives (ids are unique per adapter). */
  nextId = 0;
  pauses = 0;
  restarts = 0;
  halted = false;
  paused = true;
  readonly pool: NetBufferListPool;
  constructor(
    handle: NDIS_HANDLE,
    readonly miniport: TestMiniport,
  ) {
    this.handle = handle;
    this.pool = makePool('tsmT');
  }

  /** Completes every held send with `status`. */
  completeHeld(status = NDIS_STATUS_SUCCESS): void {
    if (this.held.length === 0) return;
    const list = this.held;
    this.held = [];
    for (let i = 0; i < list.length; i++) {
      list[i]!.Status = status;
      list[i]!.Next = i + 1 < list.length ? list[i + 1]! : null;
    }
    NdisMSendNetBufferListsComplete(this.handle, list[0]!, dispatchFlag(NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL));
  }

  /** Indicates `n` fresh NBLs (ids from `firstId`), with or without RESOURCES. Returns the list. */
  indicate(n: number, resources = false, firstId = this.nextId): NET_BUFFER_LIST {
    this.nextId = firstId + n;
    const chain = allocChain(this.pool, n, this.handle, firstId);
    this.indicateList(chain, n, resources);
    return chain;
  }

  /** Indicates an existing list. */
  indicateList(chain: NET_BUFFER_LIST, n: number, resources = false): void {
    const flags = dispatchFlag(NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) | (resources ? NDIS_RECEIVE_FLAGS_RESOURCES : 0);
    NdisMIndicateReceiveNetBufferLists(this.handle, chain, 0, n, flags);
    if (resources) freeChain(chain);
  }
}

/** Options of the test miniport. */
export interface TestMiniportOptions {
  /** Hold sends until the test completes them (default: complete inside MiniportSendNetBufferLists). */
  holdSends?: boolean;
  /** MAC address (6 bytes). */
  mac?: readonly number[];
  mtu?: number;
  /** Make MiniportInitializeEx skip NdisMSetMiniportAttributes (for the misuse test). */
  skipAttributes?: boolean;
  /** Make MiniportInitializeEx fail with this status. */
  failInit?: number;
}

/** A miniport driver whose adapters the tests drive directly. */
export class TestMiniport {
  readonly driverObject = new DRIVER_OBJECT('\\Driver\\TestMiniport');
  handle: NDIS_HANDLE = null;
  readonly adapters: TestAdapter[] = [];
  readonly chars = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS();
  constructor(readonly options: TestMiniportOptions = {}) {
    const c = this.chars;
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
      NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
      NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 6;
    c.MinorNdisVersion = 0;
    c.InitializeHandlerEx = (handle, _ctx, _params) => {
      if (options.failInit !== undefined) return options.failInit;
      const adapter = new TestAdapter(handle, this);
      if (!options.skipAttributes) {
        const reg = new NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES();
        reg.Header = new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
          NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
          NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
        );
        reg.MiniportAdapterContext = adapter;
        NdisMSetMiniportAttributes(handle, reg);
        const gen = new NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES();
        gen.Header = new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
          NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
          NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
        );
        gen.MediaType = NdisMedium802_3;
        gen.PhysicalMediumType = NdisPhysicalMedium802_3;
        gen.MtuSize = options.mtu ?? 1500;
        gen.MediaConnectState = MediaConnectStateConnected;
        gen.MediaDuplexState = MediaDuplexStateFull;
        gen.MacAddressLength = 6;
        gen.CurrentMacAddress.set(options.mac ?? [2, 0, 0, 0, 0, 1]);
        gen.PermanentMacAddress.set(options.mac ?? [2, 0, 0, 0, 0, 1]);
        NdisMSetMiniportAttributes(handle, gen);
      }
      this.adapters.push(adapter);
      return NDIS_STATUS_SUCCESS;
    };
    c.HaltHandlerEx = (ctx) => {
      const a = ctx as TestAdapter;
      a.halted = true;
      NdisFreeNetBufferListPool(a.pool);
    };
    c.UnloadHandler = () => {};
    c.PauseHandler = (ctx) => {
      const a = ctx as TestAdapter;
      a.pauses++;
      a.paused = true;
      return NDIS_STATUS_SUCCESS;
    };
    c.RestartHandler = (ctx) => {
      const a = ctx as TestAdapter;
      a.restarts++;
      a.paused = false;
      return NDIS_STATUS_SUCCESS;
    };
    c.OidRequestHandler = () => NDIS_STATUS_SUCCESS;
    c.SendNetBufferListsHandler = (ctx, nbls, _port, flags) => {
      const a = ctx as TestAdapter;
      for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) a.sent.push(x);
      if (options.holdSends) {
        for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) a.held.push(x);
        return;
      }
      for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) x.Status = NDIS_STATUS_SUCCESS;
      const cf = (flags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
      NdisMSendNetBufferListsComplete(a.handle, nbls, cf);
    };
    c.ReturnNetBufferListsHandler = (ctx, nbls) => {
      const a = ctx as TestAdapter;
      let x: NET_BUFFER_LIST | null = nbls;
      while (x !== null) {
        const next: NET_BUFFER_LIST | null = x.Next;
        a.returned.push(x);
        a.returnedIds.push(x.Scratch);
        x.Next = null;
        NdisFreeNetBufferList(x);
        x = next;
      }
    };
    c.CancelSendHandler = () => {};
    c.DevicePnPEventNotifyHandler = () => {};
    c.ShutdownHandlerEx = () => {};
    c.CancelOidRequestHandler = () => {};
  }

  /** DriverEntry: registers with NDIS. */
  register(): number {
    const box = { value: null as NDIS_HANDLE };
    const status = NdisMRegisterMiniportDriver(this.driverObject, '', this, this.chars, box);
    this.handle = box.value;
    return status;
  }
}

// --- the test protocol -------------------------------------------------------------------------------------------

/** One binding of the test protocol. */
export class TestBinding {
  handle: NDIS_HANDLE = null;
  params: NDIS_BIND_PARAMETERS | null = null;
  /** NBLs received (all indications, in order). */
  received: NET_BUFFER_LIST[] = [];
  /** Receive flags of each NBL received. */
  receiveFlags: number[] = [];
  /** NumberOfNetBufferLists of each indication. */
  indicationSizes: number[] = [];
  /** NBLs held (indicated without RESOURCES, not yet returned). */
  holding: NET_BUFFER_LIST[] = [];
  /** Sends completed to the protocol: the NBL, its id (Scratch) and its status at that moment. */
  completed: NET_BUFFER_LIST[] = [];
  completedIds: unknown[] = [];
  statuses: number[] = [];
  pnpEvents: number[] = [];
  constructor(readonly protocol: TestProtocol) {}

  /** Sends `n` NBLs from the protocol's pool. */
  send(n: number, firstId = 0): NET_BUFFER_LIST {
    const chain = allocChain(this.protocol.pool!, n, this.handle, firstId);
    NdisSendNetBufferLists(this.handle, chain, 0, dispatchFlag(NDIS_SEND_FLAGS_DISPATCH_LEVEL));
    return chain;
  }

  /** Returns every held indication. */
  returnHeld(): void {
    if (this.holding.length === 0) return;
    const list = this.holding;
    this.holding = [];
    for (let i = 0; i < list.length; i++) list[i]!.Next = i + 1 < list.length ? list[i + 1]! : null;
    NdisReturnNetBufferLists(this.handle, list[0]!, dispatchFlag(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
  }
}

/** Options of the test protocol. */
export interface TestProtocolOptions {
  /** Keep indications made without RESOURCES until the test returns them (default: return at once). */
  holdReceives?: boolean;
  /** Do not free completed sends (the test inspects or frees them). */
  keepCompleted?: boolean;
  name?: string;
}

/** A protocol driver that binds to every adapter. */
export class TestProtocol {
  handle: NDIS_HANDLE = null;
  pool: NetBufferListPool | null = null;
  readonly bindings: TestBinding[] = [];
  readonly chars = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS();
  constructor(readonly options: TestProtocolOptions = {}) {
    const c = this.chars;
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
      NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
      NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 6;
    c.Name = options.name ?? 'TESTPROTO';
    c.BindAdapterHandlerEx = (_ctx, bindContext, params) => {
      const binding = new TestBinding(this);
      binding.params = params;
      const open = new NDIS_OPEN_PARAMETERS();
      open.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_OPEN_PARAMETERS, 1, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1);
      open.AdapterName = params.AdapterName;
      open.MediumArray = [NdisMedium802_3];
      open.MediumArraySize = 1;
      const box = { value: null as NDIS_HANDLE };
      const status = NdisOpenAdapterEx(this.handle, binding, open, bindContext, box);
      if (status !== NDIS_STATUS_SUCCESS) return status;
      binding.handle = box.value;
      this.bindings.push(binding);
      return NDIS_STATUS_SUCCESS;
    };
    c.UnbindAdapterHandlerEx = (_unbindContext, ctx) => {
      const binding = ctx as TestBinding;
      const status = NdisCloseAdapterEx(binding.handle);
      this.bindings.splice(this.bindings.indexOf(binding), 1);
      return status === NDIS_STATUS_PENDING ? NDIS_STATUS_SUCCESS : status;
    };
    c.OpenAdapterCompleteHandlerEx = () => {};
    c.CloseAdapterCompleteHandlerEx = () => {};
    c.NetPnPEventHandler = (ctx, event) => {
      (ctx as TestBinding).pnpEvents.push(event.NetPnPEvent.NetEvent);
      return NDIS_STATUS_SUCCESS;
    };
    c.ReceiveNetBufferListsHandler = (ctx, nbls, _port, count, flags) => {
      const b = ctx as TestBinding;
      b.indicationSizes.push(count);
      for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
        b.received.push(x);
        b.receiveFlags.push(flags);
      }
      if ((flags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0) return;
      if (options.holdReceives) {
        for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) b.holding.push(x);
        return;
      }
      const rf = (flags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
      NdisReturnNetBufferLists(b.handle, nbls, rf);
    };
    c.SendNetBufferListsCompleteHandler = (ctx, nbls) => {
      const b = ctx as TestBinding;
      let x: NET_BUFFER_LIST | null = nbls;
      while (x !== null) {
        const next: NET_BUFFER_LIST | null = x.Next;
        b.completed.push(x);
        b.completedIds.push(x.Scratch);
        b.statuses.push(x.Status);
        if (!options.keepCompleted) {
          x.Next = null;
          NdisFreeNetBufferList(x);
        }
        x = next;
      }
    };
  }

  /** DriverEntry: makes the send pool and registers. */
  register(): number {
    this.pool = makePool('tspT');
    const box = { value: null as NDIS_HANDLE };
    const status = NdisRegisterProtocolDriver(this, this.chars, box);
    this.handle = box.value;
    drainNdisPnpWork();
    return status;
  }
}

// --- the test filter ---------------------------------------------------------------------------------------------

/** A shared log of which filter saw what, in order. */
export type EventLog = string[];

/** One filter module of a test filter. */
export class TestFilterModule {
  /** The filter's own NBLs still out (sent down or indicated up). */
  own = 0;
  pausePending = false;
  state = 'attaching';
  pool: NetBufferListPool;
  /** Own NBLs that completed or came back, and their ids (Scratch) at that moment. */
  ownBack: NET_BUFFER_LIST[] = [];
  ownBackIds: number[] = [];
  constructor(
    readonly handle: NDIS_HANDLE,
    readonly filter: TestFilter,
  ) {
    this.pool = makePool('tsfT');
  }

  /** Originates `n` sends of the filter's own. */
  originateSend(n: number): NET_BUFFER_LIST {
    const chain = allocChain(this.pool, n, this.handle, 1000);
    this.own += n;
    NdisFSendNetBufferLists(this.handle, chain, 0, dispatchFlag(NDIS_SEND_FLAGS_DISPATCH_LEVEL));
    return chain;
  }

  /** Originates `n` receive indications of the filter's own (without RESOURCES). */
  originateReceive(n: number): NET_BUFFER_LIST {
    const chain = allocChain(this.pool, n, this.handle, 2000);
    this.own += n;
    NdisFIndicateReceiveNetBufferLists(this.handle, chain, 0, n, dispatchFlag(NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL));
    return chain;
  }

  private ownCameBack(x: NET_BUFFER_LIST): void {
    this.ownBack.push(x);
    this.ownBackIds.push(x.Scratch as number);
    this.own--;
    NdisFreeNetBufferList(x);
    if (this.own === 0 && this.pausePending) {
      this.pausePending = false;
      this.state = 'paused';
      NdisFPauseComplete(this.handle);
    }
  }

  /** Splits a list into this filter's own NBLs (consumed) and the others (passed on by `pass`). */
  consumeOwn(nbls: NET_BUFFER_LIST, pass: (others: NET_BUFFER_LIST) => void): void {
    let othersHead: NET_BUFFER_LIST | null = null;
    let othersTail: NET_BUFFER_LIST | null = null;
    let x: NET_BUFFER_LIST | null = nbls;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      x.Next = null;
      if (x.SourceHandle === this.handle) this.ownCameBack(x);
      else {
        if (othersTail === null) othersHead = x;
        else othersTail.Next = x;
        othersTail = x;
      }
      x = next;
    }
    if (othersHead !== null) pass(othersHead);
  }
}

/** Options of the test filter. */
export interface TestFilterOptions {
  name: string;
  log: EventLog;
  /** Leave the send handlers NULL (NDIS bypasses the filter for sends). */
  noSend?: boolean;
  /** Leave the receive handlers NULL. */
  noReceive?: boolean;
  /** FilterPause pends while the filter's own NBLs are out, completing when the last comes back. */
  pendPause?: boolean;
}

/** A pass-through lightweight filter that logs traffic as `<name>:<event>`. */
export class TestFilter {
  readonly driverObject: DRIVER_OBJECT;
  handle: NDIS_HANDLE = null;
  readonly modules: TestFilterModule[] = [];
  readonly chars = new NDIS_FILTER_DRIVER_CHARACTERISTICS();
  attaches = 0;
  detaches = 0;
  constructor(readonly options: TestFilterOptions) {
    this.driverObject = new DRIVER_OBJECT(`\\Driver\\${options.name}`);
    const log = options.log;
    const name = options.name;
    const c = this.chars;
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
      NDIS_FILTER_CHARACTERISTICS_REVISION_1,
      NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 6;
    c.FriendlyName = name;
    c.UniqueName = `{${name}}`;
    c.ServiceName = name;
    c.AttachHandler = (handle) => {
      this.attaches++;
      const module = new TestFilterModule(handle, this);
      const attrs = new NDIS_FILTER_ATTRIBUTES();
      attrs.Header = new NDIS_OBJECT_HEADER(
        NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
        NDIS_FILTER_ATTRIBUTES_REVISION_1,
        NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1,
      );
      const status = NdisFSetAttributes(handle, module, attrs);
      if (status !== NDIS_STATUS_SUCCESS) return status;
      module.state = 'paused';
      this.modules.push(module);
      log.push(`${name}:attach`);
      return NDIS_STATUS_SUCCESS;
    };
    c.DetachHandler = (ctx) => {
      const m = ctx as TestFilterModule;
      this.detaches++;
      this.modules.splice(this.modules.indexOf(m), 1);
      NdisFreeNetBufferListPool(m.pool);
      log.push(`${name}:detach`);
    };
    c.RestartHandler = (ctx) => {
      (ctx as TestFilterModule).state = 'running';
      log.push(`${name}:restart`);
      return NDIS_STATUS_SUCCESS;
    };
    c.PauseHandler = (ctx) => {
      const m = ctx as TestFilterModule;
      log.push(`${name}:pause`);
      if (options.pendPause && m.own > 0) {
        m.state = 'pausing';
        m.pausePending = true;
        return NDIS_STATUS_PENDING;
      }
      m.state = 'paused';
      return NDIS_STATUS_SUCCESS;
    };
    if (!options.noSend) {
      c.SendNetBufferListsHandler = (ctx, nbls, port, flags) => {
        const m = ctx as TestFilterModule;
        log.push(`${name}:send`);
        NdisFSendNetBufferLists(m.handle, nbls, port, flags);
      };
      c.SendNetBufferListsCompleteHandler = (ctx, nbls, flags) => {
        const m = ctx as TestFilterModule;
        log.push(`${name}:complete`);
        m.consumeOwn(nbls, (others) => NdisFSendNetBufferListsComplete(m.handle, others, flags));
      };
    }
    if (!options.noReceive) {
      c.ReceiveNetBufferListsHandler = (ctx, nbls, port, count, flags) => {
        const m = ctx as TestFilterModule;
        log.push(`${name}:receive`);
        NdisFIndicateReceiveNetBufferLists(m.handle, nbls, port, count, flags);
      };
      c.ReturnNetBufferListsHandler = (ctx, nbls, flags) => {
        const m = ctx as TestFilterModule;
        log.push(`${name}:return`);
        m.consumeOwn(nbls, (others) => NdisFReturnNetBufferLists(m.handle, others, flags));
      };
    }
  }

  /** DriverEntry: registers with NDIS (NDIS attaches a module to every adapter). */
  register(): number {
    const box = { value: null as NDIS_HANDLE };
    const status = NdisFRegisterFilterDriver(this.driverObject, this, this.chars, box);
    this.handle = box.value;
    drainNdisPnpWork();
    return status;
  }
}
