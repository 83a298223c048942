/**
 * The engine's own records of the objects the management API adds: sublayers, callouts (management and run-time
 * halves) and filters. Drivers never see these; they see FWPM_* / FWPS_* structures.
 */
import type { DEVICE_OBJECT } from '../kernel/driver.js';
import type { LayerInfo } from './layers.js';
import type {
  FWPS_CALLOUT_CLASSIFY_FN0,
  FWPS_CALLOUT_CLASSIFY_FN1,
  FWPS_CALLOUT_FLOW_DELETE_NOTIFY_FN0,
  FWPS_CALLOUT_NOTIFY_FN0,
  FWPS_FILTER0,
  GUID,
} from './structures.js';
import type { FWP_CONDITION_VALUE0 } from './values.js';

/** An engine session (what an engine handle refers to). */
export class EngineSession {
  open = true;
  dynamic = false;
  /** Undo steps of the open transaction, or null when none is in progress. */
  transaction: (() => void)[] | null = null;
  /** Objects a dynamic session added, deleted when it closes. */
  readonly ownedFilters = new Set<FilterEntry>();
  readonly ownedSublayers = new Set<SublayerEntry>();
  readonly ownedCallouts = new Set<CalloutEntry>();
}

/** A sublayer. */
export class SublayerEntry {
  constructor(
    readonly key: GUID,
    readonly weight: number,
    readonly flags: number,
    /** Insertion order, to order sublayers of equal weight (decided: first added is evaluated first). */
    readonly seq: number,
    readonly name: string | null,
  ) {}
  filterCount = 0;
}

/** A callout: the management object (FwpmCalloutAdd0) and/or the driver's registration (FwpsCalloutRegister*). */
export class CalloutEntry {
  constructor(
    readonly key: GUID,
    readonly calloutId: number,
  ) {}
  /** Management half: present once FwpmCalloutAdd0 added it. */
  managed = false;
  applicableLayer: GUID | null = null;
  mgmtFlags = 0;
  filterCount = 0;
  /** Run-time half: present while registered. */
  registered = false;
  version = 0;
  flags = 0;
  classifyFn: FWPS_CALLOUT_CLASSIFY_FN0 | FWPS_CALLOUT_CLASSIFY_FN1 | null = null;
  notifyFn: FWPS_CALLOUT_NOTIFY_FN0 | null = null;
  flowDeleteFn: FWPS_CALLOUT_FLOW_DELETE_NOTIFY_FN0 | null = null;
  deviceObject: DEVICE_OBJECT | null = null;
  /** Flow contexts: flowHandle -> (layerId, context). */
  readonly flows = new Map<number, { layerId: number; context: number }>();
  /** Unregistration was asked while flows held contexts: the callout no longer classifies. */
  unregistering = false;
  /** classifyFn calls in progress (FwpsFlowRemoveContext0 returns STATUS_PENDING during one). */
  activeClassifies = 0;
}

/** The conditions of one field (OR-ed together); groups of different fields are AND-ed. */
export interface ConditionGroup {
  readonly field: number;
  readonly matchTypes: readonly number[];
  readonly values: readonly FWP_CONDITION_VALUE0[];
}

/** A filter as the engine stores it. */
export class FilterEntry {
  constructor(
    readonly id: number,
    readonly key: GUID,
    readonly layer: LayerInfo,
    readonly sublayer: SublayerEntry,
    readonly effectiveWeight: bigint,
    readonly actionType: number,
    readonly callout: CalloutEntry | null,
    readonly flags: number,
    readonly groups: readonly ConditionGroup[],
    /** The FWPS_FILTER0 handed to classifyFn and notifyFn, built once. */
    readonly fwps: FWPS_FILTER0,
    readonly name: string | null,
  ) {}
  /** Position in its sublayer's evaluation order (set by the index). */
  rank = 0;
  /** Per-classify de-duplication mark (set by the index). */
  stamp = 0;
}
