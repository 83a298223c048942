/**
 * Leak checks for the example tests: everything the drivers and layers still hold. NDIS's own lookaside cache (its
 * internal pools and the descriptors cached in them) is left out by the NDIS layer itself; a clone a driver did not
 * free is still reported (as 'clone NET_BUFFER_LIST'), and so is any other 'NDIS' block, such as a retreat buffer.
 */
import assert from 'node:assert/strict';
import { collectLeaks, formatLeaks, type Leak } from 'wdknet';

/** What the drivers and layers still hold. */
export function driverLeaks(): Leak[] {
  return collectLeaks();
}

/** Asserts that nothing is left. */
export function assertNoLeaks(): void {
  const leaks = driverLeaks();
  assert.deepEqual(leaks, [], formatLeaks(leaks));
}
