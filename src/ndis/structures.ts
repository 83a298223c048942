/**
 * The NDIS 6 data structures: NET_BUFFER, NET_BUFFER_LIST, NET_BUFFER_LIST_CONTEXT, NDIS_OBJECT_HEADER and the
 * pool parameter structures, with the field names of ndis.h (nbl.h, objectheader.h).
 *
 * Descriptors are JavaScript objects whose WDK-named fields a driver reads and writes directly. The fields after
 * the WDK ones (`pool`, `state`, ...) are wdknet's own bookkeeping, used by the verifier and the pools; they are
 * not part of the DDI. Pointers to memory (ContextData, DataPhysicalAddress) are numbers; pointers to structures
 * are object references or null.
 */
import type { MDL } from '../kernel/mdl.js';
import { MaxNetBufferListInfo } from './info.js';

/** NDIS_OBJECT_HEADER.Type for structures that have no type of their own. */
export const NDIS_OBJECT_TYPE_DEFAULT = 0x80;

/** NET_BUFFER_POOL_PARAMETERS revision 1 (NDIS 6.0). */
export const NET_BUFFER_POOL_PARAMETERS_REVISION_1 = 1;
/** RTL_SIZEOF_THROUGH_FIELD(NET_BUFFER_POOL_PARAMETERS, DataSize): header 4 + PoolTag 4 + DataSize 4. */
export const NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1 = 12;
/** NET_BUFFER_LIST_POOL_PARAMETERS revision 1 (NDIS 6.0). */
export const NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 = 1;
/** RTL_SIZEOF_THROUGH_FIELD(NET_BUFFER_LIST_POOL_PARAMETERS, DataSize). */
export const NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 = 16;
/** NET_BUFFER_LIST_POOL_PARAMETERS revision 2 adds Flags. */
export const NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2 = 2;
/** RTL_SIZEOF_THROUGH_FIELD(NET_BUFFER_LIST_POOL_PARAMETERS, Flags). */
export const NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_2 = 20;

/** ProtocolId of miniport, filter and intermediate drivers. */
export const NDIS_PROTOCOL_ID_DEFAULT = 0x00;
/** ProtocolId of the TCP/IP protocol. */
export const NDIS_PROTOCOL_ID_TCP_IP = 0x02;
/** ProtocolId of IPX. */
export const NDIS_PROTOCOL_ID_IPX = 0x06;
/** ProtocolId of NetBEUI. */
export const NDIS_PROTOCOL_ID_NBF = 0x07;
/** Largest ProtocolId. */
export const NDIS_PROTOCOL_ID_MAX = 0x0f;
/** Mask of the ProtocolId bits. */
export const NDIS_PROTOCOL_ID_MASK = 0x0f;

/** sizeof(NET_BUFFER) on x64. */
export const SIZEOF_NET_BUFFER = 176;
/** sizeof(NET_BUFFER_LIST) on x64, with its 27 NetBufferListInfo slots. */
export const SIZEOF_NET_BUFFER_LIST = 368;
/** NET_BUFFER_LIST_CONTEXT up to ContextData (aligned to MEMORY_ALLOCATION_ALIGNMENT). */
export const SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER = 16;

/** NDIS_OBJECT_HEADER: Type, Revision, Size of the structure it heads. */
export class NDIS_OBJECT_HEADER {
  Type = 0;
  Revision = 0;
  Size = 0;
  constructor(Type = 0, Revision = 0, Size = 0) {
    this.Type = Type;
    this.Revision = Revision;
    this.Size = Size;
  }
}

