/**
 * The host bound to the real filter engine and firewall hooks: static filters, a callout that absorbs, clones
 * and re-injects (the block-and-reinject pattern of Windows-driver-samples' inspect), and firewall hooks that
 * drop, edit in place and replace - each accounted for, nothing leaked.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { rcvBufChainCount, rcvBufChainLength } from '../../src/fwhook/chain.js';
import {
  buildRcvBufChain,
  DD_IP_DEVICE_NAME,
  DROP,
  FORWARD,
  IOCTL_IP_SET_FIREWALL_HOOK,
  IP_SET_FIREWALL_HOOK_INFO,
  type IPPacketFirewallPtr,
} from '../../src/fwhook/index.js';
import { IPRcvBufField, readPointer } from '../../src/fwhook/iprcvbuf.js';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { type DEVICE_OBJECT, IoGetDeviceObjectPointer, sendDeviceIoControl } from '../../src/kernel/driver.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { NdisAllocateMdl, NdisFreeMdl } from '../../src/kernel/mdl.js';
import { bytesAt } from '../../src/kernel/memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPoolNx } from '../../src/kernel/pool.js';
import { resetSystem } from '../../src/kernel/system.js';
import { poolTag } from '../../src/kernel/tags.js';
import {
  NdisAllocateNetBufferAndNetBufferList,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
} from '../../src/ndis/netBufferList.js';
import { parseIpv4 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { bindToFirewallHooks } from '../../src/stack/fwhook-binding.js';
import { IpLayer } from '../../src/stack/ip.js';
import { allocateListPool } from '../../src/stack/pools.js';
import { bindToFilterEngine, unbindFromFilterEngine } from '../../src/stack/wfp-binding.js';
import {
  AF_INET,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_PERMIT,
  FWP_MATCH_EQUAL,
  FWP_UINT16,
  FWP_UINT32,
  FWPM_CONDITION_IP_DESTINATION_ADDRESS,
  FWPM_CONDITION_IP_LOCAL_PORT,
  FWPM_LAYER_INBOUND_IPPACKET_V4_DISCARD,
  FWPM_LAYER_INBOUND_TRANSPORT_V4,
  FWPM_LAYER_IPFORWARD_V4,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  FWPS_INJECTION_TYPE_FORWARD,
  FWPS_METADATA_FIELD_DISCARD_REASON,
  FWPS_PACKET_INJECTED_BY_SELF,
  FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF,
  FWPS_RIGHT_ACTION_WRITE,
  FwpsAllocateCloneNetBufferList0,
  FwpsDereferenceNetBufferList0,
  FwpsFreeCloneNetBufferList0,
  FwpsInjectForwardAsync0,
  FwpsInjectionHandleCreate0,
  FwpsQueryPacketInjectionState0,
  FwpsReferenceNetBufferList0,
} from '../../src/wfp/index.js';
import { addCallout, addFilter, cond, guid, intValue, openEngine } from '../wfp/util.js';
import { frame } from './frames.js';
import { TapAdapter } from './tap.js';

const MAC1 = 0x02_00_00_00_01_01;
/** Pool tag of the test's own packets. */
const TAG = poolTag('tseT');
const MAC2 = 0x02_00_00_00_02_01;

function router() {
  const host = new IpLayer({ forwarding: true });
  const out: { ifIndex: number; bytes: Uint8Array }[] = [];
  const sink = (ifIndex: number, bytes: Uint8Array, offset: number, length: number) =>
    out.push({ ifIndex, bytes: bytes.slice(offset, offset + length) });
  const if1 = new TapAdapter(1, MAC1, host, sink);
  const if2 = new TapAdapter(2, MAC2, host, sink);
  host.addInterface(if1);
  host.addInterface(if2);
  host.addAddress4(1, parseIpv4('10.0.1.1'), 24);
  host.addAddress4(2, parseIpv4('10.0.2.1'), 24);
  host.start();
  if1.start();
  if2.start();
  host.neighbors.learn4(1, parseIpv4('10.0.1.10'), 0x0a, true);
  host.neighbors.learn4(2, parseIpv4('10.0.2.20'), 0x0b, true);
  bindToFilterEngine(host);
  bindToFirewallHooks(host);
  const finish = () => {
    drainDeferredWork();
    host.reapAbsorbed();
    host.stop();
    if1.stop();
    if2.stop();
    unbindFromFilterEngine(host);
    assert.equal(host.counters.balance(0), 0, 'every packet accounted for');
    // NDIS's internal clone pools live as long as the system and are not reported; anything else is a leak.
    assert.deepEqual(collectLeaks(), []);
  };
  const play = (spec: Parameters<typeof frame>[0]) => {
    const f = frame({ dstMac: MAC1, ...spec });
    assert.ok(if1.indicate(f, 0, f.length));
    drainDeferredWork();
    host.reapAbsorbed();
  };
  return { host, out, play, finish };
}

