/**
 * A layer whose filters are all static and test one field with exact conditions is decided by a table computed
 * when its filters change (src/wfp/staticDecisions.ts) instead of by arbitration per packet. The table must give
 * what arbitration gives: over random such filter sets (PERMIT, BLOCK, hard PERMIT; random weights; several
 * sublayers; on the protocol, a port or the remote address) and random packets (values named by a condition or
 * not, of the field's type or not, or empty), every result - action, rights, flags, deciding filter - equals the
 * result of the same filters plus one filter that can never match and keeps the layer from using a table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import { layerState } from '../../src/wfp/engine.js';
import {
  classifyAtLayer,
  FWP_ACTION_BLOCK,
  FWP_ACTION_PERMIT,
  FWP_CONDITION_VALUE0,
  FWP_EMPTY,
  FWP_MATCH_EQUAL,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_RANGE0,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  FWP_V4_ADDR_AND_MASK,
  FWP_V4_ADDR_MASK,
  FWP_VALUE0,
  FWPM_CONDITION_IP_PROTOCOL,
  FWPM_CONDITION_IP_REMOTE_ADDRESS,
  FWPM_CONDITION_IP_REMOTE_PORT,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_SUBLAYER_UNIVERSAL,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_PROTOCOL,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_PORT,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  setNumber,
} from '../../src/wfp/index.js';
import { addFilter, addSublayer, cond, guid, noMetadata, openEngine, type Tuple, transportValues } from './util.js';

const FIELDS = ['protocol', 'port', 'address'] as const;
type Field = (typeof FIELDS)[number];
const PROTOCOLS = [1, 6, 17];
const PORTS = [22, 80, 443];
const ADDRESSES = [0x0a000001, 0xc0000209, 0xfffffffe];

interface FilterModel {
  sublayer: number; // -1: universal
  weight: number;
  action: 'block' | 'permit' | 'hardPermit';
  keys: number[]; // indexes into the field's values
  mask: boolean; // addresses: as FWP_V4_ADDR_MASK /32 instead of FWP_UINT32
}

const filterArb: fc.Arbitrary<FilterModel> = fc.record({
  sublayer: fc.integer({ min: -1, max: 1 }),
  weight: fc.nat(5),
  action: fc.constantFrom('block' as const, 'permit' as const, 'hardPermit' as const),
  keys: fc.array(fc.nat(2), { minLength: 1, maxLength: 2 }),
  mask: fc.boolean(),
});

interface PacketModel {
  pick: number; // 0-2: a value conditions may name; 3: another one
  kind: 'value' | 'empty' | 'otherType';
}
const packetArb: fc.Arbitrary<PacketModel> = fc.record({
  pick: fc.nat(3),
  kind: fc.constantFrom('value' as const, 'value' as const, 'empty' as const, 'otherType' as const),
});

function conditionOf(field: Field, key: number, mask: boolean) {
  const v = new FWP_CONDITION_VALUE0();
  if (field === 'protocol')
    return cond(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_EQUAL, setNumber(v, FWP_UINT8, PROTOCOLS[key]!));
  if (field === 'port')
    return cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, setNumber(v, FWP_UINT16, PORTS[key]!));
  if (mask) {
    v.type = FWP_V4_ADDR_MASK;
    v.v4AddrMask = new FWP_V4_ADDR_AND_MASK(ADDRESSES[key]!, 0xffffffff);
  } else setNumber(v, FWP_UINT32, ADDRESSES[key]!);
  return cond(FWPM_CONDITION_IP_REMOTE_ADDRESS, FWP_MATCH_EQUAL, v);
}

const FIELD_INDEX = {
  protocol: FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_PROTOCOL,
  port: FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_PORT,
  address: FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS,
};

function run(field: Field, filters: FilterModel[], packets: PacketModel[], spoiler: boolean): unknown[] {
  resetSystem();
  const h = openEngine();
  const subs = [addSublayer(h, 0x9000, guid(0x7100)), addSublayer(h, 0x1000, guid(0x7101))];
  for (const f of filters) {
    addFilter(h, {
      subLayerKey: f.sublayer < 0 ? FWPM_SUBLAYER_UNIVERSAL : subs[f.sublayer],
      weight: BigInt(f.weight),
      action: f.action === 'block' ? FWP_ACTION_BLOCK : FWP_ACTION_PERMIT,
      flags: f.action === 'hardPermit' ? FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT : 0,
      conditions: f.keys.map((k) => conditionOf(field, k, f.mask)),
    });
  }
  if (spoiler) {
    // Remote port 1 to 1: no packet here has it, and a range keeps the layer from qualifying.
    const r = new FWP_CONDITION_VALUE0();
    r.type = FWP_RANGE_TYPE;
    r.rangeValue = new FWP_RANGE0(
      setNumber(new FWP_VALUE0(), FWP_UINT16, 1),
      setNumber(new FWP_VALUE0(), FWP_UINT16, 1),
    );
    addFilter(h, {
      weight: 0n,
      action: FWP_ACTION_BLOCK,
      conditions: [cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_RANGE, r)],
    });
  }
  const results: unknown[] = [];
  // Last, a value the first filter names: the gate lets it through, so the layer's table is in use by then.
  const named: PacketModel = { pick: filters[0]!.keys[0]!, kind: 'value' };
  for (const p of [...packets, named]) {
    const t: Tuple = {
      protocol: field === 'protocol' ? [...PROTOCOLS, 50][p.pick]! : 6,
      localAddress: 0x0a0000fe,
      remoteAddress: field === 'address' ? [...ADDRESSES, 0x0a000002][p.pick]! : 0x0a000001,
      localPort: 5000,
      remotePort: field === 'port' ? [...PORTS, 8080][p.pick]! : 80,
    };
    const values = transportValues(t);
    const slot = values.incomingValue[FIELD_INDEX[field]]!.value;
    if (p.kind === 'empty') slot.type = FWP_EMPTY;
    else if (p.kind === 'otherType') setNumber(slot, field === 'protocol' ? FWP_UINT16 : FWP_UINT8, p.pick);
    const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, noMetadata(), null);
    results.push({ action: out.actionType, rights: out.rights, flags: out.flags, filterId: out.filterId });
  }
  const decided = layerState(FWPS_LAYER_OUTBOUND_TRANSPORT_V4)!.decisions.field >= 0;
  assert.equal(decided, !spoiler, spoiler ? 'the spoiled layer used a table' : 'the layer did not use a table');
  return results;
}

describe('static decisions give what arbitration gives (Filter Arbitration, W- engine property)', () => {
  it('over random one-field exact filter sets and packets', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FIELDS),
        fc.array(filterArb, { minLength: 1, maxLength: 8 }),
        fc.array(packetArb, { minLength: 1, maxLength: 12 }),
        (field, filters, packets) => {
          assert.deepEqual(run(field, filters, packets, false), run(field, filters, packets, true));
        },
      ),
      { numRuns: 300 },
    );
  });
});
