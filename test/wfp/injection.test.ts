import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { BugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../../src/kernel/bugcheck.js';
import { pendingDeferredWork, settle } from '../../src/kernel/deferred.js';
import { STATUS_INVALID_PARAMETER, STATUS_SUCCESS, STATUS_UNSUCCESSFUL } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import {
  AF_INET,
  AF_INET6,
  classifyAtLayer,
  completeInjectedNetBufferList,
  EngineOnlyInjectionSink,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_PERMIT,
  FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW,
  FWP_MATCH_EQUAL,
  FWP_UINT16,
  FWP_UINT32,
  FWPM_CALLOUT0,
  FWPM_CONDITION_IP_REMOTE_PORT,
  FWPM_LAYER_INBOUND_IPPACKET_V4,
  FWPM_LAYER_OUTBOUND_IPPACKET_V4,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPS_CALLOUT0,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_LOCAL_ADDRESS,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_MAX,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_PORT,
  FWPS_INCOMING_VALUES0,
  type FWPS_INJECT_COMPLETE0,
  FWPS_INJECTION_TYPE_NETWORK,
  FWPS_INJECTION_TYPE_TRANSPORT,
  FWPS_LAYER_INBOUND_IPPACKET_V4,
  FWPS_LAYER_OUTBOUND_IPPACKET_V4,
  FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPS_METADATA_FIELD_FLOW_HANDLE,
  FWPS_PACKET_INJECTED_BY_OTHER,
  FWPS_PACKET_INJECTED_BY_SELF,
  FWPS_PACKET_NOT_INJECTED,
  FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF,
  FWPS_RIGHT_ACTION_WRITE,
  FWPS_TRANSPORT_SEND_PARAMS0,
  FwpmCalloutAdd0,
  FwpsAllocateCloneNetBufferList0,
  FwpsCalloutRegister0,
  FwpsCalloutUnregisterById0,
  FwpsConstructIpHeaderForTransportPacket0,
  FwpsFlowAssociateContext0,
  FwpsFlowRemoveContext0,
  FwpsFreeCloneNetBufferList0,
  FwpsFreeNetBufferList0,
  FwpsInjectForwardAsync0,
  FwpsInjectionHandleCreate0,
  FwpsInjectionHandleDestroy0,
  FwpsInjectNetworkReceiveAsync0,
  FwpsInjectNetworkSendAsync0,
  FwpsInjectTransportReceiveAsync0,
  FwpsInjectTransportSendAsync0,
  FwpsQueryPacketInjectionState0,
  type InjectionSink,
  type LoopbackVerdict,
  outstandingInjectionHandles,
  outstandingInjections,
  STATUS_DEVICE_BUSY,
  STATUS_FWP_INJECT_HANDLE_CLOSING,
  setInjectionSink,
  setNumber,
} from '../../src/wfp/index.js';
import { assertBugCheck } from '../helpers.js';
import { assertNothingLeft, dataOf, freePool, packet, udp4, wfpPool } from './packetUtil.js';
import { addCallout, addFilter, calloutDevice, cond, guid, intValue, ipv4, noMetadata, openEngine } from './util.js';

const LOCAL = ipv4(10, 0, 0, 1);
const REMOTE = ipv4(192, 0, 2, 7);
const KEY = guid(0xabc);

function handle(af = AF_INET, flags = FWPS_INJECTION_TYPE_NETWORK): unknown {
  const h = { value: null as unknown };
  assert.equal(FwpsInjectionHandleCreate0(af, flags, h), STATUS_SUCCESS);
  return h.value;
}

function outboundIpValues(): FWPS_INCOMING_VALUES0 {
  const v = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_IPPACKET_V4, FWPS_FIELD_OUTBOUND_IPPACKET_V4_MAX);
  setNumber(v.incomingValue[FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_LOCAL_ADDRESS]!.value, FWP_UINT32, LOCAL);
  setNumber(v.incomingValue[FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS]!.value, FWP_UINT32, REMOTE);
  return v;
}

