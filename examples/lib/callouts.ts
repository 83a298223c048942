/**
 * The registration every callout driver writes once and copies from driver to driver: open a dynamic session to
 * the filter engine, and in one transaction add the driver's sublayer and, for each callout, register it with
 * the filter engine (FwpsCalloutRegister0), add it (FwpmCalloutAdd0) and add the filter that calls it
 * (FwpmFilterAdd0). Unregistering closes the engine handle first — the dynamic session takes the filters, the
 * callouts and the sublayer with it, so classify stops — and then unregisters the callouts by id.
 *
 * Written against `wdknet/ddi`, as a driver keeps such a helper in its own sources. It runs at PASSIVE_LEVEL
 * from DriverEntry and DriverUnload only; it is not on the packet path.
 */
import {
  type DEVICE_OBJECT,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_EMPTY,
  FWPM_CALLOUT0,
  FWPM_FILTER0,
  FWPM_SESSION_FLAG_DYNAMIC,
  FWPM_SESSION0,
  FWPM_SUBLAYER0,
  FWPS_CALLOUT0,
  FwpmCalloutAdd0,
  FwpmEngineClose0,
  FwpmEngineOpen0,
  FwpmFilterAdd0,
  FwpmSubLayerAdd0,
  FwpmTransactionAbort0,
  FwpmTransactionBegin0,
  FwpmTransactionCommit0,
  FwpsCalloutRegister0,
  FwpsCalloutUnregisterById0,
  NT_SUCCESS,
  RPC_C_AUTHN_WINNT,
  STATUS_SUCCESS,
} from 'wdknet/ddi';

/** One callout and the filter that invokes it at its layer. */
export interface CalloutDefinition {
  /** The callout's key (a GUID the driver made up). */
  calloutKey: string;
  /** The management layer the callout and its filter sit at (an FWPM_LAYER_* key). */
  layerKey: string;
  /** The callout's display name. */
  name: string;
}

/** What a driver registers: its sublayer, and its callouts with the filters that invoke them. */
export interface CalloutSetDefinition {
  /** The driver's sublayer key. */
  sublayerKey: string;
  /** The sublayer's display name. */
  sublayerName: string;
  /** The sublayer's weight (a higher sublayer is consulted first). */
  sublayerWeight: number;
  /** Display name of every filter added. */
  filterName: string;
  /** The classifyFn0 of every callout. */
  classifyFn: FWPS_CALLOUT0['classifyFn'];
  /** The callouts, registered and added in this order. */
  callouts: readonly CalloutDefinition[];
}

/** A driver's callout set, and the engine handle and callout ids it must give back on unload. */
export class CalloutRegistration {
  /** The engine handle of the dynamic session; null when not open. */
  engineHandle: unknown = null;
  /** Runtime ids from FwpsCalloutRegister0, one per callout in order; 0 while that callout is not registered. */
  readonly calloutIds: number[];

  /** Records what to register; nothing is registered until {@link RegisterCallouts}. */
  constructor(readonly definition: CalloutSetDefinition) {
    this.calloutIds = definition.callouts.map(() => 0);
  }
}

/**
 * Opens a dynamic session and, in one transaction, adds the sublayer and registers and adds each callout with its
 * filter. Returns the first failing status (the transaction aborted) or the commit's. On failure whatever was
 * obtained stays recorded in `registration`: the caller's cleanup calls {@link UnregisterCallouts}.
 */
export function RegisterCallouts(deviceObject: DEVICE_OBJECT | null, registration: CalloutRegistration): number {
  const session = new FWPM_SESSION0();
  session.flags = FWPM_SESSION_FLAG_DYNAMIC; // our objects go away with the engine handle
  const engine = { value: null as unknown };
  let status = FwpmEngineOpen0(null, RPC_C_AUTHN_WINNT, null, session, engine);
  if (!NT_SUCCESS(status)) return status;
  const engineHandle = engine.value;
  registration.engineHandle = engineHandle;

  status = FwpmTransactionBegin0(engineHandle, 0);
  if (!NT_SUCCESS(status)) return status;
  const sublayer = new FWPM_SUBLAYER0();
  const definition = registration.definition;
  sublayer.subLayerKey = definition.sublayerKey;
  sublayer.displayData.name = definition.sublayerName;
  sublayer.weight = definition.sublayerWeight;
  status = FwpmSubLayerAdd0(engineHandle, sublayer, null);
  for (let i = 0; i < definition.callouts.length && NT_SUCCESS(status); i++) {
    status = addCallout(deviceObject, registration, i);
  }
  if (!NT_SUCCESS(status)) {
    FwpmTransactionAbort0(engineHandle);
    return status;
  }
  return FwpmTransactionCommit0(engineHandle);
}

/** Registers callout `index` of `registration`, adds it and the filter that invokes it, inside the transaction. */
function addCallout(deviceObject: DEVICE_OBJECT | null, registration: CalloutRegistration, index: number): number {
  const definition = registration.definition;
  const callout = definition.callouts[index]!;
  const sCallout = new FWPS_CALLOUT0();
  sCallout.calloutKey = callout.calloutKey;
  sCallout.classifyFn = definition.classifyFn;
  sCallout.notifyFn = () => STATUS_SUCCESS;
  const id = { value: 0 };
  let status = FwpsCalloutRegister0(deviceObject, sCallout, id);
  if (!NT_SUCCESS(status)) return status;
  registration.calloutIds[index] = id.value; // recorded at once: unload unregisters it even if the rest fails

  const mCallout = new FWPM_CALLOUT0();
  mCallout.calloutKey = callout.calloutKey;
  mCallout.displayData.name = callout.name;
  mCallout.applicableLayer = callout.layerKey;
  status = FwpmCalloutAdd0(registration.engineHandle, mCallout, null, null);
  if (!NT_SUCCESS(status)) return status;

  const filter = new FWPM_FILTER0();
  filter.layerKey = callout.layerKey;
  filter.subLayerKey = definition.sublayerKey;
  filter.displayData.name = definition.filterName;
  filter.action.type = FWP_ACTION_CALLOUT_TERMINATING;
  filter.action.calloutKey = callout.calloutKey;
  filter.weight.type = FWP_EMPTY; // the engine picks the weight
  filter.numFilterConditions = 0; // every packet at the layer
  return FwpmFilterAdd0(registration.engineHandle, filter, null, null);
}

/**
 * Undoes {@link RegisterCallouts}, whatever part of it succeeded: closing the engine handle ends the dynamic
 * session and removes its filters, so classify stops; then the callouts are unregistered. Safe to call twice.
 */
export function UnregisterCallouts(registration: CalloutRegistration): void {
  if (registration.engineHandle !== null) FwpmEngineClose0(registration.engineHandle);
  registration.engineHandle = null;
  const ids = registration.calloutIds;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== 0) FwpsCalloutUnregisterById0(ids[i]!);
    ids[i] = 0;
  }
}
