/**
 * Classification: the one call the host's IP layer makes at a filtering layer, and the filter arbitration it
 * runs ("Filter Arbitration", learn.microsoft.com):
 *
 * - Sublayers are evaluated from the highest weight to the lowest, all of them, even after a block.
 * - Within a sublayer, matching filters run from the highest weight; the first PERMIT or BLOCK ends the
 *   sublayer, CONTINUE goes on.
 * - Across sublayers the engine keeps the current action and FWPS_RIGHT_ACTION_WRITE. While the right is set, a
 *   lower sublayer's decision replaces the current one (a soft permit can be blocked, a soft block permitted).
 *   Once it is cleared (a hard decision), only a callout's BLOCK - a veto - changes it, and only from PERMIT.
 * - Static filters: PERMIT is soft unless the filter has FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT; BLOCK is hard.
 *   Callouts: the result is soft unless the callout clears the right itself (as drivers do when the filter
 *   carries FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT).
 * - CALLOUT_TERMINATING must return BLOCK or PERMIT (anything else is BLOCK); CALLOUT_INSPECTION is
 *   non-terminating (its return is CONTINUE); CALLOUT_UNKNOWN may return any of them.
 * - A callout filter whose callout is not registered: terminating acts as BLOCK, or PERMIT with
 *   FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED; inspection is skipped.
 * - With no decision the layer's default action is PERMIT.
 *
 * Two shortcuts give the same results without arbitrating per packet: a layer whose filters are all static and
 * test one field with exact conditions is decided by value from a table (staticDecisions.ts), and at other layers
 * a packet that no filter can match gets the default at once (layerGate.ts). Both are rebuilt when the layer's
 * filters change. The caller may fill the inputs lazily ({@link LazyClassifyInputs}), and may decide a layer by
 * value itself from the table ({@link staticDecisionsOf}) when it can read the value without filling it.
 *
 * Steady state allocates nothing: the classify-out structures and candidate buffers are reused.
 */

import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { DISPATCH_LEVEL, requireIrqlAtMost } from '../kernel/irql.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import {
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_CONTINUE,
  FWP_ACTION_FLAG_CALLOUT,
  FWP_ACTION_PERMIT,
  FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED,
  FWPS_METADATA_FIELD_FLOW_HANDLE,
  FWPS_RIGHT_ACTION_WRITE,
} from './constants.js';
import { type Bucket, engine, type LayerState, layerState } from './engine.js';
import type { FilterEntry } from './filterEntry.js';
import { CandidateList } from './filterIndex.js';
import { conditionMatches } from './match.js';
import { type StaticDecisions, staticExactField } from './staticDecisions.js';
import {
  type FWPS_CALLOUT_CLASSIFY_FN0,
  type FWPS_CALLOUT_CLASSIFY_FN1,
  FWPS_CLASSIFY_OUT0,
  FWPS_INCOMING_METADATA_VALUES0,
  FWPS_INCOMING_VALUES0,
} from './structures.js';
import { setNumber, smallIntegerOf } from './values.js';

/** DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 (wdknet's): classify called with values for another layer. */
export const WFP_RULE_CLASSIFY_WRONG_LAYER = 0x00090010;
/** DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 (wdknet's): classify at a layer this engine does not model. */
export const WFP_RULE_CLASSIFY_UNKNOWN_LAYER = 0x00090011;
/** wdknet's DDI rule id for classify above DISPATCH_LEVEL. */
export const WFP_RULE_IRQL_CLASSIFY = 0x00090012;

/**
 * Lets a caller fill a classify's inputs lazily. Before classifying it fills at least the incoming values that the
 * layer's filter conditions test (LayerState.conditionFields); the engine calls {@link prepareCalloutInputs}
 * before each classifyFn it runs, and from then on every incoming value and the metadata must be what the caller
 * would have filled up front. Only conditions and callouts read a classify's inputs, so a classify that runs no
 * callout never pays for the rest. It is called once per classify, before its first classifyFn.
 */
export interface LazyClassifyInputs {
  /** Completes every incoming value and the metadata of the classify in progress. */
  prepareCalloutInputs(): void;
}

