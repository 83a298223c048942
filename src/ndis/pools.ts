/**
 * NET_BUFFER and NET_BUFFER_LIST pools: NdisAllocateNetBufferPool, NdisAllocateNetBufferListPool and their frees.
 *
 * A pool handle is a {@link NetBufferPool} or {@link NetBufferListPool} object. The pool itself lives in pool
 * memory under the caller's PoolTag (so a failed allocation gives the documented NULL handle). Descriptors are
 * cached per pool the way NDIS caches them in lookaside lists: each descriptor owns one pool block under the
 * pool's tag that holds the descriptor's bytes, its preallocated NET_BUFFER_LIST_CONTEXT and NET_BUFFER, and its
 * data (DataSize pools). The block stays allocated while the descriptor sits in the cache, as lookaside entries
 * do, and goes back to the system pool when the NDIS pool is freed. Allocate and free in steady state are a pop
 * and a push on the pool's free list (linked through the descriptors' `nextFree` field, as a lookaside list links
 * its entries) plus field resets: no JavaScript allocation.
 *
 * In full verifier mode freed descriptors are never reused: their block and MDL are released and the object is
 * poisoned, so any later touch bug-checks.
 */

import { MEMORY_ALLOCATION_ALIGNMENT } from '../kernel/arena.js';
import { type Leak, registerLeakSource, registerSystemOwnedBlocks } from '../kernel/leaks.js';
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPoolNx } from '../kernel/pool.js';
import { onSystemReset } from '../kernel/system.js';
import { poolTag, tagToString } from '../kernel/tags.js';
import { NET_BUFFER, type NET_BUFFER_LIST } from './structures.js';

/** The tag NDIS uses for its own allocations (internal pools, retreat buffers): poolmon shows "NDIS". */
export const TAG_NDIS = poolTag('SIDN');

/**
 * The DDI name NDIS's own cache refills report to the pool (and so to fault injection): the DDI the driver
 * called has already been offered to the low-resources simulation once, so a refill must not count again.
 */
export const CACHE_REFILL = 'NDIS lookaside refill';

/** Bytes of the pool header NDIS allocates for each pool (decided; it only needs to be realistic). */
const POOL_HEADER_BYTES = 256;

/** What kind of pool a handle is. */
export const PoolKind = { NetBuffer: 1, NetBufferList: 2 } as const;

/** Common to both pool kinds. */
abstract class PoolBase {
  /** PoolKind. */
  abstract readonly kind: number;
  /** The ULONG tag every descriptor and data buffer from the pool is charged to. */
  readonly PoolTag: number;
  /** Default data size for preallocated data (0 when unused). */
  readonly DataSize: number;
  /** Address of the pool header in simulated memory. */
  readonly address: number;
  /** False once the pool has been freed. */
  live = true;
  /**
   * The pool's PoolKind while it is live, 0 once it is freed: a handle check is one load and one comparison
   * (the per-packet allocations check their pool handles).
   */
  abstract liveKind: number;
  /** Descriptors outstanding now. */
  outstanding = 0;
  /** Descriptors ever created (cache misses), for stats. */
  created = 0;
  /** Allocations served, for stats. */
  allocations = 0;
  /** Where the pool was allocated (full verifier mode). */
  readonly site: string | undefined;

  constructor(tag: number, dataSize: number, address: number, site: string | undefined) {
    this.PoolTag = tag;
    this.DataSize = dataSize;
    this.address = address;
    this.site = site;
  }

  /** The tag as poolmon shows it. */
  get tagName(): string {
    return tagToString(this.PoolTag);
  }
}

/** A NET_BUFFER pool (the NDIS_HANDLE NdisAllocateNetBufferPool returns). */
export class NetBufferPool extends PoolBase {
  readonly kind = PoolKind.NetBuffer;
  liveKind: number = PoolKind.NetBuffer;
  /**
   * The cached free NET_BUFFERs, linked through their `nextFree` field (a lookaside list: popping and pushing a
   * descriptor is two field stores, cheaper than an array's pop and push on every allocation and free).
   */
  freeHead: NET_BUFFER | null = null;
  /** How many descriptors the free list holds. */
  freeCount = 0;
  /** Every NET_BUFFER the pool created and has not destroyed (for leak reports; touched only on cache misses). */
  readonly all = new Set<NET_BUFFER>();

  /** The cached free NET_BUFFERs as an array (for reports and teardown, not the data path). */
  get free(): NET_BUFFER[] {
    const out: NET_BUFFER[] = [];
    for (let d = this.freeHead; d !== null; d = d.nextFree) out.push(d);
    return out;
  }

