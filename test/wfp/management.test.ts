import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DRIVER_VERIFIER_DETECTED_VIOLATION } from '../../src/kernel/bugcheck.js';
import { DISPATCH_LEVEL, KeLowerIrql, KeRaiseIrql } from '../../src/kernel/irql.js';
import { STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import {
  classifyAtLayer,
  conditionMatches,
  DataPosition,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_PERMIT,
  FWP_BYTE_ARRAY16,
  FWP_BYTE_ARRAY16_TYPE,
  FWP_BYTE_BLOB,
  FWP_BYTE_BLOB_TYPE,
  FWP_CONDITION_VALUE0,
  FWP_MATCH_EQUAL,
  FWP_MATCH_EQUAL_CASE_INSENSITIVE,
  FWP_MATCH_FLAGS_ALL_SET,
  FWP_MATCH_FLAGS_ANY_SET,
  FWP_MATCH_FLAGS_NONE_SET,
  FWP_MATCH_GREATER,
  FWP_MATCH_GREATER_OR_EQUAL,
  FWP_MATCH_LESS,
  FWP_MATCH_LESS_OR_EQUAL,
  FWP_MATCH_NOT_EQUAL,
  FWP_MATCH_PREFIX,
  FWP_MATCH_RANGE,
  FWP_RANGE_TYPE,
  FWP_RANGE0,
  FWP_UINT8,
  FWP_UINT16,
  FWP_UINT32,
  FWP_V4_ADDR_AND_MASK,
  FWP_V4_ADDR_MASK,
  FWP_V6_ADDR_AND_MASK,
  FWP_V6_ADDR_MASK,
  FWP_VALUE0,
  FWPM_CALLOUT0,
  FWPM_CONDITION_IP_PROTOCOL,
  FWPM_CONDITION_IP_REMOTE_ADDRESS,
  FWPM_CONDITION_IP_REMOTE_PORT,
  FWPM_CONDITION_IP_SOURCE_ADDRESS,
  FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED,
  FWPM_LAYER_ALE_AUTH_CONNECT_V4,
  FWPM_LAYER_INBOUND_IPPACKET_V4,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V6,
  FWPM_LAYER_STREAM_V4,
  FWPM_SESSION_FLAG_DYNAMIC,
  FWPM_SESSION0,
  FWPM_SUBLAYER_UNIVERSAL,
  FWPM_SUBLAYER0,
  FWPS_CALLOUT_NOTIFY_ADD_FILTER,
  FWPS_CALLOUT_NOTIFY_DELETE_FILTER,
  FWPS_CALLOUT0,
  FWPS_FIELD_ALE_AUTH_CONNECT_V4_IP_REMOTE_PORT,
  FWPS_FIELD_INBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_PROTOCOL,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_MAX,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V6_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V6_MAX,
  FWPS_INCOMING_VALUES0,
  FWPS_IS_METADATA_FIELD_PRESENT,
  FWPS_LAYER_ALE_AUTH_CONNECT_V4,
  FWPS_LAYER_INBOUND_IPPACKET_V4,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V6,
  FWPS_METADATA_FIELD_FLOW_HANDLE,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FwpmCalloutAdd0,
  FwpmCalloutDeleteById0,
  FwpmCalloutDeleteByKey0,
  FwpmEngineClose0,
  FwpmEngineOpen0,
  FwpmFilterAdd0,
  FwpmFilterDeleteById0,
  FwpmFilterDeleteByKey0,
  FwpmSubLayerAdd0,
  FwpmSubLayerDeleteByKey0,
  FwpmTransactionAbort0,
  FwpmTransactionBegin0,
  FwpmTransactionCommit0,
  FwpsCalloutRegister0,
  FwpsCalloutUnregisterById0,
  LAYER_DATA_OFFSET,
  layerById,
  RPC_C_AUTHN_WINNT,
  STATUS_FWP_ALREADY_EXISTS,
  STATUS_FWP_BUILTIN_OBJECT,
  STATUS_FWP_CALLOUT_NOT_FOUND,
  STATUS_FWP_CONDITION_NOT_FOUND,
  STATUS_FWP_FILTER_NOT_FOUND,
  STATUS_FWP_IN_USE,
  STATUS_FWP_INCOMPATIBLE_LAYER,
  STATUS_FWP_INVALID_ACTION_TYPE,
  STATUS_FWP_INVALID_FLAGS,
  STATUS_FWP_INVALID_NET_MASK,
  STATUS_FWP_INVALID_RANGE,
  STATUS_FWP_INVALID_WEIGHT,
  STATUS_FWP_LAYER_NOT_FOUND,
  STATUS_FWP_MATCH_TYPE_MISMATCH,
  STATUS_FWP_NO_TXN_IN_PROGRESS,
  STATUS_FWP_SUBLAYER_NOT_FOUND,
  STATUS_FWP_TXN_IN_PROGRESS,
  STATUS_FWP_TYPE_MISMATCH,
  setNumber,
} from '../../src/wfp/index.js';
import { assertBugCheck } from '../helpers.js';
import {
  addCallout,
  addFilter,
  addSublayer,
  calloutDevice,
  cond,
  filterOf,
  guid,
  intValue,
  ipv4,
  noMetadata,
  openEngine,
  transportValues,
} from './util.js';

const PKT = {
  protocol: 6,
  localAddress: ipv4(10, 0, 0, 1),
  remoteAddress: ipv4(10, 1, 2, 3),
  localPort: 40000,
  remotePort: 80,
};
const verdict = () =>
  classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(PKT), noMetadata(), null).actionType;

