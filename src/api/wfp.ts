/**
 * The idiomatic API of the WFP layer: a filter engine session with methods, conditions built from readable
 * values, and typed errors. Everything calls the same core functions as `wdknet/ddi` (Fwpm*, Fwps*,
 * classifyAtLayer); a failing status becomes a {@link StatusError} carrying it.
 */
import type { DEVICE_OBJECT } from '../kernel/driver.js';
import { DRIVER_OBJECT, IoCreateDevice } from '../kernel/driver.js';
import { StatusError } from '../kernel/status.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { FwpsCalloutRegister1, FwpsCalloutUnregisterById0 } from '../wfp/callouts.js';
import { classifyAtLayer } from '../wfp/classify.js';
import {
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_CALLOUT_UNKNOWN,
  FWP_ACTION_PERMIT,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  RPC_C_AUTHN_WINNT,
} from '../wfp/constants.js';
import { layerById } from '../wfp/layers.js';
import {
  FwpmCalloutAdd0,
  FwpmEngineClose0,
  FwpmEngineOpen0,
  FwpmFilterAdd0,
  FwpmFilterDeleteById0,
  FwpmSubLayerAdd0,
  FwpmTransactionAbort0,
  FwpmTransactionBegin0,
  FwpmTransactionCommit0,
  type HANDLE,
} from '../wfp/management.js';
import {
  FWPM_CALLOUT0,
  FWPM_FILTER_CONDITION0,
  FWPM_FILTER0,
  FWPM_SESSION_FLAG_DYNAMIC,
  FWPM_SESSION0,
  FWPM_SUBLAYER0,
  type FWPS_CALLOUT_CLASSIFY_FN1,
  FWPS_CALLOUT0,
  type FWPS_INCOMING_METADATA_VALUES0,
  type FWPS_INCOMING_VALUES0,
  type GUID,
} from '../wfp/structures.js';
import {
  FWP_CONDITION_VALUE0,
  FWP_MATCH_EQUAL,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_RANGE0,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  FWP_UINT64,
  FWP_V4_ADDR_AND_MASK,
  FWP_V4_ADDR_MASK,
  FWP_VALUE0,
  setNumber,
} from '../wfp/values.js';

export { completeInjectedNetBufferList, type InjectionSink, setInjectionSink } from '../wfp/injection.js';
export { DataPosition, LAYER_DATA_OFFSET, type LayerInfo, layerById, layerByKey } from '../wfp/layers.js';
export { EngineOnlyInjectionSink, type LoopbackVerdict } from '../wfp/sink.js';

function check(status: number, what: string): void {
  if (status < 0) throw new StatusError(status, what);
}

/** A filter condition in readable form; build them with {@link Condition}. */
export type FilterCondition = FWPM_FILTER_CONDITION0;

/** Parses 'a.b.c.d' or 'a.b.c.d/len' into an address and mask. */
function parseV4(cidr: string): { addr: number; mask: number } {
  const [ip, len] = cidr.split('/');
  const parts = (ip ?? '').split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new TypeError(`not an IPv4 address: ${cidr}`);
  }
  const bits = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new TypeError(`bad prefix length: ${cidr}`);
  const addr = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  return { addr, mask: bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0 };
}

/** Builders for common conditions (FWPM_CONDITION_* keys with the right value types). */
export const Condition = {
  /** `field` (an FWPM_CONDITION_* key) equals an integer of `type` (FWP_UINT8 / 16 / 32). */
  equals(field: GUID, type: number, value: number): FilterCondition {
    return new FWPM_FILTER_CONDITION0(field, FWP_MATCH_EQUAL, setNumber(new FWP_CONDITION_VALUE0(), type, value));
  },
  /** `field` lies in [low, high] (integers of `type`). */
  range(field: GUID, type: number, low: number, high: number): FilterCondition {
    const v = new FWP_CONDITION_VALUE0();
    v.type = FWP_RANGE_TYPE;
    v.rangeValue = new FWP_RANGE0(setNumber(new FWP_VALUE0(), type, low), setNumber(new FWP_VALUE0(), type, high));
    return new FWPM_FILTER_CONDITION0(field, FWP_MATCH_RANGE, v);
  },
  /** An IPv4 address field matches 'a.b.c.d' or 'a.b.c.d/len'. */
  ipv4(field: GUID, cidr: string): FilterCondition {
    const { addr, mask } = parseV4(cidr);
    const v = new FWP_CONDITION_VALUE0();
    v.type = FWP_V4_ADDR_MASK;
    v.v4AddrMask = new FWP_V4_ADDR_AND_MASK(addr, mask);
    return new FWPM_FILTER_CONDITION0(field, FWP_MATCH_EQUAL, v);
  },
  /** A port field equals `port`. */
  port(field: GUID, port: number): FilterCondition {
    return Condition.equals(field, FWP_UINT16, port);
  },
  /** A protocol field (FWPM_CONDITION_IP_PROTOCOL) equals `protocol`. */
  protocol(field: GUID, protocol: number): FilterCondition {
    return Condition.equals(field, FWP_UINT8, protocol);
  },
  /** A 32-bit field (interface index, flags...) equals `value`. */
  uint32(field: GUID, value: number): FilterCondition {
    return Condition.equals(field, FWP_UINT32, value);
  },
};

