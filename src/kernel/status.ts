/**
 * NTSTATUS and NDIS_STATUS values, as signed 32-bit numbers the way C sees them (`0xC000009A | 0`).
 * NDIS_STATUS_* values that alias NTSTATUS values are the same numbers, as in ndis.h.
 */

export const STATUS_SUCCESS = 0;
export const STATUS_PENDING = 0x103;
export const STATUS_UNSUCCESSFUL = 0xc0000001 | 0;
export const STATUS_NOT_IMPLEMENTED = 0xc0000002 | 0;
export const STATUS_INVALID_PARAMETER = 0xc000000d | 0;
export const STATUS_NO_MEMORY = 0xc0000017 | 0;
export const STATUS_INSUFFICIENT_RESOURCES = 0xc000009a | 0;
export const STATUS_NOT_SUPPORTED = 0xc00000bb | 0;
export const STATUS_INVALID_DEVICE_REQUEST = 0xc0000010 | 0;
export const STATUS_BUFFER_TOO_SMALL = 0xc0000023 | 0;
export const STATUS_OBJECT_NAME_NOT_FOUND = 0xc0000034 | 0;
export const STATUS_OBJECT_NAME_COLLISION = 0xc0000035 | 0;
export const STATUS_NOT_FOUND = 0xc0000225 | 0;
export const STATUS_ACCESS_DENIED = 0xc0000022 | 0;
export const STATUS_DEVICE_NOT_READY = 0xc00000a3 | 0;
export const STATUS_CANCELLED = 0xc0000120 | 0;
export const STATUS_INVALID_HANDLE = 0xc0000008 | 0;
export const STATUS_DATA_NOT_ACCEPTED = 0xc000021b | 0;
/** A warning (not an error): the buffer was too small and only part of the data was written. */
export const STATUS_BUFFER_OVERFLOW = 0x80000005 | 0;
export const STATUS_OBJECT_TYPE_MISMATCH = 0xc0000024 | 0;
export const STATUS_OBJECT_NAME_INVALID = 0xc0000033 | 0;
export const STATUS_OBJECT_PATH_NOT_FOUND = 0xc000003a | 0;
export const STATUS_OBJECT_PATH_SYNTAX_BAD = 0xc000003b | 0;
export const STATUS_CHILD_MUST_BE_VOLATILE = 0xc0000181 | 0;
export const STATUS_HANDLE_NOT_CLOSABLE = 0xc0000235 | 0;

export const NDIS_STATUS_SUCCESS = STATUS_SUCCESS;
export const NDIS_STATUS_PENDING = STATUS_PENDING;
export const NDIS_STATUS_FAILURE = STATUS_UNSUCCESSFUL;
export const NDIS_STATUS_RESOURCES = STATUS_INSUFFICIENT_RESOURCES;
export const NDIS_STATUS_INVALID_PARAMETER = STATUS_INVALID_PARAMETER;
export const NDIS_STATUS_NOT_SUPPORTED = STATUS_NOT_SUPPORTED;
export const NDIS_STATUS_BUFFER_TOO_SHORT = STATUS_BUFFER_TOO_SMALL;
export const NDIS_STATUS_INVALID_LENGTH = 0xc0010014 | 0;
export const NDIS_STATUS_INVALID_DATA = 0xc0010015 | 0;
export const NDIS_STATUS_PAUSED = 0xc023002a | 0;
export const NDIS_STATUS_SEND_ABORTED = 0xc023000c | 0;
export const NDIS_STATUS_REQUEST_ABORTED = 0xc001000c | 0;
export const NDIS_STATUS_LOW_POWER_STATE = 0xc023002f | 0;
export const NDIS_STATUS_CLOSING = 0xc0010002 | 0;
export const NDIS_STATUS_MEDIA_DISCONNECTED = 0xc001001f | 0;

/** `NT_SUCCESS(s)`: success and informational statuses are the non-negative ones. */
export function NT_SUCCESS(status: number): boolean {
  return status >= 0;
}

/**
 * A structured exception raised in kernel mode (ExRaiseStatus). Thrown by calls documented to raise, such as
 * ExAllocatePoolWithTag with POOL_RAISE_IF_ALLOCATION_FAILURE; a driver catches it where it would use __try.
 */
export class KernelException extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`${message} (status 0x${(status >>> 0).toString(16).toUpperCase()})`);
    this.name = 'KernelException';
    this.status = status;
  }
}

/** ExRaiseStatus: raises a {@link KernelException} with the given status. */
export function ExRaiseStatus(status: number): never {
  throw new KernelException(status, 'ExRaiseStatus');
}

/**
 * The idiomatic API's error for a call that failed with a status: `status` is the NTSTATUS / NDIS_STATUS the
 * faithful DDI would have returned, and the message says which call and why.
 */
export class StatusError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`${message} (status 0x${(status >>> 0).toString(16).toUpperCase()})`);
    this.name = 'StatusError';
    this.status = status;
  }
}
