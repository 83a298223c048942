/**
 * Kernel handles: the object manager's handle table as drivers see it. OBJECT_ATTRIBUTES names the object a
 * Zw routine opens; the handle the routine returns is a number, and ZwClose gives it back. Every handle still
 * open is reported by the leak registry ("handle"), with the object's name and, in full verifier mode, the line
 * of the driver that opened it.
 *
 * Handle values (decided here): x64 kernel handles are sign-extended 32-bit values with the top bit set
 * (0xFFFFFFFF80000004, ...), which no JavaScript number holds exactly. wdknet keeps their low 32 bits,
 * 0x80000004, 0x80000008, ... : multiples of 4 with the kernel-handle bit set, and a freed slot is used again
 * first, as the handle table does.
 */
import { bugCheck, DdiRule, INVALID_KERNEL_HANDLE } from './bugcheck.js';
import { PASSIVE_LEVEL, requireIrqlAtMost } from './irql.js';
import { registerLeakSource } from './leaks.js';
import { STATUS_INVALID_HANDLE, STATUS_SUCCESS } from './status.js';
import type { UNICODE_STRING } from './unicode.js';
import { callSite, VERIFIER_FULL, verifierLevel } from './verifier.js';

/** HANDLE: a kernel handle (a number, see the file comment); NULL is 0. */
export type HANDLE = number;

export const OBJ_INHERIT = 0x00000002;
export const OBJ_PERMANENT = 0x00000010;
export const OBJ_EXCLUSIVE = 0x00000020;
export const OBJ_CASE_INSENSITIVE = 0x00000040;
export const OBJ_OPENIF = 0x00000080;
export const OBJ_OPENLINK = 0x00000100;
export const OBJ_KERNEL_HANDLE = 0x00000200;
export const OBJ_FORCE_ACCESS_CHECK = 0x00000400;
export const OBJ_IGNORE_IMPERSONATED_DEVICEMAP = 0x00000800;
export const OBJ_DONT_REPARSE = 0x00001000;
/** Every attribute bit the object manager knows; any other bit makes the open fail with STATUS_INVALID_PARAMETER. */
export const OBJ_VALID_ATTRIBUTES = 0x00001ff2;

/** sizeof(OBJECT_ATTRIBUTES) on x64: what InitializeObjectAttributes stores in Length. */
export const SIZEOF_OBJECT_ATTRIBUTES = 48;

/** OBJECT_ATTRIBUTES: the name of the object to open (absolute, or relative to RootDirectory) and how. */
export class OBJECT_ATTRIBUTES {
  /** sizeof(OBJECT_ATTRIBUTES) on x64. */
  static readonly sizeof = SIZEOF_OBJECT_ATTRIBUTES;
  Length = 0;
  /** A handle the name is relative to, or NULL (0 or null). */
  RootDirectory: HANDLE | null = null;
  ObjectName: UNICODE_STRING | null = null;
  Attributes = 0;
  /** Ignored by the routines here (ZwOpenKey ignores security information, as documented). */
  SecurityDescriptor: unknown = null;
  SecurityQualityOfService: unknown = null;
}

/** InitializeObjectAttributes: fills `p` as the macro does, Length included. */
export function InitializeObjectAttributes(
  p: OBJECT_ATTRIBUTES,
  n: UNICODE_STRING | null,
  a: number,
  r: HANDLE | null,
  s: unknown,
): void {
  p.Length = SIZEOF_OBJECT_ATTRIBUTES;
  p.RootDirectory = r;
  p.Attributes = a;
  p.ObjectName = n;
  p.SecurityDescriptor = s;
  p.SecurityQualityOfService = null;
}

/** One open handle. */
export interface HandleEntry {
  /** The object type's name ('Key'). */
  readonly type: string;
  /** The object (for a key, the registry's node). */
  readonly object: unknown;
  /** The access the handle was granted. */
  readonly access: number;
  /** The object's full name, for reports. */
  readonly name: string;
  /** Where the driver opened it (full verifier mode). */
  readonly site: string | undefined;
}

const KERNEL_HANDLE_BIT = 0x80000000;
const table = new Map<number, HandleEntry>();
/** Slots given back by ZwClose, reused last-freed first. */
const freeSlots: number[] = [];
let nextSlot = 1;

/** Opens a handle to `object` (the Zw routine that opened it has checked access and the name). */
export function createHandle(type: string, object: unknown, access: number, name: string): HANDLE {
  const slot = freeSlots.pop() ?? nextSlot++;
  const handle = (KERNEL_HANDLE_BIT + slot * 4) >>> 0;
  table.set(handle, { type, object, access, name, site: verifierLevel >= VERIFIER_FULL ? callSite() : undefined });
  return handle;
}

/** The open handle `handle` if it is one and of `type`, else undefined. */
export function lookupHandle(handle: HANDLE | null, type: string): HandleEntry | undefined {
  if (typeof handle !== 'number') return undefined;
  const entry = table.get(handle);
  return entry !== undefined && entry.type === type ? entry : undefined;
}

/**
 * ZwClose: closes a kernel handle. An invalid handle gives STATUS_INVALID_HANDLE; with the full verifier it is
 * the bug check INVALID_KERNEL_HANDLE (0x93; handle, 1, 0, 0), as Windows reports a kernel-mode caller closing a
 * handle that is not open when bad-handle detection is on. IRQL PASSIVE_LEVEL (IrqlZwPassive).
 * STATUS_HANDLE_NOT_CLOSABLE needs OBJ_PROTECT_CLOSE, which nothing here sets.
 */
export function ZwClose(Handle: HANDLE): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'ZwClose', DdiRule.IrqlZwPassive);
  if (typeof Handle !== 'number' || !table.has(Handle)) {
    if (verifierLevel >= VERIFIER_FULL) {
      const value = typeof Handle === 'number' ? Handle : 0;
      bugCheck(
        INVALID_KERNEL_HANDLE,
        value,
        1,
        0,
        0,
        `ZwClose(0x${value.toString(16)}): not an open kernel handle (closed twice, or never opened)`,
      );
    }
    return STATUS_INVALID_HANDLE;
  }
  table.delete(Handle);
  freeSlots.push(((Handle - KERNEL_HANDLE_BIT) >>> 0) / 4);
  return STATUS_SUCCESS;
}

/** Handles still open, in the order they were opened. */
export function openHandles(): readonly (HandleEntry & { handle: HANDLE })[] {
  return [...table].map(([handle, entry]) => ({ handle, ...entry }));
}

/** Forgets every handle (part of resetSystem). */
export function resetHandles(): void {
  table.clear();
  freeSlots.length = 0;
  nextSlot = 1;
}

registerLeakSource('handle', () =>
  openHandles().map((h) => ({
    kind: 'handle',
    tag: '',
    size: 0,
    owner: `${h.type} handle never closed (ZwClose)`,
    site: h.site,
    detail: `0x${h.handle.toString(16)} to ${h.name}`,
  })),
);