/** A sink that records what it is given and completes only when told. */
class RecordingSink implements InjectionSink {
  readonly got: { op: string; nbl: NET_BUFFER_LIST; args: unknown[] }[] = [];
  refuse = 0;
  private take(op: string, nbl: NET_BUFFER_LIST, ...args: unknown[]): number {
    if (this.refuse !== 0) return this.refuse;
    this.got.push({ op, nbl, args });
    return STATUS_SUCCESS;
  }
  networkSend(nbl: NET_BUFFER_LIST, c: number, af: number) {
    return this.take('networkSend', nbl, c, af);
  }
  networkReceive(nbl: NET_BUFFER_LIST, c: number, i: number, s: number, af: number) {
    return this.take('networkReceive', nbl, c, i, s, af);
  }
  forward(nbl: NET_BUFFER_LIST, c: number, i: number, af: number) {
    return this.take('forward', nbl, c, i, af);
  }
  transportSend(nbl: NET_BUFFER_LIST, e: number, p: FWPS_TRANSPORT_SEND_PARAMS0 | null, af: number, c: number) {
    return this.take('transportSend', nbl, e, p, af, c);
  }
  transportReceive(nbl: NET_BUFFER_LIST, c: number, i: number, s: number, af: number) {
    return this.take('transportReceive', nbl, c, i, s, af);
  }
}

describe('block, absorb, clone and reinject (the inspect sample pattern)', () => {
  beforeEach(() => resetSystem());

  /** The callout: permits its own reinjected clones, absorbs and reinjects everything else. */
  function reinjector(injection: unknown, states: number[], completions: NET_BUFFER_LIST[]) {
    const complete: FWPS_INJECT_COMPLETE0 = (context, nbl, dispatchLevel) => {
      assert.equal(context, 'completion context');
      assert.equal(dispatchLevel, true);
      assert.equal(nbl.Status, STATUS_SUCCESS);
      completions.push(nbl);
      FwpsFreeCloneNetBufferList0(nbl, 0);
    };
    return (
      _values: unknown,
      _meta: unknown,
      layerData: NET_BUFFER_LIST | null,
      _ctx: unknown,
      _filter: unknown,
      _flow: number,
      out: { actionType: number; rights: number; flags: number },
    ) => {
      const context = { value: null as unknown };
      const state = FwpsQueryPacketInjectionState0(injection, layerData!, context);
      states.push(state);
      if (state === FWPS_PACKET_INJECTED_BY_SELF || state === FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
        assert.equal(context.value, 'injection context');
        out.actionType = FWP_ACTION_PERMIT;
        return;
      }
      if ((out.rights & FWPS_RIGHT_ACTION_WRITE) === 0) return;
      const clone = { value: null as NET_BUFFER_LIST | null };
      assert.equal(FwpsAllocateCloneNetBufferList0(layerData!, null, null, 0, clone), STATUS_SUCCESS);
      const status = FwpsInjectNetworkSendAsync0(
        injection,
        'injection context',
        0,
        1,
        clone.value!,
        complete,
        'completion context',
      );
      assert.equal(status, STATUS_SUCCESS);
      out.actionType = FWP_ACTION_BLOCK;
      out.rights &= ~FWPS_RIGHT_ACTION_WRITE;
      out.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
    };
  }

  it('the clone comes back as INJECTED_BY_SELF and passes; its completion runs once, later; everything is freed', async () => {
    const h = openEngine();
    const injection = handle();
    const states: number[] = [];
    const completions: NET_BUFFER_LIST[] = [];
    addCallout(h, KEY, reinjector(injection, states, completions), { layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4 });
    addFilter(h, {
      layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: KEY,
    });
    const verdicts: LoopbackVerdict[] = [];
    const delivered: Uint8Array[] = [];
    setInjectionSink(
      new EngineOnlyInjectionSink((nbl, v) => {
        verdicts.push(v);
        delivered.push(dataOf(nbl.FirstNetBuffer!));
      }),
    );
    const pool = wfpPool();
    const bytes = udp4(LOCAL, REMOTE, 5000, 53);
    const { nbl, chain } = packet(pool, bytes);

    const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_IPPACKET_V4, outboundIpValues(), noMetadata(), nbl);
    assert.equal(out.actionType, FWP_ACTION_BLOCK);
    assert.equal(out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB, FWPS_CLASSIFY_OUT_FLAG_ABSORB);
    assert.equal(completions.length, 0, 'completion is asynchronous');
    assert.equal(nbl.ChildRefCount, 1, 'the clone holds the original');

    await settle();
    assert.equal(completions.length, 1, 'exactly one completion');
    assert.deepEqual(states, [FWPS_PACKET_NOT_INJECTED, FWPS_PACKET_INJECTED_BY_SELF]);
    assert.deepEqual(verdicts, [{ layerId: FWPS_LAYER_OUTBOUND_IPPACKET_V4, action: FWP_ACTION_PERMIT, flags: 0 }]);
    assert.deepEqual(delivered, [bytes]);
    assert.equal(nbl.ChildRefCount, 0);
    await settle();
    assert.equal(completions.length, 1, 'still exactly one');
    assert.equal(pendingDeferredWork(), 0);

    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
    assert.equal(FwpsInjectionHandleDestroy0(injection), STATUS_SUCCESS);
    assertNothingLeft();
  });

  it('property: over random traffic, every injected clone completes exactly once and pools return to zero', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(53, 80, 443), { minLength: 1, maxLength: 12 }), async (ports) => {
        resetSystem();
        const h = openEngine();
        const injection = handle();
        const states: number[] = [];
        const completions: NET_BUFFER_LIST[] = [];
        addCallout(h, KEY, reinjector(injection, states, completions), { layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4 });
        addFilter(h, {
          layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
          action: FWP_ACTION_CALLOUT_TERMINATING,
          calloutKey: KEY,
        });
        const verdicts: LoopbackVerdict[] = [];
        setInjectionSink(new EngineOnlyInjectionSink((_n, v) => verdicts.push(v)));
        const pool = wfpPool();
        const held = ports.map((p) => packet(pool, udp4(LOCAL, REMOTE, 4000, p)));
        for (const { nbl } of held) {
          const out = classifyAtLayer(FWPS_LAYER_OUTBOUND_IPPACKET_V4, outboundIpValues(), noMetadata(), nbl);
          assert.equal(out.actionType, FWP_ACTION_BLOCK);
        }
        await settle();
        assert.equal(completions.length, ports.length);
        assert.equal(new Set(completions).size, ports.length, 'each clone completed once');
        assert.ok(verdicts.every((v) => v.action === FWP_ACTION_PERMIT));
        for (const { nbl, chain } of held) {
          assert.equal(nbl.ChildRefCount, 0);
          FwpsFreeNetBufferList0(nbl);
          chain.free();
        }
        freePool(pool);
        FwpsInjectionHandleDestroy0(injection);
        assertNothingLeft();
      }),
      { numRuns: 30 },
    );
  });
});

