/**
 * The layer gate (src/wfp/layerGate.ts) lets a classify skip arbitration when no filter at the layer can match.
 * It must never close for a packet that some filter matches: over random filter sets (exact integer and /32
 * address conditions, which the gate files, mixed with prefixes, ranges and inequalities, which keep it open) and
 * random packets, whenever it says "no filter can match", a direct check of every filter's conditions agrees.
 * The property also requires that the gate does close for some packets, so it cannot pass by always staying open.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import { layerState } from '../../src/wfp/engine.js';
import {
  conditionMatches,
  FWP_ACTION_BLOCK,
  FWP_ACTION_PERMIT,
  FWP_CONDITION_VALUE0,
  FWP_MATCH_EQUAL,
  FWP_MATCH_GREATER,
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
  type FWPS_INCOMING_VALUES0,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  setNumber,
} from '../../src/wfp/index.js';
import { addFilter, cond, openEngine, type Tuple, transportValues } from './util.js';

type Cond =
  | { kind: 'port'; port: number; local: boolean }
  | { kind: 'proto'; proto: number }
  | { kind: 'host'; addr: number }
  | { kind: 'prefix'; addr: number }
  | { kind: 'range'; lo: number }
  | { kind: 'above'; port: number };

const PORTS = [22, 80, 443, 8080];
const ADDRS = [0x0a000001, 0x0a000101, 0xc0000209, 0xc0a80001];

const condArb: fc.Arbitrary<Cond> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('port' as const), port: fc.constantFrom(...PORTS), local: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('proto' as const), proto: fc.constantFrom(6, 17) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('host' as const), addr: fc.constantFrom(...ADDRS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prefix' as const), addr: fc.constantFrom(...ADDRS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), lo: fc.constantFrom(...PORTS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('above' as const), port: fc.constantFrom(...PORTS) }) },
);

function conditionOf(c: Cond) {
  const v = new FWP_CONDITION_VALUE0();
  switch (c.kind) {
    case 'port':
      setNumber(v, FWP_UINT16, c.port);
      return cond(c.local ? FWPM_CONDITION_IP_LOCAL_PORT : FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, v);
    case 'proto':
      setNumber(v, FWP_UINT8, c.proto);
      return cond(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_EQUAL, v);
    case 'host':
    case 'prefix':
      v.type = FWP_V4_ADDR_MASK;
      v.v4AddrMask = new FWP_V4_ADDR_AND_MASK(c.addr, c.kind === 'host' ? 0xffffffff : 0xffffff00);
      return cond(FWPM_CONDITION_IP_REMOTE_ADDRESS, FWP_MATCH_EQUAL, v);
    case 'range':
      v.type = FWP_RANGE_TYPE;
      v.rangeValue = new FWP_RANGE0(
        setNumber(new FWP_VALUE0(), FWP_UINT16, c.lo),
        setNumber(new FWP_VALUE0(), FWP_UINT16, c.lo + 100),
      );
      return cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_RANGE, v);
    default:
      setNumber(v, FWP_UINT16, c.port);
      return cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_GREATER, v);
  }
}

const tupleArb: fc.Arbitrary<Tuple> = fc.record({
  protocol: fc.constantFrom(6, 17),
  localAddress: fc.constant(0x0a0000fe),
  // The filters' hosts, their neighbours (inside the /24 prefixes, outside the /32s), and anything else.
  remoteAddress: fc.oneof(
    fc.constantFrom(...ADDRS),
    fc.constantFrom(...ADDRS.map((a) => a + 1)),
    fc.integer({ min: 0, max: 0xffffffff }),
  ),
  localPort: fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 1, max: 65535 })),
  remotePort: fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 1, max: 65535 })),
});

/** Whether any filter at the layer matches, checking every condition of every filter directly. */
function someFilterMatches(layerId: number, values: FWPS_INCOMING_VALUES0): boolean {
  for (const b of layerState(layerId)!.buckets) {
    for (const f of b.filters.filters) {
      const all = f.groups.every((g) =>
        g.values.some((v, i) => conditionMatches(values.incomingValue[g.field]!.value, g.matchTypes[i]!, v)),
      );
      if (all) return true;
    }
  }
  return false;
}

describe('the layer gate closes only when no filter can match (W- engine property)', () => {
  it('over random filter sets and packets', () => {
    let closedSeen = 0;
    let matchedSeen = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(condArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        fc.array(tupleArb, { minLength: 1, maxLength: 10 }),
        (filters, packets) => {
          resetSystem();
          const h = openEngine();
          filters.forEach((conds, i) => {
            addFilter(h, {
              action: i % 2 === 0 ? FWP_ACTION_BLOCK : FWP_ACTION_PERMIT,
              conditions: conds.map(conditionOf),
            });
          });
          const state = layerState(FWPS_LAYER_OUTBOUND_TRANSPORT_V4)!;
          for (const t of packets) {
            const values = transportValues(t);
            const matches = someFilterMatches(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values);
            if (matches) matchedSeen++;
            if (state.noFilterCanMatch(values)) {
              closedSeen++;
              assert.equal(matches, false, 'the gate closed for a packet a filter matches');
            }
          }
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(closedSeen > 0, 'the gate never closed');
    assert.ok(matchedSeen > 0, 'no packet matched a filter');
  });
});
