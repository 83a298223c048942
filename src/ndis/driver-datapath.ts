/**
 * The NDIS 6 data path between the blocks of one adapter's stack: sends go down from a binding or a filter module
 * to the next module below that has a send handler (modules without one are bypassed) and finally to the
 * miniport; send completions go back up to every module that handed the NBL down and has a completion handler,
 * ending at the driver named by SourceHandle; receive indications go up to the next module with a receive
 * handler and finally to every running binding; returns go back down to every module that indicated the NBL
 * without NDIS_RECEIVE_FLAGS_RESOURCES.
 *
 * Routing uses the per-NBL tracking word of driver-verifier.ts (which stack positions wait for the NBL), so a
 * chain whose NBLs go to different places is cut into runs of neighbours with the same destination and each run
 * is delivered as one list, by relinking Next: nothing is allocated. Ownership checks run when the verifier is on.
 *
 * Each hand-off walks the list once, recording destination, holder, tracking word and counts in the same pass; a
 * miniport's indication to the one running binding of an adapter without receive filters, and a binding's return
 * on an adapter without filter modules (the usual stack), go straight between the two ends.
 */

import { VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { BlockKind, NdisFilterModule, type NdisMiniportBlock, NdisOpenBlock, RunState } from './driver-blocks.js';
import {
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
} from './driver-constants.js';
import { bindingDrained } from './driver-lifecycle.js';
import type { NDIS_OID_REQUEST, NDIS_STATUS_INDICATION } from './driver-structures.js';
import { trackBack, trackOut } from './driver-tracker.js';
import {
  BINDING_REF,
  BINDING_REF_MASK,
  NblFault,
  type NblHolder,
  NdisRule,
  nblViolation,
  PATH_MASK,
  permanentHolderId,
  RESOURCES_BIT,
  setHolder,
  setHolderId,
  setTrack,
  trackOf,
  WAS_RESOURCES_BIT,
} from './driver-verifier.js';
import { filterPassageObserver, observeFilterPassage } from './filter-observer.js';
import { checkNblDataInChains } from './nb-checks.js';
import type { NET_BUFFER_LIST } from './structures.js';

/** The holder recorded for a receive indication that several bindings share. */
export const SHARED_BY_BINDINGS: NblHolder & { readonly shared: string } = sharedHolder();

function sharedHolder(): NblHolder & { readonly shared: string } {
  const marker = { shared: 'receive indication held by several bindings', holderId: 0 };
  marker.holderId = permanentHolderId(marker);
  return Object.freeze(marker);
}

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** The stack position of the bindings (just above the top filter module). */
export const topPosition = (adapter: NdisMiniportBlock): number => {
  return adapter.filters.length + 1;
};

/** The return flags that go with receive flags: the DISPATCH_LEVEL bit carries over. */
export function returnFlagsFor(receiveFlags: number): number {
  return (receiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
}

function setHolderAll(nbls: NET_BUFFER_LIST | null, holder: NblHolder): number {
  let n = 0;
  for (let x = nbls; x !== null; x = x.Next) {
    setHolder(x, holder);
    n++;
  }
  return n;
}

// --- send ------------------------------------------------------------------------------------------------------

/**
 * A send from a running binding or filter module at stack position `from` (the bindings are at the top), in one
 * pass over the list: each NBL is marked as waited for at `from` (a filter module's bit; bindings count their
 * sends in sendsOut instead), recorded as held by the module below that takes it (the next filter module with a
 * send handler, or the miniport) and counted; then that module's handler runs.
 */
export const sendFrom = (
  sender: NdisOpenBlock | NdisFilterModule,
  from: number,
  nbls: NET_BUFFER_LIST,
  port: number,
  flags: number,
): void => {
  // The verifier level is read once: it is a module variable of another module (several dependent loads).
  const level = verifierLevel;
  if (level >= VERIFIER_STANDARD) checkNblDataInChains(nbls, 'NdisSendNetBufferLists/NdisFSendNetBufferLists');
  const adapter = sender.adapter;
  const filters = adapter.filters;
  let module: NdisFilterModule | null = null;
  for (let pos = from - 1; pos >= 1; pos--) {
    const m = filters[pos - 1]!;
    if (m.driver.chars.SendNetBufferListsHandler !== null) {
      module = m;
      break;
    }
  }
  const holder = module === null ? adapter : module;
  const fromBinding = sender.kind === BlockKind.Binding;
  const bit = fromBinding ? 0 : 1 << from;
  const full = level >= VERIFIER_FULL;
  const holderId = holder.holderId;
  let n = 0;
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
    if (bit !== 0) setTrack(x, trackOf(x) | bit);
    setHolderId(x, holderId);
    // Full mode follows each NBL from the driver that made it: every binding send, a filter's own NBLs.
    if (full && (fromBinding || x.SourceHandle === sender)) trackOut(x);
    n++;
  }
  sender.sendsOut += n;
  if (module !== null) {
    if (filterPassageObserver !== null) observeFilterPassage(nbls, module, false);
    module.driver.chars.SendNetBufferListsHandler!(module.FilterModuleContext, nbls, port, flags);
    return;
  }
  adapter.sendsHeld += n;
  adapter.sent += n;
  adapter.driver.chars.SendNetBufferListsHandler!(adapter.MiniportAdapterContext, nbls, port, flags);
};

/** Where a completion travelling up from `from` ends for `nbl`: a filter module, or the binding that sent it. */
const completionTarget = (
  adapter: NdisMiniportBlock,
  from: number,
  nbl: NET_BUFFER_LIST,
): NdisFilterModule | NdisOpenBlock => {
  const filters = adapter.filters;
  if (from < filters.length) {
    let track = trackOf(nbl);
    for (let pos = from + 1; pos <= filters.length; pos++) {
      const bit = 1 << pos;
      if ((track & bit) === 0) continue;
      track &= ~bit;
      setTrack(nbl, track);
      const module = filters[pos - 1]!;
      module.sendsOut--;
      if (module.driver.chars.SendNetBufferListsCompleteHandler !== null) return module;
    }
  }
  // instanceof rather than blockKind: SourceHandle may be any object, and a `kind` load on objects of every
  // shape is a megamorphic access on every completion.
  const source = nbl.SourceHandle;
  if (source instanceof NdisOpenBlock && source.adapter === adapter) return source;
  if (source instanceof NdisFilterModule) {
    const originator = source;
    return nblViolation(
      NdisRule.NdisFilterTimedDataSend,
      originator.address,
      nbl,
      NblFault.OriginatorPassedUp,
      `a NET_BUFFER_LIST that filter module ${originator.driver.chars.FriendlyName || '(unnamed)'} originated reached the top of the stack: the filter that sets SourceHandle must take its own NBLs back in FilterSendNetBufferListsComplete`,
    );
  }
  return nblViolation(
    NdisRule.NdisTimedDataSend,
    adapter.address,
    nbl,
    NblFault.WrongSourceHandle,
    'a send completion reached the top of the stack but SourceHandle names no binding of this adapter',
  );
};

/** Hands a run of `n` completions (their holder already recorded) to `target`'s completion handler. */
const deliverCompletion = (
  target: NdisFilterModule | NdisOpenBlock,
  nbls: NET_BUFFER_LIST,
  n: number,
  flags: number,
): void => {
  if (target.kind === BlockKind.FilterModule) {
    target.driver.chars.SendNetBufferListsCompleteHandler!(target.FilterModuleContext, nbls, flags);
    return;
  }
  target.sendsOut -= n;
  target.protocol.chars.SendNetBufferListsCompleteHandler!(target.ProtocolBindingContext, nbls, flags);
  if (target.state !== RunState.Running || target.closing) bindingDrained(target);
};

/**
 * Completes `nbls` upward from stack position `from` (0 for the miniport): each run of neighbours with the same
 * destination is delivered as one list. One pass: each NBL's destination and holder are recorded as it is
 * reached.
 */
export const completeUp = (adapter: NdisMiniportBlock, from: number, nbls: NET_BUFFER_LIST, flags: number): void => {
  const full = verifierLevel >= VERIFIER_FULL;
  let head: NET_BUFFER_LIST | null = nbls;
  let target = completionTarget(adapter, from, head);
  while (head !== null) {
    let x: NET_BUFFER_LIST = head;
    let n = 0;
    let next: NET_BUFFER_LIST | null;
    let nextTarget: NdisFilterModule | NdisOpenBlock | null = null;
    const holderId = target.holderId;
    // Read once per run (no driver code runs until the run is delivered).
    const noFilterAbove = from >= adapter.filters.length;
    for (;;) {
      setHolderId(x, holderId);
      if (full && x.SourceHandle === target) trackBack(x);
      n++;
      next = x.Next;
      if (next === null) break;
      // With no filter module above `from`, completionTarget returns the binding SourceHandle names once it has
      // checked that it is one of this adapter's: a neighbour with the same SourceHandle goes where this one went.
      nextTarget = next.SourceHandle === target && noFilterAbove ? target : completionTarget(adapter, from, next);
      if (nextTarget !== target) break;
      x = next;
    }
    if (next !== null) x.Next = null;
    deliverCompletion(target, head, n, flags);
    head = next;
    if (nextTarget !== null) target = nextTarget;
  }
};

/** Completes a whole list to its sender at once with `status` (used when the sender's block may not send). */
export function failSends(
  adapter: NdisMiniportBlock,
  from: number,
  nbls: NET_BUFFER_LIST,
  status: number,
  flags: number,
): void {
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) x.Status = status;
  completeUp(adapter, from, nbls, flags);
}

