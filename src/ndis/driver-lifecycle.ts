/**
 * The control path of the NDIS 6 driver model: starting an adapter (initialize, attach filters, restart,
 * bind protocols), pausing and restarting its stack (bindings first, then filter modules top-down, then the
 * miniport; restart in the opposite order), attaching and detaching filter modules, binding and unbinding
 * protocols, and halting the adapter.
 *
 * Each adapter runs these as a queue of steps. A step either finishes at once or pends (a handler returned
 * NDIS_STATUS_PENDING, or NDIS waits for outstanding NBLs to drain); the matching completion call
 * (NdisFPauseComplete, NdisMRestartComplete, NdisCompleteBindAdapterEx, a drained binding, ...) resumes the
 * queue. Operations requested while another runs wait their turn, as NDIS serializes PnP work per adapter.
 */
import { drainDeferredWork } from '../kernel/deferred.js';
import { KeGetCurrentIrql, PASSIVE_LEVEL } from '../kernel/irql.js';
import { type Leak, registerLeakSource } from '../kernel/leaks.js';
import { NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS, NT_SUCCESS } from '../kernel/status.js';
import { onSystemReset } from '../kernel/system.js';
import { tagToString } from '../kernel/tags.js';
import {
  allocateBlock,
  freeBlock,
  type NdisFilterDriverBlock,
  NdisFilterModule,
  type NdisMiniportBlock,
  type NdisOpenBlock,
  type NdisProtocolBlock,
  RUN_STATE_NAMES,
  RunState,
  registry,
  resetRegistry,
  TAG_FILTER_MODULE,
} from './driver-blocks.js';
import {
  NDIS_BIND_PARAMETERS_REVISION_1,
  NDIS_OBJECT_TYPE_BIND_PARAMETERS,
  NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS,
  NDIS_OBJECT_TYPE_FILTER_PAUSE_PARAMETERS,
  NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS,
  NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS,
  NdisHaltDeviceDisabled,
  NetEventPause,
  NetEventRestart,
} from './driver-constants.js';
import { resetDatapath } from './driver-datapath.js';
import {
  NDIS_BIND_PARAMETERS,
  NDIS_FILTER_ATTACH_PARAMETERS,
  NDIS_FILTER_PAUSE_PARAMETERS,
  NDIS_FILTER_RESTART_PARAMETERS,
  NDIS_MINIPORT_PAUSE_PARAMETERS,
  NDIS_MINIPORT_RESTART_PARAMETERS,
  NDIS_PROTOCOL_RESTART_PARAMETERS,
  NET_PNP_EVENT_NOTIFICATION,
} from './driver-structures.js';
import {
  driverViolation,
  MAX_FILTER_MODULES,
  NdisBugcheck,
  NdisDriverViolation,
  NdisRule,
  NdisWatchdog,
  ndisDriverBugcheck,
} from './driver-verifier.js';

/** A step of an adapter's control work: true when finished, false when it waits for a completion. */
type Step = () => boolean;

interface WorkQueue {
  steps: Step[];
  index: number;
  /** A step is executing now (completions arriving inside it are seen by the step itself). */
  running: boolean;
  /** The current step pends. */
  waiting: boolean;
}

const queues = new Map<NdisMiniportBlock, WorkQueue>();

function queueOf(adapter: NdisMiniportBlock): WorkQueue {
  let q = queues.get(adapter);
  if (q === undefined) {
    q = { steps: [], index: 0, running: false, waiting: false };
    queues.set(adapter, q);
  }
  return q;
}

/** Appends steps to an adapter's queue and runs what can run now. */
export function enqueue(adapter: NdisMiniportBlock, steps: Step[]): void {
  const q = queueOf(adapter);
  q.steps.push(...steps);
  run(adapter);
}

function run(adapter: NdisMiniportBlock): void {
  const q = queueOf(adapter);
  if (q.running || q.waiting) return;
  q.running = true;
  try {
    while (q.index < q.steps.length) {
      const done = q.steps[q.index]!();
      if (!done) {
        q.waiting = true;
        return;
      }
      q.index++;
    }
    q.steps.length = 0;
    q.index = 0;
  } finally {
    q.running = false;
  }
}

/** A pending step's completion arrived: move on (unless the step is still running and will see it itself). */
function stepCompleted(adapter: NdisMiniportBlock): void {
  const q = queueOf(adapter);
  if (q.running || !q.waiting) return;
  q.waiting = false;
  q.index++;
  run(adapter);
}

/** True while the adapter has control work queued or pending. */
export function busy(adapter: NdisMiniportBlock): boolean {
  const q = queues.get(adapter);
  return q !== undefined && q.steps.length > 0;
}

