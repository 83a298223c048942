/**
 * The engine against a naive reference evaluator written here from the "Filter Arbitration" and "Filter Weight
 * Assignment" pages: random sublayers, filters (static and scripted callouts, all weight kinds, indexed and
 * unindexed conditions) and random packets. The reference sorts and scans everything linearly; the engine uses
 * its index. They must agree on the action, the rights, the flags, the deciding filter and the order of callouts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import {
  classifyAtLayer,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_CALLOUT_UNKNOWN,
  FWP_ACTION_CONTINUE,
  FWP_ACTION_PERMIT,
  FWP_CONDITION_VALUE0,
  FWP_MATCH_EQUAL,
  FWP_MATCH_GREATER,
  FWP_MATCH_LESS,
  FWP_MATCH_NOT_EQUAL,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_RANGE0,
  FWP_UINT8,
  FWP_UINT16,
  FWP_V4_ADDR_AND_MASK,
  FWP_V4_ADDR_MASK,
  FWP_VALUE0,
  FWPM_CONDITION_IP_LOCAL_PORT,
  FWPM_CONDITION_IP_PROTOCOL,
  FWPM_CONDITION_IP_REMOTE_ADDRESS,
  FWPM_CONDITION_IP_REMOTE_PORT,
  FWPM_FILTER_CONDITION0,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_SUBLAYER_UNIVERSAL,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPS_RIGHT_ACTION_WRITE,
  setNumber,
} from '../../src/wfp/index.js';
import { ABSORB, type CalloutCall, CLEAR_RIGHT, RESPECT_RIGHT, Ret, script, scriptedClassify } from './script.js';
import {
  addCallout,
  addFilter,
  addSublayer,
  guid,
  noMetadata,
  openEngine,
  type Tuple,
  transportValues,
} from './util.js';

const CALLOUT = guid(0xc0);

// ---- the model ------------------------------------------------------------------------------------------------

type Cond =
  | { kind: 'portEq'; port: number; not: boolean }
  | { kind: 'portRange'; lo: number; hi: number }
  | { kind: 'localGt'; port: number }
  | { kind: 'localLt'; port: number }
  | { kind: 'proto'; proto: number }
  | { kind: 'addr'; addr: number; prefix: number };

type Weight = { kind: 'u64'; w: number } | { kind: 'empty' } | { kind: 'u8'; index: number };

interface FilterModel {
  sublayer: number; // index into sublayers, -1 for the universal sublayer
  weight: Weight;
  action: 'block' | 'permit' | 'hardPermit' | 'terminating' | 'inspection' | 'unknown';
  ret: number;
  scriptFlags: number;
  conds: Cond[];
}

const PORTS = [22, 80, 443, 8080];
const ADDRS = [0x0a000001, 0x0a000101, 0x0a010001, 0xc0a80001];

const condArb: fc.Arbitrary<Cond> = fc.oneof(
  fc.record({ kind: fc.constant('portEq' as const), port: fc.constantFrom(...PORTS), not: fc.boolean() }),
  fc
    .tuple(fc.constantFrom(...PORTS), fc.constantFrom(...PORTS))
    .map(([a, b]) => ({ kind: 'portRange' as const, lo: Math.min(a, b), hi: Math.max(a, b) })),
  fc.record({ kind: fc.constant('localGt' as const), port: fc.integer({ min: 1000, max: 60000 }) }),
  fc.record({ kind: fc.constant('localLt' as const), port: fc.integer({ min: 1000, max: 60000 }) }),
  fc.record({ kind: fc.constant('proto' as const), proto: fc.constantFrom(6, 17) }),
  fc.record({
    kind: fc.constant('addr' as const),
    addr: fc.constantFrom(...ADDRS),
    prefix: fc.constantFrom(0, 8, 16, 24, 32),
  }),
);

const weightArb: fc.Arbitrary<Weight> = fc.oneof(
  fc.record({ kind: fc.constant('u64' as const), w: fc.integer({ min: 0, max: 4 }) }),
  fc.constant({ kind: 'empty' as const }),
  fc.record({ kind: fc.constant('u8' as const), index: fc.integer({ min: 0, max: 15 }) }),
);

const filterArb = (sublayers: number): fc.Arbitrary<FilterModel> =>
  fc.record({
    sublayer: fc.integer({ min: -1, max: sublayers - 1 }),
    weight: weightArb,
    action: fc.constantFrom('block', 'permit', 'hardPermit', 'terminating', 'inspection', 'unknown'),
    ret: fc.constantFrom(Ret.Leave, Ret.Block, Ret.Permit, Ret.Continue, Ret.Garbage),
    scriptFlags: fc.subarray([CLEAR_RIGHT, ABSORB, RESPECT_RIGHT]).map((a) => a.reduce((x, y) => x | y, 0)),
    conds: fc.array(condArb, { maxLength: 3 }),
  });

const tupleArb: fc.Arbitrary<Tuple> = fc.record({
  protocol: fc.constantFrom(6, 17),
  localAddress: fc.constant(0x0a0000fe),
  remoteAddress: fc.constantFrom(...ADDRS, 0x08080808),
  localPort: fc.integer({ min: 1000, max: 60000 }),
  remotePort: fc.constantFrom(...PORTS, 53),
});

const scenarioArb = fc
  .array(fc.constantFrom(0x100, 0x8000, 0x9000, 0xffff), { minLength: 1, maxLength: 3 })
  .chain((sublayerWeights) =>
    fc.record({
      sublayerWeights: fc.constant(sublayerWeights),
      filters: fc.array(filterArb(sublayerWeights.length), { maxLength: 25 }),
      packets: fc.array(tupleArb, { minLength: 1, maxLength: 8 }),
    }),
  );

// ---- the reference evaluator ------------------------------------------------------------------------------------

function condHolds(c: Cond, t: Tuple): boolean {
  switch (c.kind) {
    case 'portEq':
      return c.not ? t.remotePort !== c.port : t.remotePort === c.port;
    case 'portRange':
      return t.remotePort >= c.lo && t.remotePort <= c.hi;
    case 'localGt':
      return t.localPort > c.port;
    case 'localLt':
      return t.localPort < c.port;
    case 'proto':
      return t.protocol === c.proto;
    case 'addr': {
      if (c.prefix === 0) return true;
      const shift = 32 - c.prefix;
      return Math.floor(t.remoteAddress / 2 ** shift) === Math.floor(c.addr / 2 ** shift);
    }
  }
}

/** The field a condition tests: conditions on one field are OR-ed, fields are AND-ed. */
function fieldOf(c: Cond): string {
  return c.kind === 'portEq' || c.kind === 'portRange'
    ? 'remotePort'
    : c.kind === 'localGt' || c.kind === 'localLt'
      ? 'localPort'
      : c.kind;
}