function tryAdd(h: ReturnType<typeof openEngine>, spec: Parameters<typeof filterOf>[0]): number {
  return FwpmFilterAdd0(h, filterOf(spec), null, { value: 0 });
}

describe('layers and fields (fwpsk.h FWPS_BUILTIN_LAYERS, FWPS_FIELDS_*, "Data offset positions")', () => {
  it('numbers layers and fields as the headers do', () => {
    assert.equal(FWPS_LAYER_INBOUND_IPPACKET_V4, 0);
    assert.equal(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, 16);
    assert.equal(FWPS_LAYER_OUTBOUND_TRANSPORT_V6, 18);
    assert.equal(FWPS_LAYER_ALE_AUTH_CONNECT_V4, 48);
    assert.equal(FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_PROTOCOL, 0);
    assert.equal(FWPS_FIELD_INBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS, 1);
    assert.equal(FWPS_FIELD_ALE_AUTH_CONNECT_V4_IP_REMOTE_PORT, 7);
    assert.equal(layerById(FWPS_LAYER_OUTBOUND_TRANSPORT_V4)!.layerKey, FWPM_LAYER_OUTBOUND_TRANSPORT_V4);
    assert.equal(layerById(FWPS_LAYER_INBOUND_IPPACKET_V4)!.layerKey, FWPM_LAYER_INBOUND_IPPACKET_V4);
  });

  it('tells the host where the data starts at each layer (REFERENCE.md WFP behaviour)', () => {
    assert.equal(LAYER_DATA_OFFSET[FWPS_LAYER_INBOUND_IPPACKET_V4], DataPosition.TransportHeader);
    assert.equal(LAYER_DATA_OFFSET[FWPS_LAYER_OUTBOUND_TRANSPORT_V4], DataPosition.TransportHeader);
    assert.equal(LAYER_DATA_OFFSET[FWPS_LAYER_INBOUND_IPPACKET_V4 + 4], DataPosition.IpHeader, 'outbound IPPACKET');
    assert.equal(LAYER_DATA_OFFSET[8], DataPosition.IpHeader, 'IPFORWARD');
    assert.equal(LAYER_DATA_OFFSET[12], DataPosition.TransportPayload, 'inbound TRANSPORT');
  });
});