describe('injection functions: arguments, sink, completion, state', () => {
  beforeEach(() => resetSystem());

  it('FwpsInjectionHandleCreate0 checks the address family and type; a destroyed handle refuses injections', () => {
    const h = { value: null as unknown };
    assert.equal(FwpsInjectionHandleCreate0(99, FWPS_INJECTION_TYPE_NETWORK, h), STATUS_INVALID_PARAMETER);
    assert.equal(FwpsInjectionHandleCreate0(AF_INET, 0x4000, h), STATUS_INVALID_PARAMETER);
    const inj = handle();
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(LOCAL, REMOTE, 1, 2));
    assert.equal(FwpsInjectionHandleDestroy0(inj), STATUS_SUCCESS);
    assert.equal(FwpsInjectionHandleDestroy0(inj), STATUS_INVALID_PARAMETER);
    assert.equal(
      FwpsInjectNetworkSendAsync0(inj, null, 0, 1, nbl, () => {}, null),
      STATUS_FWP_INJECT_HANDLE_CLOSING,
    );
    const transportOnly = handle(AF_INET, FWPS_INJECTION_TYPE_TRANSPORT);
    assert.equal(
      FwpsInjectNetworkSendAsync0(transportOnly, null, 0, 1, nbl, () => {}, null),
      STATUS_INVALID_PARAMETER,
    );
    const six = handle(AF_INET6, FWPS_INJECTION_TYPE_NETWORK);
    assert.equal(
      FwpsInjectForwardAsync0(six, null, 0, AF_INET, 1, 2, nbl, () => {}, null),
      STATUS_INVALID_PARAMETER,
    );
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });

  it('each function hands its arguments to the registered sink; a refusal returns its status and never completes', async () => {
    const sink = new RecordingSink();
    setInjectionSink(sink);
    const net = handle(AF_INET, FWPS_INJECTION_TYPE_NETWORK | 8);
    const tr = handle(AF_INET, FWPS_INJECTION_TYPE_TRANSPORT);
    const pool = wfpPool();
    const pkts = [0, 1, 2, 3, 4].map(() => packet(pool, udp4(LOCAL, REMOTE, 1, 2)));
    let done = 0;
    const complete: FWPS_INJECT_COMPLETE0 = () => done++;
    const params = new FWPS_TRANSPORT_SEND_PARAMS0();
    params.remoteAddress = Uint8Array.from([192, 0, 2, 7]);
    assert.equal(FwpsInjectNetworkSendAsync0(net, 1, 0, 7, pkts[0]!.nbl, complete, null), STATUS_SUCCESS);
    assert.equal(FwpsInjectNetworkReceiveAsync0(net, 2, 0, 7, 3, 4, pkts[1]!.nbl, complete, null), STATUS_SUCCESS);
    assert.equal(FwpsInjectForwardAsync0(net, 3, 0, AF_INET, 7, 5, pkts[2]!.nbl, complete, null), STATUS_SUCCESS);
    assert.equal(
      FwpsInjectTransportSendAsync0(tr, 4, 99, 0, params, AF_INET, 7, pkts[3]!.nbl, complete, null),
      STATUS_SUCCESS,
    );
    assert.equal(
      FwpsInjectTransportReceiveAsync0(tr, 5, null, 0, AF_INET, 7, 3, 4, pkts[4]!.nbl, complete, null),
      STATUS_SUCCESS,
    );
    assert.deepEqual(
      sink.got.map((g) => [g.op, ...g.args]),
      [
        ['networkSend', 7, AF_INET],
        ['networkReceive', 7, 3, 4, AF_INET],
        ['forward', 7, 5, AF_INET],
        ['transportSend', 99, params, AF_INET, 7],
        ['transportReceive', 7, 3, 4, AF_INET],
      ],
    );
    await settle();
    assert.equal(done, 0, 'nothing completes before the host says so');
    for (const g of sink.got) completeInjectedNetBufferList(g.nbl, STATUS_SUCCESS);
    assert.equal(done, 0, 'completion is deferred');
    await settle();
    assert.equal(done, 5);
    assertBugCheck(
      () => completeInjectedNetBufferList(pkts[0]!.nbl, STATUS_SUCCESS),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
    );
    sink.refuse = STATUS_UNSUCCESSFUL;
    assert.equal(FwpsInjectNetworkSendAsync0(net, 1, 0, 7, pkts[0]!.nbl, complete, null), STATUS_UNSUCCESSFUL);
    await settle();
    assert.equal(done, 5, 'a refused injection never completes');
    assert.deepEqual(outstandingInjections(), [], 'and leaves nothing outstanding');
    sink.refuse = 0;
    assert.equal(FwpsInjectNetworkSendAsync0(net, 'pending', 0, 7, pkts[0]!.nbl, complete, null), STATUS_SUCCESS);
    assert.deepEqual(
      outstandingInjections().map((o) => [o.handle, o.netBufferList, o.injectionContext]),
      [[net, pkts[0]!.nbl, 'pending']],
      'the leak report lists an injection the host has not completed',
    );
    completeInjectedNetBufferList(pkts[0]!.nbl, STATUS_SUCCESS);
    await settle();
    for (const p of pkts) {
      FwpsFreeNetBufferList0(p.nbl);
      p.chain.free();
    }
    freePool(pool);
    assert.equal(outstandingInjectionHandles().length, 2);
    FwpsInjectionHandleDestroy0(net);
    FwpsInjectionHandleDestroy0(tr);
    assertNothingLeft();
  });

  it('injecting a list whose earlier injection has not completed, or freeing it then, is caught', async () => {
    setInjectionSink(new RecordingSink());
    const inj = handle();
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(LOCAL, REMOTE, 1, 2));
    assert.equal(
      FwpsInjectNetworkSendAsync0(inj, null, 0, 1, nbl, () => {}, null),
      STATUS_SUCCESS,
    );
    assertBugCheck(
      () => FwpsInjectNetworkSendAsync0(inj, null, 0, 1, nbl, () => {}, null),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
    );
    assertBugCheck(() => FwpsFreeNetBufferList0(nbl), DRIVER_VERIFIER_DETECTED_VIOLATION);
    completeInjectedNetBufferList(nbl, STATUS_SUCCESS);
    await settle();
    FwpsFreeNetBufferList0(nbl);
    assert.throws(() => FwpsInjectNetworkSendAsync0(inj, null, 0, 1, nbl, () => {}, null), BugCheck, 'a freed list');
    chain.free();
    freePool(pool);
  });

  it('FwpsQueryPacketInjectionState0: NOT_INJECTED, BY_SELF with its context, BY_OTHER, PREVIOUSLY_BY_SELF for a clone', async () => {
    const sink = new RecordingSink();
    setInjectionSink(sink);
    const mine = handle();
    const other = handle();
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(LOCAL, REMOTE, 1, 2));
    assert.equal(FwpsQueryPacketInjectionState0(mine, nbl, null), FWPS_PACKET_NOT_INJECTED);
    assert.equal(
      FwpsInjectNetworkSendAsync0(mine, 'ctx', 0, 1, nbl, () => {}, null),
      STATUS_SUCCESS,
    );
    const ctx = { value: null as unknown };
    assert.equal(FwpsQueryPacketInjectionState0(mine, nbl, ctx), FWPS_PACKET_INJECTED_BY_SELF);
    assert.equal(ctx.value, 'ctx');
    assert.equal(FwpsQueryPacketInjectionState0(other, nbl, null), FWPS_PACKET_INJECTED_BY_OTHER);
    const clone = { value: null as NET_BUFFER_LIST | null };
    FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, clone);
    assert.equal(FwpsQueryPacketInjectionState0(mine, clone.value!, null), FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF);
    assert.equal(FwpsQueryPacketInjectionState0(other, clone.value!, null), FWPS_PACKET_NOT_INJECTED);
    FwpsFreeCloneNetBufferList0(clone.value!, 0);
    completeInjectedNetBufferList(nbl, STATUS_SUCCESS);
    await settle();
    assert.equal(
      FwpsQueryPacketInjectionState0(mine, nbl, null),
      FWPS_PACKET_NOT_INJECTED,
      'the mark ends with completion',
    );
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });

  it('the loopback positions a received packet at the transport header for INBOUND_IPPACKET and restores it', async () => {
    const h = openEngine();
    const seen: { offset: number; ipHeaderSize: number }[] = [];
    addCallout(
      h,
      KEY,
      (_v, meta, layerData, _c, _f, _fl, out) => {
        seen.push({ offset: layerData!.FirstNetBuffer!.DataOffset, ipHeaderSize: meta.ipHeaderSize });
        out.actionType = FWP_ACTION_PERMIT;
      },
      { layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4 },
    );
    addFilter(h, { layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4, action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: KEY });
    const verdicts: LoopbackVerdict[] = [];
    setInjectionSink(new EngineOnlyInjectionSink((_n, v) => verdicts.push(v)));
    const inj = handle();
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(REMOTE, LOCAL, 53, 5000), 40);
    let completed = 0;
    assert.equal(
      FwpsInjectNetworkReceiveAsync0(inj, null, 0, 1, 2, 0, nbl, () => completed++, null),
      STATUS_SUCCESS,
    );
    await settle();
    assert.deepEqual(seen, [{ offset: 60, ipHeaderSize: 20 }]);
    assert.equal(nbl.FirstNetBuffer!.DataOffset, 40, 'restored to the IP header');
    assert.equal(verdicts[0]!.layerId, FWPS_LAYER_INBOUND_IPPACKET_V4);
    assert.equal(completed, 1);
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });

  it('transport send: the loopback classifies OUTBOUND_TRANSPORT with the remote address of FWPS_TRANSPORT_SEND_PARAMS0', async () => {
    const h = openEngine();
    addFilter(h, {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      action: FWP_ACTION_BLOCK,
      conditions: [cond(FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_EQUAL, intValue(FWP_UINT16, 53))],
    });
    const values: number[] = [];
    addCallout(
      h,
      KEY,
      (v, _m, _d, _c, _f, _fl, out) => {
        values.push(v.incomingValue[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS]!.value.uint32);
        values.push(v.incomingValue[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_PORT]!.value.uint16);
        out.actionType = FWP_ACTION_PERMIT;
      },
      { layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4 },
    );
    addFilter(h, {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: KEY,
      weight: 0xffffffffffffffffn,
    });
    const verdicts: LoopbackVerdict[] = [];
    setInjectionSink(new EngineOnlyInjectionSink((_n, v) => verdicts.push(v)));
    const inj = handle(AF_INET, FWPS_INJECTION_TYPE_TRANSPORT);
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(LOCAL, REMOTE, 5000, 53).subarray(20));
    const params = new FWPS_TRANSPORT_SEND_PARAMS0();
    params.remoteAddress = Uint8Array.from([192, 0, 2, 7]);
    assert.equal(
      FwpsInjectTransportSendAsync0(inj, null, 0, 0, params, AF_INET, 1, nbl, () => {}, null),
      STATUS_SUCCESS,
    );
    await settle();
    assert.deepEqual(values, [REMOTE, 53]);
    assert.deepEqual(verdicts, [{ layerId: FWPS_LAYER_OUTBOUND_TRANSPORT_V4, action: FWP_ACTION_PERMIT, flags: 0 }]);
    const bad = new FWPS_TRANSPORT_SEND_PARAMS0();
    bad.remoteAddress = new Uint8Array(16);
    assert.equal(
      FwpsInjectTransportSendAsync0(inj, null, 0, 0, bad, AF_INET, 1, nbl, () => {}, null),
      STATUS_INVALID_PARAMETER,
    );
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });
});

