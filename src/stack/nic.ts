/**
 * The virtual NIC: a real NDIS 6 miniport driver (registered once through NdisMRegisterMiniportDriver, like the
 * netvmini sample) for a simulated Ethernet adapter, one {@link VirtualNic} per adapter.
 *
 * Send: each NET_BUFFER's frame is copied onto the {@link Wire} the NIC is connected to, and the send completes
 * at once (NdisMSendNetBufferListsComplete with a status per NET_BUFFER_LIST). Receive: a frame off the wire is
 * copied once into a receive NBL the NIC preallocated from its own pool (or, through
 * {@link VirtualNic.indicateMemory}, described where the caller's pool memory already holds it: zero copy) and
 * indicated with NdisMIndicateReceiveNetBufferLists, with NDIS_RECEIVE_FLAGS_RESOURCES when configured or when
 * its receive buffers run low (as a NIC does), and otherwise given back later through
 * MiniportReturnNetBufferLists. The NIC filters by destination MAC (its packet filter, which
 * OID_GEN_CURRENT_PACKET_FILTER sets) and counts every frame: in, out, and each drop with its reason.
 */
import { ARENA_BASE, memory, memoryView, moveWithinArena } from '../kernel/arena.js';
import { DRIVER_OBJECT } from '../kernel/driver.js';
import { DISPATCH_LEVEL, KeGetCurrentIrql } from '../kernel/irql.js';
import { NdisAllocateMdl, NdisFreeMdl } from '../kernel/mdl.js';
import {
  NDIS_STATUS_BUFFER_TOO_SHORT,
  NDIS_STATUS_INVALID_DATA,
  NDIS_STATUS_INVALID_LENGTH,
  NDIS_STATUS_NOT_SUPPORTED,
  NDIS_STATUS_PAUSED,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NT_SUCCESS,
  StatusError,
} from '../kernel/status.js';
import { onSystemReset } from '../kernel/system.js';
import { poolTag } from '../kernel/tags.js';
import { copyOut, mdlVa } from '../ndis/chain.js';
import type { NdisMiniportBlock, NdisMiniportDriverBlock } from '../ndis/driver-blocks.js';
import {
  IF_TYPE_ETHERNET_CSMACD,
  MediaConnectStateConnected,
  MediaConnectStateDisconnected,
  MediaDuplexStateFull,
  NDIS_LINK_STATE_REVISION_1,
  NDIS_MAC_OPTION_8021P_PRIORITY,
  NDIS_MAC_OPTION_8021Q_VLAN,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_STATUS_INDICATION,
  NDIS_PACKET_TYPE_ALL_MULTICAST,
  NDIS_PACKET_TYPE_BROADCAST,
  NDIS_PACKET_TYPE_DIRECTED,
  NDIS_PACKET_TYPE_MULTICAST,
  NDIS_PACKET_TYPE_PROMISCUOUS,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_LINK_STATE_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
  NDIS_STATUS_INDICATION_REVISION_1,
  NDIS_STATUS_LINK_STATE,
  NdisMedium802_3,
  NdisPhysicalMedium802_3,
  NdisRequestQueryInformation,
  NdisRequestSetInformation,
  NET_IF_ACCESS_BROADCAST,
  NET_IF_CONNECTION_DEDICATED,
  NET_IF_DIRECTION_SENDRECEIVE,
  OID_802_3_CURRENT_ADDRESS,
  OID_802_3_PERMANENT_ADDRESS,
  OID_GEN_CURRENT_PACKET_FILTER,
  OID_GEN_MAXIMUM_FRAME_SIZE,
  OID_GEN_MAXIMUM_TOTAL_SIZE,
  OID_GEN_RCV_NO_BUFFER,
  OID_GEN_RCV_OK,
  OID_GEN_VLAN_ID,
  OID_GEN_XMIT_OK,
} from '../ndis/driver-constants.js';
import {
  NDIS_LINK_STATE,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  type NDIS_MINIPORT_INIT_PARAMETERS,
  type NDIS_OID_REQUEST,
  NDIS_STATUS_INDICATION,
} from '../ndis/driver-structures.js';
import { Ieee8021QNetBufferListInfo } from '../ndis/info.js';
import {
  addMiniportAdapter,
  NdisMDeregisterMiniportDriver,
  NdisMIndicateReceiveNetBufferLists,
  NdisMIndicateStatusEx,
  NdisMPauseComplete,
  NdisMRegisterMiniportDriver,
  NdisMSendNetBufferListsComplete,
  NdisMSetMiniportAttributes,
  removeMiniportAdapter,
} from '../ndis/miniport.js';
import {
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateNetBufferList,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
} from '../ndis/netBufferList.js';
import type { NetBufferListPool } from '../ndis/pools.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  type NET_BUFFER,
  type NET_BUFFER_LIST,
} from '../ndis/structures.js';
import { allocateListPool } from './pools.js';
import type { Wire, WirePort } from './wire.js';

/** The NIC's receive-buffer pool tag: "VNic" in poolmon (decided). */
export const TAG_VNIC = poolTag('ciNV');