// --- receive ---------------------------------------------------------------------------------------------------

/**
 * Indicates `nbls` up from stack position `from`: to the next module with a receive handler (dropped there if
 * that module is not running), or to every running binding. Dropped NBLs indicated without RESOURCES go
 * straight back down.
 */
export function indicateUp(
  adapter: NdisMiniportBlock,
  from: number,
  nbls: NET_BUFFER_LIST,
  port: number,
  count: number,
  flags: number,
): void {
  if (verifierLevel >= VERIFIER_STANDARD)
    checkNblDataInChains(nbls, 'NdisMIndicateReceiveNetBufferLists/NdisFIndicateReceiveNetBufferLists');
  const filters = adapter.filters;
  for (let pos = from + 1; pos <= filters.length; pos++) {
    const module = filters[pos - 1]!;
    const handler = module.driver.chars.ReceiveNetBufferListsHandler;
    if (handler === null) continue;
    if (module.state !== RunState.Running && module.state !== RunState.Pausing) {
      if ((flags & NDIS_RECEIVE_FLAGS_RESOURCES) === 0) returnDown(adapter, pos, nbls, returnFlagsFor(flags));
      return;
    }
    setHolderAll(nbls, module);
    if (filterPassageObserver !== null) observeFilterPassage(nbls, module, true);
    handler(module.FilterModuleContext, nbls, port, count, flags);
    return;
  }
  indicateToBindings(adapter, nbls, port, count, flags);
}

