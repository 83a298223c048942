/**
 * Transport-layer injection into the host (learn.microsoft.com fwpsk/nf-fwpsk-fwpsinjecttransportsendasync0,
 * nf-fwpsk-fwpsinjecttransportreceiveasync0, "Packet Injection Functions", "Metadata fields at each filtering
 * layer"): the endpoint handle the host hands callouts at the outbound transport, ALE and DATAGRAM_DATA layers, a
 * block-and-reinject callout at OUTBOUND_TRANSPORT whose clone leaves the NIC with a correct IP header and
 * checksums, the statuses of misuse, a transport receive injection delivered into the transport, and injections
 * routed to the host they belong to when several hosts share the engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DD_IP_DEVICE_NAME,
  FORWARD,
  IOCTL_IP_SET_FIREWALL_HOOK,
  IP_SET_FIREWALL_HOOK_INFO,
  IP_TRANSMIT,
  type IPPacketFirewallPtr,
} from '../../src/fwhook/index.js';
import { drainDeferredWork, queueDeferredWork } from '../../src/kernel/deferred.js';
import { type DEVICE_OBJECT, IoGetDeviceObjectPointer, sendDeviceIoControl } from '../../src/kernel/driver.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import { NdisRetreatNetBufferDataStart } from '../../src/ndis/retreat.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import {
  CHECKSUM_GOOD,
  decodeFrame,
  ipv4ChecksumStatus,
  PacketInfo,
  Layer as PacketLayer,
  transportChecksumStatus,
} from '../../src/packet/index.js';
import { parseIpv4, parseIpv6 } from '../../src/stack/addr.js';
import { DropReason } from '../../src/stack/counters.js';
import { bindToFirewallHooks } from '../../src/stack/fwhook-binding.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/stack/headers.js';
import { IpLayer } from '../../src/stack/ip.js';
import { replay } from '../../src/stack/replay.js';
import { bindToFilterEngine, unbindFromFilterEngine } from '../../src/stack/wfp-binding.js';
import {
  AF_INET,
  AF_INET6,
  FWP_ACTION_BLOCK,
  FWP_ACTION_CALLOUT_INSPECTION,
  FWP_ACTION_CALLOUT_TERMINATING,
  FWP_ACTION_PERMIT,
  FWPM_LAYER_ALE_AUTH_CONNECT_V4,
  FWPM_LAYER_DATAGRAM_DATA_V4,
  FWPM_LAYER_INBOUND_IPPACKET_V4,
  FWPM_LAYER_INBOUND_IPPACKET_V6,
  FWPM_LAYER_INBOUND_TRANSPORT_V4,
  FWPM_LAYER_INBOUND_TRANSPORT_V6,
  FWPM_LAYER_OUTBOUND_IPPACKET_V4,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
  FWPM_LAYER_OUTBOUND_TRANSPORT_V6,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  type FWPS_CLASSIFY_OUT0,
  FWPS_FIELD_INBOUND_TRANSPORT_V4_INTERFACE_INDEX,
  FWPS_FIELD_INBOUND_TRANSPORT_V6_INTERFACE_INDEX,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_TRANSPORT_V6_IP_REMOTE_ADDRESS,
  FWPS_INJECTION_TYPE_NETWORK,
  FWPS_INJECTION_TYPE_TRANSPORT,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FWPS_METADATA_FIELD_REMOTE_SCOPE_ID,
  FWPS_METADATA_FIELD_TRANSPORT_ENDPOINT_HANDLE,
  FWPS_PACKET_INJECTED_BY_OTHER,
  FWPS_PACKET_INJECTED_BY_SELF,
  FWPS_PACKET_NOT_INJECTED,
  FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF,
  FWPS_RIGHT_ACTION_WRITE,
  FWPS_TRANSPORT_SEND_PARAMS0,
  FwpsAllocateCloneNetBufferList0,
  FwpsAllocateNetBufferAndNetBufferList0,
  FwpsFreeCloneNetBufferList0,
  FwpsFreeNetBufferList0,
  FwpsInjectionHandleCreate0,
  FwpsInjectionHandleDestroy0,
  FwpsInjectNetworkSendAsync0,
  FwpsInjectTransportReceiveAsync0,
  FwpsInjectTransportSendAsync0,
  FwpsQueryPacketInjectionState0,
  STATUS_FWP_INJECT_HANDLE_CLOSING,
} from '../../src/wfp/index.js';
import { Chain, freePool, wfpPool } from '../wfp/packetUtil.js';
import { addCallout, addFilter, guid, openEngine } from '../wfp/util.js';
import { frame } from './frames.js';
import { TapAdapter } from './tap.js';

const MAC_HOST = 0x02_00_00_00_01_01;
const MAC_PEER = 0x02_00_00_00_01_0a;
const HOST4 = '10.0.1.1';
const PEER4 = '10.0.1.10';
const HOST6 = 'fd00::1';
const PEER6 = 'fd00::10';

type Classify = Parameters<typeof addCallout>[2];

/** A host on one tap adapter (interface `ifIndex`), bound to the engine, its neighbour known. */
function makeHost(ifIndex = 1, mac = MAC_HOST, v4 = HOST4, v6 = HOST6, peer4 = PEER4, peer6 = PEER6) {
  const host = new IpLayer();
  const out: Uint8Array[] = [];
  const tap = new TapAdapter(ifIndex, mac, host, (_i, bytes, offset, length) =>
    out.push(bytes.slice(offset, offset + length)),
  );
  host.addInterface(tap);
  host.addAddress4(ifIndex, parseIpv4(v4), 24);
  host.addAddress6(ifIndex, parseIpv6(v6), 64);
  host.start();
  tap.start();
  host.neighbors.learn4(ifIndex, parseIpv4(peer4), MAC_PEER, true);
  host.neighbors.learn6(ifIndex, parseIpv6(peer6), 0, MAC_PEER, true);
  bindToFilterEngine(host);
  const stop = () => {
    host.reapAbsorbed();
    host.stop();
    tap.stop();
    unbindFromFilterEngine(host);
    assert.equal(host.counters.balance(0), 0, 'every packet accounted for');
  };
  return { host, tap, out, stop };
}