/**
 * Waits, as the blocking DDIs (deregistration, halt) do: runs deferred work so completions can arrive; if the
 * adapter's work still pends, NDIS's watchdog fires (BUGCODE_NDIS_DRIVER, NDIS_BUGCHECK_WATCHDOG).
 */
export function waitIdle(adapter: NdisMiniportBlock, watchdog: number, what: string): void {
  for (let i = 0; i < 8 && busy(adapter); i++) drainDeferredWork();
  if (busy(adapter)) {
    ndisDriverBugcheck(
      NdisBugcheck.WATCHDOG,
      stuckOperation(adapter, watchdog),
      adapter.address,
      0,
      `${what} on adapter ${adapter.name} never completed: a handler returned NDIS_STATUS_PENDING and did not complete, or NBLs are still outstanding`,
    );
  }
}

/** Which NDIS_BUGCHECK_WATCHDOG operation an adapter is stuck in (what NDIS's triage block would name). */
function stuckOperation(adapter: NdisMiniportBlock, fallback: number): number {
  for (const open of adapter.opens) {
    if (unbinds.has(open)) return NdisWatchdog.PROTOCOL_UNBIND;
    if (open.state === RunState.Pausing) return NdisWatchdog.PROTOCOL_PAUSE;
  }
  for (const module of adapter.filters) if (module.state === RunState.Pausing) return NdisWatchdog.FILTER_PAUSE;
  if (adapter.state === RunState.Pausing) return NdisWatchdog.MINIPORT_PAUSE;
  return fallback;
}

// --- Plug and Play work ------------------------------------------------------------------------------------------

/**
 * Work NDIS does on its own after a registration returns, as Windows does on a system worker thread: binding a
 * new protocol to the adapters, attaching a new filter driver. It runs at PASSIVE_LEVEL on the next turn of the
 * event loop, or at once through {@link drainNdisPnpWork}; blocking calls (deregistration, halt) drain it first.
 */
const pnpWork: (() => void)[] = [];
let pnpScheduled = false;

/** Queues NDIS Plug and Play work. */
export function queuePnpWork(fn: () => void): void {
  pnpWork.push(fn);
  if (!pnpScheduled) {
    pnpScheduled = true;
    setImmediate(() => {
      pnpScheduled = false;
      if (KeGetCurrentIrql() === PASSIVE_LEVEL) drainNdisPnpWork();
    });
  }
}

/** Runs every queued piece of NDIS Plug and Play work (binds, attaches) now. Returns how many ran. */
export function drainNdisPnpWork(): number {
  let ran = 0;
  while (pnpWork.length > 0) {
    pnpWork.shift()!();
    ran++;
  }
  return ran;
}

// --- miniport ---------------------------------------------------------------------------------------------------

function pauseMiniport(adapter: NdisMiniportBlock): Step {
  return () => {
    if (adapter.state !== RunState.Running && adapter.state !== RunState.Restarting) return true;
    adapter.state = RunState.Pausing;
    const params = new NDIS_MINIPORT_PAUSE_PARAMETERS();
    params.Header.Type = 0x80;
    params.Header.Revision = 1;
    const status = adapter.driver.chars.PauseHandler!(adapter.MiniportAdapterContext, params);
    if (status === NDIS_STATUS_PENDING) return adapter.state === RunState.Paused;
    finishMiniportPause(adapter);
    return true;
  };
}

/** The miniport's pause is complete: it must have completed every send and had every receive returned. */
export function finishMiniportPause(adapter: NdisMiniportBlock): void {
  if (adapter.sendsHeld !== 0 || adapter.receivesOut !== 0) {
    driverViolation(
      NdisRule.NdisTimedDataSend,
      adapter.address,
      adapter.sendsHeld,
      adapter.receivesOut,
      `miniport adapter ${adapter.name} completed its pause with ${adapter.sendsHeld} send(s) not completed and ${adapter.receivesOut} receive indication(s) not returned`,
    );
  }
  adapter.state = RunState.Paused;
}

/** NdisMPauseComplete arrived. */
export function miniportPauseCompleted(adapter: NdisMiniportBlock): void {
  if (adapter.state !== RunState.Pausing) {
    ndisDriverBugcheck(
      NdisBugcheck.ILLEGAL_MINIPORT_STATE_TRANSITION,
      1,
      adapter.address,
      0,
      `NdisMPauseComplete for adapter ${adapter.name}, which has no pause pending (state ${RUN_STATE_NAMES[adapter.state]})`,
    );
  }
  finishMiniportPause(adapter);
  stepCompleted(adapter);
}

