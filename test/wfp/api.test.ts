import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { Condition, classify, FilterEngine } from '../../src/api/wfp.js';
import { StatusError } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import {
  FWP_ACTION_PERMIT,
  FWPM_CONDITION_IP_PROTOCOL,
  FWPM_CONDITION_IP_REMOTE_ADDRESS,
  FWPM_CONDITION_IP_REMOTE_PORT,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  STATUS_FWP_ALREADY_EXISTS,
} from '../../src/wfp/index.js';
import { guid, ipv4, noMetadata, transportValues } from './util.js';

const PKT = {
  protocol: 6,
  localAddress: ipv4(10, 0, 0, 1),
  remoteAddress: ipv4(198, 51, 100, 20),
  localPort: 40000,
  remotePort: 443,
};
const verdict = (t = PKT) => classify(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(t), noMetadata());

describe('idiomatic WFP API (FilterEngine, Condition, classify)', () => {
  beforeEach(() => resetSystem());

  it('adds sublayers and filters from readable conditions and classifies to a readable verdict', () => {
    const engine = FilterEngine.open();
    const sub = engine.addSublayer(0x9000, undefined, 'test');
    const id = engine.addFilter({
      layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      sublayer: sub,
      action: { type: 'block' },
      conditions: [
        Condition.ipv4(FWPM_CONDITION_IP_REMOTE_ADDRESS, '198.51.100.0/24'),
        Condition.range(FWPM_CONDITION_IP_REMOTE_PORT, 2, 400, 500),
        Condition.protocol(FWPM_CONDITION_IP_PROTOCOL, 6),
      ],
    });
    assert.deepEqual(verdict(), { action: 'block', absorbed: false, filterId: id, overridable: false });
    assert.equal(verdict({ ...PKT, remoteAddress: ipv4(198, 51, 101, 20) }).action, 'permit');
    engine.deleteFilter(id);
    assert.equal(verdict().action, 'permit');
    assert.throws(() => engine.deleteFilter(id), StatusError);
    engine.close();
  });

  it('failures are StatusErrors carrying the DDI status', () => {
    const engine = FilterEngine.open();
    engine.addSublayer(1, guid(1));
    try {
      engine.addSublayer(2, guid(1));
      assert.fail('expected a StatusError');
    } catch (e) {
      assert.ok(e instanceof StatusError);
      assert.equal(e.status, STATUS_FWP_ALREADY_EXISTS);
    }
  });

  it('a transaction commits when its function returns and aborts when it throws', () => {
    const engine = FilterEngine.open();
    assert.throws(() =>
      engine.transaction(() => {
        engine.addFilter({ layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4, action: { type: 'block' } });
        throw new Error('changed my mind');
      }),
    );
    assert.equal(verdict().action, 'permit');
    engine.transaction(() => engine.addFilter({ layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4, action: { type: 'block' } }));
    assert.equal(verdict().action, 'block');
  });

  it('a callout registered through the API decides, and unregisters', () => {
    const engine = FilterEngine.open({ dynamic: true });
    const callout = engine.addCallout(guid(7), FWPM_LAYER_OUTBOUND_TRANSPORT_V4, (_v, _m, _d, _c, _f, _fl, out) => {
      out.actionType = FWP_ACTION_PERMIT;
    });
    engine.addFilter({ layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4, action: { type: 'block' }, weight: { range: 0 } });
    engine.addFilter({
      layer: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      action: { type: 'callout', callout: callout.key },
      weight: { range: 15 },
    });
    assert.equal(verdict().action, 'permit');
    callout.unregister();
    assert.equal(verdict().action, 'block', 'an unregistered terminating callout blocks');
    engine.close();
    assert.equal(verdict().action, 'permit', 'the dynamic session took its filters with it');
  });
});
