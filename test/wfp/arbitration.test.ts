import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { resetSystem } from '../../src/kernel/system.js';
import {
  classifyAtLayer,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_CALLOUT_UNKNOWN,
  FWP_ACTION_CONTINUE,
  FWP_ACTION_PERMIT,
  FWP_MATCH_EQUAL,
  FWP_UINT8,
  FWP_UINT16,
  FWPM_CONDITION_IP_PROTOCOL,
  FWPM_CONDITION_IP_REMOTE_PORT,
  FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPS_RIGHT_ACTION_WRITE,
  FwpsCalloutUnregisterByKey0,
} from '../../src/wfp/index.js';
import { ABSORB, type CalloutCall, CLEAR_RIGHT, RESPECT_RIGHT, Ret, script, scriptedClassify } from './script.js';
import {
  addCallout,
  addFilter,
  addSublayer,
  cond,
  guid,
  type HANDLE,
  intValue,
  ipv4,
  noMetadata,
  openEngine,
  transportValues,
} from './util.js';

const HTTP = {
  protocol: 6,
  localAddress: ipv4(10, 0, 0, 1),
  remoteAddress: ipv4(93, 184, 216, 34),
  localPort: 50000,
  remotePort: 80,
};
const CALLOUT = guid(0xc0);

function classify() {
  const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(HTTP), noMetadata(), null);
  return { action: out.actionType, rights: out.rights, flags: out.flags, filterId: out.filterId };
}