function indicateToBindings(
  adapter: NdisMiniportBlock,
  nbls: NET_BUFFER_LIST,
  port: number,
  count: number,
  flags: number,
): void {
  const resources = (flags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0;
  // One pass over the bindings: how many run, and which one when it is a single one (the usual case).
  const opens = adapter.opens;
  let k = 0;
  let open: NdisOpenBlock | null = null;
  for (let i = 0; i < opens.length; i++) {
    const o = opens[i]!;
    if (o.state === RunState.Running && !o.closing) {
      k++;
      open = o;
    }
  }
  if (k === 0) {
    if (!resources) returnDown(adapter, topPosition(adapter), nbls, returnFlagsFor(flags));
    return;
  }
  if (k === 1) {
    const one = open!;
    if (resources) {
      for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) setHolder(x, one);
    } else {
      for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
        setHolder(x, one);
        setTrack(x, trackOf(x) + BINDING_REF);
      }
      one.receivesHeld += count;
    }
    one.protocol.chars.ReceiveNetBufferListsHandler!(one.ProtocolBindingContext, nbls, port, count, flags);
    return;
  }
  // Several bindings share each NBL: each gets it on its own (a one-element list), so no protocol's relinking
  // of Next can disturb another's view; the NBL goes back down when the last binding returns it.
  let x: NET_BUFFER_LIST | null = nbls;
  while (x !== null) {
    const next: NET_BUFFER_LIST | null = x.Next;
    x.Next = null;
    setHolder(x, SHARED_BY_BINDINGS);
    if (!resources) setTrack(x, trackOf(x) + k * BINDING_REF);
    for (let i = 0; i < opens.length; i++) {
      const o = opens[i]!;
      if (o.state !== RunState.Running || o.closing) continue;
      if (!resources) o.receivesHeld++;
      o.protocol.chars.ReceiveNetBufferListsHandler!(o.ProtocolBindingContext, x, port, 1, flags);
    }
    x = next;
  }
}

