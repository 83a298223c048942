/**
 * Interrupt request levels. wdknet runs one simulated processor, so there is one current IRQL. Every DDI checks
 * its documented limit against it; drivers raise and lower it as they would on Windows (for instance to call a
 * DISPATCH_LEVEL-only routine from a test).
 */
import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION, IRQL_NOT_GREATER_OR_EQUAL } from './bugcheck.js';

export const PASSIVE_LEVEL = 0;
export const LOW_LEVEL = 0;
export const APC_LEVEL = 1;
export const DISPATCH_LEVEL = 2;
export const CMCI_LEVEL = 5;
export const CLOCK_LEVEL = 13;
export const IPI_LEVEL = 14;
export const DRS_LEVEL = 14;
export const POWER_LEVEL = 14;
export const PROFILE_LEVEL = 15;
export const HIGH_LEVEL = 15;

let current = PASSIVE_LEVEL;

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** KeGetCurrentIrql: the current processor's IRQL. */
export const KeGetCurrentIrql = (): number => {
  return current;
};

/**
 * KeRaiseIrql: raises to `NewIrql` and stores the previous IRQL in `OldIrql.value`. Raising to a lower level is
 * a bug check (IRQL_NOT_GREATER_OR_EQUAL), as the documentation says.
 */
export function KeRaiseIrql(NewIrql: number, OldIrql: { value: number }): void {
  if (!Number.isInteger(NewIrql) || NewIrql < current || NewIrql > HIGH_LEVEL) {
    bugCheck(IRQL_NOT_GREATER_OR_EQUAL, current, NewIrql, 0, 0, `KeRaiseIrql to ${NewIrql} from IRQL ${current}`);
  }
  OldIrql.value = current;
  current = NewIrql;
}

/** KeRaiseIrqlToDpcLevel: raises to DISPATCH_LEVEL and returns the previous IRQL. */
export function KeRaiseIrqlToDpcLevel(): number {
  const box = { value: 0 };
  KeRaiseIrql(DISPATCH_LEVEL, box);
  return box.value;
}

/**
 * KeLowerIrql: restores an IRQL returned by KeRaiseIrql. Lowering to a higher level is fatal; Driver Verifier
 * reports it as DRIVER_VERIFIER_DETECTED_VIOLATION with Parameter 1 = 0x31.
 */
export function KeLowerIrql(NewIrql: number): void {
  if (!Number.isInteger(NewIrql) || NewIrql > current || NewIrql < PASSIVE_LEVEL) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      0x31,
      current,
      NewIrql,
      0,
      `KeLowerIrql to ${NewIrql} from ${current}`,
    );
  }
  current = NewIrql;
}

/** Runs `fn` at `irql` (raised from the current level) and restores the previous level, even on throw. */
export function atIrql<T>(irql: number, fn: () => T): T {
  const old = { value: 0 };
  KeRaiseIrql(irql, old);
  try {
    return fn();
  } finally {
    current = old.value;
  }
}

/** Resets the processor to PASSIVE_LEVEL (part of resetSystem). */
export function resetIrql(): void {
  current = PASSIVE_LEVEL;
}

/**
 * Checks a DDI's documented IRQL limit. A call above the limit is reported the way Driver Verifier's DDI
 * compliance checking does: DRIVER_VERIFIER_DETECTED_VIOLATION with the rule id as Parameter 1.
 */
export function requireIrqlAtMost(max: number, ddi: string, ruleId: number): void {
  if (current > max) {
    bugCheck(
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      ruleId,
      current,
      max,
      0,
      `${ddi} must be called at IRQL <= ${irqlName(max)}, but the current IRQL is ${irqlName(current)}`,
    );
  }
}

/** The symbolic name of an IRQL, for messages. */
export function irqlName(irql: number): string {
  switch (irql) {
    case PASSIVE_LEVEL:
      return 'PASSIVE_LEVEL';
    case APC_LEVEL:
      return 'APC_LEVEL';
    case DISPATCH_LEVEL:
      return 'DISPATCH_LEVEL';
    case HIGH_LEVEL:
      return 'HIGH_LEVEL';
    default:
      return `IRQL ${irql}`;
  }
}