describe('FwpsConstructIpHeaderForTransportPacket0', () => {
  beforeEach(() => resetSystem());

  function checksumOk(b: Uint8Array): boolean {
    let s = 0;
    for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s === 0xffff;
  }

  it('prepends an IPv4 header with lengths, protocol, addresses and valid IP and UDP checksums', () => {
    const pool = wfpPool();
    const full = udp4(LOCAL, REMOTE, 5000, 53, Uint8Array.from([1, 2, 3, 4, 5]));
    const { nbl, chain } = packet(pool, full.subarray(20), 64);
    const src = Uint8Array.from([10, 0, 0, 1]);
    const dst = Uint8Array.from([192, 0, 2, 7]);
    assert.equal(
      FwpsConstructIpHeaderForTransportPacket0(nbl, 0, AF_INET, src, dst, 17, 0, null, 0, 0, null, 0, 0),
      STATUS_SUCCESS,
    );
    const b = dataOf(nbl.FirstNetBuffer!);
    assert.equal(b.length, full.length);
    assert.equal(b[0], 0x45);
    assert.equal((b[2]! << 8) | b[3]!, full.length);
    assert.equal(b[9], 17);
    assert.deepEqual(b.subarray(12, 16), src);
    assert.deepEqual(b.subarray(16, 20), dst);
    assert.ok(checksumOk(b.subarray(0, 20)), 'IPv4 header checksum');
    const seg = b.subarray(20);
    const pseudo = new Uint8Array(12 + seg.length);
    pseudo.set(src, 0);
    pseudo.set(dst, 4);
    pseudo[9] = 17;
    pseudo[10] = seg.length >> 8;
    pseudo[11] = seg.length & 0xff;
    pseudo.set(seg, 12);
    assert.ok(checksumOk(pseudo), 'UDP checksum over the pseudo-header');
    assert.equal(
      FwpsConstructIpHeaderForTransportPacket0(nbl, 0, 3, src, dst, 17, 0, null, 0, 0, null, 0, 0),
      STATUS_INVALID_PARAMETER,
    );
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });

  it('replaces an existing header (headerIncludeHeaderLength) and reads addresses from simulated memory', () => {
    const pool = wfpPool();
    const full = udp4(LOCAL, REMOTE, 5000, 53);
    const { nbl, chain } = packet(pool, full);
    const addr = chain.blocks[0]!;
    const dst = ipv4(203, 0, 113, 9);
    const mem = new Uint8Array([203, 0, 113, 9]);
    assert.equal(
      FwpsConstructIpHeaderForTransportPacket0(
        nbl,
        20,
        AF_INET,
        Uint8Array.from([10, 0, 0, 1]),
        mem,
        17,
        0,
        null,
        0,
        0,
        null,
        0,
        0,
      ),
      STATUS_SUCCESS,
    );
    const b = dataOf(nbl.FirstNetBuffer!);
    assert.equal(b.length, full.length);
    assert.equal(((b[16]! << 24) | (b[17]! << 16) | (b[18]! << 8) | b[19]!) >>> 0, dst);
    // An address given as a pointer into simulated memory: the source address field of the packet itself.
    const srcPtr = addr + 12;
    assert.equal(
      FwpsConstructIpHeaderForTransportPacket0(nbl, 20, AF_INET, srcPtr, mem, 17, 0, null, 0, 0, null, 0, 0),
      STATUS_SUCCESS,
    );
    assert.deepEqual(dataOf(nbl.FirstNetBuffer!).subarray(12, 16), Uint8Array.from([10, 0, 0, 1]));
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });
});