/** Scratch structures for one nesting depth of classify (a callout may, rarely, classify from its classifyFn). */
class ClassifyFrame {
  readonly result = new FWPS_CLASSIFY_OUT0();
  readonly calloutOut = new FWPS_CLASSIFY_OUT0();
  readonly candidates = new CandidateList();
}
const frames: ClassifyFrame[] = [new ClassifyFrame()];
let depth = 0;

/** True when every condition group of `f` has a matching condition (same field OR-ed, fields AND-ed). */
function filterMatches(f: FilterEntry, values: FWPS_INCOMING_VALUES0): boolean {
  const incoming = values.incomingValue;
  const groups = f.groups;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const slot = incoming[group.field];
    if (!slot) return false;
    let any = false;
    for (let i = 0; i < group.values.length; i++) {
      if (conditionMatches(slot.value, group.matchTypes[i]!, group.values[i]!)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

/**
 * Classifies at `layerId` and returns the decision: `actionType` (FWP_ACTION_PERMIT or FWP_ACTION_BLOCK),
 * `rights`, `flags` (FWPS_CLASSIFY_OUT_FLAG_ABSORB means drop silently) and `filterId` of the deciding filter
 * (0 for the default action). The returned structure is reused by the next classify at the same depth: read it
 * before classifying again.
 *
 * `inFixedValues` is indexed by the layer's FWPS_FIELD_* ids; `layerData` is the packet (positioned as
 * LAYER_DATA_OFFSET says) or null. `lazyInputs`: see {@link LazyClassifyInputs}; null when the inputs are
 * complete. Callable at IRQL <= DISPATCH_LEVEL.
 */
export function classifyAtLayer(
  layerId: number,
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  classifyContext: unknown = null,
  lazyInputs: LazyClassifyInputs | null = null,
): FWPS_CLASSIFY_OUT0 {
  if (verifierLevel >= VERIFIER_STANDARD) verifyClassify(layerId, inFixedValues);
  const layer = layerState(layerId);
  if (!layer) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_CLASSIFY_UNKNOWN_LAYER,
      layerId,
      0,
      0,
      `classify at layer ${layerId}, which this filter engine does not model`,
    );
  }
  return classifyState(layer, inFixedValues, inMetaValues, layerData, classifyContext, lazyInputs);
}

/**
 * {@link classifyAtLayer} for a caller that already holds the layer's state (the host's classifier looked it up
 * to skip a layer with no filters): the same checks and arbitration, without a second lookup.
 */
export function classifyLayer(
  layer: LayerState,
  inFixedValues: FWPS_INCOMING_VALUES0,
  inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  lazyInputs: LazyClassifyInputs | null,
): FWPS_CLASSIFY_OUT0 {
  if (verifierLevel >= VERIFIER_STANDARD) verifyClassify(layer.info.layerId, inFixedValues);
  return classifyState(layer, inFixedValues, inMetaValues, layerData, null, lazyInputs);
}

/** The verifier's checks of a classify: IRQL, and incoming values of the layer classified. */
function verifyClassify(layerId: number, values: FWPS_INCOMING_VALUES0): void {
  verifyClassifyIrql();
  if (values.layerId !== layerId) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      WFP_RULE_CLASSIFY_WRONG_LAYER,
      layerId,
      values.layerId,
      0,
      `classify at layer ${layerId} with incoming values of layer ${values.layerId}`,
    );
  }
}

function classifyState(
  layer: LayerState,
  values: FWPS_INCOMING_VALUES0,
  meta: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  classifyContext: unknown,
  lazyInputs: LazyClassifyInputs | null,
): FWPS_CLASSIFY_OUT0 {
  if (depth === frames.length) frames.push(new ClassifyFrame());
  const frame = frames[depth]!;
  // A layer decided by value (staticDecisions.ts) needs no gate; others skip arbitration when the gate closes.
  if (staticDecisionsOf(layer).decide(values, frame.result, FWP_ACTION_PERMIT, FWPS_RIGHT_ACTION_WRITE))
    return frame.result;
  if (layer.noFilterCanMatch(values)) {
    // No filter matches (see LayerGate), so no callout runs: arbitration would give the layer's default.
    const out = frame.result;
    out.actionType = FWP_ACTION_PERMIT;
    out.rights = FWPS_RIGHT_ACTION_WRITE;
    out.flags = 0;
    out.filterId = 0;
    out.outContext = 0n;
    return out;
  }
  depth++;
  try {
    return arbitrate(layer.buckets, frame, values, meta, layerData, classifyContext, lazyInputs);
  } finally {
    depth--;
  }
}