function setHook(hook: IPPacketFirewallPtr, add: boolean): number {
  const device = { value: null as DEVICE_OBJECT | null };
  IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device);
  return sendDeviceIoControl(
    device.value!,
    IOCTL_IP_SET_FIREWALL_HOOK,
    new IP_SET_FIREWALL_HOOK_INFO(hook, 1, add),
    16,
  );
}

describe('host bound to the WFP filter engine', () => {
  beforeEach(() => resetSystem());

  it('a static BLOCK filter at IPFORWARD_V4 on the destination drops what it matches, and only that', () => {
    const r = router();
    const h = openEngine();
    addFilter(h, {
      layerKey: FWPM_LAYER_IPFORWARD_V4,
      action: FWP_ACTION_BLOCK,
      conditions: [
        cond(FWPM_CONDITION_IP_DESTINATION_ADDRESS, FWP_MATCH_EQUAL, intValue(FWP_UINT32, parseIpv4('10.0.2.20'))),
      ],
    });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20' });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 9 });
    assert.equal(r.host.counters.dropped[DropReason.WfpBlock], 1);
    assert.equal(r.host.counters.dropped[DropReason.PortUnreachable], 1, 'the other packet went on to local delivery');
    r.finish();
  });

  it('INBOUND_TRANSPORT_V4 filters see the local port (a block on port 53 lets port 7 through)', () => {
    const r = router();
    r.host.endpoints.bind(17, 53);
    const echo = r.host.endpoints.bind(17, 7);
    const h = openEngine();
    addFilter(h, {
      layerKey: FWPM_LAYER_INBOUND_TRANSPORT_V4,
      action: FWP_ACTION_BLOCK,
      conditions: [cond(FWPM_CONDITION_IP_LOCAL_PORT, FWP_MATCH_EQUAL, intValue(FWP_UINT16, 53))],
    });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 53 });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.1.1', dstPort: 7 });
    assert.equal(r.host.counters.dropped[DropReason.WfpBlock], 1);
    assert.equal(echo.packets, 1);
    r.finish();
  });

  it('a callout absorbs at IPFORWARD, clones and re-injects with FwpsInjectForwardAsync0: the clone is forwarded, the original absorbed, every completion runs', () => {
    const r = router();
    const h = openEngine();
    const injection = { value: null as unknown };
    assert.equal(FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_FORWARD, injection), 0);
    let completions = 0;
    addCallout(
      h,
      guid(77),
      (_values, _meta, layerData, _ctx, _filter, _flow, out) => {
        const nbl = layerData as Parameters<typeof FwpsQueryPacketInjectionState0>[1];
        const state = FwpsQueryPacketInjectionState0(injection.value, nbl, null);
        if (state === FWPS_PACKET_INJECTED_BY_SELF || state === FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
          out.actionType = FWP_ACTION_PERMIT;
          return;
        }
        const clone = { value: null as typeof nbl | null };
        assert.equal(FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, clone), 0);
        const status = FwpsInjectForwardAsync0(
          injection.value,
          null,
          0,
          AF_INET,
          1,
          2,
          clone.value!,
          (_c, n) => {
            completions++;
            FwpsFreeCloneNetBufferList0(n, 0);
          },
          null,
        );
        assert.equal(status, 0);
        out.actionType = FWP_ACTION_BLOCK;
        out.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
        out.rights &= ~FWPS_RIGHT_ACTION_WRITE;
      },
      { layerKey: FWPM_LAYER_IPFORWARD_V4 },
    );
    addFilter(h, { layerKey: FWPM_LAYER_IPFORWARD_V4, action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(77) });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 9 });
    assert.equal(r.host.counters.absorbed, 1);
    assert.equal(r.host.counters.injected, 1);
    assert.equal(r.out.length, 1);
    assert.equal(r.out[0]!.ifIndex, 2);
    assert.equal(completions, 1);
    assert.deepEqual(r.host.held(), [], 'the absorbed original went back once its clone was freed');
    r.finish();
  });
});