/** Ends a test: deferred work run, hosts stopped, nothing leaked (pool tags, descriptors, injections). */
function finish(...hosts: { stop(): void }[]) {
  drainDeferredWork();
  for (const h of hosts) h.stop();
  assert.deepEqual(collectLeaks(), []);
}

function transportHandle(af = AF_INET): unknown {
  const h = { value: null as unknown };
  assert.equal(FwpsInjectionHandleCreate0(af, FWPS_INJECTION_TYPE_TRANSPORT, h), STATUS_SUCCESS);
  return h.value;
}

function absorb(out: FWPS_CLASSIFY_OUT0) {
  out.actionType = FWP_ACTION_BLOCK;
  out.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
  out.rights &= ~FWPS_RIGHT_ACTION_WRITE;
}

function bytes4(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** What the block-and-reinject callout saw at each classify. */
interface Seen {
  state: number;
  handle: number;
  handlePresent: boolean;
  rawSocket: boolean;
}

/**
 * The Windows-driver-samples "inspect" pattern at OUTBOUND_TRANSPORT: permit its own injections; otherwise clone,
 * absorb the original and reinject the clone with FwpsInjectTransportSendAsync0 (endpoint handle, remote address
 * and scope from the classify). Each completion frees the clone and records its status.
 */
/**
 * Callout `n` at `layerKey` (a filter calls it) clones, absorbs and reinjects what it sees with
 * FwpsInjectTransportSendAsync0 ({@link reinjector}); returns the engine, the injection handle and what it saw.
 */
function reinjectAt(n: number, layerKey: string, family = AF_INET) {
  const engine = openEngine();
  const injection = transportHandle(family);
  const seen: Seen[] = [];
  const completions: number[] = [];
  addCallout(engine, guid(n), reinjector(injection, family === AF_INET6, seen, completions), { layerKey });
  addFilter(engine, { layerKey, action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(n) });
  return { engine, injection, seen, completions };
}

function reinjector(injection: unknown, v6: boolean, seen: Seen[], completions: number[]): Classify {
  return (values, meta, layerData, _ctx, _filter, _flow, out) => {
    const nbl = layerData as NET_BUFFER_LIST;
    const state = FwpsQueryPacketInjectionState0(injection, nbl, null);
    seen.push({
      state,
      handle: meta.transportEndpointHandle,
      handlePresent: (meta.currentMetadataValues & FWPS_METADATA_FIELD_TRANSPORT_ENDPOINT_HANDLE) !== 0,
      rawSocket: (meta.currentMetadataValues & FWPS_METADATA_FIELD_IP_HEADER_SIZE) !== 0 && meta.ipHeaderSize > 0,
    });
    if (state === FWPS_PACKET_INJECTED_BY_SELF || state === FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
      out.actionType = FWP_ACTION_PERMIT;
      return;
    }
    const clone = { value: null as NET_BUFFER_LIST | null };
    assert.equal(FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, clone), STATUS_SUCCESS);
    const params = new FWPS_TRANSPORT_SEND_PARAMS0();
    const remote =
      values.incomingValue[
        v6 ? FWPS_FIELD_OUTBOUND_TRANSPORT_V6_IP_REMOTE_ADDRESS : FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS
      ]!.value;
    params.remoteAddress = v6 ? remote.byteArray16!.byteArray16.slice() : bytes4(remote.uint32);
    params.remoteScopeId = meta.remoteScopeId;
    const status = FwpsInjectTransportSendAsync0(
      injection,
      null,
      meta.transportEndpointHandle,
      0,
      params,
      v6 ? AF_INET6 : AF_INET,
      meta.compartmentId,
      clone.value!,
      (_c, n) => {
        completions.push(n.Status);
        FwpsFreeCloneNetBufferList0(n, 0);
      },
      null,
    );
    assert.equal(status, STATUS_SUCCESS);
    absorb(out);
  };
}

function decode(bytes: Uint8Array): PacketInfo {
  return decodeFrame(1, bytes, 0, bytes.length, new PacketInfo());
}