  /** Takes a cached descriptor, or null when the list is empty. */
  popFree(): NET_BUFFER | null {
    const d = this.freeHead;
    if (d !== null) {
      this.freeHead = d.nextFree;
      d.nextFree = null;
      this.freeCount--;
    }
    return d;
  }

  /** Caches a freed descriptor. */
  pushFree(d: NET_BUFFER): void {
    d.nextFree = this.freeHead;
    this.freeHead = d;
    this.freeCount++;
  }

  /** Forgets every cached descriptor (the pool is being freed). */
  clearFree(): void {
    this.freeHead = null;
    this.freeCount = 0;
  }
}

/** A NET_BUFFER_LIST pool (the NDIS_HANDLE NdisAllocateNetBufferListPool returns). */
export class NetBufferListPool extends PoolBase {
  readonly kind = PoolKind.NetBufferList;
  liveKind: number = PoolKind.NetBufferList;
  readonly ProtocolId: number;
  readonly fAllocateNetBuffer: boolean;
  readonly ContextSize: number;
  /**
   * The cached free NET_BUFFER_LISTs, linked through their `nextFree` field (see NetBufferPool). The free-list
   * methods below repeat NetBufferPool's on purpose: one copy per class keeps every access site on one object shape
   * (a shared generic base would make these per-packet loads polymorphic).
   */
  freeHead: NET_BUFFER_LIST | null = null;
  /** How many descriptors the free list holds. */
  freeCount = 0;
  /** Every NET_BUFFER_LIST the pool created and has not destroyed. */
  readonly all = new Set<NET_BUFFER_LIST>();

  /** The cached free NET_BUFFER_LISTs as an array (for reports and teardown, not the data path). */
  get free(): NET_BUFFER_LIST[] {
    const out: NET_BUFFER_LIST[] = [];
    for (let d = this.freeHead; d !== null; d = d.nextFree) out.push(d);
    return out;
  }

  /** Takes a cached descriptor, or null when the list is empty. */
  popFree(): NET_BUFFER_LIST | null {
    const d = this.freeHead;
    if (d !== null) {
      this.freeHead = d.nextFree;
      d.nextFree = null;
      this.freeCount--;
    }
    return d;
  }

  /** Caches a freed descriptor. */
  pushFree(d: NET_BUFFER_LIST): void {
    d.nextFree = this.freeHead;
    this.freeHead = d;
    this.freeCount++;
  }

  /** Forgets every cached descriptor (the pool is being freed). */
  clearFree(): void {
    this.freeHead = null;
    this.freeCount = 0;
  }

  constructor(
    tag: number,
    dataSize: number,
    address: number,
    site: string | undefined,
    protocolId: number,
    fAllocateNetBuffer: boolean,
    contextSize: number,
  ) {
    super(tag, dataSize, address, site);
    this.ProtocolId = protocolId;
    this.fAllocateNetBuffer = fAllocateNetBuffer;
    this.ContextSize = contextSize;
  }
}

/** Pools allocated and not yet freed. */
const livePools = new Set<NetBufferPool | NetBufferListPool>();

/** Allocates the pool header; returns 0 when the pool memory cannot be had. */
export function allocatePoolHeader(tag: number): number {
  return ExAllocatePoolWithTag(NonPagedPoolNx, POOL_HEADER_BYTES, tag);
}

/** Registers a new pool. */
export function registerPool(pool: NetBufferPool | NetBufferListPool): void {
  livePools.add(pool);
}

/** Unregisters a freed pool and releases its header. */
export function unregisterPool(pool: NetBufferPool | NetBufferListPool): void {
  livePools.delete(pool);
  pool.live = false;
  pool.liveKind = 0;
  ExFreePool(pool.address);
}

/** True when `value` is a multiple of MEMORY_ALLOCATION_ALIGNMENT (W-2, W-3, NET_BUFFER_LIST_POOL_PARAMETERS). */
export function isAllocationAligned(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value % MEMORY_ALLOCATION_ALIGNMENT === 0;
}

/** NDIS's internal pools, used when a clone / fragment / reassembly names no pool (created on first use). */
let internalNbPool: NetBufferPool | null = null;
let internalNblPool: NetBufferListPool | null = null;

/** NDIS's own NET_BUFFER pool (tag 'NDIS'), or null when it cannot be created. */
export function ndisInternalNbPool(): NetBufferPool | null {
  if (internalNbPool === null) {
    const address = allocatePoolHeader(TAG_NDIS);
    if (address === 0) return null;
    internalNbPool = new NetBufferPool(TAG_NDIS, 0, address, undefined);
  }
  return internalNbPool;
}