describe('FwpmEngineOpen0 / FwpmEngineClose0 / transactions', () => {
  beforeEach(() => resetSystem());

  it('kernel mode: serverName must be NULL; a closed handle is invalid', () => {
    const h = { value: null as ReturnType<typeof openEngine> | null };
    assert.equal(FwpmEngineOpen0('remote', RPC_C_AUTHN_WINNT, null, null, h), STATUS_INVALID_PARAMETER);
    assert.equal(FwpmEngineOpen0(null, 99, null, null, h), STATUS_INVALID_PARAMETER);
    assert.equal(FwpmEngineOpen0(null, RPC_C_AUTHN_WINNT, null, null, h), STATUS_SUCCESS);
    assert.equal(FwpmEngineClose0(h.value!), STATUS_SUCCESS);
    assert.equal(FwpmEngineClose0(h.value!), STATUS_INVALID_HANDLE);
    assert.equal(tryAdd(h.value!, { action: FWP_ACTION_BLOCK }), STATUS_INVALID_HANDLE);
  });

  it('management calls run at PASSIVE_LEVEL only (IRQL = PASSIVE_LEVEL requirement)', () => {
    const h = openEngine();
    const old = { value: 0 };
    KeRaiseIrql(DISPATCH_LEVEL, old);
    try {
      assertBugCheck(() => tryAdd(h, { action: FWP_ACTION_BLOCK }), DRIVER_VERIFIER_DETECTED_VIOLATION);
    } finally {
      KeLowerIrql(old.value);
    }
  });

  it('a dynamic session deletes its objects when it closes (FWPM_SESSION_FLAG_DYNAMIC)', () => {
    const s = new FWPM_SESSION0();
    s.flags = FWPM_SESSION_FLAG_DYNAMIC;
    const h = { value: null as ReturnType<typeof openEngine> | null };
    assert.equal(FwpmEngineOpen0(null, RPC_C_AUTHN_WINNT, null, s, h), STATUS_SUCCESS);
    const sub = addSublayer(h.value!, 0x9000);
    addFilter(h.value!, { subLayerKey: sub, action: FWP_ACTION_BLOCK });
    assert.equal(verdict(), FWP_ACTION_BLOCK);
    assert.equal(FwpmEngineClose0(h.value!), STATUS_SUCCESS);
    assert.equal(verdict(), FWP_ACTION_PERMIT);
    const other = openEngine();
    assert.equal(FwpmSubLayerDeleteByKey0(other, sub), STATUS_FWP_SUBLAYER_NOT_FOUND);
  });

  it('changes inside a transaction reach classify only at commit; abort undoes them', () => {
    const h = openEngine();
    assert.equal(FwpmTransactionCommit0(h), STATUS_FWP_NO_TXN_IN_PROGRESS);
    assert.equal(FwpmTransactionBegin0(h, 0), STATUS_SUCCESS);
    assert.equal(FwpmTransactionBegin0(h, 0), STATUS_FWP_TXN_IN_PROGRESS);
    const id = addFilter(h, { action: FWP_ACTION_BLOCK });
    assert.equal(verdict(), FWP_ACTION_PERMIT, 'not yet committed');
    assert.equal(FwpmTransactionCommit0(h), STATUS_SUCCESS);
    assert.equal(verdict(), FWP_ACTION_BLOCK);
    assert.equal(FwpmTransactionBegin0(h, 0), STATUS_SUCCESS);
    assert.equal(FwpmFilterDeleteById0(h, id), STATUS_SUCCESS);
    const id2 = addFilter(h, { action: FWP_ACTION_PERMIT, weight: 99n });
    assert.equal(FwpmTransactionAbort0(h), STATUS_SUCCESS);
    assert.equal(verdict(), FWP_ACTION_BLOCK, 'the delete was undone');
    assert.equal(FwpmFilterDeleteById0(h, id2), STATUS_FWP_FILTER_NOT_FOUND, 'the add was undone');
    assert.equal(FwpmFilterDeleteById0(h, id), STATUS_SUCCESS);
  });
});