function matches(f: FilterModel, t: Tuple): boolean {
  const fields = new Set(f.conds.map(fieldOf));
  for (const field of fields) {
    if (!f.conds.filter((c) => fieldOf(c) === field).some((c) => condHolds(c, t))) return false;
  }
  return true;
}

/** Effective weight per "Filter Weight Assignment", with the engine's documented automatic part. */
function weightOf(f: FilterModel): bigint {
  const auto = BigInt(f.conds.length) * 2n ** 52n;
  if (f.weight.kind === 'u64') return BigInt(f.weight.w);
  if (f.weight.kind === 'empty') return auto;
  return BigInt(f.weight.index) * 2n ** 60n + auto;
}

interface Outcome {
  action: number;
  rights: number;
  absorb: boolean;
  filterId: number;
  calls: number[];
}

function reference(sublayerWeights: number[], filters: FilterModel[], ids: number[], t: Tuple): Outcome {
  // Sublayers: the universal one (0x8000, added first), then the test's, by weight then age.
  const subs = [
    { idx: -1, weight: 0x8000, age: 0 },
    ...sublayerWeights.map((w, i) => ({ idx: i, weight: w, age: i + 1 })),
  ];
  subs.sort((a, b) => b.weight - a.weight || a.age - b.age);
  let action = FWP_ACTION_PERMIT;
  let decided = false;
  let right = true;
  let absorb = false;
  let filterId = 0;
  const calls: number[] = [];
  for (const s of subs) {
    const list = filters
      .map((f, i) => ({ f, id: ids[i]!, w: weightOf(f) }))
      .filter((x) => x.f.sublayer === s.idx && matches(x.f, t))
      .sort((a, b) => (a.w === b.w ? a.id - b.id : a.w > b.w ? -1 : 1));
    for (const { f, id } of list) {
      if (f.action === 'block' || f.action === 'permit' || f.action === 'hardPermit') {
        if (right) {
          action = f.action === 'block' ? FWP_ACTION_BLOCK : FWP_ACTION_PERMIT;
          decided = true;
          filterId = id;
          if (f.action !== 'permit') right = false;
        }
        break;
      }
      calls.push(id);
      // What the scripted callout answers.
      const before = decided ? action : FWP_ACTION_CONTINUE;
      let ret = before;
      let cleared = false;
      if (!(f.scriptFlags & RESPECT_RIGHT && !right)) {
        if (f.ret === Ret.Block) ret = FWP_ACTION_BLOCK;
        else if (f.ret === Ret.Permit) ret = FWP_ACTION_PERMIT;
        else if (f.ret === Ret.Continue) ret = FWP_ACTION_CONTINUE;
        else if (f.ret === Ret.Garbage) ret = 7;
        cleared = (f.scriptFlags & CLEAR_RIGHT) !== 0;
        if (f.scriptFlags & ABSORB) absorb = true;
      }
      if (!right) {
        if (ret === FWP_ACTION_BLOCK) {
          if (action === FWP_ACTION_PERMIT) {
            action = FWP_ACTION_BLOCK;
            filterId = id;
          }
          break;
        }
        continue;
      }
      if (f.action === 'terminating') ret = ret === FWP_ACTION_PERMIT ? FWP_ACTION_PERMIT : FWP_ACTION_BLOCK;
      else if (f.action === 'inspection') ret = FWP_ACTION_CONTINUE;
      else if (ret !== FWP_ACTION_PERMIT && ret !== FWP_ACTION_BLOCK) ret = FWP_ACTION_CONTINUE;
      if (ret === FWP_ACTION_CONTINUE) continue;
      action = ret;
      decided = true;
      filterId = id;
      if (cleared) right = false;
      break;
    }
  }
  return { action, rights: right ? FWPS_RIGHT_ACTION_WRITE : 0, absorb, filterId, calls };
}

