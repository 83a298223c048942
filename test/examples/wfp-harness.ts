/**
 * A minimal stand-in for the TCP/IP stack around the WFP IP-packet layers, for driving the example callout drivers
 * directly against the filter engine: it puts a packet in a NET_BUFFER_LIST positioned as the layer documents
 * (outbound IPPACKET at the IP header, inbound IPPACKET at the transport header), classifies it, and does what the
 * stack does with the verdict - a PERMIT goes on (sent or delivered), a BLOCK is dropped, a BLOCK with ABSORB is
 * the callout's. An absorbed list is given back only when no FwpsReferenceNetBufferList0 reference and no clone
 * holds it. Packets the callout injects are received here, checked, and completed.
 *
 * Every list the harness makes comes from its own pool and goes back to it; `release()` frees everything.
 */
import assert from 'node:assert/strict';
import { settle } from 'wdknet';
import {
  bytesAt,
  DISPATCH_LEVEL,
  ExAllocatePoolWithTag,
  ExFreePoolWithTag,
  FWP_ACTION_PERMIT,
  FWP_UINT32,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  FWPS_FIELD_INBOUND_IPPACKET_V4_INTERFACE_INDEX,
  FWPS_FIELD_INBOUND_IPPACKET_V4_IP_LOCAL_ADDRESS,
  FWPS_FIELD_INBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_INBOUND_IPPACKET_V4_MAX,
  FWPS_FIELD_INBOUND_IPPACKET_V4_SUB_INTERFACE_INDEX,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_INTERFACE_INDEX,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_LOCAL_ADDRESS,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS,
  FWPS_FIELD_OUTBOUND_IPPACKET_V4_MAX,
  FWPS_INCOMING_METADATA_VALUES0,
  FWPS_INCOMING_VALUES0,
  FWPS_LAYER_INBOUND_IPPACKET_V4,
  FWPS_LAYER_OUTBOUND_IPPACKET_V4,
  FWPS_METADATA_FIELD_COMPARTMENT_ID,
  FWPS_METADATA_FIELD_IP_HEADER_SIZE,
  FwpsAllocateCloneNetBufferList0,
  FwpsFreeCloneNetBufferList0,
  IoAllocateMdl,
  IoFreeMdl,
  KeGetCurrentIrql,
  KeLowerIrql,
  KeRaiseIrql,
  type MDL,
  MmBuildMdlForNonPagedPool,
  MmGetSystemAddressForMdlSafe,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NdisAdvanceNetBufferDataStart,
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisRetreatNetBufferDataStart,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NonPagedPool,
  NormalPagePriority,
  poolTag,
} from 'wdknet/ddi';
import { read32 } from '../../examples/lib/inet.js';
import { pendingDeferredWork } from '../../src/kernel/deferred.js';
import { classifyAtLayer } from '../../src/wfp/classify.js';
import { completeInjectedNetBufferList, type InjectionSink, setInjectionSink } from '../../src/wfp/injection.js';
import { netBufferListReferences } from '../../src/wfp/packets.js';

const TAG = poolTag('srnH');
const COMPARTMENT = 1;
/** The interface index the harness reports for every packet. */
export const INTERFACE_INDEX = 3;
/** The sub-interface index the harness reports for inbound packets. */
export const SUB_INTERFACE_INDEX = 4;

/** What became of one packet handed to the layer. */
export type Fate = 'permitted' | 'blocked' | 'absorbed';

interface Held {
  nbl: NET_BUFFER_LIST;
  mdl: MDL;
  data: number;
}

/** STATUS_... the harness completes a blocked injection with (the stack dropped it). */
const STATUS_DROPPED = 0xc000021b | 0;