/** Ethernet header plus one 802.1Q tag: a frame may be this much longer than the MTU. */
const LINK_OVERHEAD = 18;
/** The shortest frame the NIC sends or accepts: an Ethernet header. */
const MIN_FRAME = 14;
/**
 * Bytes of data in each receive buffer the NIC preallocates (decided: the 2 KiB buffers NICs commonly post, room
 * for a 1,500-byte MTU frame with an 802.1Q tag). A NIC with a larger MTU swaps a receive NBL for one of its full
 * size (MTU + 18) the first time that NBL must take a longer frame, and keeps it: a full-size buffer is allocated
 * only for frames that need one, rather than 64 KiB up front for each of hundreds of buffers.
 */
const RX_BUFFER_BYTES = 2048;
/** The link speed it reports: 1 Gbit/s (decided). */
const LINK_SPEED = 1_000_000_000n;

/** How a virtual NIC is configured (what its registry keys would say). */
export interface VirtualNicOptions {
  /** Instance name (default: the name NDIS gives, "Adapter <ifIndex>"). */
  name?: string;
  /** MAC address, 6 bytes (default 02:00:00:00:00:<ifIndex>). */
  mac?: ArrayLike<number>;
  /** MTU: the largest payload after the Ethernet header (default 1500). */
  mtu?: number;
  /** Interface index (default: NDIS assigns one). */
  ifIndex?: number;
  /** Receive NBLs preallocated (default 64): when all are out, frames are dropped as noReceiveBuffers. */
  receiveBuffers?: number;
  /** Indicate every receive with NDIS_RECEIVE_FLAGS_RESOURCES (default false: only when buffers run low). */
  receiveWithResources?: boolean;
  /** Below this many free receive buffers, indications use RESOURCES (default receiveBuffers / 8). */
  lowWater?: number;
  /**
   * Frames from the wire indicated together in one NET_BUFFER_LIST chain (default 1: each frame at once). With
   * more, the NIC collects up to this many and indicates them when the batch is full or the wire has delivered
   * everything it had (as a NIC's DPC indicates what one interrupt brought).
   */
  receiveBatch?: number;
  /** Initial packet filter (default directed, multicast and broadcast). */
  packetFilter?: number;
  /** The NIC's VLAN (OID_GEN_VLAN_ID; default 0, as a NIC starts before its VlanId parameter is read). */
  vlanId?: number;
}

/** What the NIC counted. Every frame that reached it is in exactly one bucket. */
export class NicCounters {
  /** Frames put on the wire, and their bytes. */
  framesOut = 0;
  bytesOut = 0;
  /** Frames indicated up the stack, and their bytes. */
  framesIn = 0;
  bytesIn = 0;
  /** Receive indications made with NDIS_RECEIVE_FLAGS_RESOURCES. */
  indicatedWithResources = 0;
  /** Receive NBLs that came back through MiniportReturnNetBufferLists. */
  returned = 0;
  /** Sends refused: the adapter was paused (completed with NDIS_STATUS_PAUSED). */
  sendsPaused = 0;
  /** Sends refused: shorter than an Ethernet header or longer than MTU + header (NDIS_STATUS_INVALID_LENGTH). */
  sendsBadLength = 0;
  /** Sends with no wire connected (completed with success and lost, as on an unplugged cable). */
  sendsNoCarrier = 0;
  /** Sends lost because the wire's ring could not grow (pool exhausted): completed with success, as a collision. */
  sendsWireFull = 0;
  /** Frames off the wire not for this NIC (its packet filter): not a drop, a NIC's normal filtering. */
  filtered = 0;
  /** Frames dropped: no free receive buffer. */
  dropNoReceiveBuffers = 0;
  /** Frames dropped: the adapter was not running. */
  dropPaused = 0;
  /** Frames dropped: too long or too short. */
  dropBadLength = 0;
  /** Frames dropped: 802.1Q-tagged for a VLAN other than the NIC's. */
  dropOtherVlan = 0;
}

/** The NIC miniport driver: one registration shared by every VirtualNic. */
const vnicDriver = {
  object: null as DRIVER_OBJECT | null,
  handle: null as NdisMiniportDriverBlock | null,
};

onSystemReset(() => {
  vnicDriver.object = null;
  vnicDriver.handle = null;
});

function driverHandle(): NdisMiniportDriverBlock {
  if (vnicDriver.handle?.registered) return vnicDriver.handle;
  const object = new DRIVER_OBJECT('\\Driver\\wdkvnic');
  const c = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS();
  c.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  );
  c.MajorNdisVersion = 6;
  c.MinorNdisVersion = 30;
  c.MajorDriverVersion = 1;
  c.InitializeHandlerEx = nicInitialize;
  c.HaltHandlerEx = nicHalt;
  c.UnloadHandler = () => {};
  c.PauseHandler = nicPause;
  c.RestartHandler = nicRestart;
  c.OidRequestHandler = nicOidRequest;
  c.SendNetBufferListsHandler = nicSend;
  c.ReturnNetBufferListsHandler = nicReturn;
  c.CancelSendHandler = () => {};
  c.DevicePnPEventNotifyHandler = () => {};
  c.ShutdownHandlerEx = () => {};
  c.CancelOidRequestHandler = () => {};
  const box = { value: null as unknown };
  const status = NdisMRegisterMiniportDriver(object, '\\Registry\\Machine\\System\\wdkvnic', null, c, box);
  if (!NT_SUCCESS(status)) throw new StatusError(status, 'the virtual NIC driver could not register');
  vnicDriver.object = object;
  vnicDriver.handle = box.value as NdisMiniportDriverBlock;
  return vnicDriver.handle;
}