/** Where a return travelling down from `from` ends for `nbl`: a filter module or the miniport. */
function returnTarget(
  adapter: NdisMiniportBlock,
  from: number,
  nbl: NET_BUFFER_LIST,
): NdisFilterModule | NdisMiniportBlock {
  let track = trackOf(nbl);
  for (let pos = from - 1; pos >= 0; pos--) {
    const bit = 1 << pos;
    if ((track & bit) === 0) continue;
    track &= ~bit;
    setTrack(nbl, track);
    if (pos === 0) {
      adapter.receivesOut--;
      adapter.returned++;
      return adapter;
    }
    const module = adapter.filters[pos - 1]!;
    module.receivesOut--;
    if (module.driver.chars.ReturnNetBufferListsHandler !== null) return module;
  }
  return notOutstanding(adapter, nbl);
}

/** A return that no stack position below waits for. */
function notOutstanding(adapter: NdisMiniportBlock, nbl: NET_BUFFER_LIST): never {
  return nblViolation(
    NdisRule.NdisFilterTimedDataReceive,
    adapter.address,
    nbl,
    NblFault.NotOutstanding,
    'a NET_BUFFER_LIST was returned that no driver below indicated without NDIS_RECEIVE_FLAGS_RESOURCES (returned twice, or kept after a RESOURCES indication)',
  );
}

/** Hands a run of returns (their holder already recorded) to `target`'s return handler. */
function deliverReturn(target: NdisFilterModule | NdisMiniportBlock, nbls: NET_BUFFER_LIST, flags: number): void {
  if (target.kind === BlockKind.Adapter) {
    target.driver.chars.ReturnNetBufferListsHandler!(target.MiniportAdapterContext, nbls, flags);
  } else {
    target.driver.chars.ReturnNetBufferListsHandler!(target.FilterModuleContext, nbls, flags);
  }
}

/** Returns `nbls` downward from stack position `from`, in runs with the same destination (one pass). */
export function returnDown(adapter: NdisMiniportBlock, from: number, nbls: NET_BUFFER_LIST, flags: number): void {
  const full = verifierLevel >= VERIFIER_FULL;
  let head: NET_BUFFER_LIST | null = nbls;
  let target = returnTarget(adapter, from, head);
  while (head !== null) {
    const toAdapter = target.kind === BlockKind.Adapter;
    let x: NET_BUFFER_LIST = head;
    let next: NET_BUFFER_LIST | null;
    let nextTarget: NdisFilterModule | NdisMiniportBlock | null = null;
    for (;;) {
      setHolder(x, target);
      if (full && (toAdapter || x.SourceHandle === target)) trackBack(x);
      next = x.Next;
      if (next === null) break;
      nextTarget = returnTarget(adapter, from, next);
      if (nextTarget !== target) break;
      x = next;
    }
    x.Next = null;
    deliverReturn(target, head, flags);
    head = next;
    if (nextTarget !== null) target = nextTarget;
  }
}