describe('FwpsInjectTransportSendAsync0 into the host', () => {
  beforeEach(() => resetSystem());

  it('nf-fwpsk-fwpsinjecttransportsendasync0: a UDP datagram cloned at OUTBOUND_TRANSPORT_V4, absorbed and reinjected leaves the NIC once, with a correct IPv4 header and checksums; the completion runs once with STATUS_SUCCESS', () => {
    const h = makeHost();
    const { injection, seen, completions } = reinjectAt(1, FWPM_LAYER_OUTBOUND_TRANSPORT_V4);
    const payload = Uint8Array.from({ length: 37 }, (_, i) => (i * 7 + 3) & 0xff);
    assert.ok(h.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4(PEER4), 53, payload) === false, 'absorbed');
    drainDeferredWork();
    const endpoint = h.host.endpoints.sender(IPPROTO_UDP, 5000)!;
    assert.deepEqual(seen, [
      { state: FWPS_PACKET_NOT_INJECTED, handle: endpoint.handle, handlePresent: true, rawSocket: false },
      { state: FWPS_PACKET_INJECTED_BY_SELF, handle: endpoint.handle, handlePresent: true, rawSocket: false },
    ]);
    assert.equal(h.out.length, 1, 'one datagram left the NIC');
    const f = h.out[0]!;
    const info = decode(f);
    assert.ok(info.has(PacketLayer.Ipv4) && info.has(PacketLayer.Udp));
    assert.equal(info.ipSrc, parseIpv4(HOST4));
    assert.equal(info.ipDst, parseIpv4(PEER4));
    assert.equal(info.ipTtl, 128);
    assert.equal(info.ipTotalLength, 20 + 8 + payload.length);
    assert.equal(info.ipHeaderLength, 20);
    assert.equal(ipv4ChecksumStatus(f, info), CHECKSUM_GOOD);
    assert.equal(transportChecksumStatus(f, info), CHECKSUM_GOOD);
    assert.equal(info.srcPort, 5000);
    assert.equal(info.dstPort, 53);
    assert.deepEqual(f.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), payload);
    assert.deepEqual(completions, [STATUS_SUCCESS]);
    assert.equal(h.host.counters.absorbed, 1);
    assert.equal(h.host.counters.injected, 1);
    assert.equal(h.host.counters.transmitted, 1);
    assert.equal(FwpsInjectionHandleDestroy0(injection), STATUS_SUCCESS);
    finish(h);
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0: the same for IPv6 at OUTBOUND_TRANSPORT_V6 (source from the route, hop limit 128, UDP checksum over the IPv6 pseudo-header)', () => {
    const h = makeHost();
    const { seen, completions } = reinjectAt(2, FWPM_LAYER_OUTBOUND_TRANSPORT_V6, AF_INET6);
    const payload = Uint8Array.from({ length: 200 }, (_, i) => (i * 13) & 0xff);
    h.host.sendFrom(IPPROTO_UDP, 6000, parseIpv6(PEER6), 7, payload);
    drainDeferredWork();
    assert.deepEqual(
      seen.map((s) => s.state),
      [FWPS_PACKET_NOT_INJECTED, FWPS_PACKET_INJECTED_BY_SELF],
    );
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    const info = decode(f);
    assert.ok(info.has(PacketLayer.Ipv6) && info.has(PacketLayer.Udp));
    assert.deepEqual([...f.subarray(info.ipSrcOffset, info.ipSrcOffset + 16)], words(parseIpv6(HOST6)));
    assert.deepEqual([...f.subarray(info.ipDstOffset, info.ipDstOffset + 16)], words(parseIpv6(PEER6)));
    assert.equal(info.ipTtl, 128, 'hop limit');
    assert.equal(transportChecksumStatus(f, info), CHECKSUM_GOOD);
    assert.deepEqual(f.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), payload);
    assert.deepEqual(completions, [STATUS_SUCCESS]);
    finish(h);
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0: a TCP segment reinjected from OUTBOUND_TRANSPORT_V4 leaves with its flags and a correct TCP checksum', () => {
    const h = makeHost();
    const { seen, completions } = reinjectAt(5, FWPM_LAYER_OUTBOUND_TRANSPORT_V4);
    const payload = Uint8Array.from({ length: 33 }, (_, i) => 255 - i);
    h.host.sendFrom(IPPROTO_TCP, 5001, parseIpv4(PEER4), 80, payload, 0x18);
    drainDeferredWork();
    assert.equal(seen[1]?.state, FWPS_PACKET_INJECTED_BY_SELF);
    assert.equal(seen[1]?.handle, h.host.endpoints.sender(IPPROTO_TCP, 5001)!.handle);
    assert.equal(h.out.length, 1);
    const f = h.out[0]!;
    const info = decode(f);
    assert.ok(info.has(PacketLayer.Tcp));
    assert.equal(info.tcpFlags, 0x18);
    assert.equal(ipv4ChecksumStatus(f, info), CHECKSUM_GOOD);
    assert.equal(transportChecksumStatus(f, info), CHECKSUM_GOOD);
    assert.deepEqual(f.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), payload);
    assert.deepEqual(completions, [STATUS_SUCCESS]);
    finish(h);
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0: the reinjected datagram passes the firewall hook on transmit (IP_TRANSMIT), once', () => {
    const h = makeHost();
    bindToFirewallHooks(h.host);
    const engine = openEngine();
    const injection = transportHandle();
    const completions: number[] = [];
    addCallout(engine, guid(6), reinjector(injection, false, [], completions), {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
    });
    addFilter(engine, {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: guid(6),
    });
    const directions: number[] = [];
    const hook: IPPacketFirewallPtr = (_p, _r, _s, _d, ctx) => {
      directions.push(ctx.Direction);
      return FORWARD;
    };
    assert.equal(setHook(hook, true), STATUS_SUCCESS);
    h.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4(PEER4), 53, new Uint8Array(8));
    drainDeferredWork();
    assert.deepEqual(directions, [IP_TRANSMIT]);
    assert.equal(h.out.length, 1);
    assert.deepEqual(completions, [STATUS_SUCCESS]);
    assert.equal(setHook(hook, false), STATUS_SUCCESS);
    finish(h);
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0: an accepted injection the host cannot send (no route; its endpoint closed before its turn) completes once with an error in NET_BUFFER_LIST.Status, counted as dropped', () => {
    const h = makeHost();
    const engine = openEngine();
    const injection = transportHandle();
    const statuses: number[] = [];
    let closeFirst = false;
    addCallout(
      engine,
      guid(7),
      (values, meta, layerData, _ctx, _filter, _flow, out) => {
        const nbl = layerData as NET_BUFFER_LIST;
        if (FwpsQueryPacketInjectionState0(injection, nbl, null) === FWPS_PACKET_INJECTED_BY_SELF) {
          out.actionType = FWP_ACTION_PERMIT;
          return;
        }
        const clone = { value: null as NET_BUFFER_LIST | null };
        assert.equal(FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, clone), STATUS_SUCCESS);
        const params = new FWPS_TRANSPORT_SEND_PARAMS0();
        // The second case: the original's own destination; the first: an address no route covers.
        params.remoteAddress = closeFirst
          ? bytes4(values.incomingValue[FWPS_FIELD_OUTBOUND_TRANSPORT_V4_IP_REMOTE_ADDRESS]!.value.uint32)
          : bytes4(parseIpv4('192.0.2.1'));
        const status = FwpsInjectTransportSendAsync0(
          injection,
          null,
          meta.transportEndpointHandle,
          0,
          params,
          AF_INET,
          1,
          clone.value!,
          (_c, n) => {
            statuses.push(n.Status);
            FwpsFreeCloneNetBufferList0(n, 0);
          },
          null,
        );
        assert.equal(status, STATUS_SUCCESS, 'accepted: the host finds out later');
        // The injection waits for this classify to end; the socket closes first.
        if (closeFirst) h.host.endpoints.unbind(IPPROTO_UDP, 7000);
        absorb(out);
      },
      { layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4 },
    );
    addFilter(engine, {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: guid(7),
    });
    h.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4(PEER4), 53, new Uint8Array(8));
    drainDeferredWork();
    assert.equal(statuses.length, 1);
    assert.ok(statuses[0]! < 0, 'an NTSTATUS error');
    assert.equal(h.host.counters.dropped[DropReason.NoRoute], 1);
    closeFirst = true;
    h.host.endpoints.bind(IPPROTO_UDP, 7000);
    h.host.sendFrom(IPPROTO_UDP, 7000, parseIpv4(PEER4), 53, new Uint8Array(8));
    drainDeferredWork();
    assert.equal(statuses.length, 2);
    assert.ok(statuses[1]! < 0);
    assert.equal(h.host.counters.dropped[DropReason.SendFailed], 1);
    assert.equal(h.out.length, 0);
    finish(h);
  });

  it('Metadata fields at each filtering layer: ALE_AUTH_CONNECT, DATAGRAM_DATA and OUTBOUND_TRANSPORT carry the sending endpoint handle (and OUTBOUND_TRANSPORT the remote scope), INBOUND_TRANSPORT and inbound DATAGRAM_DATA the receiving one; OUTBOUND_IPPACKET none', () => {
    const h = makeHost();
    const sink = h.host.endpoints.bind(IPPROTO_UDP, 53);
    const engine = openEngine();
    const handles: Record<string, number[]> = {};
    const scope: number[] = [];
    const layers = [
      ['connect', FWPM_LAYER_ALE_AUTH_CONNECT_V4],
      ['datagram', FWPM_LAYER_DATAGRAM_DATA_V4],
      ['transport', FWPM_LAYER_OUTBOUND_TRANSPORT_V4],
      ['ippacket', FWPM_LAYER_OUTBOUND_IPPACKET_V4],
      ['inbound', FWPM_LAYER_INBOUND_TRANSPORT_V4],
    ] as const;
    layers.forEach(([name, layerKey], i) => {
      handles[name] = [];
      addCallout(
        engine,
        guid(10 + i),
        (_v, meta, _d, _c, _f, _fl, out) => {
          const present = (meta.currentMetadataValues & FWPS_METADATA_FIELD_TRANSPORT_ENDPOINT_HANDLE) !== 0;
          handles[name]!.push(present ? meta.transportEndpointHandle : 0);
          if (name === 'transport') {
            assert.ok((meta.currentMetadataValues & FWPS_METADATA_FIELD_REMOTE_SCOPE_ID) !== 0);
            scope.push(meta.remoteScopeId);
          }
          out.actionType = FWP_ACTION_PERMIT;
        },
        { layerKey },
      );
      addFilter(engine, { layerKey, action: FWP_ACTION_CALLOUT_INSPECTION, calloutKey: guid(10 + i) });
    });
    h.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4(PEER4), 53, new Uint8Array(4));
    h.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4(PEER4), 53, new Uint8Array(4));
    const f = frame({ protocol: 'udp', src: PEER4, dst: HOST4, dstMac: MAC_HOST, srcPort: 5353, dstPort: 53 });
    assert.ok(h.tap.indicate(f, 0, f.length));
    drainDeferredWork();
    const sender = h.host.endpoints.sender(IPPROTO_UDP, 5000)!.handle;
    assert.notEqual(sender, 0);
    assert.notEqual(sender, sink.handle, 'each endpoint has its own handle');
    assert.deepEqual(handles, {
      connect: [sender],
      datagram: [sender, sender, sink.handle],
      transport: [sender, sender],
      ippacket: [0, 0],
      inbound: [sink.handle],
    });
    assert.deepEqual(scope, [0, 0]);
    assert.equal(sink.packets, 1);
    finish(h);
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0 misuse: unknown or closed endpoint handle (STATUS_INVALID_HANDLE), destroyed injection handle (STATUS_FWP_INJECT_HANDLE_CLOSING), NULL sendArgs for a list with no IP header, wrong address family or injection type (STATUS_INVALID_PARAMETER); none completes', () => {
    const h = makeHost();
    const pool = wfpPool();
    const chain = new Chain([new Uint8Array(8 + 4)]);
    const box = { value: null as NET_BUFFER_LIST | null };
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 0, 12, box), STATUS_SUCCESS);
    const nbl = box.value!;
    const injection = transportHandle();
    const open = h.host.endpoints.bind(IPPROTO_UDP, 4000);
    const closed = h.host.endpoints.bind(IPPROTO_UDP, 4001).handle;
    h.host.endpoints.unbind(IPPROTO_UDP, 4001);
    let completions = 0;
    const complete = () => completions++;
    const params = new FWPS_TRANSPORT_SEND_PARAMS0();
    params.remoteAddress = bytes4(parseIpv4(PEER4));
    const send = (inj: unknown, endpoint: number, p: FWPS_TRANSPORT_SEND_PARAMS0 | null, af = AF_INET) =>
      FwpsInjectTransportSendAsync0(inj, null, endpoint, 0, p, af, 1, nbl, complete, null);
    assert.equal(send(injection, 0x1234, params), STATUS_INVALID_HANDLE, 'never handed out');
    assert.equal(send(injection, closed, params), STATUS_INVALID_HANDLE, 'its socket closed');
    assert.equal(send(injection, open.handle, null), STATUS_INVALID_PARAMETER, 'NULL sendArgs needs an IP header');
    const v6params = new FWPS_TRANSPORT_SEND_PARAMS0();
    v6params.remoteAddress = new Uint8Array(16);
    assert.equal(send(injection, open.handle, v6params), STATUS_INVALID_PARAMETER, 'a 16-byte address for AF_INET');
    assert.equal(
      send(injection, open.handle, params, AF_INET6),
      STATUS_INVALID_PARAMETER,
      'AF_INET6 on an AF_INET handle',
    );
    const network = { value: null as unknown };
    assert.equal(FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, network), STATUS_SUCCESS);
    assert.equal(send(network.value, open.handle, params), STATUS_INVALID_PARAMETER, 'not a transport handle');
    assert.equal(FwpsInjectionHandleDestroy0(injection), STATUS_SUCCESS);
    assert.equal(send(injection, open.handle, params), STATUS_FWP_INJECT_HANDLE_CLOSING);
    drainDeferredWork();
    assert.equal(completions, 0, 'a refused injection never completes');
    assert.equal(h.out.length, 0);
    assert.equal(h.host.counters.injected, 0);
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    freePool(pool);
    finish(h);
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0: a datagram a callout builds in its own list (no backfill, spread over MDLs at any split) and injects from a DPC leaves with correct checksums; the completion runs once (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.integer({ min: 1024, max: 65535 }),
        (payload, cuts, srcPort) => {
          resetSystem();
          const h = makeHost();
          const pool = wfpPool();
          const datagram = new Uint8Array(8 + payload.length);
          datagram[0] = srcPort >> 8;
          datagram[1] = srcPort & 0xff;
          datagram[3] = 9;
          datagram[4] = datagram.length >> 8;
          datagram[5] = datagram.length & 0xff;
          datagram.set(payload, 8);
          // Cut the datagram into MDL segments at arbitrary places (odd ones included).
          const points = [...new Set(cuts.map((c) => c % (datagram.length + 1)))].sort((a, b) => a - b);
          const segments: Uint8Array[] = [];
          let from = 0;
          for (const p of [...points, datagram.length]) {
            if (p > from) segments.push(datagram.slice(from, p));
            from = p;
          }
          const chain = new Chain(segments);
          const box = { value: null as NET_BUFFER_LIST | null };
          assert.equal(
            FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 0, datagram.length, box),
            STATUS_SUCCESS,
          );
          const injection = transportHandle();
          const endpoint = h.host.endpoints.sender(IPPROTO_UDP, srcPort)!;
          const params = new FWPS_TRANSPORT_SEND_PARAMS0();
          params.remoteAddress = bytes4(parseIpv4(PEER4));
          const statuses: number[] = [];
          queueDeferredWork(() => {
            const s = FwpsInjectTransportSendAsync0(
              injection,
              null,
              endpoint.handle,
              0,
              params,
              AF_INET,
              1,
              box.value!,
              (_c, n) => statuses.push(n.Status),
              null,
            );
            assert.equal(s, STATUS_SUCCESS);
          }, null);
          drainDeferredWork();
          assert.deepEqual(statuses, [STATUS_SUCCESS]);
          assert.equal(h.out.length, 1);
          const f = h.out[0]!;
          const info = decode(f);
          assert.equal(ipv4ChecksumStatus(f, info), CHECKSUM_GOOD);
          assert.equal(transportChecksumStatus(f, info), CHECKSUM_GOOD);
          assert.deepEqual(f.subarray(14 + 20, 14 + 20 + datagram.length).subarray(8), payload);
          // The list comes back as it was given: its data at the transport header, its own MDLs.
          assert.equal(box.value!.FirstNetBuffer!.DataLength, datagram.length);
          assert.equal(box.value!.FirstNetBuffer!.MdlChain, chain.head);
          FwpsFreeNetBufferList0(box.value!);
          chain.free();
          freePool(pool);
          finish(h);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('nf-fwpsk-fwpsinjecttransportsendasync0: the reinjected datagram goes through the layers below the transport (OUTBOUND_IPPACKET) where another callout sees it as injected by the other handle', () => {
    const h = makeHost();
    const { engine, completions } = reinjectAt(3, FWPM_LAYER_OUTBOUND_TRANSPORT_V4);
    const other = transportHandle();
    const below: number[] = [];
    addCallout(
      engine,
      guid(4),
      (_v, _m, data, _c, _f, _fl, out) => {
        below.push(FwpsQueryPacketInjectionState0(other, data as NET_BUFFER_LIST, null));
        out.actionType = FWP_ACTION_PERMIT;
      },
      { layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4 },
    );
    addFilter(engine, {
      layerKey: FWPM_LAYER_OUTBOUND_IPPACKET_V4,
      action: FWP_ACTION_CALLOUT_INSPECTION,
      calloutKey: guid(4),
    });
    h.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4(PEER4), 53, new Uint8Array(10));
    drainDeferredWork();
    assert.deepEqual(below, [FWPS_PACKET_INJECTED_BY_OTHER], 'once: the original never got there');
    assert.equal(h.out.length, 1);
    assert.deepEqual(completions, [STATUS_SUCCESS]);
    finish(h);
  });
});