/** The stack around the IPv4 IP-packet layers. */
export class IpPacketHarness implements InjectionSink {
  readonly pool: ReturnType<typeof NdisAllocateNetBufferListPool>;
  /** Bytes that left the host (permitted outbound, or injected sends), in order. */
  readonly sent: Uint8Array[] = [];
  /** Bytes delivered to the host (permitted inbound, or injected receives), in order. */
  readonly delivered: Uint8Array[] = [];
  /** Packets the layer blocked (dropped by the stack: the callout must have counted them). */
  blocked = 0;
  /** Packets absorbed by a callout. */
  absorbed = 0;
  /** Packets the harness could not even build (no memory before the classify). */
  notBuilt = 0;
  /** Injections accepted, completed successfully, and blocked when classified again. */
  injected = 0;
  injectedDelivered = 0;
  injectedBlocked = 0;
  injectedAbsorbed = 0;
  /** DataOffset and DataLength of each injected list's first NET_BUFFER when it was injected. */
  readonly injectedLayout: { dataOffset: number; dataLength: number; fromPool: object | null }[] = [];
  /**
   * When set, each injected list is first cloned (as another callout might) and the clone classified, to see a
   * callout recognise a packet derived from its own injection (FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF).
   */
  cloneInjected = false;
  /** Fates of those clones. */
  readonly cloneFates: Fate[] = [];
  /** Whether the sink refuses injections (to test a driver's failure path) with this status, or 0. */
  refuseWith = 0;
  private readonly held: Held[] = [];
  private readonly absorbedHeld: Held[] = [];
  /** Injected lists another callout absorbed: completed once no reference and no clone holds them. */
  private readonly absorbedInjected: NET_BUFFER_LIST[] = [];
  private readonly injectQueue: NET_BUFFER_LIST[] = [];
  private readonly injectInbound: boolean[] = [];
  /** Classifies in progress: injections made meanwhile wait until the packet being processed is done. */
  private depth = 0;