describe('flow contexts (FwpsFlowAssociateContext0, FwpsFlowRemoveContext0, flowDeleteFn, STATUS_DEVICE_BUSY)', () => {
  beforeEach(() => resetSystem());

  it('classifyFn gets the flow context; unregistering while a flow holds one is STATUS_DEVICE_BUSY until removed', () => {
    const h = openEngine();
    const contexts: number[] = [];
    const deleted: number[][] = [];
    const id = addCallout(
      h,
      KEY,
      (_v, _m, _d, _c, _f, flowContext, out) => {
        contexts.push(flowContext);
        out.actionType = FWP_ACTION_PERMIT;
      },
      { flowDeleteFn: (layer, callout, ctx) => deleted.push([layer, callout, ctx]) },
    );
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: KEY });
    assert.equal(FwpsFlowAssociateContext0(77, FWPS_LAYER_OUTBOUND_TRANSPORT_V4, id, 0xbeef), STATUS_SUCCESS);
    const meta = noMetadata();
    meta.currentMetadataValues = FWPS_METADATA_FIELD_FLOW_HANDLE;
    meta.flowHandle = 77;
    const values = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, 16);
    classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, meta, null);
    classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, noMetadata(), null);
    assert.deepEqual(contexts, [0xbeef, 0]);
    assert.equal(FwpsCalloutUnregisterById0(id), STATUS_DEVICE_BUSY);
    assert.equal(FwpsFlowRemoveContext0(77, FWPS_LAYER_OUTBOUND_TRANSPORT_V4, id), STATUS_SUCCESS);
    assert.deepEqual(deleted, [[FWPS_LAYER_OUTBOUND_TRANSPORT_V4, id, 0xbeef]]);
    assert.equal(FwpsFlowRemoveContext0(77, FWPS_LAYER_OUTBOUND_TRANSPORT_V4, id), STATUS_UNSUCCESSFUL);
    assert.equal(FwpsCalloutUnregisterById0(id), STATUS_SUCCESS);
  });

  it('removing a context from inside the callout classifyFn is STATUS_PENDING, flowDeleteFn runs later', async () => {
    const h = openEngine();
    const deleted: number[] = [];
    let removeStatus = 0;
    const id = addCallout(
      h,
      KEY,
      (_v, _m, _d, _c, _f, _flow, out) => {
        removeStatus = FwpsFlowRemoveContext0(5, FWPS_LAYER_OUTBOUND_TRANSPORT_V4, calloutId);
        out.actionType = FWP_ACTION_PERMIT;
      },
      { flowDeleteFn: (_l, _c, ctx) => deleted.push(ctx) },
    );
    const calloutId = id;
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: KEY });
    FwpsFlowAssociateContext0(5, FWPS_LAYER_OUTBOUND_TRANSPORT_V4, id, 9);
    classifyAtLayer(
      FWPS_LAYER_OUTBOUND_TRANSPORT_V4,
      new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, 16),
      noMetadata(),
      null,
    );
    assert.equal(removeStatus, 0x103);
    assert.deepEqual(deleted, []);
    await settle();
    assert.deepEqual(deleted, [9]);
  });
});

