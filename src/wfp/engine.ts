/**
 * The filter engine's state: sublayers, callouts and filters per layer, and the sessions that change them. The
 * management functions (Fwpm*) live in management.ts, registration (FwpsCallout*) in callouts.ts and the
 * classify path in classify.ts; all share the registries here. `resetSystem()` clears everything.
 */
import { onSystemReset } from '../kernel/system.js';
import type { CalloutEntry, FilterEntry, SublayerEntry } from './filterEntry.js';
import { SublayerEntry as Sublayer } from './filterEntry.js';
import { SublayerFilters } from './filterIndex.js';
import { LayerGate } from './layerGate.js';
import { type LayerInfo, layerById } from './layers.js';
import { StaticDecisions } from './staticDecisions.js';
import type { FWPS_INCOMING_VALUES0, GUID } from './structures.js';

/** FWPM_SUBLAYER_UNIVERSAL: where filters without a sublayer key go. */
export const FWPM_SUBLAYER_UNIVERSAL: GUID = 'eebecc03-ced4-4380-819a-2734397b2b6f';
/** The universal sublayer's weight (decided: the middle of the UINT16 range, so drivers can sort above or below). */
export const UNIVERSAL_SUBLAYER_WEIGHT = 0x8000;

/** One sublayer's filters at one layer. */
export interface Bucket {
  readonly sublayer: SublayerEntry;
  readonly filters: SublayerFilters;
}

/** A layer's buckets, sorted by sublayer weight (highest first). */
export class LayerState {
  readonly buckets: Bucket[] = [];
  /**
   * Filters at this layer (all sublayers), kept on every add and remove: the host reads it per packet to skip a
   * layer with no filters, so it is a field, not a sum over the buckets.
   */
  filterCount = 0;
  /** Bumped on every change of the layer's filters: caches of what they read compare it (see conditionFields). */
  generation = 0;
  private fieldsGeneration = -1;
  private fields: Int32Array = new Int32Array(0);
  private readonly gate = new LayerGate();
  private gateGeneration = -1;
  /** The layer's static decisions and the generation they were computed for (kept by classify.ts). */
  readonly decisions = new StaticDecisions();
  decisionsGeneration = -1;
  constructor(readonly info: LayerInfo) {}

  /**
   * True when no filter at this layer can match `values` (LayerGate): the classify's result is then the layer's
   * default, and arbitration can be skipped. False when some filter may match.
   */
  noFilterCanMatch(values: FWPS_INCOMING_VALUES0): boolean {
    if (this.gateGeneration !== this.generation) {
      this.gate.rebuild(this.allFilters());
      this.gateGeneration = this.generation;
    }
    return this.gate.closed(values);
  }

  /** Every filter at this layer, all sublayers (a new array: for rebuilding what is derived from them). */
  allFilters(): FilterEntry[] {
    const all: FilterEntry[] = [];
    for (const b of this.buckets) all.push(...b.filters.filters);
    return all;
  }

  bucketFor(sublayer: SublayerEntry): Bucket {
    let b = this.buckets.find((x) => x.sublayer === sublayer);
    if (!b) {
      b = { sublayer, filters: new SublayerFilters() };
      this.buckets.push(b);
      this.buckets.sort((x, y) => y.sublayer.weight - x.sublayer.weight || x.sublayer.seq - y.sublayer.seq);
    }
    return b;
  }

  /** Files `f` in its sublayer's bucket (it is classified from now on). */
  addFilter(f: FilterEntry): void {
    this.bucketFor(f.sublayer).filters.add(f);
    this.filterCount++;
    this.generation++;
  }

  /** Takes `f` out of its sublayer's bucket; false when it was not there (a disabled filter never is). */
  removeFilter(f: FilterEntry): boolean {
    if (!this.bucketFor(f.sublayer).filters.remove(f)) return false;
    this.filterCount--;
    this.generation++;
    return true;
  }

  /**
   * The field indexes (FWPS_FIELD_* of this layer) that some filter's conditions test, ascending, each once.
   * Only these incoming values can decide which filters match; the rest matter only to callouts. Recomputed
   * after the filters change; the array returned is replaced, never modified, so a caller may keep it.
   */
  conditionFields(): Int32Array {
    if (this.fieldsGeneration !== this.generation) {
      const seen = new Set<number>();
      for (const f of this.allFilters()) for (const g of f.groups) seen.add(g.field);
      this.fields = Int32Array.from([...seen].sort((x, y) => x - y));
      this.fieldsGeneration = this.generation;
    }
    return this.fields;
  }
}

/** The engine's registries. */
export const engine = {
  sublayers: new Map<GUID, SublayerEntry>(),
  callouts: new Map<GUID, CalloutEntry>(),
  calloutsById: [] as (CalloutEntry | undefined)[],
  filters: new Map<number, FilterEntry>(),
  filtersByKey: new Map<GUID, FilterEntry>(),
  layers: [] as (LayerState | undefined)[],
  nextFilterId: 1,
  nextCalloutId: 1,
  seq: 0,
  guidCounter: 0,
};

/** The run-time state of a modelled layer, created on first use; undefined for unknown layers. */
export function layerState(layerId: number): LayerState | undefined {
  let s = engine.layers[layerId];
  if (!s) {
    const info = layerById(layerId);
    if (!info) return undefined;
    s = new LayerState(info);
    engine.layers[layerId] = s;
  }
  return s;
}

/** A fresh GUID for an object added with a zero key (deterministic, so runs repeat exactly). */
export function generateGuid(): GUID {
  const n = ++engine.guidCounter;
  return `7764636e-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** True for a missing or all-zero GUID. */
export function isNullGuid(key: GUID | null | undefined): boolean {
  return !key || /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(key);
}

/** Normalises a GUID to lowercase; returns null if it is not a GUID string. */
export function normaliseGuid(key: string): GUID | null {
  const k = key.toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(k) ? k : null;
}

function resetEngine(): void {
  engine.sublayers.clear();
  engine.callouts.clear();
  engine.calloutsById.length = 0;
  engine.filters.clear();
  engine.filtersByKey.clear();
  // The old states are retired: their generation moves, so a cache of one (the host's per-layer inputs) is stale.
  for (const s of engine.layers) if (s !== undefined) s.generation++;
  engine.layers.length = 0;
  engine.nextFilterId = 1;
  engine.nextCalloutId = 1;
  engine.seq = 0;
  engine.guidCounter = 0;
  engine.sublayers.set(
    FWPM_SUBLAYER_UNIVERSAL,
    new Sublayer(FWPM_SUBLAYER_UNIVERSAL, UNIVERSAL_SUBLAYER_WEIGHT, 0, engine.seq++, 'FWPM_SUBLAYER_UNIVERSAL'),
  );
}

resetEngine();
onSystemReset(resetEngine);