/**
 * Unloads the virtual NIC driver (NdisMDeregisterMiniportDriver), halting every NIC still present. The next
 * VirtualNic registers the driver again.
 */
export function unloadVirtualNicDriver(): void {
  const handle = vnicDriver.handle;
  if (handle === null || !handle.registered) return;
  NdisMDeregisterMiniportDriver(handle);
  vnicDriver.handle = null;
  vnicDriver.object = null;
}

const RunStateNic = { Paused: 0, Running: 1, Pausing: 2, Halted: 3 } as const;

/**
 * MiniportReserved[0] of a zero-copy receive (MiniportReserved[1] is the caller's release callback). An object, so
 * that testing for it is a reference compare: V8 compares a slot holding null or a number with a number constant
 * through a generic builtin call.
 */
const ZERO_COPY = Object.freeze({ receive: 'zero-copy' });

/** One simulated Ethernet adapter, and the miniport's context for it. */
export class VirtualNic implements WirePort {
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** The longest frame the NIC takes or sends: MTU + an Ethernet header with an 802.1Q tag. */
  private readonly maxFrame: number;
  readonly counters = new NicCounters();
  /** MiniportAdapterHandle (null once removed). */
  adapter: NdisMiniportBlock | null = null;
  /** NDIS_PACKET_TYPE_* bits the NIC accepts. */
  packetFilter: number;
  /**
   * The NIC's VLAN identifier (OID_GEN_VLAN_ID). As an adapter with NDIS_MAC_OPTION_8021Q_VLAN does, the NIC takes
   * the 802.1Q tag off a received frame into Ieee8021QNetBufferListInfo (a frame of another VLAN is dropped; a
   * priority-tagged one, VLAN 0, is its own), and on send puts a tag in front of the EtherType for the list's
   * Ieee8021QNetBufferListInfo, or for its own VLAN when the list names none.
   */
  vlanId: number;
  private readonly receiveBuffers: number;
  private readonly receiveWithResources: boolean;
  private readonly lowWater: number;
  private readonly receiveBatch: number;
  /** Received frames waiting to be indicated as one chain. */
  private batchHead: NET_BUFFER_LIST | null = null;
  private batchTail: NET_BUFFER_LIST | null = null;
  private batchCount = 0;
  private state: number = RunStateNic.Paused;
  private pausePending = false;
  private rxPool: NetBufferListPool | null = null;
  /** Full-size receive NBLs (MTU + 18 bytes): made with the first frame longer than `rxSmall`, else null. */
  private bigPool: NetBufferListPool | null = null;
  /** Data bytes of an `rxPool` buffer: frames longer than this need a `bigPool` NBL. */
  private rxSmall = 0;
  private zcPool: NetBufferListPool | null = null;
  /**
   * The free receive NBLs, most recently freed first, linked through their Next fields (a miniport's own NBLs
   * while it holds them: a pointer push and pop per frame, no array), and how many there are.
   */
  private freeHead: NET_BUFFER_LIST | null = null;
  private freeCount = 0;
  /** Receives indicated without RESOURCES and not yet returned. */
  private rxOut = 0;
  private wire: Wire | null = null;
  private port = -1;