function restartMiniport(adapter: NdisMiniportBlock): Step {
  return () => {
    if (adapter.state !== RunState.Paused) return true;
    adapter.state = RunState.Restarting;
    const params = new NDIS_MINIPORT_RESTART_PARAMETERS();
    params.Header.Type = 0x80;
    params.Header.Revision = 1;
    const status = adapter.driver.chars.RestartHandler!(adapter.MiniportAdapterContext, params);
    if (status === NDIS_STATUS_PENDING) return adapter.state !== RunState.Restarting;
    adapter.state = NT_SUCCESS(status) ? RunState.Running : RunState.Paused;
    return true;
  };
}

/** NdisMRestartComplete arrived. */
export function miniportRestartCompleted(adapter: NdisMiniportBlock, status: number): void {
  if (adapter.state !== RunState.Restarting) {
    ndisDriverBugcheck(
      NdisBugcheck.ILLEGAL_MINIPORT_STATE_TRANSITION,
      2,
      adapter.address,
      0,
      `NdisMRestartComplete for adapter ${adapter.name}, which has no restart pending (state ${RUN_STATE_NAMES[adapter.state]})`,
    );
  }
  adapter.state = NT_SUCCESS(status) ? RunState.Running : RunState.Paused;
  stepCompleted(adapter);
}

// --- filter modules ----------------------------------------------------------------------------------------------

function renumber(adapter: NdisMiniportBlock): void {
  for (let i = 0; i < adapter.filters.length; i++) adapter.filters[i]!.position = i + 1;
}

function attachFilter(adapter: NdisMiniportBlock, driver: NdisFilterDriverBlock): Step {
  return () => {
    if (!driver.registered || adapter.state === RunState.Halted) return true;
    if (driver.modules.some((m) => m.adapter === adapter)) return true;
    if (adapter.filters.length >= MAX_FILTER_MODULES) return true;
    const address = allocateBlock('module', TAG_FILTER_MODULE);
    if (address === 0) return true;
    const module = new NdisFilterModule(driver, adapter, address);
    module.state = RunState.Attaching;
    adapter.filters.push(module);
    renumber(adapter);
    const params = attachParameters(adapter, module);
    const status = driver.chars.AttachHandler!(module, driver.FilterDriverContext, params);
    if (!NT_SUCCESS(status) || status === NDIS_STATUS_PENDING) {
      // FilterAttach is synchronous; a failure (or a pend, which it may not return) leaves the module out.
      adapter.filters.splice(adapter.filters.indexOf(module), 1);
      renumber(adapter);
      freeBlock(address);
      return true;
    }
    if (!module.attributesSet) {
      driverViolation(
        NdisDriverViolation.WrongState,
        module.address,
        status,
        0,
        `FilterAttach of ${driver.chars.FriendlyName || 'a filter'} returned success without calling NdisFSetAttributes`,
      );
    }
    module.state = RunState.Paused;
    driver.modules.push(module);
    return true;
  };
}

function attachParameters(adapter: NdisMiniportBlock, module: NdisFilterModule): NDIS_FILTER_ATTACH_PARAMETERS {
  const p = new NDIS_FILTER_ATTACH_PARAMETERS();
  p.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS;
  p.Header.Revision = 1;
  const g = adapter.general;
  p.IfIndex = adapter.IfIndex;
  p.NetLuid = adapter.NetLuid;
  p.FilterModuleGuidName = `${adapter.name}-${module.driver.chars.UniqueName || 'filter'}`;
  p.BaseMiniportIfIndex = adapter.IfIndex;
  p.BaseMiniportInstanceName = adapter.name;
  p.BaseMiniportName = adapter.name;
  p.BaseMiniportNetLuid = adapter.NetLuid;
  // Filter modules have no interface of their own here (decided): the interface below is the miniport's.
  p.LowerIfIndex = adapter.IfIndex;
  p.LowerIfNetLuid = adapter.NetLuid;
  if (g !== null) {
    p.MediaConnectState = g.MediaConnectState;
    p.MediaDuplexState = g.MediaDuplexState;
    p.XmitLinkSpeed = g.XmitLinkSpeed;
    p.RcvLinkSpeed = g.RcvLinkSpeed;
    p.MiniportMediaType = g.MediaType;
    p.MiniportPhysicalMediaType = g.PhysicalMediumType;
    p.MacAddressLength = g.MacAddressLength;
    p.CurrentMacAddress.set(g.CurrentMacAddress.subarray(0, 32));
  }
  return p;
}

