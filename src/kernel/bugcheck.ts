/**
 * Bug checks: the kernel's way of reporting a fatal misuse. wdknet throws them as {@link BugCheck} errors
 * carrying the real bug-check code and its four parameters, so a test can assert exactly what Windows would
 * have shown on the blue screen.
 */

/** Bug-check codes used by wdknet, with the values that Windows' bugcodes.h gives them. */
export const IRQL_NOT_GREATER_OR_EQUAL = 0x09;
export const IRQL_NOT_LESS_OR_EQUAL = 0x0a;
export const BAD_POOL_HEADER = 0x19;
export const TARGET_MDL_TOO_SMALL = 0x40;
export const NDIS_INTERNAL_ERROR = 0x4f;
export const BUGCODE_NDIS_DRIVER = 0x7c;
export const SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION = 0xc1;
export const BAD_POOL_CALLER = 0xc2;
export const DRIVER_VERIFIER_DETECTED_VIOLATION = 0xc4;
export const DRIVER_CORRUPTED_EXPOOL = 0xc5;
export const DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL = 0xd5;
export const DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION = 0xd6;
export const DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS = 0xcb;
export const DRIVER_VERIFIER_IOMANAGER_VIOLATION = 0xc9;
export const PAGE_FAULT_IN_NONPAGED_AREA = 0x50;
export const KMODE_EXCEPTION_NOT_HANDLED = 0x1e;
export const INVALID_KERNEL_HANDLE = 0x93;
export const INVALID_MDL_RANGE = 0x12e;

const NAMES: Record<number, string> = {
  [IRQL_NOT_GREATER_OR_EQUAL]: 'IRQL_NOT_GREATER_OR_EQUAL',
  [IRQL_NOT_LESS_OR_EQUAL]: 'IRQL_NOT_LESS_OR_EQUAL',
  [BAD_POOL_HEADER]: 'BAD_POOL_HEADER',
  [TARGET_MDL_TOO_SMALL]: 'TARGET_MDL_TOO_SMALL',
  [NDIS_INTERNAL_ERROR]: 'NDIS_INTERNAL_ERROR',
  [BUGCODE_NDIS_DRIVER]: 'BUGCODE_NDIS_DRIVER',
  [SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION]: 'SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION',
  [BAD_POOL_CALLER]: 'BAD_POOL_CALLER',
  [DRIVER_VERIFIER_DETECTED_VIOLATION]: 'DRIVER_VERIFIER_DETECTED_VIOLATION',
  [DRIVER_CORRUPTED_EXPOOL]: 'DRIVER_CORRUPTED_EXPOOL',
  [DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL]: 'DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL',
  [DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION]: 'DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION',
  [DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS]: 'DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS',
  [DRIVER_VERIFIER_IOMANAGER_VIOLATION]: 'DRIVER_VERIFIER_IOMANAGER_VIOLATION',
  [PAGE_FAULT_IN_NONPAGED_AREA]: 'PAGE_FAULT_IN_NONPAGED_AREA',
  [KMODE_EXCEPTION_NOT_HANDLED]: 'KMODE_EXCEPTION_NOT_HANDLED',
  [INVALID_KERNEL_HANDLE]: 'INVALID_KERNEL_HANDLE',
  [INVALID_MDL_RANGE]: 'INVALID_MDL_RANGE',
};

const hex = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase()}`;

/**
 * A bug check (a "blue screen"), thrown where Windows would stop the machine.
 *
 * `code` is the bug-check code (0xC2 for BAD_POOL_CALLER), `parameters` its four parameters as the
 * documentation of that bug check defines them, `checkName` the symbolic name, and the message says in plain
 * words what the driver did wrong.
 */
export class BugCheck extends Error {
  readonly code: number;
  readonly parameters: readonly [number, number, number, number];
  readonly checkName: string;
  readonly reason: string;

  constructor(code: number, parameters: readonly [number, number, number, number], reason: string) {
    const checkName = NAMES[code] ?? `BUGCHECK_${hex(code)}`;
    super(`${checkName} (${hex(code)}; ${parameters.map(hex).join(', ')}): ${reason}`);
    this.name = 'BugCheck';
    this.code = code;
    this.parameters = parameters;
    this.checkName = checkName;
    this.reason = reason;
  }
}

/** Throws a {@link BugCheck}. Typed `never` so callers can use it in expressions. */
export function KeBugCheckEx(code: number, p1: number, p2: number, p3: number, p4: number, reason?: string): never {
  throw new BugCheck(code, [p1, p2, p3, p4], reason ?? 'the driver called KeBugCheckEx');
}

/** Internal shorthand used by the layers: throw a bug check with a reason. */
export function bugCheck(code: number, p1: number, p2: number, p3: number, p4: number, reason: string): never {
  throw new BugCheck(code, [p1, p2, p3, p4], reason);
}

/** DDI compliance rule ids (DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1) that wdknet checks. */
export const DdiRule = {
  /** IrqlExAllocatePool (WDM): ExAllocatePool* only at IRQL <= DISPATCH_LEVEL. */
  IrqlExAllocatePool: 0x00020004,
  /** IrqlExFree (WDM): ExFreePool* only at IRQL <= DISPATCH_LEVEL. */
  IrqlExFree: 0x00020005,
  /**
   * wdknet's id for the documented IRQL limit of a DDI whose Driver Verifier rule publishes no number of its own
   * (IoAllocateMdl, IoCreateDevice, KeSetEvent, ...): 0x0002F001, outside the published 0x000200xx WDM ids.
   */
  IrqlDocumentedLimit: 0x0002f001,
  /** IrqlZwPassive (WDM): ZwClose, ZwOpenKey, ZwQueryValueKey and the other Zw registry calls only at PASSIVE_LEVEL. */
  IrqlZwPassive: 0x0002001f,
} as const;