/**
 * A binding gives back receive indications: each NBL's binding count drops by one, and the NBLs whose count
 * reaches zero go back down as one list.
 */
export const bindingReturn = (open: NdisOpenBlock, nbls: NET_BUFFER_LIST, flags: number): void => {
  const adapter = open.adapter;
  if (adapter.filters.length === 0) {
    returnToMiniport(open, adapter, nbls, flags);
  } else {
    let keepHead: NET_BUFFER_LIST | null = null;
    let keepTail: NET_BUFFER_LIST | null = null;
    let x: NET_BUFFER_LIST | null = nbls;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      const track = trackOf(x) - BINDING_REF;
      setTrack(x, track);
      open.receivesHeld--;
      if ((track & BINDING_REF_MASK) === 0) {
        x.Next = null;
        if (keepTail === null) keepHead = x;
        else keepTail.Next = x;
        keepTail = x;
      }
      x = next;
    }
    if (keepHead !== null) returnDown(adapter, topPosition(adapter), keepHead, flags);
  }
  if (open.state !== RunState.Running || open.closing) bindingDrained(open);
};

/**
 * bindingReturn on an adapter with no filter module: every NBL whose last binding gives it back goes straight to
 * the miniport, so the binding count, the miniport's wait and the holder are updated in one pass.
 */
const returnToMiniport = (
  open: NdisOpenBlock,
  adapter: NdisMiniportBlock,
  nbls: NET_BUFFER_LIST,
  flags: number,
): void => {
  const full = verifierLevel >= VERIFIER_FULL;
  let head: NET_BUFFER_LIST | null = null;
  let tail: NET_BUFFER_LIST | null = null;
  let prev: NET_BUFFER_LIST | null = null;
  let n = 0;
  let given = 0;
  const holderId = adapter.holderId;
  let x: NET_BUFFER_LIST | null = nbls;
  while (x !== null) {
    const next: NET_BUFFER_LIST | null = x.Next;
    let track = trackOf(x) - BINDING_REF;
    given++;
    if ((track & BINDING_REF_MASK) === 0) {
      if ((track & 1) === 0) {
        setTrack(x, track);
        open.receivesHeld -= given;
        notOutstanding(adapter, x);
      }
      track &= ~1;
      setHolderId(x, holderId);
      if (full) trackBack(x);
      // The list goes down as it came, relinked only around NBLs that another binding still holds: a kept NBL
      // that follows the previous kept one is already linked to it.
      if (tail === null) head = x;
      else if (tail !== prev) tail.Next = x;
      tail = x;
      n++;
    }
    setTrack(x, track);
    prev = x;
    x = next;
  }
  open.receivesHeld -= given;
  if (head === null) return;
  if (tail!.Next !== null) tail!.Next = null;
  adapter.receivesOut -= n;
  adapter.returned += n;
  adapter.driver.chars.ReturnNetBufferListsHandler!(adapter.MiniportAdapterContext, head, flags);
};

/**
 * A miniport's receive indication (NdisMIndicateReceiveNetBufferLists on a running adapter, checks done): marks
 * the NBLs as waited for at stack position 0 (or as lent with RESOURCES) and indicates them up.
 */