describe('FwpsInjectTransportReceiveAsync0 into the host', () => {
  beforeEach(() => resetSystem());

  /**
   * A callout at INBOUND_TRANSPORT that absorbs what it has not injected, clones it, moves the clone back to the IP
   * header (ipHeaderSize + transportHeaderSize) and injects it with FwpsInjectTransportReceiveAsync0.
   */
  function receiveReinjector(injection: unknown, v6: boolean, states: number[], completions: number[]): Classify {
    return (values, meta, layerData, _ctx, _filter, _flow, out) => {
      const nbl = layerData as NET_BUFFER_LIST;
      const state = FwpsQueryPacketInjectionState0(injection, nbl, null);
      states.push(state);
      if (state === FWPS_PACKET_INJECTED_BY_SELF) {
        out.actionType = FWP_ACTION_PERMIT;
        return;
      }
      const clone = { value: null as NET_BUFFER_LIST | null };
      assert.equal(FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, clone), STATUS_SUCCESS);
      const back = meta.ipHeaderSize + meta.transportHeaderSize;
      assert.equal(NdisRetreatNetBufferDataStart(clone.value!.FirstNetBuffer!, back, 0, null), STATUS_SUCCESS);
      const ifIndex =
        values.incomingValue[
          v6 ? FWPS_FIELD_INBOUND_TRANSPORT_V6_INTERFACE_INDEX : FWPS_FIELD_INBOUND_TRANSPORT_V4_INTERFACE_INDEX
        ]!.value.uint32;
      const status = FwpsInjectTransportReceiveAsync0(
        injection,
        null,
        null,
        0,
        v6 ? AF_INET6 : AF_INET,
        meta.compartmentId,
        ifIndex,
        0,
        clone.value!,
        (_c, n) => {
          completions.push(n.Status);
          FwpsFreeCloneNetBufferList0(n, 0);
        },
        null,
      );
      assert.equal(status, STATUS_SUCCESS);
      absorb(out);
    };
  }

  for (const v6 of [false, true]) {
    it(`nf-fwpsk-fwpsinjecttransportreceiveasync0: a UDP datagram (IPv${v6 ? 6 : 4}) absorbed at INBOUND_TRANSPORT and reinjected at its IP header reaches the endpoint once, past the IP layers (INBOUND_IPPACKET sees it once)`, () => {
      const h = makeHost();
      const sink = h.host.endpoints.bind(IPPROTO_UDP, 53);
      const payloads: number[] = [];
      sink.onReceive = (_va, length) => payloads.push(length);
      const engine = openEngine();
      const injection = transportHandle(v6 ? AF_INET6 : AF_INET);
      const states: number[] = [];
      const completions: number[] = [];
      const layerKey = v6 ? FWPM_LAYER_INBOUND_TRANSPORT_V6 : FWPM_LAYER_INBOUND_TRANSPORT_V4;
      addCallout(engine, guid(20), receiveReinjector(injection, v6, states, completions), { layerKey });
      addFilter(engine, { layerKey, action: FWP_ACTION_CALLOUT_TERMINATING, calloutKey: guid(20) });
      let ipPackets = 0;
      addCallout(
        engine,
        guid(21),
        (_v, _m, _d, _c, _f, _fl, out) => {
          ipPackets++;
          out.actionType = FWP_ACTION_PERMIT;
        },
        { layerKey: v6 ? FWPM_LAYER_INBOUND_IPPACKET_V6 : FWPM_LAYER_INBOUND_IPPACKET_V4 },
      );
      addFilter(engine, {
        layerKey: v6 ? FWPM_LAYER_INBOUND_IPPACKET_V6 : FWPM_LAYER_INBOUND_IPPACKET_V4,
        action: FWP_ACTION_CALLOUT_INSPECTION,
        calloutKey: guid(21),
      });
      const f = frame({
        version: v6 ? 6 : 4,
        protocol: 'udp',
        src: v6 ? PEER6 : PEER4,
        dst: v6 ? HOST6 : HOST4,
        dstMac: MAC_HOST,
        srcPort: 5353,
        dstPort: 53,
        payload: new Uint8Array(21),
      });
      assert.ok(h.tap.indicate(f, 0, f.length));
      drainDeferredWork();
      assert.deepEqual(states, [FWPS_PACKET_NOT_INJECTED, FWPS_PACKET_INJECTED_BY_SELF]);
      assert.deepEqual(payloads, [21], 'the endpoint took the reinjected datagram, once');
      assert.equal(ipPackets, 1, 'the original only: the injection did not go through INBOUND_IPPACKET again');
      assert.deepEqual(completions, [STATUS_SUCCESS]);
      assert.equal(h.host.counters.absorbed, 1);
      assert.equal(h.host.counters.injected, 1);
      assert.equal(h.host.counters.delivered, 1);
      finish(h);
    });
  }

  it('nf-fwpsk-fwpsinjecttransportreceiveasync0: the list must begin with an IP header of the family given (STATUS_INVALID_PARAMETER otherwise, no completion)', () => {
    const h = makeHost();
    const pool = wfpPool();
    const datagram = frame({ protocol: 'udp', src: PEER4, dst: HOST4, dstPort: 53 }).subarray(14);
    const chain = new Chain([datagram.subarray(20)]); // starts at the UDP header
    const box = { value: null as NET_BUFFER_LIST | null };
    assert.equal(
      FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 0, datagram.length - 20, box),
      STATUS_SUCCESS,
    );
    const injection = transportHandle(AF_INET6);
    let completions = 0;
    const status = FwpsInjectTransportReceiveAsync0(
      injection,
      null,
      null,
      0,
      AF_INET6,
      1,
      1,
      0,
      box.value!,
      () => completions++,
      null,
    );
    assert.equal(status, STATUS_INVALID_PARAMETER);
    drainDeferredWork();
    assert.equal(completions, 0);
    assert.equal(h.host.counters.injected, 0);
    FwpsFreeNetBufferList0(box.value!);
    chain.free();
    freePool(pool);
    finish(h);
  });
});