function pauseFilter(module: NdisFilterModule): Step {
  return () => {
    if (module.state !== RunState.Running && module.state !== RunState.Restarting) return true;
    module.state = RunState.Pausing;
    const params = new NDIS_FILTER_PAUSE_PARAMETERS();
    params.Header.Type = NDIS_OBJECT_TYPE_FILTER_PAUSE_PARAMETERS;
    params.Header.Revision = 1;
    const status = module.driver.chars.PauseHandler!(module.FilterModuleContext, params);
    if (status === NDIS_STATUS_PENDING) return module.state === RunState.Paused;
    if (status !== NDIS_STATUS_SUCCESS) {
      driverViolation(
        NdisRule.NdisFilterTimedPauseComplete,
        module.address,
        status,
        0,
        `FilterPause of ${module.driver.chars.FriendlyName || 'a filter'} failed with 0x${(status >>> 0).toString(16)}: FilterPause must not fail`,
      );
    }
    finishFilterPause(module);
    return true;
  };
}

/** The filter module's pause is complete: everything it handed down or indicated up must have come back. */
function finishFilterPause(module: NdisFilterModule): void {
  if (module.sendsOut !== 0 || module.receivesOut !== 0) {
    driverViolation(
      NdisRule.NdisFilterTimedPauseComplete,
      module.address,
      module.sendsOut,
      module.receivesOut,
      `filter module ${module.driver.chars.FriendlyName || '(unnamed)'} completed its pause with ${module.sendsOut} send(s) and ${module.receivesOut} receive indication(s) still outstanding`,
    );
  }
  module.state = RunState.Paused;
}

/** NdisFPauseComplete arrived. */
export function filterPauseCompleted(module: NdisFilterModule): void {
  if (module.state !== RunState.Pausing) {
    driverViolation(
      NdisRule.NdisFilterTimedPauseComplete,
      module.address,
      module.state,
      0,
      `NdisFPauseComplete for filter module ${module.driver.chars.FriendlyName || '(unnamed)'}, which has no pause pending (state ${RUN_STATE_NAMES[module.state]}): FilterPause must not complete twice`,
    );
  }
  finishFilterPause(module);
  stepCompleted(module.adapter);
}

function restartFilter(module: NdisFilterModule): Step {
  return () => {
    if (module.state !== RunState.Paused) return true;
    module.state = RunState.Restarting;
    const params = new NDIS_FILTER_RESTART_PARAMETERS();
    params.Header.Type = NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS;
    params.Header.Revision = 1;
    const g = module.adapter.general;
    if (g !== null) {
      params.MiniportMediaType = g.MediaType;
      params.MiniportPhysicalMediaType = g.PhysicalMediumType;
    }
    params.LowerIfIndex = module.adapter.IfIndex;
    params.LowerIfNetLuid = module.adapter.NetLuid;
    const status = module.driver.chars.RestartHandler!(module.FilterModuleContext, params);
    if (status === NDIS_STATUS_PENDING) return module.state !== RunState.Restarting;
    module.state = NT_SUCCESS(status) ? RunState.Running : RunState.Paused;
    return true;
  };
}

/** NdisFRestartComplete arrived. */
export function filterRestartCompleted(module: NdisFilterModule, status: number): void {
  if (module.state !== RunState.Restarting) {
    driverViolation(
      NdisDriverViolation.WrongState,
      module.address,
      module.state,
      0,
      `NdisFRestartComplete for filter module ${module.driver.chars.FriendlyName || '(unnamed)'}, which has no restart pending`,
    );
  }
  module.state = NT_SUCCESS(status) ? RunState.Running : RunState.Paused;
  stepCompleted(module.adapter);
}

function detachFilter(module: NdisFilterModule): Step {
  return () => {
    const adapter = module.adapter;
    if (!adapter.filters.includes(module)) return true;
    module.driver.chars.DetachHandler!(module.FilterModuleContext);
    if (module.sendsOut !== 0 || module.receivesOut !== 0) {
      ndisDriverBugcheck(
        NdisBugcheck.LEAKED_NBL,
        0x01,
        module.address,
        module.sendsOut + module.receivesOut,
        `filter module ${module.driver.chars.FriendlyName || '(unnamed)'} detached with NBLs outstanding`,
      );
    }
    adapter.filters.splice(adapter.filters.indexOf(module), 1);
    renumber(adapter);
    module.driver.modules.splice(module.driver.modules.indexOf(module), 1);
    module.state = RunState.Detached;
    freeBlock(module.address);
    return true;
  };
}

// --- bindings -----------------------------------------------------------------------------------------------------

/** What NDIS keeps while a ProtocolBindAdapterEx call (or its pend) is under way: the BindContext. */
export class BindContext {
  readonly protocol: NdisProtocolBlock;
  readonly adapter: NdisMiniportBlock;
  open: NdisOpenBlock | null = null;
  /** True until NdisCompleteBindAdapterEx (or a non-pending return) ends the bind. */
  active = true;
  status = NDIS_STATUS_SUCCESS;
  constructor(protocol: NdisProtocolBlock, adapter: NdisMiniportBlock) {
    this.protocol = protocol;
    this.adapter = adapter;
  }
}