describe('host bound to the WFP filter engine: references', () => {
  beforeEach(() => resetSystem());

  it('FwpsReferenceNetBufferList0: an absorbed list a callout references stays with it until FwpsDereferenceNetBufferList0', () => {
    const r = router();
    const h = openEngine();
    let kept: unknown = null;
    addCallout(
      h,
      guid(78),
      (_values, _meta, layerData, _ctx, _filter, _flow, out) => {
        const nbl = layerData as Parameters<typeof FwpsReferenceNetBufferList0>[0];
        FwpsReferenceNetBufferList0(nbl, false);
        kept = nbl;
        out.actionType = FWP_ACTION_BLOCK;
        out.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
        out.rights &= ~FWPS_RIGHT_ACTION_WRITE;
      },
      { layerKey: FWPM_LAYER_IPFORWARD_V4 },
    );
    addFilter(h, { layerKey: FWPM_LAYER_IPFORWARD_V4, action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(78) });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', ttl: 9 });
    assert.equal(r.host.counters.absorbed, 1);
    assert.deepEqual(r.host.held(), [
      { owner: 'callout clones or references outstanding (absorbed originals)', count: 1 },
    ]);
    r.host.reapAbsorbed();
    assert.equal(r.host.held().length, 1, 'still referenced: not given back');
    FwpsDereferenceNetBufferList0(kept as Parameters<typeof FwpsDereferenceNetBufferList0>[0], false);
    r.host.reapAbsorbed();
    assert.deepEqual(r.host.held(), [], 'given back once dereferenced');
    r.finish();
  });
});

describe('host bound to the WFP filter engine: discard layers', () => {
  beforeEach(() => resetSystem());

  it('a callout at INBOUND_IPPACKET_V4_DISCARD sees a packet with a bad header checksum, with FWPS_METADATA_FIELD_DISCARD_REASON set', () => {
    const r = router();
    const h = openEngine();
    const seen: { present: boolean; module: number; reason: number }[] = [];
    addCallout(
      h,
      guid(91),
      (_values, meta, _layerData, _ctx, _filter, _flow, out) => {
        seen.push({
          present: (meta.currentMetadataValues & FWPS_METADATA_FIELD_DISCARD_REASON) !== 0,
          module: meta.discardMetadata.discardModule,
          reason: meta.discardMetadata.discardReason,
        });
        out.actionType = FWP_ACTION_PERMIT;
      },
      { layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4_DISCARD },
    );
    addFilter(h, {
      layerKey: FWPM_LAYER_INBOUND_IPPACKET_V4_DISCARD,
      action: FWP_ACTION_CALLOUT_INSPECTION,
      calloutKey: guid(91),
    });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', badIpChecksum: true });
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20' });
    assert.deepEqual(
      seen,
      [{ present: true, module: 0, reason: DropReason.BadHeaderChecksum }],
      'only the dropped one',
    );
    assert.equal(r.host.counters.dropped[DropReason.BadHeaderChecksum], 1);
    r.finish();
  });
});