/** NDIS's own NET_BUFFER_LIST pool (tag 'NDIS'), or null when it cannot be created. */
export function ndisInternalNblPool(): NetBufferListPool | null {
  if (internalNblPool === null) {
    const address = allocatePoolHeader(TAG_NDIS);
    if (address === 0) return null;
    internalNblPool = new NetBufferListPool(TAG_NDIS, 0, address, undefined, 0, false, 0);
  }
  return internalNblPool;
}

/** Pools still allocated by drivers (for leak reports). */
export function outstandingPools(): (NetBufferPool | NetBufferListPool)[] {
  return [...livePools];
}

/** One outstanding descriptor, for leak reports. */
export interface OutstandingDescriptor {
  readonly kind:
    | 'NET_BUFFER'
    | 'NET_BUFFER_LIST'
    | 'clone NET_BUFFER_LIST'
    | 'fragment NET_BUFFER_LIST'
    | 'reassembled NET_BUFFER_LIST';
  readonly pool: NetBufferPool | NetBufferListPool;
  readonly tag: string;
  readonly address: number;
  readonly site: string | undefined;
  readonly descriptor: NET_BUFFER | NET_BUFFER_LIST;
}

const NBL_KIND_NAMES = [
  'NET_BUFFER_LIST',
  'clone NET_BUFFER_LIST',
  'fragment NET_BUFFER_LIST',
  'reassembled NET_BUFFER_LIST',
] as const;

/** Every NET_BUFFER and NET_BUFFER_LIST still outstanding, per pool (internal NDIS pools included). */
export function outstandingDescriptors(): OutstandingDescriptor[] {
  const out: OutstandingDescriptor[] = [];
  const pools: (NetBufferPool | NetBufferListPool)[] = [...livePools];
  if (internalNbPool !== null) pools.push(internalNbPool);
  if (internalNblPool !== null) pools.push(internalNblPool);
  for (const pool of pools) {
    if (pool instanceof NetBufferPool) {
      for (const nb of pool.all) {
        if (nb.state === 1) {
          out.push({ kind: 'NET_BUFFER', pool, tag: pool.tagName, address: nb.address, site: nb.site, descriptor: nb });
        }
      }
    } else {
      for (const nbl of pool.all) {
        if (nbl.state === 1) {
          out.push({
            kind: NBL_KIND_NAMES[nbl.kind] ?? 'NET_BUFFER_LIST',
            pool,
            tag: pool.tagName,
            address: nbl.address,
            site: nbl.site,
            descriptor: nbl,
          });
        }
      }
    }
  }
  return out;
}

/** Releases the pool block (and built-in MDL) a cached descriptor holds. */
export function releaseDescriptorBlock(block: number): void {
  if (block !== 0) ExFreePool(block);
}

/** Forget everything (resetSystem: the kernel empties the pool itself). */
function resetPools(): void {
  livePools.clear();
  internalNbPool = null;
  internalNblPool = null;
}

onSystemReset(resetPools);

// NDIS's internal pools and the descriptors cached in them live as long as the system: they are NDIS's, not a
// driver's leak. Descriptors handed out from them are still reported below (as clones, fragments, ...).
registerSystemOwnedBlocks('ndis6', () => {
  const blocks: number[] = [];
  for (const pool of [internalNbPool, internalNblPool]) {
    if (pool === null) continue;
    blocks.push(pool.address);
    for (const d of pool.free) if (d.block !== 0) blocks.push(d.block);
  }
  return blocks;
});

registerLeakSource('ndis6', (): Leak[] => {
  const leaks: Leak[] = [];
  for (const d of outstandingDescriptors()) {
    leaks.push({
      kind: d.kind,
      tag: d.tag,
      size: d.descriptor instanceof NET_BUFFER ? d.descriptor.DataLength : 0,
      owner: `pool 0x${d.pool.address.toString(16)} '${d.tag}'`,
      site: d.site,
      detail: `0x${d.address.toString(16)}`,
    });
  }
  for (const pool of livePools) {
    leaks.push({
      kind: pool.kind === PoolKind.NetBuffer ? 'NET_BUFFER pool' : 'NET_BUFFER_LIST pool',
      tag: pool.tagName,
      size: 0,
      owner: 'NdisFreeNetBufferPool / NdisFreeNetBufferListPool never called',
      site: pool.site,
      detail: `0x${pool.address.toString(16)} (${pool.outstanding} outstanding)`,
    });
  }
  return leaks;
});