describe('FwpmSubLayerAdd0 / FwpmSubLayerDeleteByKey0', () => {
  beforeEach(() => resetSystem());

  it('rejects a duplicate key, deletes only unused sublayers, keeps the built-in one', () => {
    const h = openEngine();
    const key = addSublayer(h, 1);
    const s = new FWPM_SUBLAYER0();
    s.subLayerKey = key;
    assert.equal(FwpmSubLayerAdd0(h, s, null), STATUS_FWP_ALREADY_EXISTS);
    const id = addFilter(h, { subLayerKey: key, action: FWP_ACTION_BLOCK });
    assert.equal(FwpmSubLayerDeleteByKey0(h, key), STATUS_FWP_IN_USE);
    assert.equal(FwpmFilterDeleteById0(h, id), STATUS_SUCCESS);
    assert.equal(FwpmSubLayerDeleteByKey0(h, key), STATUS_SUCCESS);
    assert.equal(FwpmSubLayerDeleteByKey0(h, key), STATUS_FWP_SUBLAYER_NOT_FOUND);
    assert.equal(FwpmSubLayerDeleteByKey0(h, FWPM_SUBLAYER_UNIVERSAL), STATUS_FWP_BUILTIN_OBJECT);
  });

  it('a zero key asks the engine to generate one', () => {
    const h = openEngine();
    const s = new FWPM_SUBLAYER0();
    assert.equal(FwpmSubLayerAdd0(h, s, null), STATUS_SUCCESS);
    assert.notEqual(s.subLayerKey, '00000000-0000-0000-0000-000000000000');
    assert.equal(FwpmSubLayerDeleteByKey0(h, s.subLayerKey), STATUS_SUCCESS);
  });
});

describe('FwpmCalloutAdd0 / FwpmCalloutDelete* / FwpsCalloutRegister* / FwpsCalloutUnregister*', () => {
  beforeEach(() => resetSystem());

  it('the management object and the registration share one run-time id; duplicates are refused', () => {
    const h = openEngine();
    const id = addCallout(h, guid(1), () => {});
    const m = new FWPM_CALLOUT0();
    m.calloutKey = guid(1);
    m.applicableLayer = FWPM_LAYER_OUTBOUND_TRANSPORT_V4;
    assert.equal(FwpmCalloutAdd0(h, m, null, null), STATUS_FWP_ALREADY_EXISTS);
    const c = new FWPS_CALLOUT0();
    c.calloutKey = guid(1);
    c.classifyFn = () => {};
    c.notifyFn = () => STATUS_SUCCESS;
    assert.equal(FwpsCalloutRegister0(calloutDevice(), c, { value: 0 }), STATUS_FWP_ALREADY_EXISTS);
    assert.equal(FwpsCalloutRegister0(null, c, { value: 0 }), STATUS_INVALID_PARAMETER);
    assert.equal(FwpsCalloutUnregisterById0(id), STATUS_SUCCESS);
    assert.equal(FwpsCalloutUnregisterById0(id), STATUS_FWP_CALLOUT_NOT_FOUND);
  });

  it('a callout object for an unknown layer is refused; one in use cannot be deleted', () => {
    const h = openEngine();
    const m = new FWPM_CALLOUT0();
    m.calloutKey = guid(2);
    m.applicableLayer = FWPM_LAYER_STREAM_V4;
    assert.equal(FwpmCalloutAdd0(h, m, null, null), STATUS_FWP_LAYER_NOT_FOUND, 'the stream layer is not modelled');
    const id = addCallout(h, guid(3), () => {});
    const f = addFilter(h, { action: FWP_ACTION_CALLOUT_INSPECTION, calloutKey: guid(3) });
    assert.equal(FwpmCalloutDeleteById0(h, id), STATUS_FWP_IN_USE);
    assert.equal(FwpmFilterDeleteById0(h, f), STATUS_SUCCESS);
    assert.equal(FwpmCalloutDeleteByKey0(h, guid(3)), STATUS_SUCCESS);
    assert.equal(FwpmCalloutDeleteByKey0(h, guid(3)), STATUS_FWP_CALLOUT_NOT_FOUND);
  });

  it('notifyFn sees ADD_FILTER and DELETE_FILTER; a failing ADD_FILTER refuses the filter', () => {
    const h = openEngine();
    const seen: [number, string][] = [];
    let refuse = false;
    addCallout(h, guid(4), () => {}, {
      notifyFn: (type, key) => {
        seen.push([type, key]);
        return refuse ? STATUS_INVALID_PARAMETER : STATUS_SUCCESS;
      },
    });
    const id = addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(4) });
    assert.equal(FwpmFilterDeleteById0(h, id), STATUS_SUCCESS);
    assert.deepEqual(
      seen.map((s) => s[0]),
      [FWPS_CALLOUT_NOTIFY_ADD_FILTER, FWPS_CALLOUT_NOTIFY_DELETE_FILTER],
    );
    refuse = true;
    assert.equal(tryAdd(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(4) }), STATUS_INVALID_PARAMETER);
    assert.equal(verdict(), FWP_ACTION_PERMIT);
  });

  it('a driver that registers after its filters exist is told about them (ADD_FILTER on registration)', () => {
    const h = openEngine();
    addCallout(h, guid(5), () => {}, { register: false });
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(5) });
    const seen: number[] = [];
    const c = new FWPS_CALLOUT0();
    c.calloutKey = guid(5);
    c.classifyFn = () => {};
    c.notifyFn = (type) => {
      seen.push(type);
      return STATUS_SUCCESS;
    };
    assert.equal(FwpsCalloutRegister0(calloutDevice(), c, null), STATUS_SUCCESS);
    assert.deepEqual(seen, [FWPS_CALLOUT_NOTIFY_ADD_FILTER]);
  });
});