/** What NDIS keeps while a ProtocolUnbindAdapterEx call is under way: the UnbindContext. */
export class UnbindContext {
  readonly open: NdisOpenBlock;
  active = true;
  constructor(open: NdisOpenBlock) {
    this.open = open;
  }
}

function bindProtocol(adapter: NdisMiniportBlock, protocol: NdisProtocolBlock): Step[] {
  const context = new BindContext(protocol, adapter);
  const bind: Step = () => {
    if (!protocol.registered || adapter.state !== RunState.Running) {
      context.active = false;
      return true;
    }
    if (protocol.offered.has(adapter)) {
      context.active = false;
      return true;
    }
    protocol.offered.add(adapter);
    const status = protocol.chars.BindAdapterHandlerEx!(
      protocol.ProtocolDriverContext,
      context,
      bindParameters(adapter, protocol),
    );
    if (status === NDIS_STATUS_PENDING) return !context.active;
    context.active = false;
    context.status = status;
    return true;
  };
  const restart: Step = () => {
    const open = context.open;
    if (open === null || open.closing || !NT_SUCCESS(context.status)) return true;
    return restartBinding(open)();
  };
  return [bind, restart];
}

/** NdisCompleteBindAdapterEx arrived. */
export function bindCompleted(context: BindContext, status: number): void {
  if (!context.active) {
    driverViolation(
      NdisDriverViolation.WrongState,
      context.protocol.address,
      status,
      0,
      'NdisCompleteBindAdapterEx for a bind that is not pending',
    );
  }
  context.active = false;
  context.status = status;
  stepCompleted(context.adapter);
}

function bindParameters(adapter: NdisMiniportBlock, protocol: NdisProtocolBlock): NDIS_BIND_PARAMETERS {
  const p = new NDIS_BIND_PARAMETERS();
  p.Header.Type = NDIS_OBJECT_TYPE_BIND_PARAMETERS;
  p.Header.Revision = NDIS_BIND_PARAMETERS_REVISION_1;
  p.ProtocolSection = protocol.chars.Name;
  p.AdapterName = adapter.name;
  p.BoundAdapterName = adapter.name;
  p.BoundIfIndex = adapter.IfIndex;
  p.BoundIfNetluid = adapter.NetLuid;
  p.LowestIfIndex = adapter.IfIndex;
  p.LowestIfNetluid = adapter.NetLuid;
  const g = adapter.general;
  if (g !== null) {
    p.MediaType = g.MediaType;
    p.MtuSize = g.MtuSize;
    p.MaxXmitLinkSpeed = g.MaxXmitLinkSpeed;
    p.XmitLinkSpeed = g.XmitLinkSpeed;
    p.MaxRcvLinkSpeed = g.MaxRcvLinkSpeed;
    p.RcvLinkSpeed = g.RcvLinkSpeed;
    p.MediaConnectState = g.MediaConnectState;
    p.MediaDuplexState = g.MediaDuplexState;
    p.LookaheadSize = g.LookaheadSize;
    p.SupportedPacketFilters = g.SupportedPacketFilters;
    p.MaxMulticastListSize = g.MaxMulticastListSize;
    p.MacAddressLength = g.MacAddressLength;
    p.CurrentMacAddress.set(g.CurrentMacAddress.subarray(0, 32));
    p.PhysicalMediumType = g.PhysicalMediumType;
    p.AccessType = g.AccessType;
    p.DirectionType = g.DirectionType;
    p.ConnectionType = g.ConnectionType;
    p.IfType = g.IfType;
    p.IfConnectorPresent = g.IfConnectorPresent;
    p.DataBackFillSize = g.DataBackFillSize;
    p.ContextBackFillSize = g.ContextBackFillSize;
    p.MacOptions = g.MacOptions;
  }
  return p;
}

function pnpNotification(event: number, buffer: unknown): NET_PNP_EVENT_NOTIFICATION {
  const n = new NET_PNP_EVENT_NOTIFICATION();
  n.Header.Type = 0x80;
  n.Header.Revision = 1;
  n.NetPnPEvent.NetEvent = event;
  n.NetPnPEvent.Buffer = buffer;
  return n;
}

/** Bindings with a NetPnPEvent still pending (the protocol returned NDIS_STATUS_PENDING). */
const pnpPending = new Set<NdisOpenBlock>();

