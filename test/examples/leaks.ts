/**
 * Leak checks for the example tests. `collectLeaks()` lists every pool block still allocated, and that includes
 * memory NDIS keeps for itself: the header of its internal NET_BUFFER / NET_BUFFER_LIST pools (made on the first
 * clone that names no pool) and the blocks of descriptors cached in them, as NDIS keeps freed descriptors in
 * lookaside lists. Those belong to NDIS, not to the driver under test, so they are set aside here - precisely,
 * by address. A clone the driver did not free is still reported (as 'clone NET_BUFFER_LIST'), and so is any other
 * 'NDIS' block, such as a retreat buffer.
 */
import assert from 'node:assert/strict';
import { collectLeaks, formatLeaks, type Leak } from 'wdknet';
import { ndisInternalNblPool, ndisInternalNbPool } from '../../src/ndis/pools.js';

/** Pool blocks that are NDIS's own cache (internal pool headers, cached descriptors' blocks). */
function ndisCacheBlocks(): Set<string> {
  const out = new Set<string>();
  for (const pool of [ndisInternalNblPool(), ndisInternalNbPool()]) {
    if (pool === null) continue;
    out.add(`0x${pool.address.toString(16)}`);
    for (const d of pool.free) if (d.block !== 0) out.add(`0x${d.block.toString(16)}`);
  }
  return out;
}

/** What the drivers and layers still hold, NDIS's own lookaside cache excepted. */
export function driverLeaks(): Leak[] {
  const leaks = collectLeaks();
  if (!leaks.some((l) => l.kind === 'pool' && l.tag === 'NDIS')) return leaks;
  const cache = ndisCacheBlocks();
  return leaks.filter((l) => !(l.kind === 'pool' && l.tag === 'NDIS' && cache.has(l.detail)));
}

/** Asserts that nothing is left but NDIS's own cache. */
export function assertNoLeaks(): void {
  const leaks = driverLeaks();
  assert.deepEqual(leaks, [], formatLeaks(leaks));
}
