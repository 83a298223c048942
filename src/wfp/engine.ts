/**
 * The filter engine's state: sublayers, callouts and filters per layer, and the sessions that change them. The
 * management functions (Fwpm*) live in management.ts, registration (FwpsCallout*) in callouts.ts and the
 * classify path in classify.ts; all share the registries here. `resetSystem()` clears everything.
 */
import { onSystemReset } from '../kernel/system.js';
import type { CalloutEntry, FilterEntry, SublayerEntry } from './filterEntry.js';
import { SublayerEntry as Sublayer } from './filterEntry.js';
import { SublayerFilters } from './filterIndex.js';
import { type LayerInfo, layerById } from './layers.js';
import type { GUID } from './structures.js';

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
  constructor(readonly info: LayerInfo) {}

  bucketFor(sublayer: SublayerEntry): Bucket {
    let b = this.buckets.find((x) => x.sublayer === sublayer);
    if (!b) {
      b = { sublayer, filters: new SublayerFilters() };
      this.buckets.push(b);
      this.buckets.sort((x, y) => y.sublayer.weight - x.sublayer.weight || x.sublayer.seq - y.sublayer.seq);
    }
    return b;
  }

  /** Filters at this layer. */
  get filterCount(): number {
    let n = 0;
    for (const b of this.buckets) n += b.filters.size;
    return n;
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