// ---- building the same scenario in the engine ----------------------------------------------------------------------

function conditionOf(c: Cond): FWPM_FILTER_CONDITION0 {
  const v = new FWP_CONDITION_VALUE0();
  switch (c.kind) {
    case 'portEq':
      return new FWPM_FILTER_CONDITION0(
        FWPM_CONDITION_IP_REMOTE_PORT,
        c.not ? FWP_MATCH_NOT_EQUAL : FWP_MATCH_EQUAL,
        setNumber(v, FWP_UINT16, c.port),
      );
    case 'portRange':
      v.type = FWP_RANGE_TYPE;
      v.rangeValue = new FWP_RANGE0(
        setNumber(new FWP_VALUE0(), FWP_UINT16, c.lo),
        setNumber(new FWP_VALUE0(), FWP_UINT16, c.hi),
      );
      return new FWPM_FILTER_CONDITION0(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_RANGE, v);
    case 'localGt':
      return new FWPM_FILTER_CONDITION0(
        FWPM_CONDITION_IP_LOCAL_PORT,
        FWP_MATCH_GREATER,
        setNumber(v, FWP_UINT16, c.port),
      );
    case 'localLt':
      return new FWPM_FILTER_CONDITION0(FWPM_CONDITION_IP_LOCAL_PORT, FWP_MATCH_LESS, setNumber(v, FWP_UINT16, c.port));
    case 'proto':
      return new FWPM_FILTER_CONDITION0(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_EQUAL, setNumber(v, FWP_UINT8, c.proto));
    case 'addr': {
      v.type = FWP_V4_ADDR_MASK;
      const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
      v.v4AddrMask = new FWP_V4_ADDR_AND_MASK(c.addr, mask);
      return new FWPM_FILTER_CONDITION0(FWPM_CONDITION_IP_REMOTE_ADDRESS, FWP_MATCH_EQUAL, v);
    }
  }
}

describe('classify agrees with a naive reference evaluator (Filter Arbitration, W- engine property)', () => {
  it('over random sublayers, filters (static and callout, all weight kinds) and packets', () => {
    fc.assert(
      fc.property(scenarioArb, ({ sublayerWeights, filters, packets }) => {
        resetSystem();
        const h = openEngine();
        const calls: CalloutCall[] = [];
        addCallout(h, CALLOUT, scriptedClassify(calls));
        const subKeys = sublayerWeights.map((w, i) => addSublayer(h, w, guid(0x5000 + i)));
        const ids = filters.map((f) => {
          const action =
            f.action === 'block'
              ? FWP_ACTION_BLOCK
              : f.action === 'permit' || f.action === 'hardPermit'
                ? FWP_ACTION_PERMIT
                : f.action === 'terminating'
                  ? FWP_ACTION_CALLOUT_TERMINATING
                  : f.action === 'inspection'
                    ? FWP_ACTION_CALLOUT_INSPECTION
                    : FWP_ACTION_CALLOUT_UNKNOWN;
          return addFilter(h, {
            subLayerKey: f.sublayer < 0 ? FWPM_SUBLAYER_UNIVERSAL : subKeys[f.sublayer],
            weight:
              f.weight.kind === 'u64' ? BigInt(f.weight.w) : f.weight.kind === 'u8' ? { uint8: f.weight.index } : null,
            action,
            calloutKey: action & 0x4000 ? CALLOUT : undefined,
            flags: f.action === 'hardPermit' ? FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT : 0,
            conditions: f.conds.map(conditionOf),
            rawContext: script(f.ret, f.scriptFlags),
          });
        });
        for (const t of packets) {
          calls.length = 0;
          const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(t), noMetadata(), null);
          const got: Outcome = {
            action: out.actionType,
            rights: out.rights,
            absorb: (out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB) !== 0,
            filterId: out.filterId,
            calls: calls.map((c) => c.filterId),
          };
          assert.deepEqual(got, reference(sublayerWeights, filters, ids, t));
        }
      }),
      { numRuns: 400 },
    );
  });
});