  /**
   * Adds the adapter: NDIS calls the NIC's MiniportInitializeEx, attaches filters and binds protocols. Throws a
   * StatusError if initialization fails (NDIS_STATUS_RESOURCES when the pool cannot hold its receive buffers).
   */
  constructor(options: VirtualNicOptions = {}) {
    this.mtu = options.mtu ?? 1500;
    this.maxFrame = this.mtu + LINK_OVERHEAD;
    this.receiveBuffers = options.receiveBuffers ?? 64;
    this.receiveWithResources = options.receiveWithResources ?? false;
    this.receiveBatch = Math.max(1, options.receiveBatch ?? 1);
    this.lowWater = options.lowWater ?? Math.floor(this.receiveBuffers / 8);
    this.packetFilter =
      options.packetFilter ?? NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_BROADCAST;
    this.vlanId = (options.vlanId ?? 0) & 0xfff;
    this.mac = new Uint8Array(6);
    const { status, adapter } = addMiniportAdapter(driverHandle(), {
      ...(options.ifIndex !== undefined ? { ifIndex: options.ifIndex } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
      ifType: IF_TYPE_ETHERNET_CSMACD,
      addDeviceContext: { nic: this, mac: options.mac },
    });
    if (!NT_SUCCESS(status) || adapter === null) throw new StatusError(status, 'the virtual NIC did not initialize');
    this.adapter = adapter;
    this.name = adapter.name;
  }

  /** The adapter's instance name. */
  readonly name: string;

  /** Interface index NDIS gave the adapter. */
  get ifIndex(): number {
    return this.adapter?.IfIndex ?? 0;
  }

  /** True while the adapter is running (between MiniportRestart and MiniportPause). */
  get running(): boolean {
    return this.state === RunStateNic.Running;
  }

  /** Plugs the NIC into a wire (unplugging it from any other); a running NIC indicates the link up. */
  connect(wire: Wire): void {
    if (this.wire !== null) this.unplug();
    this.wire = wire;
    this.port = wire.attach(this);
    this.indicateLinkState();
  }

  /** Unplugs the NIC; a running NIC indicates the link down (NDIS_STATUS_LINK_STATE). */
  disconnect(): void {
    if (this.wire === null) return;
    this.unplug();
    this.indicateLinkState();
  }

  private unplug(): void {
    this.wire!.detach(this.port);
    this.wire = null;
    this.port = -1;
  }

  /** NdisMIndicateStatusEx(NDIS_STATUS_LINK_STATE) with the current link, when the adapter is running. */
  private indicateLinkState(): void {
    if (this.adapter === null || this.state !== RunStateNic.Running) return;
    const link = new NDIS_LINK_STATE();
    link.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_DEFAULT,
      NDIS_LINK_STATE_REVISION_1,
      NDIS_SIZEOF_LINK_STATE_REVISION_1,
    );
    link.MediaConnectState = this.mediaConnectState;
    link.MediaDuplexState = MediaDuplexStateFull;
    link.XmitLinkSpeed = link.RcvLinkSpeed = this.wire === null ? 0n : LINK_SPEED;
    const indication = new NDIS_STATUS_INDICATION();
    indication.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_STATUS_INDICATION,
      NDIS_STATUS_INDICATION_REVISION_1,
      NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
    );
    indication.SourceHandle = this.adapter;
    indication.StatusCode = NDIS_STATUS_LINK_STATE;
    indication.StatusBuffer = link;
    indication.StatusBufferSize = NDIS_SIZEOF_LINK_STATE_REVISION_1;
    NdisMIndicateStatusEx(this.adapter, indication);
  }

  /** Removes the adapter (NDIS unbinds, detaches, pauses and halts it). */
  remove(): void {
    this.disconnect();
    if (this.adapter !== null) removeMiniportAdapter(this.adapter);
    this.adapter = null;
  }

  // --- receive ------------------------------------------------------------------------------------------------

  /** A frame arrives from the wire. */
  receiveFrame(address: number, length: number): void {
    let nbl = this.takeReceiveBuffer(address, length);
    if (nbl === null) return;
    if (length > this.rxSmall && nbl.NdisPoolHandle !== this.bigPool) {
      nbl = this.enlarge(nbl);
      if (nbl === null) return;
    }
    const va = mdlVa(nbl.FirstNetBuffer!.MdlChain!) - ARENA_BASE;
    const from = address - ARENA_BASE;
    let tag = 0;
    if (memoryView.getUint16(from + 12) === 0x8100 && length >= 18) {
      // 802.1Q: the tag goes into the list's information, the frame up without it.
      const tci = (memory[from + 14]! << 8) | memory[from + 15]!;
      const vid = tci & 0xfff;
      if (vid !== 0 && vid !== this.vlanId) {
        this.putFree(nbl);
        this.counters.dropOtherVlan++;
        return;
      }
      // NDIS_NET_BUFFER_LIST_8021Q_INFO.TagHeader: UserPriority bits 0-2, VlanId bits 4-15 (CanonicalFormatId 0).
      tag = (tci >>> 13) | (vid << 4);
      moveWithinArena(va, from, 12);
      moveWithinArena(va + 12, from + 16, length - 16);
      length -= 4;
    } else moveWithinArena(va, from, length); // the DMA: accept() kept the frame within the receive buffer
    nbl.NetBufferListInfo[Ieee8021QNetBufferListInfo] = tag;
    if (this.receiveBatch === 1) {
      this.indicate(nbl, length);
      return;
    }
    this.prepare(nbl, length);
    if (this.batchTail === null) this.batchHead = nbl;
    else this.batchTail.Next = nbl;
    this.batchTail = nbl;
    if (++this.batchCount >= this.receiveBatch) this.flush();
  }

  /** Frames received and waiting for the batch to be indicated. */
  get pendingReceives(): number {
    return this.batchCount;
  }

  /**
   * Capture time of the first frame of the batch waiting to be indicated (set by {@link receiveFrameAt}): when
   * the moderation timer started.
   */
  heldSinceSeconds = 0;
  heldSinceNanoseconds = 0;

  /** {@link receiveFrame} of a frame arriving at `time`: the first frame of a batch starts its moderation timer. */
  receiveFrameAt(address: number, length: number, time: Readonly<{ seconds: number; nanoseconds: number }>): void {
    if (this.batchCount === 0) {
      this.heldSinceSeconds = time.seconds;
      this.heldSinceNanoseconds = time.nanoseconds;
    }
    this.receiveFrame(address, length);
  }

  /** Indicates the frames collected so far as one chain (the wire calls this when it has delivered all it had). */
  flush(): void {
    const head = this.batchHead;
    if (head === null) return;
    const count = this.batchCount;
    this.batchHead = this.batchTail = null;
    this.batchCount = 0;
    this.indicateChain(head, count, this.receiveWithResources || this.freeCount < this.lowWater);
  }

  /** A frame arrives from outside the wire (a capture feeding this NIC): its bytes are copied once. */
  indicateFrame(frame: Uint8Array): void {
    this.flush();
    let nbl = this.takeReceiveBuffer(-1, frame.length, frame);
    if (nbl === null) return;
    if (frame.length > this.rxSmall && nbl.NdisPoolHandle !== this.bigPool) {
      nbl = this.enlarge(nbl);
      if (nbl === null) return;
    }
    memory.set(frame, mdlVa(nbl.FirstNetBuffer!.MdlChain!) - ARENA_BASE);
    nbl.NetBufferListInfo[Ieee8021QNetBufferListInfo] = 0;
    this.indicate(nbl, frame.length);
  }

  /**
   * Zero copy: indicates the frame where it already lies in pool memory (`address`, `length`), described by an
   * MDL of the NIC's. `release` is called when the stack no longer needs the memory (after the indication with
   * RESOURCES, otherwise when the NBL is returned). Returns false (and calls nothing) if it was dropped.
   */
  indicateMemory(address: number, length: number, release: (() => void) | null = null): boolean {
    this.flush();
    if (!this.accept(address, length, null)) return false;
    const mdl = NdisAllocateMdl(this.adapter, address, length);
    const nbl = mdl === null ? null : NdisAllocateNetBufferAndNetBufferList(this.zcPool!, 0, 0, mdl, 0, length);
    if (nbl === null) {
      if (mdl !== null) NdisFreeMdl(mdl);
      this.counters.dropNoReceiveBuffers++;
      return false;
    }
    nbl.MiniportReserved[0] = ZERO_COPY;
    nbl.MiniportReserved[1] = release;
    this.indicate(nbl, length);
    return true;
  }

  /** Checks state, length and packet filter; counts the frame if refused. */
  private accept(address: number, length: number, bytes: Uint8Array | null): boolean {
    const c = this.counters;
    if (this.state !== RunStateNic.Running) {
      c.dropPaused++;
      return false;
    }
    if (length < MIN_FRAME || length > this.maxFrame) {
      c.dropBadLength++;
      return false;
    }
    if (!this.passesFilter(address, bytes)) {
      c.filtered++;
      return false;
    }
    return true;
  }

  private takeReceiveBuffer(address: number, length: number, bytes: Uint8Array | null = null): NET_BUFFER_LIST | null {
    if (!this.accept(address, length, bytes)) return null;
    const nbl = this.freeHead;
    if (nbl === null) {
      this.counters.dropNoReceiveBuffers++;
      return null;
    }
    this.freeHead = nbl.Next;
    this.freeCount--;
    nbl.Next = null;
    return nbl;
  }

  /**
   * A frame longer than the small receive buffer `small` can hold arrived: `small` is swapped for a full-size
   * receive NBL, which the NIC keeps from then on (the NIC still has `receiveBuffers` of them). When the pool
   * cannot hold one, `small` stays the NIC's and the frame is dropped as having no receive buffer, as a NIC that
   * cannot post a buffer drops it.
   */
  private enlarge(small: NET_BUFFER_LIST): NET_BUFFER_LIST | null {
    // The full-size pool is made with the first frame that needs it: a NIC that never sees one allocates nothing more.
    if (this.bigPool === null) this.bigPool = allocateListPool(TAG_VNIC, this.maxFrame, true);
    const big = this.bigPool === null ? null : NdisAllocateNetBufferList(this.bigPool, 0, 0);
    if (big === null) {
      this.putFree(small);
      this.counters.dropNoReceiveBuffers++;
      return null;
    }
    NdisFreeNetBufferList(small);
    return big;
  }

  private passesFilter(address: number, bytes: Uint8Array | null): boolean {
    const filter = this.packetFilter;
    if ((filter & NDIS_PACKET_TYPE_PROMISCUOUS) !== 0) return true;
    if ((frameByte(address, bytes, 0) & 1) !== 0) {
      let broadcast = true;
      for (let i = 0; i < 6; i++) if (frameByte(address, bytes, i) !== 0xff) broadcast = false;
      if (broadcast) return (filter & NDIS_PACKET_TYPE_BROADCAST) !== 0;
      return (filter & (NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_ALL_MULTICAST)) !== 0;
    }
    if ((filter & NDIS_PACKET_TYPE_DIRECTED) === 0) return false;
    for (let i = 0; i < 6; i++) if (frameByte(address, bytes, i) !== this.mac[i]) return false;
    return true;
  }

  /** Fills in a receive NBL for a frame of `length` bytes (its Next is null: taken off the free list, or new). */
  private prepare(nbl: NET_BUFFER_LIST, length: number): void {
    nbl.FirstNetBuffer!.DataLength = length;
    nbl.Status = NDIS_STATUS_SUCCESS;
    nbl.SourceHandle = this.adapter;
    this.counters.framesIn++;
    this.counters.bytesIn += length;
  }

  private indicate(nbl: NET_BUFFER_LIST, length: number): void {
    this.prepare(nbl, length);
    const zeroCopy = nbl.NdisPoolHandle === this.zcPool;
    this.indicateChain(nbl, 1, this.receiveWithResources || (!zeroCopy && this.freeCount < this.lowWater));
  }

  /** NdisMIndicateReceiveNetBufferLists for a prepared chain; with RESOURCES the NBLs are reused at once. */
  private indicateChain(head: NET_BUFFER_LIST, count: number, resources: boolean): void {
    const c = this.counters;
    let flags = KeGetCurrentIrql() === DISPATCH_LEVEL ? NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL : 0;
    if (resources) {
      flags |= NDIS_RECEIVE_FLAGS_RESOURCES;
      c.indicatedWithResources += count;
    } else {
      this.rxOut += count;
    }
    NdisMIndicateReceiveNetBufferLists(this.adapter, head, 0, count, flags);
    if (!resources) return;
    let x: NET_BUFFER_LIST | null = head;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      x.Next = null;
      this.recycle(x);
      x = next;
    }
  }

  /** A receive NBL is the NIC's again. */
  recycle(nbl: NET_BUFFER_LIST): void {
    // Only zero-copy receives come from zcPool (and every one carries ZERO_COPY): the pool tells them apart
    // without the MiniportReserved accessor, which marks the area as used on every read.
    if (nbl.NdisPoolHandle === this.zcPool) {
      const release = nbl.MiniportReserved[1] as (() => void) | null;
      const mdl = nbl.FirstNetBuffer!.MdlChain!;
      nbl.MiniportReserved[0] = null;
      nbl.MiniportReserved[1] = null;
      NdisFreeNetBufferList(nbl);
      NdisFreeMdl(mdl);
      release?.();
      return;
    }
    this.putFree(nbl);
  }

  /** `nbl` (a receive NBL of the NIC's, not linked to any other) joins the free list. */
  private putFree(nbl: NET_BUFFER_LIST): void {
    nbl.Next = this.freeHead;
    this.freeHead = nbl;
    this.freeCount++;
  }

  // --- miniport handlers ---------------------------------------------------------------------------------------

  /** MiniportInitializeEx for this adapter. */
  initialize(handle: NdisMiniportBlock, ifIndex: number, mac: ArrayLike<number> | undefined): number {
    this.adapter = handle;
    if (mac !== undefined) this.mac.set(Array.from(mac).slice(0, 6));
    else this.mac.set([0x02, 0, 0, (ifIndex >>> 16) & 0xff, (ifIndex >>> 8) & 0xff, ifIndex & 0xff]);
    const full = this.mtu + LINK_OVERHEAD;
    this.rxSmall = Math.min(full, RX_BUFFER_BYTES);
    this.rxPool = allocateListPool(TAG_VNIC, this.rxSmall, true);
    this.zcPool = allocateListPool(TAG_VNIC, 0, true);
    if (this.rxPool === null || this.zcPool === null) return this.failInit();
    for (let i = 0; i < this.receiveBuffers; i++) {
      const nbl = NdisAllocateNetBufferList(this.rxPool, 0, 0);
      if (nbl === null) return this.failInit();
      this.putFree(nbl);
    }
    const reg = new NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES();
    reg.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
      NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
      NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
    );
    reg.MiniportAdapterContext = this;
    let status = NdisMSetMiniportAttributes(handle, reg);
    if (!NT_SUCCESS(status)) return this.failInit(status);
    const gen = new NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES();
    gen.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
      NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
      NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
    );
    gen.MediaType = NdisMedium802_3;
    gen.PhysicalMediumType = NdisPhysicalMedium802_3;
    gen.MtuSize = this.mtu;
    gen.MaxXmitLinkSpeed = gen.XmitLinkSpeed = gen.MaxRcvLinkSpeed = gen.RcvLinkSpeed = LINK_SPEED;
    gen.MediaConnectState = MediaConnectStateConnected;
    gen.MediaDuplexState = MediaDuplexStateFull;
    gen.LookaheadSize = this.mtu;
    gen.SupportedPacketFilters =
      NDIS_PACKET_TYPE_DIRECTED |
      NDIS_PACKET_TYPE_MULTICAST |
      NDIS_PACKET_TYPE_ALL_MULTICAST |
      NDIS_PACKET_TYPE_BROADCAST |
      NDIS_PACKET_TYPE_PROMISCUOUS;
    gen.MaxMulticastListSize = 32;
    gen.MacOptions = NDIS_MAC_OPTION_8021P_PRIORITY | NDIS_MAC_OPTION_8021Q_VLAN;
    gen.MacAddressLength = 6;
    gen.PermanentMacAddress.set(this.mac);
    gen.CurrentMacAddress.set(this.mac);
    gen.AccessType = NET_IF_ACCESS_BROADCAST;
    gen.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    gen.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    gen.IfType = IF_TYPE_ETHERNET_CSMACD;
    gen.IfConnectorPresent = true;
    gen.SupportedOidList = SUPPORTED_OIDS;
    gen.SupportedOidListLength = SUPPORTED_OIDS.length * 4;
    status = NdisMSetMiniportAttributes(handle, gen);
    if (!NT_SUCCESS(status)) return this.failInit(status);
    this.state = RunStateNic.Paused;
    return NDIS_STATUS_SUCCESS;
  }

  private failInit(status = NDIS_STATUS_RESOURCES): number {
    this.releaseBuffers();
    return status;
  }

  private releaseBuffers(): void {
    for (let nbl = this.freeHead; nbl !== null; ) {
      const next: NET_BUFFER_LIST | null = nbl.Next;
      nbl.Next = null;
      NdisFreeNetBufferList(nbl);
      nbl = next;
    }
    this.freeHead = null;
    this.freeCount = 0;
    if (this.rxPool !== null) NdisFreeNetBufferListPool(this.rxPool);
    if (this.bigPool !== null) NdisFreeNetBufferListPool(this.bigPool);
    if (this.zcPool !== null) NdisFreeNetBufferListPool(this.zcPool);
    this.rxPool = null;
    this.bigPool = null;
    this.zcPool = null;
  }

  /** MiniportHaltEx: everything is back (NDIS paused the adapter first); free the receive buffers. */
  halt(): void {
    this.state = RunStateNic.Halted;
    this.releaseBuffers();
  }

  /** MiniportPause: pends until every receive indication has been returned. */
  pause(): number {
    // Frames collected but not yet indicated are the NIC's own: a pausing NIC drops them.
    let x = this.batchHead;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      x.Next = null;
      this.counters.framesIn--;
      this.counters.bytesIn -= x.FirstNetBuffer!.DataLength;
      this.counters.dropPaused++;
      this.putFree(x);
      x = next;
    }
    this.batchHead = this.batchTail = null;
    this.batchCount = 0;
    if (this.rxOut > 0) {
      this.state = RunStateNic.Pausing;
      this.pausePending = true;
      return NDIS_STATUS_PENDING;
    }
    this.state = RunStateNic.Paused;
    return NDIS_STATUS_SUCCESS;
  }

  /** MiniportRestart. */
  restart(): number {
    this.state = RunStateNic.Running;
    return NDIS_STATUS_SUCCESS;
  }

  /** MiniportSendNetBufferLists: each NET_BUFFER onto the wire, then complete the whole list at once. */
  send(nbls: NET_BUFFER_LIST, sendFlags: number): void {
    const c = this.counters;
    const maxFrame = this.maxFrame;
    for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
      if (this.state !== RunStateNic.Running) {
        x.Status = NDIS_STATUS_PAUSED;
        c.sendsPaused++;
        continue;
      }
      let status = NDIS_STATUS_SUCCESS;
      const info = x.NetBufferListInfo[Ieee8021QNetBufferListInfo];
      const tag = typeof info === 'number' && (info & 0xfff7) !== 0 ? info : this.vlanId << 4;
      for (let nb = x.FirstNetBuffer; nb !== null; nb = nb.Next) {
        const length = nb.DataLength;
        if (length < MIN_FRAME || length > maxFrame) {
          status = NDIS_STATUS_INVALID_LENGTH;
          c.sendsBadLength++;
          continue;
        }
        const wire = this.wire;
        if (wire === null) {
          c.sendsNoCarrier++;
          continue;
        }
        // Nobody else on the wire (a replay's router port): the frame is shown to the taps where it lies, when it
        // lies in one piece. A NIC's DMA reads the buffer just the same; only the ring copy is saved.
        if (tag !== 0) {
          this.sendTagged(wire, nb, length, tag);
          continue;
        }
        const m0 = nb.CurrentMdl;
        if (m0 !== null && m0.ByteCount - nb.CurrentMdlOffset >= length && wire.reachesNoPort(this.port)) {
          wire.observe(mdlVa(m0) + nb.CurrentMdlOffset, length, this.port);
          c.framesOut++;
          c.bytesOut += length;
          continue;
        }
        const at = wire.reserve(length);
        if (at !== 0) copyOut(nb, 0, at, length);
        wire.commit(at, length, this.port);
        if (at === 0) {
          c.sendsWireFull++;
          continue;
        }
        c.framesOut++;
        c.bytesOut += length;
      }
      x.Status = status;
    }
    const flags = (sendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
    NdisMSendNetBufferListsComplete(this.adapter, nbls, flags);
  }

  /**
   * Puts a NET_BUFFER on the wire with an 802.1Q tag after its MAC addresses: TCI from `tag` (an
   * NDIS_NET_BUFFER_LIST_8021Q_INFO value: priority bits 0-2, VLAN bits 4-15).
   */
  private sendTagged(wire: Wire, nb: NET_BUFFER, length: number, tag: number): void {
    const at = wire.reserve(length + 4);
    if (at !== 0) {
      const to = at - ARENA_BASE;
      copyOut(nb, 0, at, 12);
      const tci = ((tag & 0x7) << 13) | ((tag >>> 4) & 0xfff);
      memory[to + 12] = 0x81;
      memory[to + 13] = 0x00;
      memory[to + 14] = tci >>> 8;
      memory[to + 15] = tci & 0xff;
      copyOut(nb, 12, at + 16, length - 12);
    }
    wire.commit(at, length + 4, this.port);
    if (at === 0) {
      this.counters.sendsWireFull++;
      return;
    }
    this.counters.framesOut++;
    this.counters.bytesOut += length + 4;
  }

  /** MiniportReturnNetBufferLists. */
  returnLists(nbls: NET_BUFFER_LIST): void {
    let x: NET_BUFFER_LIST | null = nbls;
    let n = 0;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      x.Next = null;
      n++;
      this.recycle(x);
      x = next;
    }
    // Counted once for the chain (recycle reads neither).
    this.rxOut -= n;
    this.counters.returned += n;
    if (this.pausePending && this.rxOut === 0) {
      this.pausePending = false;
      this.state = RunStateNic.Paused;
      NdisMPauseComplete(this.adapter);
    }
  }

  /** MiniportOidRequest: the OIDs a minimal Ethernet NIC answers. */
  oidRequest(request: NDIS_OID_REQUEST): number {
    const d = request.DATA;
    const query = request.RequestType === NdisRequestQueryInformation;
    if (!query && request.RequestType !== NdisRequestSetInformation) return NDIS_STATUS_NOT_SUPPORTED;
    const need = (n: number): boolean => {
      if (d.InformationBufferLength >= n && d.InformationBuffer !== 0) return true;
      d.BytesNeeded = n;
      return false;
    };
    const at = d.InformationBuffer - ARENA_BASE;
    switch (d.Oid) {
      case OID_GEN_CURRENT_PACKET_FILTER:
        if (!need(4)) return NDIS_STATUS_BUFFER_TOO_SHORT;
        if (query) {
          memoryView.setUint32(at, this.packetFilter >>> 0, true);
          d.BytesWritten = 4;
        } else {
          this.packetFilter = memoryView.getUint32(at, true);
          d.BytesRead = 4;
        }
        return NDIS_STATUS_SUCCESS;
      case OID_802_3_CURRENT_ADDRESS:
      case OID_802_3_PERMANENT_ADDRESS:
        if (!query) return NDIS_STATUS_NOT_SUPPORTED;
        if (!need(6)) return NDIS_STATUS_BUFFER_TOO_SHORT;
        memory.set(this.mac, at);
        d.BytesWritten = 6;
        return NDIS_STATUS_SUCCESS;
      case OID_GEN_MAXIMUM_FRAME_SIZE:
      case OID_GEN_MAXIMUM_TOTAL_SIZE:
        if (!query) return NDIS_STATUS_NOT_SUPPORTED;
        if (!need(4)) return NDIS_STATUS_BUFFER_TOO_SHORT;
        memoryView.setUint32(at, d.Oid === OID_GEN_MAXIMUM_FRAME_SIZE ? this.mtu : this.mtu + MIN_FRAME, true);
        d.BytesWritten = 4;
        return NDIS_STATUS_SUCCESS;
      case OID_GEN_VLAN_ID:
        if (!need(4)) return NDIS_STATUS_BUFFER_TOO_SHORT;
        if (query) {
          memoryView.setUint32(at, this.vlanId, true);
          d.BytesWritten = 4;
        } else {
          // NDIS_VLAN_ID: the 12 low bits; the rest are reserved and must be zero.
          const v = memoryView.getUint32(at, true);
          if ((v & ~0xfff) !== 0) return NDIS_STATUS_INVALID_DATA;
          this.vlanId = v;
          d.BytesRead = 4;
        }
        return NDIS_STATUS_SUCCESS;
      case OID_GEN_XMIT_OK:
      case OID_GEN_RCV_OK:
      case OID_GEN_RCV_NO_BUFFER: {
        if (!query) return NDIS_STATUS_NOT_SUPPORTED;
        if (!need(8)) return NDIS_STATUS_BUFFER_TOO_SHORT;
        const c = this.counters;
        const v =
          d.Oid === OID_GEN_XMIT_OK ? c.framesOut : d.Oid === OID_GEN_RCV_OK ? c.framesIn : c.dropNoReceiveBuffers;
        memoryView.setBigUint64(at, BigInt(v), true);
        d.BytesWritten = 8;
        return NDIS_STATUS_SUCCESS;
      }
      default:
        return NDIS_STATUS_NOT_SUPPORTED;
    }
  }

  /** The link state a protocol would see in its bind parameters. */
  get mediaConnectState(): number {
    return this.wire === null ? MediaConnectStateDisconnected : MediaConnectStateConnected;
  }
}