function pauseBinding(open: NdisOpenBlock): Step {
  return () => {
    if (open.state !== RunState.Running && open.state !== RunState.Restarting) return true;
    open.state = RunState.Pausing;
    const handler = open.protocol.chars.NetPnPEventHandler;
    if (handler !== null) {
      const status = handler(open.ProtocolBindingContext, pnpNotification(NetEventPause, null));
      if (status === NDIS_STATUS_PENDING) pnpPending.add(open);
    }
    return tryFinishBindingPause(open);
  };
}

/** NDIS finishes a binding's pause once the protocol agreed and every send completed and receive came back. */
function tryFinishBindingPause(open: NdisOpenBlock): boolean {
  if (open.state !== RunState.Pausing) return open.state === RunState.Paused;
  if (pnpPending.has(open) || open.sendsOut > 0 || open.receivesHeld > 0) return false;
  open.state = RunState.Paused;
  return true;
}

function restartBinding(open: NdisOpenBlock): Step {
  return () => {
    if (open.state !== RunState.Paused || open.closing) return true;
    open.state = RunState.Restarting;
    const handler = open.protocol.chars.NetPnPEventHandler;
    if (handler !== null) {
      const params = new NDIS_PROTOCOL_RESTART_PARAMETERS();
      params.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS;
      params.Header.Revision = 1;
      params.BoundIfIndex = open.adapter.IfIndex;
      params.BoundIfNetluid = open.adapter.NetLuid;
      const status = handler(open.ProtocolBindingContext, pnpNotification(NetEventRestart, params));
      if (status === NDIS_STATUS_PENDING) {
        pnpPending.add(open);
        return false;
      }
    }
    open.state = RunState.Running;
    return true;
  };
}

/** NdisCompleteNetPnPEvent arrived for a binding. */
export function bindingPnPCompleted(open: NdisOpenBlock): void {
  if (!pnpPending.delete(open)) {
    driverViolation(
      NdisDriverViolation.WrongState,
      open.address,
      0,
      0,
      'NdisCompleteNetPnPEvent for a binding with no NetPnPEvent pending',
    );
  }
  if (open.state === RunState.Restarting) {
    open.state = RunState.Running;
    stepCompleted(open.adapter);
    return;
  }
  if (tryFinishBindingPause(open)) stepCompleted(open.adapter);
}

/** Called by the data path when a binding that is pausing or closing has had NBLs come back. */
export function bindingDrained(open: NdisOpenBlock): void {
  if (open.closing) {
    if (open.sendsOut === 0 && closePending.has(open)) finishClose(open, true);
    return;
  }
  if (open.state === RunState.Pausing && tryFinishBindingPause(open)) stepCompleted(open.adapter);
}

/** Bindings whose NdisCloseAdapterEx returned NDIS_STATUS_PENDING. */
const closePending = new Set<NdisOpenBlock>();
/** Unbinds under way, by binding. */
const unbinds = new Map<NdisOpenBlock, UnbindContext>();

/** Starts closing a binding (NdisCloseAdapterEx). Returns SUCCESS or PENDING. */
export function closeBinding(open: NdisOpenBlock): number {
  open.closing = true;
  if (open.receivesHeld > 0) {
    ndisDriverBugcheck(
      NdisBugcheck.LEAKED_NBL,
      0x01,
      open.address,
      open.receivesHeld,
      `protocol ${open.protocol.chars.Name} closed its binding to ${open.adapter.name} while still holding ${open.receivesHeld} received NBL(s)`,
    );
  }
  if (open.sendsOut > 0) {
    closePending.add(open);
    return NDIS_STATUS_PENDING;
  }
  finishClose(open, false);
  return NDIS_STATUS_SUCCESS;
}

function finishClose(open: NdisOpenBlock, pended: boolean): void {
  closePending.delete(open);
  const adapter = open.adapter;
  const i = adapter.opens.indexOf(open);
  if (i >= 0) adapter.opens.splice(i, 1);
  const j = open.protocol.opens.indexOf(open);
  if (j >= 0) open.protocol.opens.splice(j, 1);
  pnpPending.delete(open);
  open.state = RunState.Detached;
  freeBlock(open.address);
  if (pended) open.protocol.chars.CloseAdapterCompleteHandlerEx!(open.ProtocolBindingContext);
  const unbind = unbinds.get(open);
  if (unbind !== undefined && !unbind.active) {
    unbinds.delete(open);
    stepCompleted(adapter);
  }
}

function unbindBinding(open: NdisOpenBlock): Step[] {
  const unbind: Step = () => {
    if (open.state === RunState.Detached) return true;
    const context = new UnbindContext(open);
    unbinds.set(open, context);
    const status = open.protocol.chars.UnbindAdapterHandlerEx!(context, open.ProtocolBindingContext);
    if (status === NDIS_STATUS_PENDING) return false;
    context.active = false;
    return unbindFinished(open);
  };
  return [pauseBinding(open), unbind];
}