describe('filter arbitration (learn.microsoft.com "Filter Arbitration")', () => {
  let h: HANDLE;
  let calls: CalloutCall[];
  /** A clean machine, an engine session and the scripted callout. */
  function fresh(register = true): void {
    resetSystem();
    h = openEngine();
    calls = [];
    if (register) addCallout(h, CALLOUT, scriptedClassify(calls));
  }
  beforeEach(() => fresh());

  it('no matching filter: the layer default is PERMIT, with the write right still set', () => {
    addFilter(h, {
      action: FWP_ACTION_BLOCK,
      conditions: [cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, intValue(FWP_UINT16, 443))],
    });
    assert.deepEqual(classify(), { action: FWP_ACTION_PERMIT, rights: FWPS_RIGHT_ACTION_WRITE, flags: 0, filterId: 0 });
  });

  it('a static BLOCK is a hard block; a static PERMIT is a soft permit (default behaviour table)', () => {
    const b = addFilter(h, { action: FWP_ACTION_BLOCK });
    assert.deepEqual(classify(), { action: FWP_ACTION_BLOCK, rights: 0, flags: 0, filterId: b });
    fresh();
    const p = addFilter(h, { action: FWP_ACTION_PERMIT });
    assert.deepEqual(classify(), { action: FWP_ACTION_PERMIT, rights: FWPS_RIGHT_ACTION_WRITE, flags: 0, filterId: p });
  });

  it('within a sublayer the highest-weight matching filter that returns PERMIT or BLOCK wins', () => {
    addFilter(h, { weight: 10n, action: FWP_ACTION_BLOCK });
    const permit = addFilter(h, { weight: 20n, action: FWP_ACTION_PERMIT });
    assert.equal(classify().action, FWP_ACTION_PERMIT);
    assert.equal(classify().filterId, permit);
  });

  it('CONTINUE does not end a sublayer: the next filter decides', () => {
    addFilter(h, {
      weight: 30n,
      action: FWP_ACTION_CALLOUT_UNKNOWN,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Continue),
    });
    const block = addFilter(h, { weight: 20n, action: FWP_ACTION_BLOCK });
    assert.equal(classify().filterId, block);
    assert.equal(calls.length, 1);
  });

  it('across sublayers "Block overrides Permit": a soft permit above, a block below -> BLOCK', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    addFilter(h, { subLayerKey: hi, action: FWP_ACTION_PERMIT });
    const b = addFilter(h, { subLayerKey: lo, action: FWP_ACTION_BLOCK });
    assert.deepEqual(classify(), { action: FWP_ACTION_BLOCK, rights: 0, flags: 0, filterId: b });
  });

  it('a hard permit (FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) cannot be blocked by a static filter below', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    const p = addFilter(h, { subLayerKey: hi, action: FWP_ACTION_PERMIT, flags: FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT });
    addFilter(h, { subLayerKey: lo, action: FWP_ACTION_BLOCK });
    assert.deepEqual(classify(), { action: FWP_ACTION_PERMIT, rights: 0, flags: 0, filterId: p });
  });

  it('a callout Veto (BLOCK with the right already cleared) blocks traffic a hard permit allowed', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    addFilter(h, { subLayerKey: hi, action: FWP_ACTION_PERMIT, flags: FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT });
    const veto = addFilter(h, {
      subLayerKey: lo,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Block),
    });
    assert.deepEqual(classify(), { action: FWP_ACTION_BLOCK, rights: 0, flags: 0, filterId: veto });
    assert.equal(calls[0]!.rightsBefore, 0, 'the vetoing callout saw the right cleared');
    assert.equal(calls[0]!.actionBefore, FWP_ACTION_PERMIT, 'and the hard permit');
  });

  it('a hard block is final: nothing below permits it, not even a callout', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    const b = addFilter(h, { subLayerKey: hi, action: FWP_ACTION_BLOCK });
    addFilter(h, {
      subLayerKey: lo,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Permit),
    });
    assert.deepEqual(classify(), { action: FWP_ACTION_BLOCK, rights: 0, flags: 0, filterId: b });
  });

  it('every sublayer is evaluated even after a block: a lower inspection callout still runs, without the right', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    addFilter(h, { subLayerKey: hi, action: FWP_ACTION_BLOCK });
    addFilter(h, {
      subLayerKey: lo,
      action: FWP_ACTION_CALLOUT_INSPECTION,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Continue),
    });
    assert.equal(classify().action, FWP_ACTION_BLOCK);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.rightsBefore, 0);
    assert.equal(calls[0]!.actionBefore, FWP_ACTION_BLOCK);
  });

  it('a callout block is soft by default: a lower sublayer may permit it', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    addFilter(h, {
      subLayerKey: hi,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Block),
    });
    const p = addFilter(h, { subLayerKey: lo, action: FWP_ACTION_PERMIT });
    assert.deepEqual(classify(), { action: FWP_ACTION_PERMIT, rights: FWPS_RIGHT_ACTION_WRITE, flags: 0, filterId: p });
  });

  it('a callout that clears the right makes its block hard', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    const c = addFilter(h, {
      subLayerKey: hi,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Block, CLEAR_RIGHT),
    });
    addFilter(h, { subLayerKey: lo, action: FWP_ACTION_PERMIT });
    assert.deepEqual(classify(), { action: FWP_ACTION_BLOCK, rights: 0, flags: 0, filterId: c });
  });

  it('a terminating callout that returns anything but PERMIT or BLOCK blocks', () => {
    const c = addFilter(h, {
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Continue),
    });
    assert.equal(classify().action, FWP_ACTION_BLOCK);
    assert.equal(classify().filterId, c);
    fresh();
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: CALLOUT, rawContext: script(Ret.Garbage) });
    assert.equal(classify().action, FWP_ACTION_BLOCK);
  });

  it('an inspection callout cannot decide: its BLOCK is treated as CONTINUE', () => {
    addFilter(h, {
      weight: 9n,
      action: FWP_ACTION_CALLOUT_INSPECTION,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Block),
    });
    assert.equal(classify().action, FWP_ACTION_PERMIT);
    assert.equal(calls.length, 1);
  });

  it('FWPS_CLASSIFY_OUT_FLAG_ABSORB set by a callout comes back in the classify result', () => {
    addFilter(h, {
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Block, CLEAR_RIGHT | ABSORB),
    });
    const out = classify();
    assert.equal(out.action, FWP_ACTION_BLOCK);
    assert.equal(out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB, FWPS_CLASSIFY_OUT_FLAG_ABSORB);
  });

  it('the callout sees FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT when the filter has FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT', () => {
    let seen = -1;
    fresh(false);
    addCallout(h, CALLOUT, (_v, _m, _d, _c, filter, _f, out) => {
      seen = filter.flags;
      out.actionType = FWP_ACTION_PERMIT;
    });
    addFilter(h, {
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      flags: FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
    });
    classify();
    assert.equal(seen & FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT, FWPS_FILTER_FLAG_CLEAR_ACTION_RIGHT);
  });

  it('a well-behaved callout does nothing once the right is cleared', () => {
    const hi = addSublayer(h, 0x9000);
    const lo = addSublayer(h, 0x1000);
    addFilter(h, { subLayerKey: hi, action: FWP_ACTION_PERMIT, flags: FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT });
    addFilter(h, {
      subLayerKey: lo,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Block, RESPECT_RIGHT),
    });
    assert.equal(classify().action, FWP_ACTION_PERMIT);
  });

  it('unregistered terminating callout: BLOCK, or PERMIT with FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED; inspection is skipped', () => {
    const a = addSublayer(h, 0x9000);
    const b = addSublayer(h, 0x8800);
    addFilter(h, {
      subLayerKey: a,
      action: FWP_ACTION_CALLOUT_INSPECTION,
      calloutKey: CALLOUT,
      rawContext: script(Ret.Continue),
    });
    const permitIf = addFilter(h, {
      subLayerKey: b,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: CALLOUT,
      flags: FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED,
    });
    assert.equal(FwpsCalloutUnregisterByKey0(CALLOUT), 0);
    assert.deepEqual(classify(), {
      action: FWP_ACTION_PERMIT,
      rights: FWPS_RIGHT_ACTION_WRITE,
      flags: 0,
      filterId: permitIf,
    });
    const c = addSublayer(h, 0x100);
    const blockIf = addFilter(h, { subLayerKey: c, action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: CALLOUT });
    assert.deepEqual(classify(), { action: FWP_ACTION_BLOCK, rights: 0, flags: 0, filterId: blockIf });
    assert.equal(calls.length, 0);
  });

  it('conditions with the same field key are OR-ed, different keys AND-ed (FWPM_FILTER0 remarks)', () => {
    addFilter(h, {
      action: FWP_ACTION_BLOCK,
      conditions: [
        cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, intValue(FWP_UINT16, 443)),
        cond(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_EQUAL, intValue(FWP_UINT8, 6)),
        cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, intValue(FWP_UINT16, 80)),
      ],
    });
    assert.equal(classify().action, FWP_ACTION_BLOCK, 'port 80 OR 443, AND tcp');
    const udp = classifyAtLayer(
      FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
      transportValues({ ...HTTP, protocol: 17 }),
      noMetadata(),
      null,
    );
    assert.equal(udp.actionType, FWP_ACTION_PERMIT, 'udp fails the AND');
    const other = classifyAtLayer(
      FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
      transportValues({ ...HTTP, remotePort: 22 }),
      noMetadata(),
      null,
    );
    assert.equal(other.actionType, FWP_ACTION_PERMIT, 'port 22 fails the OR');
  });

  it('a callout sees CONTINUE as the action before any decision', () => {
    addFilter(h, { action: FWP_ACTION_CALLOUT_INSPECTION, calloutKey: CALLOUT });
    classify();
    assert.equal(calls[0]!.actionBefore, FWP_ACTION_CONTINUE);
    assert.equal(calls[0]!.rightsBefore, FWPS_RIGHT_ACTION_WRITE);
  });
});
