/**
 * NET_BUFFER pools and NET_BUFFERs: NdisAllocateNetBufferPool (N6-1..N6-4, N6-7), NdisAllocateNetBuffer and
 * NdisAllocateNetBufferMdlAndData (N6-5), NdisFreeNetBuffer (N6-8), NdisFreeNetBufferPool (N6-9), all at
 * IRQL <= DISPATCH_LEVEL (N6-10, rule Irql_NetBuffer_Function).
 */
import {
  allocateMdlObject,
  type MDL,
  MDL_SOURCE_IS_NONPAGED_POOL,
  MdlOrigin,
  releaseMdlObject,
} from '../kernel/mdl.js';
import { poisonFreed } from '../kernel/poison.js';
import { ExAllocatePoolWithTag, ExFreePool, injectAllocationFault, NonPagedPoolNx } from '../kernel/pool.js';
import { callSite, VERIFIER_FULL, VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { checkDataInChain, seekCursor } from './chain.js';
import { guardNetBufferDescriptor } from './nb-checks.js';
import {
  allocatePoolHeader,
  CACHE_REFILL,
  NetBufferPool,
  PoolKind,
  registerPool,
  TAG_NDIS,
  unregisterPool,
} from './pools.js';
import { freeRetreatRecords } from './retreat.js';
import {
  DescriptorState,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  NET_BUFFER,
  type NET_BUFFER_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  SIZEOF_NET_BUFFER,
} from './structures.js';
import { Ndis6Violation, ndisViolation, requireNetBufferIrql } from './violations.js';

/** Largest DataSize accepted (decided: the largest buffer one MDL describes, 4 GiB - PAGE_SIZE, is beyond any pool). */
const MAX_DATA_SIZE = 0x7fff_f000;

/**
 * NdisAllocateNetBufferPool: a pool of NET_BUFFERs whose descriptors are charged to `Parameters.PoolTag`.
 * Returns the pool handle, or NULL when the header is not NDIS_OBJECT_TYPE_DEFAULT /
 * NET_BUFFER_POOL_PARAMETERS_REVISION_1 / NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1 or the pool memory
 * cannot be allocated.
 */
export function NdisAllocateNetBufferPool(
  NdisHandle: unknown,
  Parameters: NET_BUFFER_POOL_PARAMETERS,
): NetBufferPool | null {
  void NdisHandle;
  requireNetBufferIrql('NdisAllocateNetBufferPool');
  const h = Parameters?.Header;
  if (
    h === undefined ||
    h.Type !== NDIS_OBJECT_TYPE_DEFAULT ||
    h.Revision < NET_BUFFER_POOL_PARAMETERS_REVISION_1 ||
    h.Size < NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1
  ) {
    return null;
  }
  const dataSize = Parameters.DataSize >>> 0;
  if (dataSize > MAX_DATA_SIZE) return null;
  const tag = Parameters.PoolTag >>> 0;
  const address = allocatePoolHeader(tag);
  if (address === 0) return null;
  const pool = new NetBufferPool(tag, dataSize, address, verifierLevel >= VERIFIER_FULL ? callSite() : undefined);
  registerPool(pool);
  return pool;
}

/**
 * NdisFreeNetBufferPool: frees the pool and every cached NET_BUFFER. Freeing a pool that still has NET_BUFFERs
 * outstanding is reported (0xC4 / 0x6004).
 */
export function NdisFreeNetBufferPool(PoolHandle: NetBufferPool): void {
  requireNetBufferIrql('NdisFreeNetBufferPool');
  const pool = checkNbPool(PoolHandle, 'NdisFreeNetBufferPool');
  if (pool.outstanding > 0) {
    ndisViolation(
      Ndis6Violation.PoolNotEmpty,
      pool.address,
      pool.outstanding,
      0,
      `NdisFreeNetBufferPool: ${pool.outstanding} NET_BUFFER(s) from pool '${pool.tagName}' are still allocated`,
    );
  }
  for (const nb of pool.free) destroyNb(nb, pool.PoolTag);
  pool.clearFree();
  unregisterPool(pool);
}

/**
 * NdisAllocateNetBuffer: a NET_BUFFER describing `DataLength` bytes starting `DataOffset` bytes into `MdlChain`
 * (which may be NULL). Returns NULL on failure, and for a pool made with DataSize (such a pool serves only
 * NdisAllocateNetBufferMdlAndData: decided, as the seed says it "must" be used there).
 */
export function NdisAllocateNetBuffer(
  PoolHandle: NetBufferPool,
  MdlChain: MDL | null,
  DataOffset: number,
  DataLength: number,
): NET_BUFFER | null {
  requireNetBufferIrql('NdisAllocateNetBuffer');
  const pool = checkNbPool(PoolHandle, 'NdisAllocateNetBuffer');
  if (pool.DataSize !== 0) return null;
  const nb = takeNb(pool, 'NdisAllocateNetBuffer');
  if (nb === null) return null;
  nb.MdlChain = MdlChain;
  nb.DataOffset = DataOffset >>> 0;
  nb.DataLength = DataLength >>> 0;
  seekCursor(nb);
  if (verifierLevel >= VERIFIER_STANDARD) checkDataInChain(nb, 'NdisAllocateNetBuffer');
  return nb;
}

/**
 * NdisAllocateNetBufferMdlAndData: a NET_BUFFER with its MDL and DataSize bytes of data preallocated (N6-7):
 * DataOffset 0, DataLength DataSize. The MDL and data are freed only with the NET_BUFFER (N6-8): IoFreeMdl /
 * NdisFreeMdl on the MDL and ExFreePool on the data bug-check. Returns NULL when the pool has no DataSize.
 */
export function NdisAllocateNetBufferMdlAndData(PoolHandle: NetBufferPool): NET_BUFFER | null {
  requireNetBufferIrql('NdisAllocateNetBufferMdlAndData');
  const pool = checkNbPool(PoolHandle, 'NdisAllocateNetBufferMdlAndData');
  if (pool.DataSize === 0) return null;
  const nb = takeNb(pool, 'NdisAllocateNetBufferMdlAndData');
  if (nb === null) return null;
  attachBuiltInData(nb, pool.DataSize);
  return nb;
}

/** NdisFreeNetBuffer: returns a NET_BUFFER (and its built-in MDL and data) to its pool. */
export function NdisFreeNetBuffer(NetBuffer: NET_BUFFER): void {
  requireNetBufferIrql('NdisFreeNetBuffer');
  const nb = checkLiveNb(NetBuffer, 'NdisFreeNetBuffer');
  if (nb.ownerNbl !== null) {
    ndisViolation(
      Ndis6Violation.WrongFree,
      nb.address,
      nb.ownerNbl.address,
      0,
      'NdisFreeNetBuffer: this NET_BUFFER was allocated with its NET_BUFFER_LIST (preallocated or derived) and is freed only with it',
    );
  }
  const pool = nb.pool as NetBufferPool;
  if (pool.kind !== PoolKind.NetBuffer || !pool.live) {
    ndisViolation(Ndis6Violation.BadPoolHandle, nb.address, 0, 0, 'NdisFreeNetBuffer: the NET_BUFFER has no live pool');
  }
  const reusable = releaseNb(nb, pool.PoolTag, 'NdisFreeNetBuffer');
  pool.outstanding--;
  if (reusable) pool.pushFree(nb);
}

/** NdisGetPoolFromNetBuffer: the pool handle a NET_BUFFER came from. */
export function NdisGetPoolFromNetBuffer(NetBuffer: NET_BUFFER): object | null {
  requireNetBufferIrql('NdisGetPoolFromNetBuffer');
  return NetBuffer.NdisPoolHandle;
}

// --- shared with the NET_BUFFER_LIST side ------------------------------------------------------------------

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** Validates an NB pool handle (standard verifier). */
export const checkNbPool = (handle: NetBufferPool, ddi: string): NetBufferPool => {
  // A brand test rather than instanceof: this runs on every allocation. The report is out of line.
  if ((handle as NetBufferPool | null)?.liveKind !== PoolKind.NetBuffer) badNbPool(handle, ddi);
  return handle;
};

function badNbPool(handle: NetBufferPool, ddi: string): never {
  return ndisViolation(
    Ndis6Violation.BadPoolHandle,
    (handle as { address?: number } | null)?.address ?? 0,
    0,
    0,
    `${ddi}: the pool handle is not a live NET_BUFFER pool from NdisAllocateNetBufferPool`,
  );
}

/** Checks that `nb` is a live descriptor from an NDIS pool (N6-6) before it is freed. */
export function checkLiveNb(nb: NET_BUFFER, ddi: string): NET_BUFFER {
  const state = (nb as NET_BUFFER | null)?.state;
  if (state !== DescriptorState.Live && (state !== DescriptorState.Free || !(nb instanceof NET_BUFFER))) {
    ndisViolation(
      Ndis6Violation.NotFromPool,
      0,
      0,
      0,
      `${ddi}: this NET_BUFFER did not come from an NDIS pool (N6-6: never build one in private memory or on the stack)`,
    );
  }
  if (nb.state === DescriptorState.Free) {
    ndisViolation(Ndis6Violation.AlreadyFreed, nb.address, 0, 0, `${ddi}: this NET_BUFFER was already freed`);
  }
  return nb;
}

/** Pops a cached NET_BUFFER from `pool` (creating one on a miss) and initialises it; null when memory runs out. */
export function takeNb(pool: NetBufferPool, ddi: string): NET_BUFFER | null {
  const nb = takeNbToDescribe(pool, ddi);
  if (nb !== null) resetNbData(nb);
  return nb;
}

/**
 * {@link takeNb} for a caller that sets every data field itself at once (Next, MdlChain, DataOffset, DataLength,
 * CurrentMdl, CurrentMdlOffset: a clone copies them from its original), so they are not cleared first. Every
 * other field is reset as {@link resetNb} does.
 */
export const takeNbToDescribe = (pool: NetBufferPool, ddi: string): NET_BUFFER | null => {
  // The verifier's low-resources simulation fails NDIS allocations even when the cache could serve them.
  if (injectAllocationFault(pool.PoolTag, SIZEOF_NET_BUFFER + pool.DataSize, ddi)) return null;
  let nb = pool.popFree();
  if (nb === null) {
    const created = createNb(pool);
    if (created === null) return null;
    nb = created;
  }
  resetNbOutOfBand(nb, pool);
  pool.outstanding++;
  pool.allocations++;
  return nb;
};

function createNb(pool: NetBufferPool): NET_BUFFER | null {
  const block = ExAllocatePoolWithTag(NonPagedPoolNx, SIZEOF_NET_BUFFER + pool.DataSize, pool.PoolTag);
  if (block === 0) return null;
  const nb = new NET_BUFFER();
  nb.block = block;
  nb.address = block;
  nb.pool = pool;
  if (pool.DataSize !== 0 && !buildDataMdl(nb, block + SIZEOF_NET_BUFFER, pool.DataSize, pool.PoolTag, CACHE_REFILL)) {
    ExFreePool(block);
    return null;
  }
  if (verifierLevel >= VERIFIER_FULL) guardNetBufferDescriptor(nb);
  pool.all.add(nb);
  pool.created++;
  return nb;
}

/**
 * Makes the MDL that describes a descriptor's built-in data. The data sits inside the descriptor's pool block,
 * after the descriptor, so ExFreePool on it is not a block start and bug-checks (N6-8).
 */
export function buildDataMdl(nb: NET_BUFFER, va: number, size: number, tag: number, ddi: string): boolean {
  const m = allocateMdlObject(va, size, MdlOrigin.NetBufferEmbedded, nb, tag, ddi);
  if (m === null) return false;
  m.MappedSystemVa = va;
  m.MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
  nb.dataMdl = m;
  nb.dataVa = va;
  return true;
}

/** Points a NET_BUFFER at its built-in MDL and data, restoring the MDL in case a driver adjusted it. */
export function attachBuiltInData(nb: NET_BUFFER, size: number): void {
  const m = nb.dataMdl!;
  const va = nb.dataVa;
  m.Next = null;
  m.ByteCount = size;
  // Kernel addresses stay below 2^31 (see arena.ts), so the page split can use bit operations.
  m.StartVa = va & ~0xfff;
  m.ByteOffset = va & 0xfff;
  m.MappedSystemVa = va;
  m.MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL;
  nb.MdlChain = m;
  nb.CurrentMdl = m;
  nb.CurrentMdlOffset = 0;
  nb.DataOffset = 0;
  nb.DataLength = size;
}

/** Every WDK field to its initial value: nothing from a previous use leaks into a new NET_BUFFER. */
export function resetNb(nb: NET_BUFFER, pool: object): void {
  resetNbData(nb);
  resetNbOutOfBand(nb, pool);
  if (nb.reservedTouched) clearNbReserved(nb);
}

/** The fields that say where the data is (and the list link) to their initial values. */
function resetNbData(nb: NET_BUFFER): void {
  nb.Next = null;
  nb.CurrentMdl = null;
  nb.CurrentMdlOffset = 0;
  nb.DataLength = 0;
  nb.MdlChain = null;
  nb.DataOffset = 0;
}

/**
 * The other WDK fields of the descriptor itself to their initial values, and the descriptor live. The reserved
 * areas are not touched: a NET_BUFFER in a pool's cache has them cleared already (see {@link clearNbReserved}).
 */
const resetNbOutOfBand = (nb: NET_BUFFER, pool: object): void => {
  nb.ChecksumBias = 0;
  nb.Reserved = 0;
  // As for a list (resetNbl): the handle is already the pool's unless a driver wrote the field.
  if (nb.NdisPoolHandle !== pool) nb.NdisPoolHandle = pool;
  nb.DataPhysicalAddress = 0;
  nb.SharedMemoryInfo = null;
  nb.ScatterGatherList = null;
  nb.state = DescriptorState.Live;
  if (verifierLevel >= VERIFIER_FULL) nb.site = callSite();
};

/**
 * The reserved areas (NdisReserved, ProtocolReserved, MiniportReserved) to NULL. This runs when the NET_BUFFER
 * is freed rather than when it is next allocated, so that every descriptor in a pool's cache has them clear: the
 * arrays are separate objects, and at the free the driver has just been using them, while at the allocation they
 * are cold (each one a cache miss on the hot path). A new descriptor starts with them clear. Areas not handed out
 * since the last clear (their accessors set `reservedTouched`) are still clear: the callers test that flag and
 * call this only when it is set (a clone's NET_BUFFER usually never has its areas used).
 */
const clearNbReserved = (nb: NET_BUFFER): void => {
  const nr = nb.ndisReservedArea;
  nr[0] = nr[1] = null;
  const pr = nb.protocolReservedArea;
  pr[0] = pr[1] = pr[2] = pr[3] = pr[4] = pr[5] = null;
  const mr = nb.miniportReservedArea;
  mr[0] = mr[1] = mr[2] = mr[3] = null;
  nb.reservedTouched = false;
};

/**
 * Marks a NET_BUFFER free: checks (standard verifier) that no retreat-allocated MDL is left in its chain, frees
 * MDLs NDIS made for it, and in full verifier mode releases its memory and poisons it. Returns true when the
 * descriptor may be cached again: the caller of a NET_BUFFER that is not preallocated with a list then returns it
 * to its pool's free list (false: full verifier mode destroyed it).
 */
export const releaseNb = (nb: NET_BUFFER, tag: number, ddi: string): boolean => {
  const records = nb.retreats;
  if (records !== null && records.length > 0) releaseRetreatsLeft(nb, records.length, ddi);
  const own = nb.ownMdls;
  if (own !== null && own.length > 0) {
    for (const m of own) releaseMdlObject(m, TAG_NDIS, 'MDL');
    own.length = 0;
  }
  // The flag is tested here, not only inside: where V8 runs out of inlining budget the call stays a call, made
  // for nothing on a descriptor whose areas were never handed out (a clone's NET_BUFFER, every forwarded frame).
  if (nb.reservedTouched) clearNbReserved(nb);
  nb.state = DescriptorState.Free;
  // A preallocated NET_BUFFER lives in its list's block and is destroyed with the list.
  if (nb.ownerNbl !== null || verifierLevel < VERIFIER_FULL) return true;
  destroyNb(nb, tag);
  return false;
};

/**
 * MDLs that retreats allocated are still in a NET_BUFFER being freed: reported (standard verifier), then freed.
 * Out of line: the free path stays small enough to inline.
 */
function releaseRetreatsLeft(nb: NET_BUFFER, count: number, ddi: string): void {
  if (verifierLevel >= VERIFIER_STANDARD) {
    ndisViolation(
      Ndis6Violation.RetreatMdlsOutstanding,
      nb.address,
      count,
      0,
      `${ddi}: ${count} MDL(s) that NdisRetreatNetBufferDataStart allocated are still in the chain; advance with FreeMdl first`,
    );
  }
  freeRetreatRecords(nb);
}

/** Releases a descriptor's block and built-in MDL for good. */
export function destroyNb(nb: NET_BUFFER, tag: number): void {
  const pool = nb.pool as NetBufferPool;
  if (pool.kind === PoolKind.NetBuffer) pool.all.delete(nb);
  if (nb.dataMdl !== null) releaseMdlObject(nb.dataMdl, tag, 'MDL');
  if (nb.block !== 0) ExFreePool(nb.block);
  nb.dataMdl = null;
  nb.block = 0;
  if (verifierLevel >= VERIFIER_FULL && nb.state === DescriptorState.Free) poisonFreed(nb, 'NET_BUFFER');
}