export const indicateFromMiniport = (
  adapter: NdisMiniportBlock,
  nbls: NET_BUFFER_LIST,
  port: number,
  count: number,
  flags: number,
): void => {
  const resources = (flags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0;
  const level = verifierLevel;
  const full = level >= VERIFIER_FULL;
  const open = directBinding(adapter);
  if (open === null) {
    const n = markIndicated(nbls, 0, resources, adapter);
    adapter.indicated += n;
    if (!resources) {
      adapter.receivesOut += n;
      if (full) for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) trackOut(x);
    }
    try {
      indicateUp(adapter, 0, nbls, port, count, flags);
    } finally {
      if (resources) endResourcesIndication(nbls, adapter);
    }
    return;
  }
  // The usual stack: no filter module takes receives and one binding runs. Each NBL is marked as the miniport's
  // indication and as that binding's in the same pass (what markIndicated and indicateToBindings do in turn).
  if (level >= VERIFIER_STANDARD) {
    checkNblDataInChains(nbls, 'NdisMIndicateReceiveNetBufferLists/NdisFIndicateReceiveNetBufferLists');
  }
  let n = 0;
  const holderId = open.holderId;
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
    const track = trackOf(x) & ~WAS_RESOURCES_BIT;
    setHolderId(x, holderId);
    if (resources) {
      setTrack(x, track | RESOURCES_BIT);
    } else {
      setTrack(x, (track | 1) + BINDING_REF);
      if (full) trackOut(x);
    }
    n++;
  }
  adapter.indicated += n;
  const handler = open.protocol.chars.ReceiveNetBufferListsHandler!;
  if (!resources) {
    adapter.receivesOut += n;
    open.receivesHeld += count;
    handler(open.ProtocolBindingContext, nbls, port, count, flags);
    return;
  }
  try {
    handler(open.ProtocolBindingContext, nbls, port, count, flags);
  } finally {
    endResourcesIndication(nbls, adapter);
  }
};

/** The one running binding a miniport's indication goes straight to, or null (a filter takes it, or 0 or 2+). */
const directBinding = (adapter: NdisMiniportBlock): NdisOpenBlock | null => {
  const filters = adapter.filters;
  for (let i = 0; i < filters.length; i++) {
    if (filters[i]!.driver.chars.ReceiveNetBufferListsHandler !== null) return null;
  }
  const opens = adapter.opens;
  let open: NdisOpenBlock | null = null;
  for (let i = 0; i < opens.length; i++) {
    const o = opens[i]!;
    if (o.state !== RunState.Running || o.closing) continue;
    if (open !== null) return null;
    open = o;
  }
  return open;
};

/** True when `nbl` waits at stack position 0 (indicated by the miniport and not yet returned). */
export function indicatedByMiniport(nbl: NET_BUFFER_LIST): boolean {
  return (trackOf(nbl) & 1) !== 0;
}

/** Marks the start of an indication from stack position `pos`, with or without RESOURCES. */
export function markIndicated(nbls: NET_BUFFER_LIST, pos: number, resources: boolean, holder: NblHolder): number {
  let n = 0;
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
    setHolder(x, holder);
    setTrack(x, (trackOf(x) & ~WAS_RESOURCES_BIT) | (resources ? RESOURCES_BIT : 1 << pos));
    n++;
  }
  return n;
}

/** Ends an indication made with RESOURCES: the NBLs are the indicator's again. */
export function endResourcesIndication(nbls: NET_BUFFER_LIST, holder: NblHolder): void {
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
    setHolder(x, holder);
    setTrack(x, (trackOf(x) & ~RESOURCES_BIT) | WAS_RESOURCES_BIT);
  }
}

/** Marks NBLs handed down by stack position `pos` (a filter module's send). */
export function markSent(nbls: NET_BUFFER_LIST, pos: number): number {
  let n = 0;
  const bit = 1 << pos;
  for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
    setTrack(x, trackOf(x) | bit);
    n++;
  }
  return n;
}