describe('injections on several hosts', () => {
  beforeEach(() => resetSystem());

  it('nf-fwpsk-fwpsinjecttransportsendasync0 on host 2 of 2: the endpoint handle names host 2, so the reinjected datagram leaves host 2 and host 1 sees nothing', () => {
    const h1 = makeHost(1, MAC_HOST, '10.0.1.1', 'fd00::1');
    const h2 = makeHost(2, 0x02_00_00_00_02_01, '10.0.2.1', 'fd00:2::1', '10.0.2.10', 'fd00:2::10');
    const { seen, completions } = reinjectAt(30, FWPM_LAYER_OUTBOUND_TRANSPORT_V4);
    h2.host.sendFrom(IPPROTO_UDP, 5000, parseIpv4('10.0.2.10'), 53, new Uint8Array(12));
    drainDeferredWork();
    assert.equal(seen[0]!.handle, h2.host.endpoints.sender(IPPROTO_UDP, 5000)!.handle);
    assert.equal(h1.out.length, 0);
    assert.equal(h1.host.counters.injected, 0);
    assert.equal(h2.out.length, 1);
    assert.equal(h2.host.counters.injected, 1);
    const info = decode(h2.out[0]!);
    assert.equal(info.ipSrc, parseIpv4('10.0.2.1'));
    assert.equal(transportChecksumStatus(h2.out[0]!, info), CHECKSUM_GOOD);
    assert.deepEqual(completions, [STATUS_SUCCESS]);
    finish(h1, h2);
  });

  it("--hosts 2 (peers.ts): a callout works on host 2 - a transport receive injection from a DPC goes to the host with that interface and reaches its endpoint; a transport send injection leaves host 2's NIC", () => {
    // A capture of datagrams to one destination MAC, which becomes host 2 (its UDP 7 endpoint is bound).
    const frames = [1, 2, 3].map((i) =>
      frame({
        protocol: 'udp',
        src: '10.0.0.1',
        dst: '10.0.0.2',
        srcMac: 0x02_00_00_00_00_01,
        dstMac: 0x02_00_00_00_00_02,
        srcPort: 4000 + i,
        dstPort: 7,
        payload: new Uint8Array(10 + i),
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'wdknet-inject-'));
    const input = join(dir, 'peer.pcap');
    writeFileSync(input, pcap(frames));
    const engine = openEngine();
    const receive = transportHandle();
    const states: number[] = [];
    const completions: number[] = [];
    // As receiveReinjector, but the injection runs later, from a DPC (no classify running then).
    addCallout(
      engine,
      guid(40),
      (values, meta, layerData, _ctx, _filter, _flow, out) => {
        const nbl = layerData as NET_BUFFER_LIST;
        const state = FwpsQueryPacketInjectionState0(receive, nbl, null);
        states.push(state);
        if (state === FWPS_PACKET_INJECTED_BY_SELF) {
          out.actionType = FWP_ACTION_PERMIT;
          return;
        }
        const clone = { value: null as NET_BUFFER_LIST | null };
        assert.equal(FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, clone), STATUS_SUCCESS);
        NdisRetreatNetBufferDataStart(
          clone.value!.FirstNetBuffer!,
          meta.ipHeaderSize + meta.transportHeaderSize,
          0,
          null,
        );
        const ifIndex = values.incomingValue[FWPS_FIELD_INBOUND_TRANSPORT_V4_INTERFACE_INDEX]!.value.uint32;
        queueDeferredWork(() => {
          const status = FwpsInjectTransportReceiveAsync0(
            receive,
            null,
            null,
            0,
            AF_INET,
            1,
            ifIndex,
            0,
            clone.value!,
            (_c, n) => {
              completions.push(n.Status);
              FwpsFreeCloneNetBufferList0(n, 0);
            },
            null,
          );
          assert.equal(status, STATUS_SUCCESS);
        }, null);
        absorb(out);
      },
      { layerKey: FWPM_LAYER_INBOUND_TRANSPORT_V4 },
    );
    addFilter(engine, {
      layerKey: FWPM_LAYER_INBOUND_TRANSPORT_V4,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: guid(40),
    });
    const send = transportHandle();
    const seen: Seen[] = [];
    const sent: number[] = [];
    addCallout(engine, guid(41), reinjector(send, false, seen, sent), { layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4 });
    addFilter(engine, {
      layerKey: FWPM_LAYER_OUTBOUND_TRANSPORT_V4,
      action: FWP_ACTION_CALLOUT_TERMINATING,
      calloutKey: guid(41),
    });
    const run = replay({ input, hosts: 2 });
    try {
      assert.equal(run.peers.length, 1);
      const peer = run.peers[0]!;
      const echo = peer.ip.endpoints.lookup(IPPROTO_UDP, 7)!;
      assert.equal(echo.packets, 3, 'host 2 took the three reinjected datagrams');
      assert.equal(peer.ip.counters.injected, 3);
      assert.equal(run.host.counters.injected, 0, 'host 1 took none');
      assert.deepEqual(completions, [STATUS_SUCCESS, STATUS_SUCCESS, STATUS_SUCCESS]);
      assert.deepEqual(
        states,
        [0, 1, 0, 1, 0, 1].map((x) => (x === 0 ? FWPS_PACKET_NOT_INJECTED : FWPS_PACKET_INJECTED_BY_SELF)),
      );
      // Host 2 sends; the callout reinjects with the endpoint handle host 2 handed it.
      const onWire: Uint8Array[] = [];
      peer.wire.tap((f) => onWire.push(f.slice()));
      peer.ip.sendFrom(IPPROTO_UDP, 5000, parseIpv4('10.0.0.1'), 9, new Uint8Array(16));
      drainDeferredWork();
      assert.equal(seen[0]!.handle, peer.ip.endpoints.sender(IPPROTO_UDP, 5000)!.handle);
      assert.deepEqual(sent, [STATUS_SUCCESS]);
      assert.equal(onWire.length, 1);
      const info = decode(onWire[0]!);
      assert.equal(info.ipSrc, parseIpv4('10.0.0.2'));
      assert.equal(info.ipDst, parseIpv4('10.0.0.1'));
      assert.equal(transportChecksumStatus(onWire[0]!, info), CHECKSUM_GOOD);
    } finally {
      run.finish();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(run.peers[0]!.ip.counters.balance(0), 0);
    assert.deepEqual(collectLeaks(), []);
  });

  it('FwpsInjectNetworkSendAsync0 from a DPC, outside any classify, goes to the host that owns the source address', () => {
    const h1 = makeHost(1, MAC_HOST, '10.0.1.1', 'fd00::1');
    const h2 = makeHost(2, 0x02_00_00_00_02_01, '10.0.2.1', 'fd00:2::1', '10.0.2.10', 'fd00:2::10');
    const pool = wfpPool();
    const packet = frame({ protocol: 'udp', src: '10.0.2.1', dst: '10.0.2.10', dstPort: 9 }).subarray(14);
    const chain = new Chain([packet]);
    const box = { value: null as NET_BUFFER_LIST | null };
    assert.equal(FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 0, packet.length, box), STATUS_SUCCESS);
    const injection = { value: null as unknown };
    assert.equal(FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, injection), STATUS_SUCCESS);
    const statuses: number[] = [];
    queueDeferredWork(() => {
      const s = FwpsInjectNetworkSendAsync0(
        injection.value,
        null,
        0,
        1,
        box.value!,
        (_c, n) => statuses.push(n.Status),
        null,
      );
      assert.equal(s, STATUS_SUCCESS);
    }, null);
    drainDeferredWork();
    assert.deepEqual(statuses, [STATUS_SUCCESS]);
    assert.equal(h1.out.length, 0);
    assert.equal(h2.out.length, 1);
    FwpsFreeNetBufferList0(box.value!);
    chain.free();
    freePool(pool);
    finish(h1, h2);
  });
});

/** Registers (or removes) a firewall hook through the IP device, as a driver does. */
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

/** A classic pcap file (Ethernet) holding `frames`. */
function pcap(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let at = 24;
  frames.forEach((f, i) => {
    v.setUint32(at, 1_700_000_000 + i, true);
    v.setUint32(at + 8, f.length, true);
    v.setUint32(at + 12, f.length, true);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  return out;
}

/** Four words as sixteen bytes. */
function words(w: Uint32Array): number[] {
  return [...w].flatMap((x) => [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff]);
}