/**
 * The static decisions of `layer` for its filters now (staticDecisions.ts; `field` is -1 when the layer does not
 * qualify), computed when its filters have changed since they last were. A caller that reads the decided field's
 * value without filling incoming values may decide a classify from them as {@link classifyLayer} would: the
 * deciding filter and action are those of the value's entry, else the layer's default (PERMIT with the write
 * right, filter 0), with no flags and no callout run; under the verifier it must still check the IRQL
 * ({@link verifyClassifyIrql}).
 */
export function staticDecisionsOf(layer: LayerState): StaticDecisions {
  if (layer.decisionsGeneration !== layer.generation) computeStaticDecisions(layer);
  return layer.decisions;
}

/** The verifier's IRQL check of a classify (see classifyAtLayer), for a caller that decides one without it. */
export function verifyClassifyIrql(): void {
  requireIrqlAtMost(DISPATCH_LEVEL, 'classifyAtLayer', WFP_RULE_IRQL_CLASSIFY);
}

/** Scratch for computing static decisions (never the frame of a classify in progress). */
const decisionFrame = new ClassifyFrame();

/**
 * Fills `layer.decisions` (see staticDecisions.ts) when its filters qualify: for each value some condition names,
 * the arbitration of a classify whose only value is that one (the filters read nothing else, and run no callout).
 */
function computeStaticDecisions(layer: LayerState): void {
  const d = layer.decisions;
  layer.decisionsGeneration = layer.generation;
  d.field = -1;
  d.byValue.clear();
  d.keys = new Int32Array(0);
  const all = layer.allFilters();
  const keys = new Set<number>();
  const field = all.length === 0 ? -1 : staticExactField(all, keys);
  if (field < 0) return;
  const info = layer.info;
  const fieldType = info.fields[field]!.dataType;
  const values = new FWPS_INCOMING_VALUES0(info.layerId, info.fields.length);
  const meta = new FWPS_INCOMING_METADATA_VALUES0();
  d.actions = new Int32Array(keys.size);
  d.rights = new Int32Array(keys.size);
  d.filterIds = new Float64Array(keys.size);
  d.keys = new Int32Array(keys.size);
  let i = 0;
  for (const key of keys) {
    const value = setNumber(values.incomingValue[field]!.value, fieldType, key);
    const out = arbitrate(layer.buckets, decisionFrame, values, meta, null, null, null);
    d.actions[i] = out.actionType;
    d.rights[i] = out.rights;
    d.filterIds[i] = out.filterId;
    d.keys[i] = smallIntegerOf(value) | 0;
    d.byValue.set(d.keys[i]!, i);
    i++;
  }
  d.fieldType = fieldType;
  d.field = field;
}

