/**
 * The registry, idiomatically: set a driver's parameters before it loads, and read keys with typed values and
 * StatusError instead of statuses. The same core as the faithful ZwOpenKey / ZwQueryValueKey / ZwClose.
 *
 * ```ts
 * import { driverParameters, RegistryKeyReader, resetSystem } from 'wdknet';
 * resetSystem();
 * driverParameters('udp-redirect').set('ToPort', 5353, 'dword').set('ToAddress', '10.53.0.1');
 * const key = RegistryKeyReader.open(driverParameters('udp-redirect').path);
 * key.value('ToPort'); // 5353
 * key.close();
 * ```
 */

import { ARENA_BASE, memory } from '../kernel/arena.js';
import {
  InitializeObjectAttributes,
  OBJ_CASE_INSENSITIVE,
  OBJ_KERNEL_HANDLE,
  OBJECT_ATTRIBUTES,
  ZwClose,
} from '../kernel/handles.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, PagedPool } from '../kernel/pool.js';
import {
  decodeUtf16,
  KEY_READ,
  KEY_VALUE_PARTIAL_INFORMATION,
  KeyValuePartialInformation,
  REG_BINARY,
  REG_DWORD,
  REG_EXPAND_SZ,
  REG_MULTI_SZ,
  REG_QWORD,
  REG_SZ,
  type RegistryData,
  serviceKeyPath,
  setRegistryValue,
  ZwOpenKey,
  ZwQueryValueKey,
} from '../kernel/registry.js';
import {
  STATUS_BUFFER_TOO_SMALL,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_SUCCESS,
  StatusError,
} from '../kernel/status.js';
import { poolTag } from '../kernel/tags.js';
import { RTL_CONSTANT_STRING, type UNICODE_STRING } from '../kernel/unicode.js';

/** A registry value's type by name. */
export type RegistryValueType = 'sz' | 'expand_sz' | 'dword' | 'qword' | 'multi_sz' | 'binary';

const TYPES: Record<RegistryValueType, number> = {
  sz: REG_SZ,
  expand_sz: REG_EXPAND_SZ,
  dword: REG_DWORD,
  qword: REG_QWORD,
  multi_sz: REG_MULTI_SZ,
  binary: REG_BINARY,
};

/** A value as JavaScript sees it: REG_DWORD a number, REG_QWORD a bigint, strings, string lists, or bytes. */
export type RegistryValueData = number | bigint | string | string[] | Uint8Array;

/** The type a JavaScript value is stored as when none is named. */
function inferType(data: RegistryData): number {
  if (typeof data === 'number') return REG_DWORD;
  if (typeof data === 'bigint') return REG_QWORD;
  if (typeof data === 'string') return REG_SZ;
  if (Array.isArray(data)) return REG_MULTI_SZ;
  return REG_BINARY;
}

/** A driver's Parameters key, for writing before the driver loads (after resetSystem, which empties the registry). */
export class DriverParameters {
  /** The key's full name, RegistryPath + \Parameters. */
  readonly path: string;
  constructor(readonly driver: string) {
    this.path = `${serviceKeyPath(driver)}\\Parameters`;
  }
  /** Writes a value (type from `data` when not named: number → dword, bigint → qword, string → sz, ...). */
  set(name: string, data: RegistryData, type?: RegistryValueType): this {
    setRegistryValue(this.path, name, type === undefined ? inferType(data) : TYPES[type], data);
    return this;
  }
}

/** The Parameters key of the driver named `driver` (its module's file name without extension under `wdknet run`). */
export function driverParameters(driver: string): DriverParameters {
  return new DriverParameters(driver);
}

const TAG = poolTag('geRw');

/** An open registry key (a kernel handle from ZwOpenKey); close it when done, or it is reported as a leak. */
export class RegistryKeyReader {
  private constructor(private handle: number) {}

  /** Opens the key at `path` (\Registry\...) for reading; throws StatusError (STATUS_OBJECT_NAME_NOT_FOUND, ...). */
  static open(path: string): RegistryKeyReader {
    const name = RTL_CONSTANT_STRING(path);
    const attributes = new OBJECT_ATTRIBUTES();
    InitializeObjectAttributes(attributes, name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, null, null);
    const handle = { value: 0 };
    const status = ZwOpenKey(handle, KEY_READ, attributes);
    if (status !== STATUS_SUCCESS) throw new StatusError(status, `ZwOpenKey(${path})`);
    return new RegistryKeyReader(handle.value);
  }

  /** The value `name` decoded by its type, or undefined if the key has none by that name. */
  value(name: string): RegistryValueData | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const { type, data } = raw;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    switch (type) {
      case REG_DWORD:
        return data.length === 4 ? view.getUint32(0, true) : data;
      case REG_QWORD:
        return data.length === 8 ? view.getBigUint64(0, true) : data;
      case REG_SZ:
      case REG_EXPAND_SZ:
        return decodeUtf16(data).replace(/\0.*$/s, '');
      case REG_MULTI_SZ:
        return decodeUtf16(data)
          .split('\0')
          .filter((s) => s !== '');
      default:
        return data;
    }
  }

  /** The value's REG_* type and bytes, or undefined. */
  raw(name: string): { type: number; data: Uint8Array } | undefined {
    const valueName: UNICODE_STRING = RTL_CONSTANT_STRING(name);
    const needed = { value: 0 };
    let status = ZwQueryValueKey(this.handle, valueName, KeyValuePartialInformation, 0, 0, needed);
    if (status === STATUS_OBJECT_NAME_NOT_FOUND) return undefined;
    if (status !== STATUS_BUFFER_TOO_SMALL) throw new StatusError(status, `ZwQueryValueKey(${name})`);
    const buffer = ExAllocatePoolWithTag(PagedPool, needed.value, TAG);
    if (buffer === 0)
      throw new StatusError(STATUS_INSUFFICIENT_RESOURCES, `ZwQueryValueKey(${name}): no pool for the value`);
    try {
      status = ZwQueryValueKey(this.handle, valueName, KeyValuePartialInformation, buffer, needed.value, needed);
      if (status !== STATUS_SUCCESS) throw new StatusError(status, `ZwQueryValueKey(${name})`);
      const info = new KEY_VALUE_PARTIAL_INFORMATION(buffer);
      const start = info.Data - ARENA_BASE;
      return { type: info.Type, data: memory.slice(start, start + info.DataLength) };
    } finally {
      ExFreePoolWithTag(buffer, TAG);
    }
  }

  /** Closes the handle (ZwClose). */
  close(): void {
    if (this.handle === 0) return;
    const status = ZwClose(this.handle);
    this.handle = 0;
    if (status !== STATUS_SUCCESS) throw new StatusError(status, 'ZwClose');
  }
}