/** True when any stack-position bit of `nbl` is set (it is waited for somewhere). */
export function inFlight(nbl: NET_BUFFER_LIST): boolean {
  return (trackOf(nbl) & (PATH_MASK | BINDING_REF_MASK)) !== 0;
}

// --- status, cancel and OID requests ---------------------------------------------------------------------------

/** Indicates a status up from stack position `from` to the next filter with a status handler, or the bindings. */
export function statusUp(adapter: NdisMiniportBlock, from: number, indication: NDIS_STATUS_INDICATION): void {
  for (let pos = from + 1; pos <= adapter.filters.length; pos++) {
    const module = adapter.filters[pos - 1]!;
    const handler = module.driver.chars.StatusHandler;
    if (handler !== null && module.state !== RunState.Detached) {
      handler(module.FilterModuleContext, indication);
      return;
    }
  }
  for (const open of adapter.opens) {
    if (open.closing) continue;
    open.protocol.chars.StatusHandlerEx?.(open.ProtocolBindingContext, indication);
  }
}

/** Passes a send cancellation down from stack position `from`. */
export function cancelDown(adapter: NdisMiniportBlock, from: number, cancelId: unknown): void {
  for (let pos = from - 1; pos >= 1; pos--) {
    const module = adapter.filters[pos - 1]!;
    const handler = module.driver.chars.CancelSendNetBufferListsHandler;
    if (handler !== null) {
      handler(module.FilterModuleContext, cancelId);
      return;
    }
  }
  adapter.driver.chars.CancelSendHandler?.(adapter.MiniportAdapterContext, cancelId);
}

/** The path an OID request took down (stack positions of filters that forwarded it), and who issued it. */
interface OidPath {
  readonly open: NdisOpenBlock | NdisFilterModule;
  readonly positions: number[];
}

const oidPaths = new Map<NDIS_OID_REQUEST, OidPath>();

/** Starts an OID request from a binding or a filter module. */
export function oidStart(issuer: NdisOpenBlock | NdisFilterModule, request: NDIS_OID_REQUEST): void {
  oidPaths.set(request, { open: issuer, positions: [] });
}

/** Passes an OID request down from stack position `from`; returns what the handler below returned. */
export function oidDown(adapter: NdisMiniportBlock, from: number, request: NDIS_OID_REQUEST): number {
  for (let pos = from - 1; pos >= 1; pos--) {
    const module = adapter.filters[pos - 1]!;
    const handler = module.driver.chars.OidRequestHandler;
    if (handler !== null) {
      oidPaths.get(request)?.positions.push(pos);
      return handler(module.FilterModuleContext, request);
    }
  }
  return adapter.driver.chars.OidRequestHandler!(adapter.MiniportAdapterContext, request);
}

/** A pending OID request completes upward from stack position `from`. */
export function oidCompleteUp(
  adapter: NdisMiniportBlock,
  from: number,
  request: NDIS_OID_REQUEST,
  status: number,
): void {
  const path = oidPaths.get(request);
  if (path === undefined) return;
  const positions = path.positions;
  while (positions.length > 0 && positions[positions.length - 1]! <= from) positions.pop();
  const pos = positions.pop();
  if (pos !== undefined) {
    const module = adapter.filters[pos - 1]!;
    module.driver.chars.OidRequestCompleteHandler?.(module.FilterModuleContext, request, status);
    return;
  }
  oidPaths.delete(request);
  const issuer = path.open;
  if (issuer.kind === BlockKind.Binding) {
    issuer.protocol.chars.OidRequestCompleteHandler?.(issuer.ProtocolBindingContext, request, status);
  } else {
    issuer.driver.chars.OidRequestCompleteHandler?.(issuer.FilterModuleContext, request, status);
  }
}

/** Ends tracking of a request that completed synchronously. */
export function oidEnd(request: NDIS_OID_REQUEST): void {
  oidPaths.delete(request);
}

/** Forgets every OID path (part of resetSystem). */
export function resetDatapath(): void {
  oidPaths.clear();
}