function unbindFinished(open: NdisOpenBlock): boolean {
  if (!open.closing) {
    driverViolation(
      NdisDriverViolation.WrongState,
      open.address,
      0,
      0,
      `ProtocolUnbindAdapterEx of ${open.protocol.chars.Name} finished without calling NdisCloseAdapterEx`,
    );
  }
  if (closePending.has(open)) return false;
  unbinds.delete(open);
  return true;
}

/** NdisCompleteUnbindAdapterEx arrived. */
export function unbindCompleted(context: UnbindContext): void {
  if (!context.active) {
    driverViolation(
      NdisDriverViolation.WrongState,
      context.open.address,
      0,
      0,
      'NdisCompleteUnbindAdapterEx for an unbind that is not pending',
    );
  }
  context.active = false;
  if (unbindFinished(context.open)) stepCompleted(context.open.adapter);
}

// --- whole-stack operations --------------------------------------------------------------------------------------

function pauseStack(adapter: NdisMiniportBlock): Step[] {
  const steps: Step[] = [];
  for (const open of [...adapter.opens]) steps.push(pauseBinding(open));
  const filters = [...adapter.filters].reverse();
  for (const module of filters) steps.push(pauseFilter(module));
  steps.push(pauseMiniport(adapter));
  return steps;
}

/** Restart steps are built when they run, so they see modules attached after the pause. */
function restartStack(adapter: NdisMiniportBlock): Step {
  return () => {
    const steps: Step[] = [restartMiniport(adapter)];
    for (const module of adapter.filters) steps.push(restartFilter(module));
    for (const open of adapter.opens) steps.push(restartBinding(open));
    const q = queueOf(adapter);
    q.steps.splice(q.index + 1, 0, ...steps);
    return true;
  };
}

/** Brings a freshly initialized adapter up: attach every filter driver, restart, bind every protocol. */
export function startAdapter(adapter: NdisMiniportBlock): void {
  adapter.state = RunState.Paused;
  const steps: Step[] = [];
  for (const driver of registry.filterDrivers) steps.push(attachFilter(adapter, driver));
  steps.push(restartStack(adapter));
  steps.push(bindAll(adapter));
  enqueue(adapter, steps);
}

function bindAll(adapter: NdisMiniportBlock): Step {
  return () => {
    const steps: Step[] = [];
    for (const protocol of registry.protocols) steps.push(...bindProtocol(adapter, protocol));
    const q = queueOf(adapter);
    q.steps.splice(q.index + 1, 0, ...steps);
    return true;
  };
}

/** A protocol registered: bind it to every adapter. */
export function bindEverywhere(protocol: NdisProtocolBlock): void {
  for (const adapter of registry.adapters) enqueue(adapter, bindProtocol(adapter, protocol));
}

/** A protocol deregisters: unbind it everywhere and wait. */
export function unbindEverywhere(protocol: NdisProtocolBlock): void {
  drainNdisPnpWork();
  for (const open of [...protocol.opens]) enqueue(open.adapter, unbindBinding(open));
  for (const adapter of registry.adapters) waitIdle(adapter, NdisWatchdog.PROTOCOL_UNBIND, 'unbinding a protocol');
}

/** A filter driver registered: attach it to every adapter (pause the stack, attach on top, restart). */
export function attachEverywhere(driver: NdisFilterDriverBlock): void {
  for (const adapter of registry.adapters) {
    if (adapter.state === RunState.Halted) continue;
    enqueue(adapter, [...pauseStack(adapter), attachFilter(adapter, driver), restartStack(adapter)]);
  }
}

/** A filter driver deregisters: detach each of its modules and wait. */
export function detachEverywhere(driver: NdisFilterDriverBlock): void {
  drainNdisPnpWork();
  for (const module of [...driver.modules]) {
    const adapter = module.adapter;
    enqueue(adapter, [...pauseStack(adapter), detachFilter(module), restartStack(adapter)]);
  }
  for (const adapter of registry.adapters) waitIdle(adapter, NdisWatchdog.FILTER_PAUSE, 'detaching a filter module');
}