describe('host bound to the firewall hooks', () => {
  beforeEach(() => resetSystem());

  it('a hook that DROPs: counted as a firewall-hook drop', () => {
    const r = router();
    const hook: IPPacketFirewallPtr = () => DROP;
    assert.equal(setHook(hook, true), 0);
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20' });
    assert.equal(r.host.counters.dropped[DropReason.FirewallHook], 1);
    assert.equal(r.out.length, 0);
    assert.equal(setHook(hook, false), 0);
    r.finish();
  });

  it('a hook that edits the chain in place: the edit reaches the wire', () => {
    const r = router();
    // The hook sets the TOS byte (offset 1 of the IP header, in the first buffer of the chain) on receive.
    const hook: IPPacketFirewallPtr = (pData, _r, _s, _d, ctx) => {
      if (ctx.Direction === 1) bytesAt(readPointer(pData.value, IPRcvBufField.ipr_buffer), 2)[1] = 0xb8;
      return FORWARD;
    };
    assert.equal(setHook(hook, true), 0);
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20' });
    assert.equal(r.out.length, 1);
    assert.equal(r.out[0]!.bytes[15], 0xb8, 'the TOS the hook wrote left with the packet');
    assert.equal(setHook(hook, false), 0);
    r.finish();
  });

  it('FH-1: a packet a callout built in two MDLs (headers, payload) reaches the hooks as a two-descriptor chain; an in-place edit goes back into its MDLs, and a DROP drops it', () => {
    const r = router();
    const payload = Uint8Array.from({ length: 40 }, (_, i) => i);
    const ip = frame({ protocol: 'udp', src: '10.0.1.1', dst: '10.0.2.20', dstPort: 7, payload }).subarray(14);
    const split = 28;
    const seen: number[] = [];
    let dropNext = false;
    const hook: IPPacketFirewallPtr = (pData, _r, _s, _d, ctx) => {
      if (ctx.Direction !== 0) return FORWARD; // transmit only
      seen.push(rcvBufChainCount(pData.value), rcvBufChainLength(pData.value));
      if (dropNext) return DROP;
      bytesAt(readPointer(pData.value, IPRcvBufField.ipr_buffer), 2)[1] = 0x28; // the TOS, in the first piece
      return FORWARD;
    };
    assert.equal(setHook(hook, true), 0);
    const completions: number[] = [];
    // The callout's packet: IP and UDP headers in one buffer, the payload in another.
    const send = () => {
      const a = ExAllocatePoolWithTag(NonPagedPoolNx, split, TAG);
      const b = ExAllocatePoolWithTag(NonPagedPoolNx, ip.length - split, TAG);
      bytesAt(a, split).set(ip.subarray(0, split));
      bytesAt(b, ip.length - split).set(ip.subarray(split));
      const m1 = NdisAllocateMdl(null, a, split)!;
      m1.Next = NdisAllocateMdl(null, b, ip.length - split)!;
      const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 0, ip.length)!;
      r.host.inject(
        nbl,
        'send',
        {
          complete(done, status) {
            completions.push(status);
            const m2 = m1.Next!;
            NdisFreeNetBufferList(done);
            NdisFreeMdl(m1);
            NdisFreeMdl(m2);
            ExFreePoolWithTag(a, TAG);
            ExFreePoolWithTag(b, TAG);
          },
        },
        1,
      );
    };
    const pool = allocateListPool(TAG, 0, true)!;
    send();
    assert.deepEqual(seen, [2, ip.length], 'one descriptor per MDL piece, the whole packet');
    assert.equal(r.out.length, 1);
    assert.equal(r.out[0]!.bytes[15], 0x28, "the hook's in-place edit left with the packet");
    dropNext = true;
    send();
    assert.equal(r.host.counters.dropped[DropReason.FirewallHook], 1);
    assert.equal(r.out.length, 1);
    drainDeferredWork();
    assert.equal(completions.length, 2);
    assert.equal(setHook(hook, false), 0);
    NdisFreeNetBufferListPool(pool);
    r.finish();
  });

  it('an injected packet split inside its IP header (any MDL boundary is allowed) is sent whole through the hooks, and completed once when sent', () => {
    const r = router();
    const ip = frame({ protocol: 'udp', src: '10.0.1.1', dst: '10.0.2.20', dstPort: 7 }).subarray(14);
    const lengths: number[] = [];
    const hook: IPPacketFirewallPtr = (pData, _r, _s, _d, ctx) => {
      if (ctx.Direction === 0) lengths.push(rcvBufChainLength(pData.value));
      return FORWARD;
    };
    assert.equal(setHook(hook, true), 0);
    const pool = allocateListPool(TAG, 0, true)!;
    const completions: number[] = [];
    for (const split of [1, 9, 19, 21]) {
      const a = ExAllocatePoolWithTag(NonPagedPoolNx, split, TAG);
      const b = ExAllocatePoolWithTag(NonPagedPoolNx, ip.length - split, TAG);
      bytesAt(a, split).set(ip.subarray(0, split));
      bytesAt(b, ip.length - split).set(ip.subarray(split));
      const m1 = NdisAllocateMdl(null, a, split)!;
      const m2 = NdisAllocateMdl(null, b, ip.length - split)!;
      m1.Next = m2;
      const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 0, ip.length)!;
      const owner = {
        complete(done: typeof nbl, status: number) {
          completions.push(status);
          NdisFreeNetBufferList(done);
          NdisFreeMdl(m1);
          NdisFreeMdl(m2);
          ExFreePoolWithTag(a, TAG);
          ExFreePoolWithTag(b, TAG);
        },
      };
      r.host.inject(nbl, 'send', owner, 1);
    }
    drainDeferredWork();
    assert.deepEqual(completions, [0, 0, 0, 0], 'each completed once, successfully');
    assert.deepEqual(lengths, [ip.length, ip.length, ip.length, ip.length]);
    assert.equal(r.out.length, 4);
    for (const o of r.out) assert.deepEqual(o.bytes.subarray(14), ip, 'the packet left whole and unchanged');
    assert.equal(setHook(hook, false), 0);
    NdisFreeNetBufferListPool(pool);
    r.finish();
  });

  it('FH-4: a hook that hands back a replacement chain: the replacement goes on, the original is accounted as replaced, and both chains are freed with IPFreeBuff (no leak)', () => {
    const r = router();
    const replacement = frame({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstPort: 4444 }).subarray(14);
    const hook: IPPacketFirewallPtr = (_pData, _r, _s, _d, ctx, _l, ppRcvBuf) => {
      if (ctx.Direction !== 1) return FORWARD;
      ppRcvBuf.value = buildRcvBufChain(replacement);
      return FORWARD;
    };
    assert.equal(setHook(hook, true), 0);
    r.play({ protocol: 'udp', src: '10.0.1.10', dst: '10.0.2.20', dstPort: 53 });
    assert.equal(r.host.counters.replaced, 1);
    assert.equal(r.out.length, 1);
    const b = r.out[0]!.bytes;
    assert.equal((b[36]! << 8) | b[37]!, 4444, 'the replacement was forwarded');
    assert.equal(setHook(hook, false), 0);
    r.finish();
  });
});
