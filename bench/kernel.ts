/**
 * Kernel pool: ExAllocatePoolWithTag + ExFreePoolWithTag of 2 KiB with the verifier off, standard and full, and
 * in the same run the two anchors from DESIGN.md: a preallocated JavaScript object free list, and
 * Buffer.allocUnsafe(2048) with a wrapper object.
 */
import { ExAllocatePoolWithTag, ExFreePoolWithTag, NonPagedPool, poolTag, resetSystem } from '../src/ddi/index.js';
import {
  allocUnsafeBaselineNs,
  baselineSinkValue,
  bestOf,
  freeListBaselineNs,
  heapUsedAfterGc,
  machine,
  nsPerOp,
  row,
} from './lib.js';

const N = 5_000_000;
const TAG = poolTag('hcnB');

const freeListNs = freeListBaselineNs(N);

const allocUnsafeNs = allocUnsafeBaselineNs(N / 5, 2048, true);

function poolNs(mode: 'off' | 'standard' | 'full'): number {
  resetSystem({ verifier: mode });
  const n = mode === 'full' ? N / 50 : N;
  return bestOf(3, () =>
    nsPerOp(n, () => {
      const p = ExAllocatePoolWithTag(NonPagedPool, 2048, TAG);
      ExFreePoolWithTag(p, TAG);
    }),
  );
}

console.log(`# kernel pool - ${await machine()} - ${new Date().toISOString().slice(0, 10)}`);
row('baseline: preallocated object free list pop+push', freeListNs);
row('baseline: Buffer.allocUnsafe(2048) + wrapper object', allocUnsafeNs);
const off = poolNs('off');
row('ExAllocatePoolWithTag+ExFreePoolWithTag 2 KiB, verifier off', off, freeListNs);
row('  same, verifier standard', poolNs('standard'), freeListNs);
row('  same, verifier full (guard bytes, poisoning, call sites)', poolNs('full'), freeListNs);
console.log(`pool off vs Buffer.allocUnsafe: ${(allocUnsafeNs / off).toFixed(1)}x faster`);

resetSystem({ verifier: 'off' });
const before = heapUsedAfterGc();
for (let i = 0; i < 10_000_000; i++) ExFreePoolWithTag(ExAllocatePoolWithTag(NonPagedPool, 2048, TAG), TAG);
const after = heapUsedAfterGc();
console.log(`heap growth over 10,000,000 allocate+free cycles: ${((after - before) / 1024).toFixed(1)} KiB`);
if (baselineSinkValue() < 0) console.log(baselineSinkValue());
