/**
 * examples/lib/callouts.ts, the registration the three WFP example drivers share: a registration that fails part
 * way leaves, after UnregisterCallouts, no filter, no callout and no sublayer behind (the same keys register again),
 * and a full one adds one filter per callout at its layer and takes them all away again.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import {
  type DEVICE_OBJECT,
  DRIVER_OBJECT,
  FILE_DEVICE_NETWORK,
  FILE_DEVICE_SECURE_OPEN,
  FWP_ACTION_PERMIT,
  FWPM_LAYER_INBOUND_IPPACKET_V4,
  FWPM_LAYER_OUTBOUND_IPPACKET_V4,
  type FWPS_CLASSIFY_OUT0,
  type FWPS_FILTER0,
  type FWPS_INCOMING_METADATA_VALUES0,
  type FWPS_INCOMING_VALUES0,
  FWPS_LAYER_INBOUND_IPPACKET_V4,
  FWPS_LAYER_OUTBOUND_IPPACKET_V4,
  IoCreateDevice,
  IoDeleteDevice,
  type NET_BUFFER_LIST,
  resetSystem,
  STATUS_FWP_ALREADY_EXISTS,
  STATUS_SUCCESS,
} from 'wdknet/ddi';
import {
  type CalloutDefinition,
  CalloutRegistration,
  RegisterCallouts,
  UnregisterCallouts,
} from '../../examples/lib/callouts.js';
import { filterCountAtLayer } from '../../src/wfp/classify.js';
import { assertNoLeaks } from './leaks.js';

const SUBLAYER = '0b0c0d0e-0000-4000-8000-000000000003';
const OUT: CalloutDefinition = {
  calloutKey: '0b0c0d0e-0000-4000-8000-000000000001',
  layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
  name: 'test outbound',
};
const IN: CalloutDefinition = {
  calloutKey: '0b0c0d0e-0000-4000-8000-000000000002',
  layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4,
  name: 'test inbound',
};

function permitAll(
  _inFixedValues: FWPS_INCOMING_VALUES0,
  _inMetaValues: FWPS_INCOMING_METADATA_VALUES0,
  _layerData: NET_BUFFER_LIST | null,
  _filter: FWPS_FILTER0,
  _flowContext: number,
  classifyOut: FWPS_CLASSIFY_OUT0,
): void {
  classifyOut.actionType = FWP_ACTION_PERMIT;
}

function registration(callouts: CalloutDefinition[]): CalloutRegistration {
  return new CalloutRegistration({
    sublayerKey: SUBLAYER,
    sublayerName: 'test sublayer',
    sublayerWeight: 0x10,
    filterName: 'test filter',
    classifyFn: permitAll,
    callouts,
  });
}

function filters(): [number, number] {
  return [filterCountAtLayer(FWPS_LAYER_OUTBOUND_IPPACKET_V4), filterCountAtLayer(FWPS_LAYER_INBOUND_IPPACKET_V4)];
}

function createDevice(): DEVICE_OBJECT {
  const box = { value: null as DEVICE_OBJECT | null };
  const driverObject = new DRIVER_OBJECT('\\Driver\\calloutsTest');
  assert.equal(IoCreateDevice(driverObject, 0, null, FILE_DEVICE_NETWORK, FILE_DEVICE_SECURE_OPEN, false, box), 0);
  return box.value!;
}

describe('examples/lib/callouts (shared WFP callout registration)', () => {
  beforeEach(() => resetSystem());

  it('registers a filter per callout at its layer, and UnregisterCallouts removes them all', () => {
    const device = createDevice();
    const r = registration([OUT, IN]);
    assert.equal(RegisterCallouts(device, r), STATUS_SUCCESS);
    assert.deepEqual(filters(), [1, 1]);
    assert.ok(r.calloutIds.every((id) => id !== 0));
    UnregisterCallouts(r);
    UnregisterCallouts(r); // a second call finds nothing left to undo
    assert.deepEqual(filters(), [0, 0]);
    assert.deepEqual(r.calloutIds, [0, 0]);
    assert.equal(r.engineHandle, null);
    IoDeleteDevice(device);
    assertNoLeaks();
  });

  it('a registration failing part way (second callout key already registered) leaves nothing after UnregisterCallouts', () => {
    const device = createDevice();
    const failing = registration([OUT, OUT]);
    assert.equal(RegisterCallouts(device, failing), STATUS_FWP_ALREADY_EXISTS);
    assert.notEqual(failing.calloutIds[0], 0, 'the callout registered before the failure is recorded');
    assert.equal(failing.calloutIds[1], 0);
    UnregisterCallouts(failing);
    assert.deepEqual(filters(), [0, 0], 'the aborted transaction added no filter');
    // The same keys register again: the first callout was unregistered and the sublayer was never committed.
    const r = registration([OUT, IN]);
    assert.equal(RegisterCallouts(device, r), STATUS_SUCCESS);
    assert.deepEqual(filters(), [1, 1]);
    UnregisterCallouts(r);
    IoDeleteDevice(device);
    assertNoLeaks();
  });
});
