/**
 * Use-after-free detection for descriptors that are JavaScript objects (MDLs, NET_BUFFERs, NBLs, ...). In full
 * verifier mode a freed descriptor is never reused: its fields are replaced by accessors that bug-check on any
 * read or write, so a driver that touches it after freeing is caught at the faulting access, like special pool.
 */
import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from './bugcheck.js';

/** Parameter 1 that wdknet uses for "a freed descriptor was touched" (0xC4, as Driver Verifier's pool checks). */
export const VIOLATION_DESCRIPTOR_USED_AFTER_FREE = 0x1011;

/** Every descriptor poisonFreed has trapped (weakly held: a dropped descriptor is collected as usual). */
const poisoned = new WeakSet<object>();

/**
 * True when `object` was poisoned by {@link poisonFreed}. Verifier code that must look at a descriptor that may
 * have been freed (a chain that still names it) asks this first, since reading any field of it would bug-check.
 */
export function isPoisoned(object: object): boolean {
  return poisoned.has(object);
}

/** Replaces every own field of `object` with a trap that reports `what` as used after it was freed. */
export function poisonFreed(object: object, what: string): void {
  poisoned.add(object);
  for (const key of Object.keys(object)) {
    Object.defineProperty(object, key, {
      configurable: true,
      enumerable: true,
      get() {
        return bugCheck(
          DRIVER_VERIFIER_DETECTED_VIOLATION,
          VIOLATION_DESCRIPTOR_USED_AFTER_FREE,
          0,
          0,
          0,
          `use after free: read of ${what}.${key} after it was freed`,
        );
      },
      set() {
        bugCheck(
          DRIVER_VERIFIER_DETECTED_VIOLATION,
          VIOLATION_DESCRIPTOR_USED_AFTER_FREE,
          1,
          0,
          0,
          `use after free: write of ${what}.${key} after it was freed`,
        );
      },
    });
  }
}
