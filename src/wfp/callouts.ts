/**
 * Callout registration (FwpsCalloutRegister0..3, FwpsCalloutUnregisterById0 / ByKey0) and flow contexts
 * (FwpsFlowAssociateContext0, FwpsFlowRemoveContext0).
 *
 * A registered callout's notifyFn is told about filters that already reference it (FWPS_CALLOUT_NOTIFY_ADD_FILTER)
 * as it registers, and about every later add and delete. Unregistering while flows still hold contexts returns
 * STATUS_DEVICE_BUSY; the driver removes the contexts and unregisters again.
 */

import { queueDeferredWork } from '../kernel/deferred.js';
import type { DEVICE_OBJECT } from '../kernel/driver.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import { STATUS_INVALID_PARAMETER, STATUS_PENDING, STATUS_SUCCESS, STATUS_UNSUCCESSFUL } from '../kernel/status.js';
import {
  FWPS_CALLOUT_NOTIFY_ADD_FILTER,
  STATUS_DEVICE_BUSY,
  STATUS_FWP_ALREADY_EXISTS,
  STATUS_FWP_CALLOUT_NOT_FOUND,
  STATUS_FWP_NULL_POINTER,
} from './constants.js';
import { engine, isNullGuid, normaliseGuid } from './engine.js';
import type { CalloutEntry } from './filterEntry.js';
import { calloutForKey, dropCalloutIfUnused } from './management.js';
import type { FWPS_CALLOUT0, GUID } from './structures.js';

/** wdknet's DDI rule id for FwpsCallout* above PASSIVE_LEVEL. */
export const WFP_RULE_IRQL_CALLOUT = 0x00090002;
/** wdknet's DDI rule id for FwpsFlow* above DISPATCH_LEVEL. */
export const WFP_RULE_IRQL_FLOW = 0x00090003;

function register(
  version: number,
  ddi: string,
  deviceObject: DEVICE_OBJECT | null,
  callout: FWPS_CALLOUT0 | null,
  calloutId: { value: number } | null,
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, ddi, WFP_RULE_IRQL_CALLOUT);
  if (!deviceObject) return STATUS_INVALID_PARAMETER;
  if (!callout) return STATUS_FWP_NULL_POINTER;
  if (typeof callout.classifyFn !== 'function' || typeof callout.notifyFn !== 'function')
    return STATUS_INVALID_PARAMETER;
  const key = isNullGuid(callout.calloutKey) ? null : normaliseGuid(callout.calloutKey);
  if (!key) return STATUS_INVALID_PARAMETER;
  const existing = engine.callouts.get(key);
  if (existing?.registered) return STATUS_FWP_ALREADY_EXISTS;
  const c = calloutForKey(key);
  c.registered = true;
  c.unregistering = false;
  c.version = version;
  c.flags = callout.flags;
  c.classifyFn = callout.classifyFn;
  c.notifyFn = callout.notifyFn;
  c.flowDeleteFn = callout.flowDeleteFn;
  c.deviceObject = deviceObject;
  if (calloutId) calloutId.value = c.calloutId;
  // Filters added before the driver registered are announced now.
  for (const f of engine.filters.values()) {
    if (f.callout === c) c.notifyFn!(FWPS_CALLOUT_NOTIFY_ADD_FILTER, f.key, f.fwps);
  }
  return STATUS_SUCCESS;
}

/** FwpsCalloutRegister0: registers a callout whose classifyFn has the version-0 signature (no classifyContext). */
export function FwpsCalloutRegister0(
  deviceObject: DEVICE_OBJECT | null,
  callout: FWPS_CALLOUT0 | null,
  calloutId: { value: number } | null,
): number {
  return register(0, 'FwpsCalloutRegister0', deviceObject, callout, calloutId);
}

/** FwpsCalloutRegister1: classifyFn1 (with classifyContext). */
export function FwpsCalloutRegister1(
  deviceObject: DEVICE_OBJECT | null,
  callout: FWPS_CALLOUT0 | null,
  calloutId: { value: number } | null,
): number {
  return register(1, 'FwpsCalloutRegister1', deviceObject, callout, calloutId);
}