/** What a filter does. */
export type FilterAction =
  | { type: 'block' }
  | { type: 'permit'; hard?: boolean }
  | { type: 'callout'; callout: GUID; mode?: 'terminating' | 'inspection' | 'unknown'; permitIfUnregistered?: boolean };

/** A filter to add. */
export interface FilterOptions {
  /** FWPM_LAYER_* key. */
  layer: GUID;
  sublayer?: GUID;
  /** A 64-bit weight, or a weight range index 0-15; omitted for automatic. */
  weight?: bigint | { range: number };
  action: FilterAction;
  conditions?: FilterCondition[];
  key?: GUID;
  name?: string;
  /** FWPS_FILTER0.context, given to the callout. */
  context?: bigint;
}

/** A callout registered by {@link FilterEngine.addCallout}. */
export interface CalloutHandle {
  readonly key: GUID;
  readonly id: number;
  /** FwpsCalloutUnregisterById0; throws StatusError with STATUS_DEVICE_BUSY while flows hold contexts. */
  unregister(): void;
}

let devices = 0;
function defaultDevice(): DEVICE_OBJECT {
  const d = { value: null as DEVICE_OBJECT | null };
  check(
    IoCreateDevice(new DRIVER_OBJECT('\\Driver\\wdknet-wfp'), 0, `\\Device\\WdknetWfp${devices++}`, 0x12, 0, false, d),
    'IoCreateDevice',
  );
  return d.value!;
}

/** An open session with the filter engine (FwpmEngineOpen0 .. FwpmEngineClose0). */
export class FilterEngine {
  private constructor(private readonly handle: HANDLE) {}

  /** Opens a session; a dynamic one deletes what it added when closed. */
  static open(options: { dynamic?: boolean } = {}): FilterEngine {
    const session = new FWPM_SESSION0();
    if (options.dynamic) session.flags = FWPM_SESSION_FLAG_DYNAMIC;
    const h = { value: null as HANDLE };
    check(FwpmEngineOpen0(null, RPC_C_AUTHN_WINNT, null, session, h), 'FwpmEngineOpen0');
    return new FilterEngine(h.value);
  }

  /** Adds a sublayer and returns its key. */
  addSublayer(weight: number, key?: GUID, name?: string): GUID {
    const s = new FWPM_SUBLAYER0();
    if (key) s.subLayerKey = key;
    s.weight = weight;
    s.displayData.name = name ?? null;
    check(FwpmSubLayerAdd0(this.handle, s, null), 'FwpmSubLayerAdd0');
    return s.subLayerKey;
  }