/** NET_BUFFER_POOL_PARAMETERS: the parameters of NdisAllocateNetBufferPool. */
export class NET_BUFFER_POOL_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  PoolTag = 0;
  DataSize = 0;
  constructor(init?: Partial<NET_BUFFER_POOL_PARAMETERS>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/**
 * `n` NULL slots in a packed array (V8's PACKED_ELEMENTS: each read is a bounds check, no hole check). Pushed one
 * by one: `new Array(n)` would be holey for good, and `Array.from({ length: n })` reads the array-like through V8's
 * generic property lookup, which was the largest cost of making a pool's lists at the start of each run.
 */
function nullSlots(n: number): unknown[] {
  const slots: unknown[] = [];
  for (let i = 0; i < n; i++) slots.push(null);
  return slots;
}

/** NET_BUFFER_LIST_POOL_PARAMETERS: the parameters of NdisAllocateNetBufferListPool. */
export class NET_BUFFER_LIST_POOL_PARAMETERS {
  Header = new NDIS_OBJECT_HEADER();
  ProtocolId = 0;
  fAllocateNetBuffer = false;
  ContextSize = 0;
  PoolTag = 0;
  DataSize = 0;
  /** Revision 2 only. */
  Flags = 0;
  constructor(init?: Partial<NET_BUFFER_LIST_POOL_PARAMETERS>) {
    if (init !== undefined) Object.assign(this, init);
  }
}

/** Descriptor states (wdknet bookkeeping). */
export const DescriptorState = {
  /** Never handed out by a pool: built by hand, which N6-6 forbids. */
  None: 0,
  Live: 1,
  Free: 2,
} as const;

/** What kind of NET_BUFFER_LIST a descriptor is, which decides the DDI that frees it. */
export const NblKind = {
  Plain: 0,
  Clone: 1,
  Fragment: 2,
  Reassembled: 3,
} as const;

/**
 * NET_BUFFER_LIST_CONTEXT: a block of context space. ContextData is the address of the data area; Offset is
 * where the used part starts (space before it is backfill); Size is the size of the data area.
 */
export class NET_BUFFER_LIST_CONTEXT {
  Next: NET_BUFFER_LIST_CONTEXT | null = null;
  Size = 0;
  Offset = 0;
  /** Address of ContextData[0] in simulated memory. */
  ContextData = 0;
  /** wdknet: the pool block to free with it (0 when it lives inside its NBL's block). */
  block = 0;
}

/** NET_BUFFER: one packet's worth of data in an MDL chain. */
export class NET_BUFFER {
  Next: NET_BUFFER | null = null;
  CurrentMdl: MDL | null = null;
  CurrentMdlOffset = 0;
  DataLength = 0;
  MdlChain: MDL | null = null;
  DataOffset = 0;
  ChecksumBias = 0;
  Reserved = 0;
  NdisPoolHandle: object | null = null;
  DataPhysicalAddress = 0;
  SharedMemoryInfo: unknown = null;
  ScatterGatherList: unknown = null;

  /** wdknet: the pool object that owns this descriptor (an NB pool, or the NBL pool that preallocated it). */
  pool: object | null = null;
  /** wdknet: DescriptorState. */
  state: number = DescriptorState.None;
  /** wdknet: its address in simulated memory (inside the pool block that holds it). */
  address = 0;
  /** wdknet: the pool block that holds the descriptor (and its data, for DataSize pools). */
  block = 0;
  /** wdknet: the MDL built in by NdisAllocateNetBufferMdlAndData / a DataSize NBL pool, or null. */
  dataMdl: MDL | null = null;
  /** wdknet: address of the built-in data (DataSize pools), else 0. */
  dataVa = 0;
  /** wdknet: the NBL this NB belongs to when it was preallocated with it or derived for it (freed only with it). */
  ownerNbl: NET_BUFFER_LIST | null = null;
  /** wdknet: the driver's call site (full verifier mode). */
  site: string | undefined = undefined;
  /** wdknet: MDLs that retreats allocated and not yet freed, most recent last (with what they replaced). */
  retreats: RetreatRecord[] | null = null;
  /** wdknet: MDLs NDIS allocated to describe data a clone, fragment or reassembly refers to. */
  ownMdls: MDL[] | null = null;
  /** wdknet: the next descriptor in its pool's free list (while it is cached there), else null. */
  nextFree: NET_BUFFER | null = null;
  /** wdknet: the NdisReserved area (read through {@link NdisReserved}). */
  readonly ndisReservedArea: unknown[] = [null, null];
  /** wdknet: the ProtocolReserved area (read through {@link ProtocolReserved}). */
  readonly protocolReservedArea: unknown[] = [null, null, null, null, null, null];
  /** wdknet: the MiniportReserved area (read through {@link MiniportReserved}). */
  readonly miniportReservedArea: unknown[] = [null, null, null, null];
  /**
   * wdknet: true once a reserved area has been handed out since the descriptor was last cleared. Whoever writes
   * an area gets it through its accessor, which sets this, so an area never handed out is still clear and the
   * free does not touch it (see clearNbReserved). The accessors read the area before they set the flag, so a
   * freed descriptor poisoned in full verifier mode reports the access as a read.
   */
  reservedTouched = false;

  /** NdisReserved: NDIS's private area (2 pointers). */
  get NdisReserved(): unknown[] {
    const area = this.ndisReservedArea;
    this.reservedTouched = true;
    return area;
  }
  /** ProtocolReserved: the area of the protocol that owns the NET_BUFFER (6 pointers). */
  get ProtocolReserved(): unknown[] {
    const area = this.protocolReservedArea;
    this.reservedTouched = true;
    return area;
  }
  /** MiniportReserved: the area of the miniport that owns the NET_BUFFER (4 pointers). */
  get MiniportReserved(): unknown[] {
    const area = this.miniportReservedArea;
    this.reservedTouched = true;
    return area;
  }

  /** stDataLength: the SIZE_T view of DataLength (a union in nbl.h). */
  get stDataLength(): number {
    return this.DataLength;
  }
  set stDataLength(value: number) {
    this.DataLength = value;
  }
}

/** One MDL that NdisRetreatNetBufferDataStart allocated, and the chain it stands in front of. */
export interface RetreatRecord {
  /** The new MDL at the head of the chain. */
  mdl: MDL;
  /** A partial MDL NDIS made for the rest of the old current MDL, or null. */
  partial: MDL | null;
  /** The chain and data offset before the retreat. */
  chain: MDL | null;
  offset: number;
  /** True when the driver's NetAllocateMdl handler made `mdl` (it must be freed by a NetFreeMdl handler). */
  viaHandler: boolean;
  /** NDIS's own data block for `mdl` (0 when the handler made it). */
  dataBlock: number;
}

/** NET_BUFFER_LIST: a list of NET_BUFFERs that share out-of-band data. */
export class NET_BUFFER_LIST {
  Next: NET_BUFFER_LIST | null = null;
  FirstNetBuffer: NET_BUFFER | null = null;
  Context: NET_BUFFER_LIST_CONTEXT | null = null;
  ParentNetBufferList: NET_BUFFER_LIST | null = null;
  NdisPoolHandle: object | null = null;
  /** (NdisReserved and MiniportReserved are accessors, below.) */
  ProtocolReserved: unknown[] = [null, null, null, null];
  Scratch: unknown = null;
  SourceHandle: unknown = null;
  NblFlags = 0;
  ChildRefCount = 0;
  Flags = 0;
  Status = 0;
  /** A packed array (see {@link nullSlots}), so clearing it on every free stays cheap. */
  NetBufferListInfo: unknown[] = nullSlots(MaxNetBufferListInfo);

  /** wdknet: the NBL pool that owns it. */
  pool: object | null = null;
  /** wdknet: DescriptorState. */
  state: number = DescriptorState.None;
  /** wdknet: NblKind. */
  kind: number = NblKind.Plain;
  /** wdknet: address of the descriptor in simulated memory. */
  address = 0;
  /** wdknet: the pool block that holds it. */
  block = 0;
  /** wdknet: the NET_BUFFER preallocated with it (fAllocateNetBuffer pools), or null. */
  preNb: NET_BUFFER | null = null;
  /** wdknet: the context block preallocated with it (ContextSize pools), or null. */
  preContext: NET_BUFFER_LIST_CONTEXT | null = null;
  /** wdknet: the context present when it was allocated (freed with it). */
  baseContext: NET_BUFFER_LIST_CONTEXT | null = null;
  /** wdknet: baseContext's Offset when the list was allocated (context below it is the allocation's own). */
  baseContextOffset = 0;
  /** wdknet: NBs NDIS allocated for a clone / fragment / reassembly, and their pool. */
  derivedNbs: NET_BUFFER | null = null;
  /** wdknet: the flags a clone was made with. */
  cloneFlags = 0;
  /** wdknet: the next descriptor in its pool's free list (while it is cached there), else null. */
  nextFree: NET_BUFFER_LIST | null = null;
  /**
   * wdknet: the id of the NDIS block that holds the list now (driver-verifier.ts holderOf), 0 when no driver has
   * handed it to NDIS since it was allocated. NDIS-private state, kept as a field rather than in NdisReserved: every hand-off writes
   * it, and a field of the list is one store where an array slot is a second object to load and check.
   */
  ndisHolder = 0;
  /** wdknet: the ownership tracking word (driver-verifier.ts: stack positions waiting, RESOURCES marks, binding refs). */
  ndisTrack = 0;
  /** wdknet: the NdisReserved area (read through {@link NdisReserved}). */
  readonly ndisReservedArea: unknown[] = [null, null];
  /** wdknet: the MiniportReserved area (read through {@link MiniportReserved}). */
  readonly miniportReservedArea: unknown[] = [null, null];
  /**
   * wdknet: set when the area's accessor hands it out (after reading it, so a poisoned list reports a read).
   * Whoever writes the area gets it through the accessor first, so an area whose flag is clear is still clear and
   * the free does not touch it (see clearNblArrays). ProtocolReserved and NetBufferListInfo are plain fields:
   * protocols and WFP use them on every packet, and a forwarded clone has them written anyway.
   */
  ndisReservedTouched = false;
  miniportReservedTouched = false;

  /** NdisReserved: NDIS's private area (2 pointers). */
  get NdisReserved(): unknown[] {
    const area = this.ndisReservedArea;
    this.ndisReservedTouched = true;
    return area;
  }
  /** MiniportReserved: the area of the miniport that owns the list (2 pointers). */
  get MiniportReserved(): unknown[] {
    const area = this.miniportReservedArea;
    this.miniportReservedTouched = true;
    return area;
  }
  /** wdknet: the driver's call site (full verifier mode). */
  site: string | undefined = undefined;

  /** NdisReserved2: the ULONG view of Status (a union in nbl.h). */
  get NdisReserved2(): number {
    return this.Status >>> 0;
  }
  set NdisReserved2(value: number) {
    this.Status = value | 0;
  }
}