  constructor() {
    const params = new NET_BUFFER_LIST_POOL_PARAMETERS();
    params.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_DEFAULT,
      NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
      NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    );
    params.fAllocateNetBuffer = true;
    params.PoolTag = TAG;
    this.pool = NdisAllocateNetBufferListPool(null, params);
    assert.ok(this.pool !== null, 'harness pool');
    setInjectionSink(this);
  }

  // --- InjectionSink: what the stack does with an injected packet ---------------------------------------------

  networkSend(nbl: NET_BUFFER_LIST): number {
    return this.accept(nbl, false);
  }
  networkReceive(
    nbl: NET_BUFFER_LIST,
    _compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
  ): number {
    assert.equal(interfaceIndex, INTERFACE_INDEX, 'inbound injection on the interface the packet arrived on');
    assert.equal(subInterfaceIndex, SUB_INTERFACE_INDEX);
    return this.accept(nbl, true);
  }
  forward(): number {
    return this.refuse();
  }
  transportSend(): number {
    return this.refuse();
  }
  transportReceive(): number {
    return this.refuse();
  }
  private refuse(): number {
    assert.fail('the examples inject only at the network layer');
  }
  private accept(nbl: NET_BUFFER_LIST, inbound: boolean): number {
    if (this.refuseWith !== 0) return this.refuseWith;
    this.injected++;
    const nb = nbl.FirstNetBuffer!;
    this.injectedLayout.push({ dataOffset: nb.DataOffset, dataLength: nb.DataLength, fromPool: nbl.NdisPoolHandle });
    this.injectQueue.push(nbl);
    this.injectInbound.push(inbound);
    // As the host does: an injection from a DPC or a completion is processed at once; one made inside a classify
    // waits until that packet is done (never re-entrantly).
    if (this.depth === 0) this.pump();
    return 0;
  }

  /**
   * Runs queued injections as the stack would, after the packet being processed: each is classified again at its
   * layer (the injecting callout must recognise it and permit it), then sent or delivered, and completed.
   */
  pump(): void {
    if (this.depth > 0) return;
    while (this.injectQueue.length > 0) {
      const nbl = this.injectQueue.shift()!;
      const inbound = this.injectInbound.shift()!;
      const nb = nbl.FirstNetBuffer!;
      const at = nb.DataOffset;
      if (this.cloneInjected) this.classifyCloneOf(nbl, inbound);
      const fate = this.classifyList(nbl, inbound);
      assert.equal(nb.DataOffset, at, 'classify leaves the injected list where it was');
      if (fate === 'permitted') {
        this.injectedDelivered++;
        (inbound ? this.delivered : this.sent).push(this.bytesOf(nbl));
        completeInjectedNetBufferList(nbl, 0);
      } else if (fate === 'absorbed') {
        // Another callout took the injected packet: its injector's completion waits until that callout lets go.
        this.injectedAbsorbed++;
        this.absorbedInjected.push(nbl);
      } else {
        this.injectedBlocked++;
        completeInjectedNetBufferList(nbl, STATUS_DROPPED);
      }
    }
  }

  private classifyCloneOf(nbl: NET_BUFFER_LIST, inbound: boolean): void {
    const box = { value: null as NET_BUFFER_LIST | null };
    assert.equal(FwpsAllocateCloneNetBufferList0(nbl, null, null, 0, box), 0);
    this.cloneFates.push(this.classifyList(box.value!, inbound));
    FwpsFreeCloneNetBufferList0(box.value!, 0);
  }

  /** Lets every DPC, injection and completion run, and gives back what the callout released. */
  async drain(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await settle();
      this.pump();
      this.reap();
      if (this.injectQueue.length === 0 && this.absorbedInjected.length === 0 && pendingDeferredWork() === 0) return;
    }
    assert.fail('the callout keeps injecting');
  }

  /** The bytes of a list's first NET_BUFFER (its MDL chain may have several MDLs). */
  bytesOf(nbl: NET_BUFFER_LIST): Uint8Array {
    const nb = nbl.FirstNetBuffer!;
    const out = new Uint8Array(nb.DataLength);
    let skip = nb.DataOffset;
    let at = 0;
    for (let m: MDL | null = nb.MdlChain; m !== null && at < out.length; m = m.Next) {
      if (skip >= m.ByteCount) {
        skip -= m.ByteCount;
        continue;
      }
      const n = Math.min(m.ByteCount - skip, out.length - at);
      out.set(bytesAt(MmGetSystemAddressForMdlSafe(m, NormalPagePriority) + skip, n), at);
      at += n;
      skip = 0;
    }
    return out;
  }

  /** Puts `bytes` (an IPv4 datagram) in a list from the harness pool, data at the IP header; null if no memory. */
  build(bytes: Uint8Array): Held | null {
    const data = ExAllocatePoolWithTag(NonPagedPool, bytes.length, TAG);
    if (data === 0) return null;
    bytesAt(data, bytes.length).set(bytes);
    const mdl = IoAllocateMdl(data, bytes.length, false, false, null);
    if (mdl === null) {
      ExFreePoolWithTag(data, TAG);
      return null;
    }
    MmBuildMdlForNonPagedPool(mdl);
    const nbl = NdisAllocateNetBufferAndNetBufferList(this.pool!, 0, 0, mdl, 0, bytes.length);
    if (nbl === null) {
      IoFreeMdl(mdl);
      ExFreePoolWithTag(data, TAG);
      return null;
    }
    return { nbl, mdl, data };
  }

  /** Classifies a list (data at the IP header) at the outbound or inbound IPv4 IP-packet layer. */
  classifyList(nbl: NET_BUFFER_LIST, inbound: boolean): Fate {
    const nb = nbl.FirstNetBuffer!;
    const header = this.bytesOf(nbl).subarray(0, 20);
    const ihl = (header[0]! & 0x0f) * 4;
    const local = inbound ? read32(header, 16) : read32(header, 12);
    const remote = inbound ? read32(header, 12) : read32(header, 16);
    const layerId = inbound ? FWPS_LAYER_INBOUND_IPPACKET_V4 : FWPS_LAYER_OUTBOUND_IPPACKET_V4;
    const values = new FWPS_INCOMING_VALUES0(
      layerId,
      inbound ? FWPS_FIELD_INBOUND_IPPACKET_V4_MAX : FWPS_FIELD_OUTBOUND_IPPACKET_V4_MAX,
    );
    const set = (field: number, v: number) => {
      values.incomingValue[field]!.value.type = FWP_UINT32;
      values.incomingValue[field]!.value.uint32 = v >>> 0;
    };
    if (inbound) {
      set(FWPS_FIELD_INBOUND_IPPACKET_V4_IP_LOCAL_ADDRESS, local);
      set(FWPS_FIELD_INBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS, remote);
      set(FWPS_FIELD_INBOUND_IPPACKET_V4_INTERFACE_INDEX, INTERFACE_INDEX);
      set(FWPS_FIELD_INBOUND_IPPACKET_V4_SUB_INTERFACE_INDEX, SUB_INTERFACE_INDEX);
    } else {
      set(FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_LOCAL_ADDRESS, local);
      set(FWPS_FIELD_OUTBOUND_IPPACKET_V4_IP_REMOTE_ADDRESS, remote);
      set(FWPS_FIELD_OUTBOUND_IPPACKET_V4_INTERFACE_INDEX, INTERFACE_INDEX);
    }
    const meta = new FWPS_INCOMING_METADATA_VALUES0();
    meta.currentMetadataValues = FWPS_METADATA_FIELD_COMPARTMENT_ID | FWPS_METADATA_FIELD_IP_HEADER_SIZE;
    meta.compartmentId = COMPARTMENT;
    meta.ipHeaderSize = ihl;
    // Inbound IP-packet classify sees the data at the transport header.
    if (inbound) NdisAdvanceNetBufferDataStart(nb, ihl, false, null);
    // The IP-packet layers classify at DISPATCH_LEVEL, as tcpip does: a callout that calls a PASSIVE_LEVEL DDI
    // from its classifyFn is reported by the verifier.
    this.depth++;
    const oldIrql = { value: 0 };
    KeRaiseIrql(Math.max(DISPATCH_LEVEL, KeGetCurrentIrql()), oldIrql);
    let out: ReturnType<typeof classifyAtLayer>;
    try {
      out = classifyAtLayer(layerId, values, meta, nbl);
    } finally {
      KeLowerIrql(oldIrql.value);
      this.depth--;
    }
    const permitted = out.actionType === FWP_ACTION_PERMIT;
    const absorbed = !permitted && (out.flags & FWPS_CLASSIFY_OUT_FLAG_ABSORB) !== 0;
    if (inbound) NdisRetreatNetBufferDataStart(nb, ihl, 0, null);
    return permitted ? 'permitted' : absorbed ? 'absorbed' : 'blocked';
  }

  /** Classifies a prepared packet and does what the stack does with the verdict. */
  classify(h: Held, inbound: boolean): Fate {
    const nb = h.nbl.FirstNetBuffer!;
    const fate = this.classifyList(h.nbl, inbound);
    const permitted = fate === 'permitted';
    const absorbed = fate === 'absorbed';
    if (permitted) {
      (inbound ? this.delivered : this.sent).push(bytesAt(h.data, nb.DataLength).slice());
      this.free(h);
      return 'permitted';
    }
    if (absorbed) {
      this.absorbed++;
      this.absorbedHeld.push(h);
      this.reap();
      return 'absorbed';
    }
    this.blocked++;
    this.free(h);
    return 'blocked';
  }

  /** Builds and classifies; a packet that cannot be built is counted in `notBuilt`. */
  offer(bytes: Uint8Array, inbound: boolean): Fate | 'not-built' {
    const h = this.build(bytes);
    if (h === null) {
      this.notBuilt++;
      return 'not-built';
    }
    const fate = this.classify(h, inbound);
    this.pump();
    return fate;
  }

  /** Gives back absorbed originals that no reference and no clone holds any more. */
  reap(): void {
    let k = 0;
    for (const nbl of this.absorbedInjected) {
      if (netBufferListReferences(nbl) > 0 || nbl.ChildRefCount > 0) this.absorbedInjected[k++] = nbl;
      else completeInjectedNetBufferList(nbl, 0);
    }
    this.absorbedInjected.length = k;
    let w = 0;
    for (const h of this.absorbedHeld) {
      if (netBufferListReferences(h.nbl) > 0 || h.nbl.ChildRefCount > 0) this.absorbedHeld[w++] = h;
      else this.free(h);
    }
    this.absorbedHeld.length = w;
  }

  /** Absorbed originals still held by the callout. */
  heldByCallout(): number {
    return this.absorbedHeld.length;
  }

  private free(h: Held): void {
    NdisFreeNetBufferList(h.nbl);
    IoFreeMdl(h.mdl);
    ExFreePoolWithTag(h.data, TAG);
  }

  /** Frees the pool (every absorbed original must have come back first). */
  release(): void {
    this.reap();
    assert.equal(this.absorbedHeld.length, 0, 'the callout still holds absorbed packets');
    for (const h of this.held) this.free(h);
    this.held.length = 0;
    if (this.pool !== null) NdisFreeNetBufferListPool(this.pool);
    setInjectionSink(null);
  }
}