/** Byte `i` of a frame in simulated memory at `address`, or in `bytes` when given. */
function frameByte(address: number, bytes: Uint8Array | null, i: number): number {
  return bytes !== null ? bytes[i]! : memory[address - ARENA_BASE + i]!;
}

const SUPPORTED_OIDS: readonly number[] = [
  OID_GEN_CURRENT_PACKET_FILTER,
  OID_802_3_CURRENT_ADDRESS,
  OID_802_3_PERMANENT_ADDRESS,
  OID_GEN_MAXIMUM_FRAME_SIZE,
  OID_GEN_MAXIMUM_TOTAL_SIZE,
  OID_GEN_XMIT_OK,
  OID_GEN_RCV_OK,
  OID_GEN_RCV_NO_BUFFER,
];

// The miniport's entry points, called by NDIS with the MiniportAdapterContext (a VirtualNic).

function nicInitialize(handle: unknown, _driverContext: unknown, params: NDIS_MINIPORT_INIT_PARAMETERS): number {
  const device = params.MiniportAddDeviceContext as { nic: VirtualNic; mac: ArrayLike<number> | undefined } | null;
  if (device === null) return NDIS_STATUS_NOT_SUPPORTED;
  return device.nic.initialize(handle as NdisMiniportBlock, params.IfIndex, device.mac);
}

function nicHalt(context: unknown): void {
  (context as VirtualNic).halt();
}

function nicPause(context: unknown): number {
  return (context as VirtualNic).pause();
}

function nicRestart(context: unknown): number {
  return (context as VirtualNic).restart();
}

function nicOidRequest(context: unknown, request: NDIS_OID_REQUEST): number {
  return (context as VirtualNic).oidRequest(request);
}

function nicSend(context: unknown, nbls: NET_BUFFER_LIST, _port: number, flags: number): void {
  (context as VirtualNic).send(nbls, flags);
}

function nicReturn(context: unknown, nbls: NET_BUFFER_LIST): void {
  (context as VirtualNic).returnLists(nbls);
}