describe('FwpmFilterAdd0 / FwpmFilterDelete*', () => {
  beforeEach(() => resetSystem());

  it('returns the filter id through the out box and deletes by id or key', () => {
    const h = openEngine();
    const f = filterOf({ action: FWP_ACTION_BLOCK });
    f.filterKey = guid(0x77);
    const id = { value: 0 };
    assert.equal(FwpmFilterAdd0(h, f, null, id), STATUS_SUCCESS);
    assert.ok(id.value > 0);
    assert.equal(f.filterId, id.value);
    assert.equal(FwpmFilterAdd0(h, f, null, id), STATUS_FWP_ALREADY_EXISTS);
    assert.equal(FwpmFilterDeleteByKey0(h, guid(0x77)), STATUS_SUCCESS);
    assert.equal(FwpmFilterDeleteByKey0(h, guid(0x77)), STATUS_FWP_FILTER_NOT_FOUND);
    assert.equal(FwpmFilterDeleteById0(h, id.value), STATUS_FWP_FILTER_NOT_FOUND);
  });

  it('keeps its own copy of the conditions: a driver may reuse its condition array for the next filter', () => {
    const h = openEngine();
    const port = intValue(FWP_UINT16, 80);
    const conditions = [cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, port)];
    const first = addFilter(h, { action: FWP_ACTION_BLOCK, conditions });
    port.uint16 = 443;
    const second = addFilter(h, { action: FWP_ACTION_BLOCK, conditions });
    const at = (remotePort: number) =>
      classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues({ ...PKT, remotePort }), noMetadata(), null)
        .filterId;
    assert.equal(at(80), first);
    assert.equal(at(443), second);
  });

  it('reports the documented errors', () => {
    const h = openEngine();
    assert.equal(tryAdd(h, { layerKey: guid(9), action: FWP_ACTION_BLOCK }), STATUS_FWP_LAYER_NOT_FOUND);
    assert.equal(tryAdd(h, { subLayerKey: guid(9), action: FWP_ACTION_BLOCK }), STATUS_FWP_SUBLAYER_NOT_FOUND);
    assert.equal(
      tryAdd(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(9) }),
      STATUS_FWP_CALLOUT_NOT_FOUND,
    );
    assert.equal(tryAdd(h, { action: 0x1234 }), STATUS_FWP_INVALID_ACTION_TYPE);
    assert.equal(tryAdd(h, { weight: { uint8: 16 }, action: FWP_ACTION_BLOCK }), STATUS_FWP_INVALID_WEIGHT);
    assert.equal(tryAdd(h, { flags: 0x80000, action: FWP_ACTION_BLOCK }), STATUS_FWP_INVALID_FLAGS);
    assert.equal(
      tryAdd(h, { flags: FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED, action: FWP_ACTION_BLOCK }),
      STATUS_FWP_INVALID_FLAGS,
    );
    // A field of another layer.
    assert.equal(
      tryAdd(h, {
        action: FWP_ACTION_BLOCK,
        conditions: [cond(FWPM_CONDITION_IP_SOURCE_ADDRESS, FWP_MATCH_EQUAL, intValue(FWP_UINT32, 1))],
      }),
      STATUS_FWP_CONDITION_NOT_FOUND,
    );
    assert.equal(
      tryAdd(h, {
        action: FWP_ACTION_BLOCK,
        conditions: [cond(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_EQUAL, intValue(FWP_UINT16, 6))],
      }),
      STATUS_FWP_TYPE_MISMATCH,
    );
    assert.equal(
      tryAdd(h, {
        action: FWP_ACTION_BLOCK,
        conditions: [cond(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_PREFIX, intValue(FWP_UINT8, 6))],
      }),
      STATUS_FWP_MATCH_TYPE_MISMATCH,
    );
    const range = new FWP_CONDITION_VALUE0();
    range.type = FWP_RANGE_TYPE;
    range.rangeValue = new FWP_RANGE0(
      setNumber(new FWP_VALUE0(), FWP_UINT16, 90),
      setNumber(new FWP_VALUE0(), FWP_UINT16, 80),
    );
    assert.equal(
      tryAdd(h, {
        action: FWP_ACTION_BLOCK,
        conditions: [cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_RANGE, range)],
      }),
      STATUS_FWP_INVALID_RANGE,
    );
    const mask = new FWP_CONDITION_VALUE0();
    mask.type = FWP_V4_ADDR_MASK;
    mask.v4AddrMask = new FWP_V4_ADDR_AND_MASK(ipv4(10, 0, 0, 0), 0xff00ff00);
    assert.equal(
      tryAdd(h, {
        action: FWP_ACTION_BLOCK,
        conditions: [cond(FWPM_CONDITION_IP_REMOTE_ADDRESS, FWP_MATCH_EQUAL, mask)],
      }),
      STATUS_FWP_INVALID_NET_MASK,
    );
    // A callout for another layer.
    addCallout(h, guid(8), () => {}, { layerKey: FWPM_LAYER_ALE_AUTH_CONNECT_V4 });
    assert.equal(
      tryAdd(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(8) }),
      STATUS_FWP_INCOMPATIBLE_LAYER,
    );
    assert.equal(FwpmFilterAdd0(h, null, null, null) < 0, true);
  });

  it('weights: FWP_UINT8 range index beats automatic weights; FWP_UINT64 is used as is; ties go to the older filter', () => {
    const h = openEngine();
    addFilter(h, {
      action: FWP_ACTION_BLOCK,
      conditions: [cond(FWPM_CONDITION_IP_PROTOCOL, FWP_MATCH_EQUAL, intValue(FWP_UINT8, 6))],
    });
    const ranged = addFilter(h, { weight: { uint8: 1 }, action: FWP_ACTION_PERMIT });
    let out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(PKT), noMetadata(), null);
    assert.equal(out.filterId, ranged);
    const top = addFilter(h, { weight: 0xffffffffffffffffn, action: FWP_ACTION_BLOCK });
    addFilter(h, { weight: 0xffffffffffffffffn, action: FWP_ACTION_PERMIT });
    out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(PKT), noMetadata(), null);
    assert.equal(out.filterId, top);
  });

  it('sublayers are ordered by weight, and filters without a sublayer go to FWPM_SUBLAYER_UNIVERSAL', () => {
    const h = openEngine();
    const low = addSublayer(h, 0x10);
    const high = addSublayer(h, 0xfff0);
    addFilter(h, { subLayerKey: low, action: FWP_ACTION_PERMIT, flags: 8 });
    addFilter(h, { action: FWP_ACTION_BLOCK });
    const hp = addFilter(h, { subLayerKey: high, action: FWP_ACTION_PERMIT, flags: 8 });
    const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, transportValues(PKT), noMetadata(), null);
    assert.equal(out.actionType, FWP_ACTION_PERMIT);
    assert.equal(out.filterId, hp);
  });

  it('classify with incoming values of another layer is a verifier bug check', () => {
    const values = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, FWPS_FIELD_OUTBOUND_TRANSPORT_V4_MAX);
    assertBugCheck(
      () => classifyAtLayer(FWPS_LAYER_ALE_AUTH_CONNECT_V4, values, noMetadata(), null),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
    );
  });
});