/** FwpsCalloutRegister2: classifyFn2 (FWPS_FILTER2). */
export function FwpsCalloutRegister2(
  deviceObject: DEVICE_OBJECT | null,
  callout: FWPS_CALLOUT0 | null,
  calloutId: { value: number } | null,
): number {
  return register(2, 'FwpsCalloutRegister2', deviceObject, callout, calloutId);
}

/** FwpsCalloutRegister3: classifyFn3 (FWPS_FILTER3). */
export function FwpsCalloutRegister3(
  deviceObject: DEVICE_OBJECT | null,
  callout: FWPS_CALLOUT0 | null,
  calloutId: { value: number } | null,
): number {
  return register(3, 'FwpsCalloutRegister3', deviceObject, callout, calloutId);
}

function unregister(c: CalloutEntry | undefined): number {
  if (!c?.registered) return STATUS_FWP_CALLOUT_NOT_FOUND;
  if (c.flows.size > 0) {
    c.unregistering = true;
    return STATUS_DEVICE_BUSY;
  }
  c.registered = false;
  c.unregistering = false;
  c.classifyFn = null;
  c.notifyFn = null;
  c.flowDeleteFn = null;
  c.deviceObject = null;
  dropCalloutIfUnused(c);
  return STATUS_SUCCESS;
}

/** FwpsCalloutUnregisterById0: STATUS_DEVICE_BUSY while flows hold contexts of the callout. */
export function FwpsCalloutUnregisterById0(calloutId: number): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'FwpsCalloutUnregisterById0', WFP_RULE_IRQL_CALLOUT);
  return unregister(engine.calloutsById[calloutId]);
}

/** FwpsCalloutUnregisterByKey0: as FwpsCalloutUnregisterById0, by key. */
export function FwpsCalloutUnregisterByKey0(calloutKey: GUID): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'FwpsCalloutUnregisterByKey0', WFP_RULE_IRQL_CALLOUT);
  const k = normaliseGuid(calloutKey ?? '');
  return unregister(k ? engine.callouts.get(k) : undefined);
}

/**
 * FwpsFlowAssociateContext0: associates `flowContext` with a data flow for a callout at a layer. Decided: a
 * second association for the same flow and callout returns STATUS_FWP_ALREADY_EXISTS (the documentation only
 * says "an error occurred").
 */
export function FwpsFlowAssociateContext0(
  flowId: number,
  layerId: number,
  calloutId: number,
  flowContext: number,
): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'FwpsFlowAssociateContext0', WFP_RULE_IRQL_FLOW);
  const c = engine.calloutsById[calloutId];
  if (!c?.registered || c.unregistering) return STATUS_FWP_CALLOUT_NOT_FOUND;
  if (c.flows.has(flowId)) return STATUS_FWP_ALREADY_EXISTS;
  c.flows.set(flowId, { layerId, context: flowContext });
  return STATUS_SUCCESS;
}

/**
 * FwpsFlowRemoveContext0: removes a flow's context and calls flowDeleteFn - synchronously (STATUS_SUCCESS), or
 * later when a classifyFn of the callout is running (STATUS_PENDING). STATUS_UNSUCCESSFUL when there is none.
 */
export function FwpsFlowRemoveContext0(flowId: number, layerId: number, calloutId: number): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'FwpsFlowRemoveContext0', WFP_RULE_IRQL_FLOW);
  const c = engine.calloutsById[calloutId];
  if (!c?.registered) return STATUS_FWP_CALLOUT_NOT_FOUND;
  const flow = c.flows.get(flowId);
  if (!flow || flow.layerId !== layerId) return STATUS_UNSUCCESSFUL;
  c.flows.delete(flowId);
  const fn = c.flowDeleteFn;
  if (c.activeClassifies > 0) {
    if (fn) queueDeferredWork(() => fn(layerId, calloutId, flow.context), null);
    return STATUS_PENDING;
  }
  fn?.(layerId, calloutId, flow.context);
  return STATUS_SUCCESS;
}

/**
 * The host ends a data flow: every callout's context on it is removed and its flowDeleteFn called (as the
 * filter engine does when a connection closes).
 */
export function endFlow(flowId: number): void {
  for (const c of engine.callouts.values()) {
    const flow = c.flows.get(flowId);
    if (!flow) continue;
    c.flows.delete(flowId);
    c.flowDeleteFn?.(flow.layerId, c.calloutId, flow.context);
  }
}