describe('callout versions and flags', () => {
  beforeEach(() => resetSystem());

  it('FwpsCalloutRegister0 calls classifyFn0 without classifyContext; Register1 passes it', () => {
    const h = openEngine();
    const m = new FWPM_CALLOUT0();
    m.calloutKey = guid(0x10);
    m.applicableLayer = FWPM_LAYER_OUTBOUND_TRANSPORT_V4;
    assert.equal(FwpmCalloutAdd0(h, m, null, null), STATUS_SUCCESS);
    const args: unknown[][] = [];
    const c = new FWPS_CALLOUT0();
    c.calloutKey = guid(0x10);
    c.classifyFn = (...a: unknown[]) => {
      args.push(a);
      (a[5] as { actionType: number }).actionType = FWP_ACTION_PERMIT;
    };
    c.notifyFn = () => STATUS_SUCCESS;
    assert.equal(FwpsCalloutRegister0(calloutDevice(), c, null), STATUS_SUCCESS);
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(0x10), rawContext: 5n });
    const values = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, 16);
    classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, noMetadata(), null, 'ctx');
    assert.equal(args[0]!.length, 6, 'classifyFn0: values, metadata, layerData, filter, flowContext, classifyOut');
    assert.equal((args[0]![3] as { context: bigint }).context, 5n);
    const seen: unknown[] = [];
    addCallout(h, guid(0x11), (_v, _m, _d, classifyContext, _f, _fl, out) => {
      seen.push(classifyContext);
      out.actionType = FWP_ACTION_PERMIT;
    });
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(0x11), weight: 0xffffffffffffffffn });
    classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, noMetadata(), null, 'ctx');
    assert.deepEqual(seen, ['ctx']);
  });

  it('FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW: the callout runs only for flows it has a context on', () => {
    const h = openEngine();
    let calls = 0;
    const id = addCallout(
      h,
      KEY,
      (_v, _m, _d, _c, _f, _fl, out) => {
        calls++;
        out.actionType = FWP_ACTION_BLOCK;
      },
      { flags: FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW },
    );
    addFilter(h, { action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: KEY });
    const values = new FWPS_INCOMING_VALUES0(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, 16);
    const meta = noMetadata();
    meta.currentMetadataValues = FWPS_METADATA_FIELD_FLOW_HANDLE;
    meta.flowHandle = 3;
    assert.equal(classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, meta, null).actionType, FWP_ACTION_PERMIT);
    assert.equal(calls, 0);
    FwpsFlowAssociateContext0(3, FWPS_LAYER_OUTBOUND_TRANSPORT_V4, id, 1);
    assert.equal(classifyAtLayer(FWPS_LAYER_OUTBOUND_TRANSPORT_V4, values, meta, null).actionType, FWP_ACTION_BLOCK);
    assert.equal(calls, 1);
  });

  it('destroying an injection handle lets its pending injections complete', async () => {
    setInjectionSink(new RecordingSink());
    const inj = handle();
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(LOCAL, REMOTE, 1, 2));
    let done = 0;
    assert.equal(
      FwpsInjectNetworkSendAsync0(inj, null, 0, 1, nbl, () => done++, null),
      STATUS_SUCCESS,
    );
    assert.equal(FwpsInjectionHandleDestroy0(inj), STATUS_SUCCESS);
    completeInjectedNetBufferList(nbl, STATUS_SUCCESS);
    await settle();
    assert.equal(done, 1);
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
  });
});