/** Halts an adapter: unbind every protocol, pause the stack, detach every filter, MiniportHaltEx; then waits. */
export function haltAdapter(adapter: NdisMiniportBlock, haltAction = NdisHaltDeviceDisabled): void {
  drainNdisPnpWork();
  const steps: Step[] = [];
  for (const open of [...adapter.opens]) steps.push(...unbindBinding(open));
  steps.push(...pauseStack(adapter));
  for (const module of [...adapter.filters].reverse()) steps.push(detachFilter(module));
  steps.push(() => {
    adapter.driver.chars.HaltHandlerEx!(adapter.MiniportAdapterContext, haltAction);
    if (adapter.sendsHeld !== 0 || adapter.receivesOut !== 0) {
      ndisDriverBugcheck(
        NdisBugcheck.LEAKED_NBL,
        0x01,
        adapter.address,
        adapter.sendsHeld + adapter.receivesOut,
        `miniport adapter ${adapter.name} halted with NBLs outstanding`,
      );
    }
    adapter.state = RunState.Halted;
    for (const protocol of registry.protocols) protocol.offered.delete(adapter);
    const i = registry.adapters.indexOf(adapter);
    if (i >= 0) registry.adapters.splice(i, 1);
    const j = adapter.driver.adapters.indexOf(adapter);
    if (j >= 0) adapter.driver.adapters.splice(j, 1);
    freeBlock(adapter.address);
    return true;
  });
  enqueue(adapter, steps);
  waitIdle(adapter, NdisWatchdog.MINIPORT_HALT, 'halting the adapter');
  queues.delete(adapter);
}

// --- leaks and reset ----------------------------------------------------------------------------------------------

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

registerLeakSource('ndis-driver', () => {
  const leaks: Leak[] = [];
  for (const d of registry.miniportDrivers) {
    leaks.push({
      kind: 'NDIS miniport driver',
      tag: 'NdMd',
      size: 0,
      owner: d.DriverObject.DriverName,
      site: undefined,
      detail: `${hex(d.address)}, ${d.adapters.length} adapter(s)`,
    });
  }
  for (const a of registry.adapters) {
    leaks.push({
      kind: 'NDIS adapter',
      tag: 'NdMb',
      size: 0,
      owner: a.driver.DriverObject.DriverName,
      site: undefined,
      detail: `${a.name} (${RUN_STATE_NAMES[a.state]}) at ${hex(a.address)}`,
    });
    if (a.sendsHeld + a.receivesOut > 0) {
      leaks.push({
        kind: 'NBL in flight',
        tag: '',
        size: a.sendsHeld + a.receivesOut,
        owner: `miniport ${a.name}`,
        site: undefined,
        detail: `${a.sendsHeld} send(s) not completed, ${a.receivesOut} receive(s) not returned`,
      });
    }
    for (const m of a.filters) {
      leaks.push({
        kind: 'NDIS filter module',
        tag: tagToString(TAG_FILTER_MODULE),
        size: 0,
        owner: m.driver.chars.FriendlyName || m.driver.DriverObject.DriverName,
        site: undefined,
        detail: `on ${a.name} at position ${m.position} (${RUN_STATE_NAMES[m.state]})`,
      });
      if (m.sendsOut + m.receivesOut > 0) {
        leaks.push({
          kind: 'NBL in flight',
          tag: '',
          size: m.sendsOut + m.receivesOut,
          owner: `filter module ${m.driver.chars.FriendlyName || '(unnamed)'} on ${a.name}`,
          site: undefined,
          detail: `${m.sendsOut} send(s) not completed back, ${m.receivesOut} indication(s) not returned`,
        });
      }
    }
    for (const o of a.opens) {
      leaks.push({
        kind: 'NDIS binding',
        tag: 'NdOp',
        size: 0,
        owner: o.protocol.chars.Name,
        site: undefined,
        detail: `to ${a.name} (${RUN_STATE_NAMES[o.state]})`,
      });
      if (o.sendsOut + o.receivesHeld > 0) {
        leaks.push({
          kind: 'NBL in flight',
          tag: '',
          size: o.sendsOut + o.receivesHeld,
          owner: `binding of ${o.protocol.chars.Name} to ${a.name}`,
          site: undefined,
          detail: `${o.sendsOut} send(s) not completed, ${o.receivesHeld} receive(s) not returned`,
        });
      }
    }
  }
  for (const f of registry.filterDrivers) {
    leaks.push({
      kind: 'NDIS filter driver',
      tag: 'NdFd',
      size: 0,
      owner: f.chars.FriendlyName || f.DriverObject.DriverName,
      site: undefined,
      detail: `${f.modules.length} module(s)`,
    });
  }
  for (const p of registry.protocols) {
    leaks.push({
      kind: 'NDIS protocol',
      tag: 'NdPr',
      size: 0,
      owner: p.chars.Name,
      site: undefined,
      detail: `${p.opens.length} binding(s)`,
    });
  }
  return leaks;
});

onSystemReset(() => {
  pnpWork.length = 0;
  queues.clear();
  pnpPending.clear();
  closePending.clear();
  unbinds.clear();
  resetDatapath();
  resetRegistry();
});

/** The filter driver block type, re-exported for the DDI files. */
export type { NdisFilterDriverBlock };