function arbitrate(
  buckets: readonly Bucket[],
  frame: ClassifyFrame,
  values: FWPS_INCOMING_VALUES0,
  meta: FWPS_INCOMING_METADATA_VALUES0,
  layerData: NET_BUFFER_LIST | null,
  classifyContext: unknown,
  lazyInputs: LazyClassifyInputs | null,
): FWPS_CLASSIFY_OUT0 {
  let action = FWP_ACTION_PERMIT;
  let decided = false;
  let writable = true;
  let flags = 0;
  let decidingFilter = 0;
  const co = frame.calloutOut;
  // Whether the metadata carries a flow handle, read once, when the first callout runs (see LazyClassifyInputs).
  let prepared = false;
  let hasFlow = false;

  for (let b = 0; b < buckets.length; b++) {
    const bucket = buckets[b]!;
    if (bucket.filters.size === 0) continue;
    const candidates = frame.candidates;
    bucket.filters.candidatesFor(values, candidates);
    const items = candidates.items;
    for (let i = 0; i < candidates.count; i++) {
      const f = items[i]!;
      if (!filterMatches(f, values)) continue;
      const type = f.actionType;
      let result: number;
      let resultHard: boolean;
      if ((type & FWP_ACTION_FLAG_CALLOUT) === 0) {
        // Static filter: BLOCK is hard; PERMIT is hard only with CLEAR_ACTION_RIGHT.
        result = type;
        resultHard = type === FWP_ACTION_BLOCK || (f.flags & FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0;
        if (!writable) break; // It ends the sublayer but cannot override a hard decision.
      } else {
        const c = f.callout!;
        if (!c.registered || c.unregistering) {
          if (type === FWP_ACTION_CALLOUT_INSPECTION) continue;
          result =
            (f.flags & FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED) !== 0 ? FWP_ACTION_PERMIT : FWP_ACTION_BLOCK;
          resultHard = result === FWP_ACTION_BLOCK;
          if (!writable) break;
        } else {
          if (!prepared) {
            // The first callout to run: it (and the flow lookup below) reads the metadata and every incoming value.
            if (lazyInputs !== null) lazyInputs.prepareCalloutInputs();
            hasFlow = (meta.currentMetadataValues & FWPS_METADATA_FIELD_FLOW_HANDLE) !== 0;
            prepared = true;
          }
          let flowContext = 0;
          if (hasFlow) {
            const flow = c.flows.get(meta.flowHandle);
            if (flow && flow.layerId === values.layerId) flowContext = flow.context;
            else if ((c.flags & FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW) !== 0) continue;
          } else if ((c.flags & FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW) !== 0) continue;
          const rightsBefore = writable ? FWPS_RIGHT_ACTION_WRITE : 0;
          // The callout sees the decision so far (CONTINUE before any), as callouts that test a hard BLOCK expect.
          co.actionType = decided ? action : FWP_ACTION_CONTINUE;
          co.rights = rightsBefore;
          co.flags = 0;
          co.filterId = f.id;
          co.outContext = 0n;
          c.activeClassifies++;
          try {
            if (c.version === 0) {
              (c.classifyFn as FWPS_CALLOUT_CLASSIFY_FN0)(values, meta, layerData, f.fwps, flowContext, co);
            } else {
              (c.classifyFn as FWPS_CALLOUT_CLASSIFY_FN1)(
                values,
                meta,
                layerData,
                classifyContext,
                f.fwps,
                flowContext,
                co,
              );
            }
          } finally {
            c.activeClassifies--;
          }
          flags |= co.flags;
          result = co.actionType;
          if (!writable) {
            // A hard decision stands; only a callout's BLOCK - a veto - overrides a hard PERMIT.
            if (result === FWP_ACTION_BLOCK) {
              if (action === FWP_ACTION_PERMIT) {
                action = FWP_ACTION_BLOCK;
                decidingFilter = f.id;
              }
              break;
            }
            continue;
          }
          if (type === FWP_ACTION_CALLOUT_TERMINATING) {
            if (result !== FWP_ACTION_PERMIT) result = FWP_ACTION_BLOCK;
          } else if (type === FWP_ACTION_CALLOUT_INSPECTION) {
            result = FWP_ACTION_CONTINUE;
          } else if (result !== FWP_ACTION_PERMIT && result !== FWP_ACTION_BLOCK) {
            result = FWP_ACTION_CONTINUE;
          }
          if (result === FWP_ACTION_CONTINUE) continue;
          resultHard = (co.rights & FWPS_RIGHT_ACTION_WRITE) === 0;
        }
      }
      // A terminating decision ends the sublayer and, with the right still set, replaces the current action.
      action = result;
      decided = true;
      decidingFilter = f.id;
      if (resultHard) writable = false;
      break;
    }
  }
  const out = frame.result;
  out.actionType = action;
  out.rights = writable ? FWPS_RIGHT_ACTION_WRITE : 0;
  out.flags = flags;
  out.filterId = decidingFilter;
  out.outContext = 0n;
  return out;
}

/** Number of filters at a layer (all sublayers). */
export function filterCountAtLayer(layerId: number): number {
  return layerState(layerId)?.filterCount ?? 0;
}

/** The filters the engine holds, by id (for tools and tests). */
export function filterIds(): number[] {
  return [...engine.filters.keys()];
}