describe('condition matching (FWP_MATCH_TYPE, FWP_CONDITION_VALUE0)', () => {
  const u16 = (n: number) => setNumber(new FWP_VALUE0(), FWP_UINT16, n);
  const c16 = (n: number) => setNumber(new FWP_CONDITION_VALUE0(), FWP_UINT16, n);
  const c32 = (n: number) => setNumber(new FWP_CONDITION_VALUE0(), FWP_UINT32, n);
  const u32 = (n: number) => setNumber(new FWP_VALUE0(), FWP_UINT32, n);

  it('integer comparisons and flag tests', () => {
    const table: [number, number, number, boolean][] = [
      [80, FWP_MATCH_EQUAL, 80, true],
      [80, FWP_MATCH_NOT_EQUAL, 80, false],
      [81, FWP_MATCH_GREATER, 80, true],
      [80, FWP_MATCH_GREATER, 80, false],
      [79, FWP_MATCH_LESS, 80, true],
      [80, FWP_MATCH_GREATER_OR_EQUAL, 80, true],
      [80, FWP_MATCH_LESS_OR_EQUAL, 79, false],
      [0b1110, FWP_MATCH_FLAGS_ALL_SET, 0b0110, true],
      [0b1010, FWP_MATCH_FLAGS_ALL_SET, 0b0110, false],
      [0b1000, FWP_MATCH_FLAGS_ANY_SET, 0b1001, true],
      [0b1000, FWP_MATCH_FLAGS_NONE_SET, 0b0001, true],
      [0b1000, FWP_MATCH_FLAGS_NONE_SET, 0b1001, false],
    ];
    for (const [v, m, c, want] of table) assert.equal(conditionMatches(u16(v), m, c16(c)), want, `${v} ${m} ${c}`);
    assert.equal(conditionMatches(u32(0xffff0000), FWP_MATCH_FLAGS_ALL_SET, c32(0x80000000)), true, 'top bit');
  });

  it('ranges are inclusive; an IPv4 mask compares the masked bits; an IPv6 prefix the first bits', () => {
    const r = new FWP_CONDITION_VALUE0();
    r.type = FWP_RANGE_TYPE;
    r.rangeValue = new FWP_RANGE0(u16(1000), u16(2000));
    assert.equal(conditionMatches(u16(1000), FWP_MATCH_RANGE, r), true);
    assert.equal(conditionMatches(u16(2000), FWP_MATCH_RANGE, r), true);
    assert.equal(conditionMatches(u16(2001), FWP_MATCH_RANGE, r), false);
    const m = new FWP_CONDITION_VALUE0();
    m.type = FWP_V4_ADDR_MASK;
    m.v4AddrMask = new FWP_V4_ADDR_AND_MASK(ipv4(192, 168, 0, 0), 0xffff0000);
    assert.equal(conditionMatches(u32(ipv4(192, 168, 7, 9)), FWP_MATCH_EQUAL, m), true);
    assert.equal(conditionMatches(u32(ipv4(192, 169, 7, 9)), FWP_MATCH_EQUAL, m), false);
    assert.equal(conditionMatches(u32(ipv4(192, 169, 7, 9)), FWP_MATCH_NOT_EQUAL, m), true);
    const six = new FWP_CONDITION_VALUE0();
    six.type = FWP_V6_ADDR_MASK;
    six.v6AddrMask = new FWP_V6_ADDR_AND_MASK(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]), 32);
    const addr = new FWP_VALUE0();
    addr.type = FWP_BYTE_ARRAY16_TYPE;
    addr.byteArray16 = new FWP_BYTE_ARRAY16(
      Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    );
    assert.equal(conditionMatches(addr, FWP_MATCH_EQUAL, six), true);
    addr.byteArray16.byteArray16[3] = 0xb9;
    assert.equal(conditionMatches(addr, FWP_MATCH_EQUAL, six), false);
  });

  it('blobs: exact, case-insensitive and prefix; an empty incoming field matches nothing', () => {
    const utf16 = (s: string) => new Uint8Array(Buffer.from(`${s}\0`, 'utf16le'));
    const blob = (s: string) => {
      const v = new FWP_CONDITION_VALUE0();
      v.type = FWP_BYTE_BLOB_TYPE;
      v.byteBlob = new FWP_BYTE_BLOB(utf16(s));
      return v;
    };
    const app = blob('\\device\\harddiskvolume1\\app.exe');
    assert.equal(conditionMatches(app, FWP_MATCH_EQUAL, blob('\\device\\harddiskvolume1\\app.exe')), true);
    assert.equal(conditionMatches(app, FWP_MATCH_EQUAL, blob('\\DEVICE\\harddiskvolume1\\app.exe')), false);
    assert.equal(
      conditionMatches(app, FWP_MATCH_EQUAL_CASE_INSENSITIVE, blob('\\DEVICE\\HarddiskVolume1\\APP.exe')),
      true,
    );
    assert.equal(conditionMatches(app, FWP_MATCH_PREFIX, blob('\\device\\harddiskvolume1\\')), true);
    assert.equal(conditionMatches(new FWP_VALUE0(), FWP_MATCH_EQUAL, c16(0)), false);
  });
});