  /**
   * Adds a callout object for `layer` and registers `classify` for it (classifyFn1 signature), against
   * `device` or a device of its own.
   */
  addCallout(
    key: GUID,
    layer: GUID,
    classify: FWPS_CALLOUT_CLASSIFY_FN1,
    options: {
      notify?: FWPS_CALLOUT0['notifyFn'];
      flowDelete?: FWPS_CALLOUT0['flowDeleteFn'];
      flags?: number;
      device?: DEVICE_OBJECT;
    } = {},
  ): CalloutHandle {
    const m = new FWPM_CALLOUT0();
    m.calloutKey = key;
    m.applicableLayer = layer;
    check(FwpmCalloutAdd0(this.handle, m, null, null), 'FwpmCalloutAdd0');
    const c = new FWPS_CALLOUT0();
    c.calloutKey = m.calloutKey;
    c.classifyFn = classify;
    c.notifyFn = options.notify ?? (() => 0);
    c.flowDeleteFn = options.flowDelete ?? null;
    c.flags = options.flags ?? 0;
    const id = { value: 0 };
    check(FwpsCalloutRegister1(options.device ?? defaultDevice(), c, id), 'FwpsCalloutRegister1');
    return {
      key: m.calloutKey,
      id: id.value,
      unregister: () => check(FwpsCalloutUnregisterById0(id.value), 'FwpsCalloutUnregisterById0'),
    };
  }

  /** Adds a filter and returns its id. */
  addFilter(options: FilterOptions): number {
    const f = new FWPM_FILTER0();
    f.layerKey = options.layer;
    if (options.sublayer) f.subLayerKey = options.sublayer;
    if (options.key) f.filterKey = options.key;
    f.displayData.name = options.name ?? null;
    if (typeof options.weight === 'bigint') {
      f.weight.type = FWP_UINT64;
      f.weight.uint64 = options.weight;
    } else if (options.weight) {
      f.weight.type = FWP_UINT8;
      f.weight.uint8 = options.weight.range;
    }
    const a = options.action;
    if (a.type === 'block') f.action.type = FWP_ACTION_BLOCK;
    else if (a.type === 'permit') {
      f.action.type = FWP_ACTION_PERMIT;
      if (a.hard) f.flags |= FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT;
    } else {
      f.action.type =
        a.mode === 'inspection'
          ? FWP_ACTION_CALLOUT_INSPECTION
          : a.mode === 'unknown'
            ? FWP_ACTION_CALLOUT_UNKNOWN
            : FWP_ACTION_CALLOUT_TERMINATING;
      f.action.calloutKey = a.callout;
      if (a.permitIfUnregistered) f.flags |= FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED;
    }
    f.filterCondition = options.conditions ?? [];
    f.numFilterConditions = f.filterCondition.length;
    f.rawContext = options.context ?? 0n;
    const id = { value: 0 };
    check(FwpmFilterAdd0(this.handle, f, null, id), 'FwpmFilterAdd0');
    return id.value;
  }

  /** Deletes a filter by id. */
  deleteFilter(id: number): void {
    check(FwpmFilterDeleteById0(this.handle, id), 'FwpmFilterDeleteById0');
  }

  /** Runs `changes` in a transaction: committed if it returns, aborted if it throws. */
  transaction<T>(changes: () => T): T {
    check(FwpmTransactionBegin0(this.handle, 0), 'FwpmTransactionBegin0');
    try {
      const result = changes();
      check(FwpmTransactionCommit0(this.handle), 'FwpmTransactionCommit0');
      return result;
    } catch (e) {
      FwpmTransactionAbort0(this.handle);
      throw e;
    }
  }

  /** Closes the session. */
  close(): void {
    check(FwpmEngineClose0(this.handle), 'FwpmEngineClose0');
  }
}

/** A classify verdict in readable form. */
export interface Verdict {
  /** 'permit' or 'block'. */
  action: 'permit' | 'block';
  /** A callout absorbed the packet (FWPS_CLASSIFY_OUT_FLAG_ABSORB): drop it silently. */
  absorbed: boolean;
  /** The deciding filter (0 for the layer's default). */
  filterId: number;
  /** FWPS_RIGHT_ACTION_WRITE was left set (a soft decision). */
  overridable: boolean;
}

/** Classifies at a layer (classifyAtLayer) and returns a fresh readable verdict. */
export function classify(
  layerId: number,
  values: FWPS_INCOMING_VALUES0,
  metadata: FWPS_INCOMING_METADATA_VALUES0,
  packet: NET_BUFFER_LIST | null = null,
): Verdict {
  if (!layerById(layerId)) throw new RangeError(`layer ${layerId} is not modelled by the filter engine`);
  const out = classifyAtLayer(layerId, values, metadata, packet);
  return {
    action: out.actionType === FWP_ACTION_BLOCK ? 'block' : 'permit',
    absorbed: (out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB) !== 0,
    filterId: out.filterId,
    overridable: out.rights !== 0,
  };
}
