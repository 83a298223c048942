/**
 * The kernel-mode management API (fwpmk.h): engine sessions, transactions, sublayers, callout objects and
 * filters. Each function returns an NTSTATUS (STATUS_FWP_* for engine errors), runs at PASSIVE_LEVEL, and checks
 * its arguments the way the base filtering engine does.
 *
 * Transactions: changes made inside FwpmTransactionBegin0 / Commit0 are recorded at once (ids and errors come
 * back immediately) but reach the classify path only at commit; FwpmTransactionAbort0 undoes them.
 */
import { PASSIVE_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import { STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../kernel/status.js';
import {
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_CALLOUT_UNKNOWN,
  FWP_ACTION_FLAG_CALLOUT,
  FWP_ACTION_PERMIT,
  FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY,
  FWPM_FILTER_FLAG_BOOTTIME,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_FILTER_FLAG_DISABLED,
  FWPM_FILTER_FLAG_HAS_PROVIDER_CONTEXT,
  FWPM_FILTER_FLAG_INDEXED,
  FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED,
  FWPM_FILTER_FLAG_PERSISTENT,
  FWPS_CALLOUT_NOTIFY_ADD_FILTER,
  FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT,
  FWPS_CALLOUT_NOTIFY_DELETE_FILTER,
  FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  RPC_C_AUTHN_DEFAULT,
  RPC_C_AUTHN_WINNT,
  STATUS_FWP_ALREADY_EXISTS,
  STATUS_FWP_BUILTIN_OBJECT,
  STATUS_FWP_CALLOUT_NOT_FOUND,
  STATUS_FWP_CONDITION_NOT_FOUND,
  STATUS_FWP_FILTER_NOT_FOUND,
  STATUS_FWP_IN_USE,
  STATUS_FWP_INCOMPATIBLE_LAYER,
  STATUS_FWP_INVALID_ACTION_TYPE,
  STATUS_FWP_INVALID_FLAGS,
  STATUS_FWP_INVALID_WEIGHT,
  STATUS_FWP_LAYER_NOT_FOUND,
  STATUS_FWP_NO_TXN_IN_PROGRESS,
  STATUS_FWP_NULL_POINTER,
  STATUS_FWP_SUBLAYER_NOT_FOUND,
  STATUS_FWP_TXN_IN_PROGRESS,
} from './constants.js';
import { engine, FWPM_SUBLAYER_UNIVERSAL, generateGuid, isNullGuid, layerState, normaliseGuid } from './engine.js';
import { CalloutEntry, type ConditionGroup, EngineSession, FilterEntry, SublayerEntry } from './filterEntry.js';
import { layerByKey } from './layers.js';
import { validateCondition } from './match.js';
import {
  type FWPM_CALLOUT0,
  type FWPM_FILTER0,
  FWPM_SESSION_FLAG_DYNAMIC,
  type FWPM_SESSION0,
  type FWPM_SUBLAYER0,
  FWPS_FILTER_CONDITION0,
  FWPS_FILTER0,
  type GUID,
} from './structures.js';
import {
  copyConditionValue,
  type FWP_CONDITION_VALUE0,
  FWP_EMPTY,
  FWP_UINT8,
  FWP_UINT64,
  FWP_VALUE0,
} from './values.js';

/** DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 that wdknet uses for a WFP management call above PASSIVE_LEVEL. */
export const WFP_RULE_IRQL_MANAGEMENT = 0x00090001;

/** HANDLE: an opaque handle, as C's `void*`; engine functions check at run time that it is one of theirs. */
export type HANDLE = unknown;

const KNOWN_FILTER_FLAGS =
  FWPM_FILTER_FLAG_PERSISTENT |
  FWPM_FILTER_FLAG_BOOTTIME |
  FWPM_FILTER_FLAG_HAS_PROVIDER_CONTEXT |
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT |
  FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED |
  FWPM_FILTER_FLAG_DISABLED |
  FWPM_FILTER_FLAG_INDEXED;

function passive(ddi: string): void {
  requireIrqlAtMost(PASSIVE_LEVEL, ddi, WFP_RULE_IRQL_MANAGEMENT);
}

function usable(h: HANDLE): h is EngineSession {
  return h instanceof EngineSession && h.open;
}

/** Runs `apply` now, or at commit if a transaction is open; records `undo` for an abort. */
function change(h: EngineSession, apply: () => void, undo: () => void, visible: () => void): void {
  apply();
  if (h.transaction) {
    h.transaction.push(undo);
    (h as EngineSessionTxn).pending.push(visible);
  } else visible();
}

interface EngineSessionTxn extends EngineSession {
  pending: (() => void)[];
}

/**
 * FwpmEngineOpen0: opens a session. `serverName` must be NULL in kernel mode; `authnService` is
 * RPC_C_AUTHN_WINNT or RPC_C_AUTHN_DEFAULT. A session with FWPM_SESSION_FLAG_DYNAMIC deletes its objects when
 * closed.
 */
export function FwpmEngineOpen0(
  serverName: string | null,
  authnService: number,
  authIdentity: unknown,
  session: FWPM_SESSION0 | null,
  engineHandle: { value: HANDLE },
): number {
  passive('FwpmEngineOpen0');
  if (serverName !== null || authIdentity) return STATUS_INVALID_PARAMETER;
  if (authnService !== RPC_C_AUTHN_WINNT && authnService !== RPC_C_AUTHN_DEFAULT) return STATUS_INVALID_PARAMETER;
  const s = new EngineSession();
  s.dynamic = session !== null && (session.flags & FWPM_SESSION_FLAG_DYNAMIC) !== 0;
  engineHandle.value = s;
  return STATUS_SUCCESS;
}

/** FwpmEngineClose0: closes a session (aborting its transaction; deleting a dynamic session's objects). */
export function FwpmEngineClose0(engineHandle: HANDLE): number {
  passive('FwpmEngineClose0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  if (engineHandle.transaction) FwpmTransactionAbort0(engineHandle);
  if (engineHandle.dynamic) {
    for (const f of [...engineHandle.ownedFilters]) removeFilter(engineHandle, f);
    for (const c of [...engineHandle.ownedCallouts]) if (c.filterCount === 0) removeCallout(engineHandle, c);
    for (const s of [...engineHandle.ownedSublayers]) if (s.filterCount === 0) removeSublayer(engineHandle, s);
  }
  engineHandle.open = false;
  return STATUS_SUCCESS;
}

/** FwpmTransactionBegin0: starts an explicit transaction; one at a time per session. */
export function FwpmTransactionBegin0(engineHandle: HANDLE, flags: number): number {
  passive('FwpmTransactionBegin0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  void flags;
  if (engineHandle.transaction) return STATUS_FWP_TXN_IN_PROGRESS;
  engineHandle.transaction = [];
  (engineHandle as EngineSessionTxn).pending = [];
  return STATUS_SUCCESS;
}

/** FwpmTransactionCommit0: makes the transaction's changes visible to classification. */
export function FwpmTransactionCommit0(engineHandle: HANDLE): number {
  passive('FwpmTransactionCommit0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  if (!engineHandle.transaction) return STATUS_FWP_NO_TXN_IN_PROGRESS;
  const pending = (engineHandle as EngineSessionTxn).pending;
  engineHandle.transaction = null;
  (engineHandle as EngineSessionTxn).pending = [];
  for (const step of pending) step();
  return STATUS_SUCCESS;
}

/** FwpmTransactionAbort0: undoes the transaction's changes. */
export function FwpmTransactionAbort0(engineHandle: HANDLE): number {
  passive('FwpmTransactionAbort0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  const undo = engineHandle.transaction;
  if (!undo) return STATUS_FWP_NO_TXN_IN_PROGRESS;
  engineHandle.transaction = null;
  (engineHandle as EngineSessionTxn).pending = [];
  for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
  return STATUS_SUCCESS;
}

/** FwpmSubLayerAdd0: adds a sublayer (a zero key gets a generated one, written back to `subLayer.subLayerKey`). */
export function FwpmSubLayerAdd0(engineHandle: HANDLE, subLayer: FWPM_SUBLAYER0 | null, sd: unknown): number {
  passive('FwpmSubLayerAdd0');
  void sd;
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  if (!subLayer) return STATUS_FWP_NULL_POINTER;
  const w = subLayer.weight;
  if (!Number.isInteger(w) || w < 0 || w > 0xffff) return STATUS_INVALID_PARAMETER;
  let key: GUID | null;
  if (isNullGuid(subLayer.subLayerKey)) key = generateGuid();
  else {
    key = normaliseGuid(subLayer.subLayerKey);
    if (!key) return STATUS_INVALID_PARAMETER;
  }
  if (engine.sublayers.has(key)) return STATUS_FWP_ALREADY_EXISTS;
  const entry = new SublayerEntry(key, w, subLayer.flags, engine.seq++, subLayer.displayData?.name ?? null);
  subLayer.subLayerKey = key;
  change(
    engineHandle,
    () => {
      engine.sublayers.set(key, entry);
      if (engineHandle.dynamic) engineHandle.ownedSublayers.add(entry);
    },
    () => {
      engine.sublayers.delete(key);
      engineHandle.ownedSublayers.delete(entry);
    },
    () => {},
  );
  return STATUS_SUCCESS;
}

function removeSublayer(h: EngineSession, s: SublayerEntry): void {
  change(
    h,
    () => {
      engine.sublayers.delete(s.key);
      h.ownedSublayers.delete(s);
    },
    () => engine.sublayers.set(s.key, s),
    () => {},
  );
}

/** FwpmSubLayerDeleteByKey0: deletes a sublayer that no filter uses (FWP_E_IN_USE otherwise). */
export function FwpmSubLayerDeleteByKey0(engineHandle: HANDLE, key: GUID): number {
  passive('FwpmSubLayerDeleteByKey0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  const k = normaliseGuid(key ?? '');
  const s = k ? engine.sublayers.get(k) : undefined;
  if (!s) return STATUS_FWP_SUBLAYER_NOT_FOUND;
  if (s.key === FWPM_SUBLAYER_UNIVERSAL) return STATUS_FWP_BUILTIN_OBJECT;
  if (s.filterCount > 0) return STATUS_FWP_IN_USE;
  removeSublayer(engineHandle, s);
  return STATUS_SUCCESS;
}

/** The callout record for a key, creating it (with a new run-time id) if needed. */
export function calloutForKey(key: GUID): CalloutEntry {
  let c = engine.callouts.get(key);
  if (!c) {
    c = new CalloutEntry(key, engine.nextCalloutId++);
    engine.callouts.set(key, c);
    engine.calloutsById[c.calloutId] = c;
  }
  return c;
}

/** Forgets a callout record once neither half holds it. */
export function dropCalloutIfUnused(c: CalloutEntry): void {
  if (!c.managed && !c.registered) {
    engine.callouts.delete(c.key);
    engine.calloutsById[c.calloutId] = undefined;
  }
}

/**
 * FwpmCalloutAdd0: adds the management object of a callout for `applicableLayer`. The run-time id goes to `id`
 * (and `callout.calloutId`); a driver that registers the same key with FwpsCalloutRegister* gets the same id.
 */
export function FwpmCalloutAdd0(
  engineHandle: HANDLE,
  callout: FWPM_CALLOUT0 | null,
  sd: unknown,
  id: { value: number } | null,
): number {
  passive('FwpmCalloutAdd0');
  void sd;
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  if (!callout) return STATUS_FWP_NULL_POINTER;
  if (!layerByKey(normaliseGuid(callout.applicableLayer ?? '') ?? '')) return STATUS_FWP_LAYER_NOT_FOUND;
  let key: GUID | null;
  if (isNullGuid(callout.calloutKey)) key = generateGuid();
  else {
    key = normaliseGuid(callout.calloutKey);
    if (!key) return STATUS_INVALID_PARAMETER;
  }
  const existing = engine.callouts.get(key);
  if (existing?.managed) return STATUS_FWP_ALREADY_EXISTS;
  const c = calloutForKey(key);
  callout.calloutKey = key;
  change(
    engineHandle,
    () => {
      c.managed = true;
      c.applicableLayer = normaliseGuid(callout.applicableLayer);
      c.mgmtFlags = callout.flags;
      if (engineHandle.dynamic) engineHandle.ownedCallouts.add(c);
    },
    () => {
      c.managed = false;
      engineHandle.ownedCallouts.delete(c);
      dropCalloutIfUnused(c);
    },
    () => {},
  );
  callout.calloutId = c.calloutId;
  if (id) id.value = c.calloutId;
  return STATUS_SUCCESS;
}

function removeCallout(h: EngineSession, c: CalloutEntry): void {
  change(
    h,
    () => {
      c.managed = false;
      h.ownedCallouts.delete(c);
      dropCalloutIfUnused(c);
    },
    () => {
      c.managed = true;
      engine.callouts.set(c.key, c);
      engine.calloutsById[c.calloutId] = c;
    },
    () => {},
  );
}

function deleteCallout(engineHandle: HANDLE, c: CalloutEntry | undefined): number {
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  if (!c?.managed) return STATUS_FWP_CALLOUT_NOT_FOUND;
  if (c.filterCount > 0) return STATUS_FWP_IN_USE;
  removeCallout(engineHandle, c);
  return STATUS_SUCCESS;
}

/** FwpmCalloutDeleteById0: deletes a callout object that no filter references. */
export function FwpmCalloutDeleteById0(engineHandle: HANDLE, id: number): number {
  passive('FwpmCalloutDeleteById0');
  return deleteCallout(engineHandle, engine.calloutsById[id]);
}

/** FwpmCalloutDeleteByKey0: deletes a callout object that no filter references. */
export function FwpmCalloutDeleteByKey0(engineHandle: HANDLE, key: GUID): number {
  passive('FwpmCalloutDeleteByKey0');
  const k = normaliseGuid(key ?? '');
  return deleteCallout(engineHandle, k ? engine.callouts.get(k) : undefined);
}

/**
 * The 64-bit effective weight of a filter (Filter Weight Assignment): FWP_UINT64 as given; FWP_EMPTY generated
 * in [0, 2^60); FWP_UINT8 0-15 as the top four bits over a generated low part. Returns null for an invalid weight.
 * Generated weights (decided; the documentation leaves the formula to BFE) grow with the number of conditions,
 * so more specific filters are evaluated first.
 */
function effectiveWeight(weight: FWP_VALUE0 | null, conditionCount: number): bigint | null {
  const auto = BigInt(Math.min(conditionCount, 0xff)) << 52n;
  if (!weight || weight.type === FWP_EMPTY) return auto;
  if (weight.type === FWP_UINT64) {
    const w = weight.uint64;
    return w >= 0n && w <= 0xffffffffffffffffn ? w : null;
  }
  if (weight.type === FWP_UINT8) {
    if (!Number.isInteger(weight.uint8) || weight.uint8 < 0 || weight.uint8 > 15) return null;
    return (BigInt(weight.uint8) << 60n) | auto;
  }
  return null;
}

function isActionType(t: number): boolean {
  return (
    t === FWP_ACTION_BLOCK ||
    t === FWP_ACTION_PERMIT ||
    t === FWP_ACTION_CALLOUT_TERMINATING ||
    t === FWP_ACTION_CALLOUT_INSPECTION ||
    t === FWP_ACTION_CALLOUT_UNKNOWN
  );
}

/**
 * FwpmFilterAdd0: adds a filter and returns its run-time id through `id` (and `filter.filterId`). Conditions
 * with the same field key are OR-ed; different keys are AND-ed. A callout filter's callout must exist for the
 * filter's layer; if the callout is registered its notifyFn sees FWPS_CALLOUT_NOTIFY_ADD_FILTER first and a
 * failure status from it refuses the filter.
 */
export function FwpmFilterAdd0(
  engineHandle: HANDLE,
  filter: FWPM_FILTER0 | null,
  sd: unknown,
  id: { value: number } | null,
): number {
  passive('FwpmFilterAdd0');
  void sd;
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  if (!filter) return STATUS_FWP_NULL_POINTER;
  const layer = layerByKey(normaliseGuid(filter.layerKey ?? '') ?? '');
  if (!layer) return STATUS_FWP_LAYER_NOT_FOUND;
  const subKey = isNullGuid(filter.subLayerKey) ? FWPM_SUBLAYER_UNIVERSAL : normaliseGuid(filter.subLayerKey);
  const sublayer = subKey ? engine.sublayers.get(subKey) : undefined;
  if (!sublayer) return STATUS_FWP_SUBLAYER_NOT_FOUND;
  let key: GUID | null;
  if (isNullGuid(filter.filterKey)) key = generateGuid();
  else {
    key = normaliseGuid(filter.filterKey);
    if (!key) return STATUS_INVALID_PARAMETER;
  }
  if (engine.filtersByKey.has(key)) return STATUS_FWP_ALREADY_EXISTS;
  if ((filter.flags & ~KNOWN_FILTER_FLAGS) !== 0) return STATUS_FWP_INVALID_FLAGS;

  // Conditions, grouped by field in order of first appearance.
  const n = filter.numFilterConditions;
  if (!Number.isInteger(n) || n < 0) return STATUS_INVALID_PARAMETER;
  if (n > 0 && (!filter.filterCondition || filter.filterCondition.length < n)) return STATUS_FWP_NULL_POINTER;
  const byField = new Map<number, { matchTypes: number[]; values: FWP_CONDITION_VALUE0[] }>();
  const fwpsConditions: FWPS_FILTER_CONDITION0[] = [];
  for (let i = 0; i < n; i++) {
    const c = filter.filterCondition[i];
    if (!c?.conditionValue) return STATUS_FWP_NULL_POINTER;
    const field = layer.fieldByCondition.get(normaliseGuid(c.fieldKey ?? '') ?? '');
    if (field === undefined) return STATUS_FWP_CONDITION_NOT_FOUND;
    const status = validateCondition(layer.fields[field]!.dataType, c.matchType, c.conditionValue);
    if (status !== STATUS_SUCCESS) return status;
    let g = byField.get(field);
    if (!g) {
      g = { matchTypes: [], values: [] };
      byField.set(field, g);
    }
    const copy = copyConditionValue(c.conditionValue);
    g.matchTypes.push(c.matchType);
    g.values.push(copy);
    fwpsConditions.push(new FWPS_FILTER_CONDITION0(field, c.matchType, copy));
  }
  const groups: ConditionGroup[] = [...byField].map(([field, g]) => ({
    field,
    matchTypes: g.matchTypes,
    values: g.values,
  }));

  const w = effectiveWeight(filter.weight, n);
  if (w === null) return STATUS_FWP_INVALID_WEIGHT;

  const actionType = filter.action?.type;
  if (!isActionType(actionType)) return STATUS_FWP_INVALID_ACTION_TYPE;
  let callout: CalloutEntry | null = null;
  if ((actionType & FWP_ACTION_FLAG_CALLOUT) !== 0) {
    const ck = normaliseGuid(filter.action.calloutKey ?? '');
    const c = ck ? engine.callouts.get(ck) : undefined;
    if (!c?.managed) return STATUS_FWP_CALLOUT_NOT_FOUND;
    if (c.applicableLayer !== layer.layerKey) return STATUS_FWP_INCOMPATIBLE_LAYER;
    callout = c;
  }
  // Decided: PERMIT_IF_CALLOUT_UNREGISTERED only has a meaning for a terminating callout filter.
  if (
    (filter.flags & FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED) !== 0 &&
    actionType !== FWP_ACTION_CALLOUT_TERMINATING
  ) {
    return STATUS_FWP_INVALID_FLAGS;
  }

  const filterId = engine.nextFilterId;
  const fwps = new FWPS_FILTER0();
  fwps.filterId = filterId;
  fwps.weight.type = FWP_UINT64;
  fwps.weight.uint64 = w;
  fwps.subLayerWeight = sublayer.weight;
  fwps.flags = (filter.flags & FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0 ? FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT : 0;
  fwps.numFilterConditions = fwpsConditions.length;
  fwps.filterCondition = fwpsConditions;
  fwps.action.type = actionType;
  fwps.action.calloutId = callout?.calloutId ?? 0;
  fwps.context = filter.rawContext ?? 0n;

  if (callout?.registered && callout.notifyFn) {
    const status = callout.notifyFn(FWPS_CALLOUT_NOTIFY_ADD_FILTER, key, fwps);
    if (status < 0) return status;
  }
  engine.nextFilterId++;
  const entry = new FilterEntry(
    filterId,
    key,
    layer,
    sublayer,
    w,
    actionType,
    callout,
    filter.flags,
    groups,
    fwps,
    filter.displayData?.name ?? null,
  );
  const disabled = (filter.flags & FWPM_FILTER_FLAG_DISABLED) !== 0;
  change(
    engineHandle,
    () => {
      engine.filters.set(filterId, entry);
      engine.filtersByKey.set(key, entry);
      sublayer.filterCount++;
      if (callout) callout.filterCount++;
      if (engineHandle.dynamic) engineHandle.ownedFilters.add(entry);
    },
    () => {
      engine.filters.delete(filterId);
      engine.filtersByKey.delete(key);
      sublayer.filterCount--;
      if (callout) {
        callout.filterCount--;
        if (callout.registered && callout.notifyFn) callout.notifyFn(FWPS_CALLOUT_NOTIFY_DELETE_FILTER, key, fwps);
      }
      engineHandle.ownedFilters.delete(entry);
    },
    () => {
      if (engine.filters.get(filterId) !== entry) return;
      if (!disabled) layerState(layer.layerId)!.addFilter(entry);
      if (
        callout?.registered &&
        callout.notifyFn &&
        (callout.flags & FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY) !== 0
      ) {
        callout.notifyFn(FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT, key, fwps);
      }
    },
  );
  filter.filterKey = key;
  filter.filterId = filterId;
  filter.effectiveWeight = new FWP_VALUE0();
  filter.effectiveWeight.type = FWP_UINT64;
  filter.effectiveWeight.uint64 = w;
  if (id) id.value = filterId;
  return STATUS_SUCCESS;
}

function removeFilter(h: EngineSession, f: FilterEntry): void {
  change(
    h,
    () => {
      engine.filters.delete(f.id);
      engine.filtersByKey.delete(f.key);
      f.sublayer.filterCount--;
      if (f.callout) f.callout.filterCount--;
      h.ownedFilters.delete(f);
    },
    () => {
      engine.filters.set(f.id, f);
      engine.filtersByKey.set(f.key, f);
      f.sublayer.filterCount++;
      if (f.callout) f.callout.filterCount++;
    },
    () => {
      if (engine.filters.has(f.id)) return;
      layerState(f.layer.layerId)!.removeFilter(f);
      const c = f.callout;
      if (c?.registered && c.notifyFn) c.notifyFn(FWPS_CALLOUT_NOTIFY_DELETE_FILTER, f.key, f.fwps);
    },
  );
}

/** FwpmFilterDeleteById0: deletes a filter; a registered callout's notifyFn sees FWPS_CALLOUT_NOTIFY_DELETE_FILTER. */
export function FwpmFilterDeleteById0(engineHandle: HANDLE, id: number): number {
  passive('FwpmFilterDeleteById0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  const f = engine.filters.get(id);
  if (!f) return STATUS_FWP_FILTER_NOT_FOUND;
  removeFilter(engineHandle, f);
  return STATUS_SUCCESS;
}

/** FwpmFilterDeleteByKey0: as FwpmFilterDeleteById0, by key. */
export function FwpmFilterDeleteByKey0(engineHandle: HANDLE, key: GUID): number {
  passive('FwpmFilterDeleteByKey0');
  if (!usable(engineHandle)) return STATUS_INVALID_HANDLE;
  const k = normaliseGuid(key ?? '');
  const f = k ? engine.filtersByKey.get(k) : undefined;
  if (!f) return STATUS_FWP_FILTER_NOT_FOUND;
  removeFilter(engineHandle, f);
  return STATUS_SUCCESS;
}