describe('IPv6 layers and metadata', () => {
  beforeEach(() => resetSystem());

  it('IPv6 address fields are FWP_BYTE_ARRAY16_TYPE and match FWP_V6_ADDR_MASK prefixes (FWPS_FIELDS_*_V6)', () => {
    const h = openEngine();
    const prefix = new FWP_CONDITION_VALUE0();
    prefix.type = FWP_V6_ADDR_MASK;
    prefix.v6AddrMask = new FWP_V6_ADDR_AND_MASK(
      Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]),
      32,
    );
    const id = addFilter(h, {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V6,
      action: FWP_ACTION_BLOCK,
      conditions: [cond(FWPM_CONDITION_IP_REMOTE_ADDRESS, FWP_MATCH_EQUAL, prefix)],
    });
    assert.equal(
      tryAdd(h, {
        layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V6,
        action: FWP_ACTION_BLOCK,
        conditions: [cond(FWPM_CONDITION_IP_REMOTE_ADDRESS, FWP_MATCH_EQUAL, intValue(FWP_UINT32, 1))],
      }),
      STATUS_FWP_TYPE_MISMATCH,
      'a 32-bit value for an IPv6 address',
    );
    const values = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V6, FWPS_FIELD_OUTBOUND_TRANSPORT_V6_MAX);
    const remote = values.incomingValue[FWPS_FIELD_OUTBOUND_TRANSPORT_V6_IP_REMOTE_ADDRESS]!.value;
    remote.type = FWP_BYTE_ARRAY16_TYPE;
    remote.byteArray16 = new FWP_BYTE_ARRAY16(
      Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    );
    const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V6, values, noMetadata(), null);
    assert.equal(out.actionType, FWP_ACTION_BLOCK);
    assert.equal(out.filterId, id);
    remote.byteArray16.byteArray16[0] = 0xfe;
    assert.equal(
      classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V6, values, noMetadata(), null).actionType,
      FWP_ACTION_PERMIT,
    );
  });

  it('FWPS_IS_METADATA_FIELD_PRESENT tests currentMetadataValues', () => {
    const meta = noMetadata();
    assert.equal(FWPS_IS_METADATA_FIELD_PRESENT(meta, FWPS_METADATA_FIELD_FLOW_HANDLE), false);
    meta.currentMetadataValues |= FWPS_METADATA_FIELD_FLOW_HANDLE;
    assert.equal(FWPS_IS_METADATA_FIELD_PRESENT(meta, FWPS_METADATA_FIELD_FLOW_HANDLE), true);
    assert.equal(FWPS_IS_METADATA_FIELD_PRESENT(meta, FWPS_METADATA_FIELD_IP_HEADER_SIZE), false);
  });
});
