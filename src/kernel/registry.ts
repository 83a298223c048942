/**
 * The registry, as far as drivers read their configuration from it: keys under \Registry\Machine and
 * \Registry\User holding values of the REG_* types, and the routines a driver reads them with: ZwOpenKey,
 * ZwQueryValueKey, ZwClose (src/kernel/handles.ts) and RtlQueryRegistryValues. Every routine is PASSIVE_LEVEL
 * only (IrqlZwPassive). A key handle is a kernel handle: one never closed is reported as a leak.
 *
 * Values are kept as Windows keeps them, as bytes: REG_DWORD four bytes little-endian, REG_QWORD eight, REG_SZ
 * UTF-16LE with its terminating NUL, REG_MULTI_SZ each string with its NUL and one more NUL at the end.
 * Names of keys and values compare without regard to case, as in the registry.
 *
 * The tree starts as a small machine: \Registry\Machine\{System\CurrentControlSet\{Services,Control}, Software,
 * Hardware\DeviceMap} and \Registry\User. CurrentControlSet is a key here, not the link to ControlSet001 it is
 * on Windows (decided: nothing a driver reads can tell the difference). `loadDriver` creates the driver's
 * service key before DriverEntry runs, as the service control manager would have; `wdknet run --param` writes
 * values under its Parameters subkey.
 */
import { ARENA_BASE, memory, memoryView } from './arena.js';
import { DdiRule } from './bugcheck.js';
import {
  createHandle,
  type HANDLE,
  lookupHandle,
  OBJ_VALID_ATTRIBUTES,
  type OBJECT_ATTRIBUTES,
  SIZEOF_OBJECT_ATTRIBUTES,
} from './handles.js';
import { PASSIVE_LEVEL, requireIrqlAtMost } from './irql.js';
import { checkAccess } from './memory.js';
import { ExAllocatePoolWithTag, ExFreePoolWithTag, PagedPool } from './pool.js';
import {
  NT_SUCCESS,
  STATUS_ACCESS_DENIED,
  STATUS_BUFFER_OVERFLOW,
  STATUS_BUFFER_TOO_SMALL,
  STATUS_CHILD_MUST_BE_VOLATILE,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_HANDLE,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_INVALID,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_OBJECT_PATH_NOT_FOUND,
  STATUS_OBJECT_PATH_SYNTAX_BAD,
  STATUS_OBJECT_TYPE_MISMATCH,
  STATUS_SUCCESS,
} from './status.js';
import { poolTag } from './tags.js';
import { UNICODE_STRING, unicodeStringValue } from './unicode.js';

// ---- Value types -------------------------------------------------------------------------------------------

export const REG_NONE = 0;
export const REG_SZ = 1;
export const REG_EXPAND_SZ = 2;
export const REG_BINARY = 3;
export const REG_DWORD = 4;
export const REG_DWORD_LITTLE_ENDIAN = 4;
export const REG_DWORD_BIG_ENDIAN = 5;
export const REG_LINK = 6;
export const REG_MULTI_SZ = 7;
export const REG_QWORD = 11;
export const REG_QWORD_LITTLE_ENDIAN = 11;

// ---- Access rights -----------------------------------------------------------------------------------------

export const KEY_QUERY_VALUE = 0x0001;
export const KEY_SET_VALUE = 0x0002;
export const KEY_CREATE_SUB_KEY = 0x0004;
export const KEY_ENUMERATE_SUB_KEYS = 0x0008;
export const KEY_NOTIFY = 0x0010;
export const KEY_CREATE_LINK = 0x0020;
export const KEY_WOW64_64KEY = 0x0100;
export const KEY_WOW64_32KEY = 0x0200;
export const READ_CONTROL = 0x00020000;
export const SYNCHRONIZE = 0x00100000;
export const STANDARD_RIGHTS_READ = READ_CONTROL;
export const STANDARD_RIGHTS_WRITE = READ_CONTROL;
export const STANDARD_RIGHTS_ALL = 0x001f0000;
export const KEY_READ = (STANDARD_RIGHTS_READ | KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY) & ~SYNCHRONIZE;
export const KEY_WRITE = (STANDARD_RIGHTS_WRITE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY) & ~SYNCHRONIZE;
export const KEY_EXECUTE = KEY_READ & ~SYNCHRONIZE;
export const KEY_ALL_ACCESS =
  (STANDARD_RIGHTS_ALL |
    KEY_QUERY_VALUE |
    KEY_SET_VALUE |
    KEY_CREATE_SUB_KEY |
    KEY_ENUMERATE_SUB_KEYS |
    KEY_NOTIFY |
    KEY_CREATE_LINK) &
  ~SYNCHRONIZE;
export const GENERIC_READ = 0x80000000;
export const GENERIC_WRITE = 0x40000000;
export const GENERIC_EXECUTE = 0x20000000;
export const GENERIC_ALL = 0x10000000;
export const MAXIMUM_ALLOWED = 0x02000000;

// ---- ZwQueryValueKey information classes and their x64 layouts -------------------------------------------

export const KeyValueBasicInformation = 0;
export const KeyValueFullInformation = 1;
export const KeyValuePartialInformation = 2;
export const KeyValueFullInformationAlign64 = 3;
export const KeyValuePartialInformationAlign64 = 4;

/** A view of a KEY_VALUE_PARTIAL_INFORMATION in simulated memory: +0 TitleIndex, +4 Type, +8 DataLength, +12 Data. */
export class KEY_VALUE_PARTIAL_INFORMATION {
  /** sizeof(KEY_VALUE_PARTIAL_INFORMATION) on x64 (Data[1] and padding included), as C code sizes its buffers. */
  static readonly sizeof = 16;
  /** FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data): the least Length ZwQueryValueKey accepts. */
  static readonly DataOffset = 12;
  constructor(readonly address: number) {}
  get TitleIndex(): number {
    return readUlong(this.address);
  }
  get Type(): number {
    return readUlong(this.address + 4);
  }
  get DataLength(): number {
    return readUlong(this.address + 8);
  }
  /** The address of the data. */
  get Data(): number {
    return this.address + KEY_VALUE_PARTIAL_INFORMATION.DataOffset;
  }
}

/** A view of a KEY_VALUE_BASIC_INFORMATION: +0 TitleIndex, +4 Type, +8 NameLength (bytes), +12 Name (UTF-16LE). */
export class KEY_VALUE_BASIC_INFORMATION {
  static readonly sizeof = 16;
  /** FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name). */
  static readonly NameOffset = 12;
  constructor(readonly address: number) {}
  get TitleIndex(): number {
    return readUlong(this.address);
  }
  get Type(): number {
    return readUlong(this.address + 4);
  }
  get NameLength(): number {
    return readUlong(this.address + 8);
  }
  /** The address of the name (not NUL-terminated). */
  get Name(): number {
    return this.address + KEY_VALUE_BASIC_INFORMATION.NameOffset;
  }
}

/**
 * A view of a KEY_VALUE_FULL_INFORMATION: +0 TitleIndex, +4 Type, +8 DataOffset, +12 DataLength, +16 NameLength,
 * +20 Name; the data at DataOffset, which on x64 is rounded up to 8 bytes (0xFFFFFFFF when there is no data).
 */
export class KEY_VALUE_FULL_INFORMATION {
  static readonly sizeof = 24;
  /** FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name). */
  static readonly NameOffset = 20;
  constructor(readonly address: number) {}
  get TitleIndex(): number {
    return readUlong(this.address);
  }
  get Type(): number {
    return readUlong(this.address + 4);
  }
  get DataOffset(): number {
    return readUlong(this.address + 8);
  }
  get DataLength(): number {
    return readUlong(this.address + 12);
  }
  get NameLength(): number {
    return readUlong(this.address + 16);
  }
  /** The address of the name (not NUL-terminated). */
  get Name(): number {
    return this.address + KEY_VALUE_FULL_INFORMATION.NameOffset;
  }
}

function readUlong(address: number): number {
  checkAccess(address, 4, false);
  return memoryView.getUint32(address - ARENA_BASE, true);
}

function writeUlong(address: number, value: number): void {
  memoryView.setUint32(address - ARENA_BASE, value >>> 0, true);
}

// ---- The tree ----------------------------------------------------------------------------------------------

/** A registry value: its name as written, its REG_* type and its bytes. */
export interface RegistryValue {
  readonly name: string;
  readonly type: number;
  readonly data: Uint8Array;
}

/** A registry key (the object a key handle refers to). */
export class RegistryKey {
  readonly subkeys = new Map<string, RegistryKey>();
  readonly values = new Map<string, RegistryValue>();
  /** Created with REG_OPTION_VOLATILE (it would not survive a reboot; its subkeys must be volatile too). */
  volatile = false;
  constructor(
    readonly name: string,
    readonly parent: RegistryKey | null,
  ) {}
  /** The key's full name, \Registry\... */
  get path(): string {
    return this.parent === null ? `\\${this.name}` : `${this.parent.path}\\${this.name}`;
  }
}

let root = new RegistryKey('Registry', null);

/** The registry path of a driver's service key, the RegistryPath its DriverEntry receives. */
export function serviceKeyPath(driverName: string): string {
  return `\\Registry\\Machine\\System\\CurrentControlSet\\Services\\${driverName}`;
}

/** Components of an absolute \Registry\... path below \Registry, or null if it is not one or has an empty part. */
function registryComponents(path: string): string[] | null {
  const parts = path.split('\\');
  if (parts[0] !== '' || parts.length < 2 || parts[1]!.toLowerCase() !== 'registry') return null;
  const rest = parts.slice(2);
  return rest.some((p) => p === '') ? null : rest;
}

function descend(from: RegistryKey, components: readonly string[], create: boolean): RegistryKey | null {
  let key = from;
  for (const part of components) {
    let next = key.subkeys.get(part.toLowerCase());
    if (next === undefined) {
      if (!create) return null;
      next = new RegistryKey(part, key);
      key.subkeys.set(part.toLowerCase(), next);
    }
    key = next;
  }
  return key;
}

/** wdknet: creates `path` (an absolute \Registry\... name) and any missing key above it; returns the key. */
export function createRegistryKey(path: string): RegistryKey {
  const components = registryComponents(path);
  if (components === null) throw new RangeError(`"${path}" is not a registry key name (\\Registry\\...)`);
  return descend(root, components, true)!;
}

/** wdknet: the key at `path`, or null if there is none. */
export function findRegistryKey(path: string): RegistryKey | null {
  const components = registryComponents(path);
  return components === null ? null : descend(root, components, false);
}

/** The JavaScript forms of value data that {@link encodeRegistryData} takes, by type. */
export type RegistryData = number | bigint | string | readonly string[] | Uint8Array;

/**
 * wdknet: the bytes a value of `type` holds for `data`: REG_DWORD a number (0 to 0xFFFFFFFF), REG_QWORD a bigint
 * or a safe integer, REG_SZ / REG_EXPAND_SZ a string, REG_MULTI_SZ an array of strings (none empty), anything
 * else a Uint8Array.
 */
export function encodeRegistryData(type: number, data: RegistryData): Uint8Array {
  switch (type) {
    case REG_DWORD:
    case REG_DWORD_BIG_ENDIAN: {
      if (typeof data !== 'number' || !Number.isInteger(data) || data < 0 || data > 0xffffffff) {
        throw new RangeError(`a REG_DWORD is an integer from 0 to 0xFFFFFFFF, not ${String(data)}`);
      }
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, data, type === REG_DWORD);
      return out;
    }
    case REG_QWORD: {
      const big =
        typeof data === 'bigint' ? data : typeof data === 'number' && Number.isSafeInteger(data) ? BigInt(data) : -1n;
      if (big < 0n || big > 0xffffffffffffffffn)
        throw new RangeError(`a REG_QWORD is an unsigned 64-bit integer, not ${String(data)}`);
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, big, true);
      return out;
    }
    case REG_SZ:
    case REG_EXPAND_SZ:
    case REG_LINK:
      if (typeof data !== 'string') throw new TypeError('a string value needs a string');
      return utf16(`${data}\0`);
    case REG_MULTI_SZ:
      if (!Array.isArray(data) || data.some((s) => typeof s !== 'string' || s === '' || s.includes('\0'))) {
        throw new TypeError('a REG_MULTI_SZ value is an array of non-empty strings');
      }
      return utf16(`${(data as string[]).map((s) => `${s}\0`).join('')}\0`);
    default:
      if (!(data instanceof Uint8Array)) throw new TypeError(`a value of type ${type} needs a Uint8Array`);
      return data.slice();
  }
}

function utf16(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >>> 8;
  }
  return out;
}

/** Decodes UTF-16LE bytes (an odd last byte is dropped). */
export function decodeUtf16(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
  return s;
}

/** wdknet: writes a value (creating the key and its parents), as ZwSetValueKey would. */
export function setRegistryValue(keyPath: string, valueName: string, type: number, data: RegistryData): void {
  const key = createRegistryKey(keyPath);
  key.values.set(valueName.toLowerCase(), { name: valueName, type, data: encodeRegistryData(type, data) });
}

/** wdknet: the value `valueName` of the key at `keyPath`, or null. */
export function getRegistryValue(keyPath: string, valueName: string): RegistryValue | null {
  return findRegistryKey(keyPath)?.values.get(valueName.toLowerCase()) ?? null;
}

/** Empties the registry back to the bare machine (part of resetSystem). */
export function resetRegistry(): void {
  root = new RegistryKey('Registry', null);
  for (const path of [
    '\\Registry\\Machine\\System\\CurrentControlSet\\Services',
    '\\Registry\\Machine\\System\\CurrentControlSet\\Control',
    '\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion',
    '\\Registry\\Machine\\Hardware\\DeviceMap',
    '\\Registry\\User\\.Default',
  ]) {
    createRegistryKey(path);
  }
}
resetRegistry();

// ---- ZwOpenKey ----------------------------------------------------------------------------------------------

/** Generic rights as the key object type maps them. */
function mapKeyAccess(desired: number): number {
  let access = desired >>> 0;
  if (access & GENERIC_READ) access |= KEY_READ;
  if (access & GENERIC_WRITE) access |= KEY_WRITE;
  if (access & GENERIC_EXECUTE) access |= KEY_EXECUTE;
  if (access & (GENERIC_ALL | MAXIMUM_ALLOWED)) access |= KEY_ALL_ACCESS;
  return access & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
}

const KEY_TYPE = 'Key';

/** Where an OBJECT_ATTRIBUTES points: the key the name starts from, the name's components below it, and the
 * root handle's access when the name is relative. */
interface KeyName {
  readonly start: RegistryKey;
  readonly parts: readonly string[];
  readonly rootAccess: number | null;
}

/** Parses an OBJECT_ATTRIBUTES naming a key, or returns the status the object manager would give. */
function parseKeyName(ObjectAttributes: OBJECT_ATTRIBUTES | null): KeyName | number {
  // Decided: a NULL OBJECT_ATTRIBUTES from a kernel caller is reported as an invalid parameter (Windows would
  // fault on it).
  if (ObjectAttributes === null || ObjectAttributes.Length !== SIZEOF_OBJECT_ATTRIBUTES)
    return STATUS_INVALID_PARAMETER;
  if ((ObjectAttributes.Attributes & ~OBJ_VALID_ATTRIBUTES) !== 0) return STATUS_INVALID_PARAMETER;
  const name = ObjectAttributes.ObjectName === null ? '' : unicodeStringValue(ObjectAttributes.ObjectName);
  if (name === null) return STATUS_OBJECT_NAME_INVALID;
  const rootHandle = ObjectAttributes.RootDirectory;
  if (rootHandle !== null && rootHandle !== 0) {
    const entry = lookupHandle(rootHandle, KEY_TYPE);
    if (entry === undefined) return STATUS_INVALID_HANDLE;
    // A relative name never starts at the root; an empty one names the key itself.
    if (name.startsWith('\\')) return STATUS_OBJECT_PATH_SYNTAX_BAD;
    const parts = name === '' ? [] : name.split('\\');
    if (parts.some((p) => p === '')) return STATUS_OBJECT_NAME_INVALID;
    return { start: entry.object as RegistryKey, parts, rootAccess: entry.access };
  }
  if (name === '') return STATUS_OBJECT_NAME_INVALID;
  if (!name.startsWith('\\')) return STATUS_OBJECT_PATH_SYNTAX_BAD;
  const parts = name.split('\\');
  if (parts.slice(1).some((p) => p === '')) return STATUS_OBJECT_NAME_INVALID;
  if (parts[1]!.toLowerCase() !== 'registry') {
    // Outside the registry: a name the object manager's root directory does not hold (decided: wdknet has no
    // other object directories a key could be opened in).
    return parts.length === 2 ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_OBJECT_PATH_NOT_FOUND;
  }
  return { start: root, parts: parts.slice(2), rootAccess: null };
}

/** Resolves an OBJECT_ATTRIBUTES to an existing key, or the status the object manager would give. */
function resolveKey(ObjectAttributes: OBJECT_ATTRIBUTES | null): RegistryKey | number {
  const name = parseKeyName(ObjectAttributes);
  if (typeof name === 'number') return name;
  return descend(name.start, name.parts, false) ?? STATUS_OBJECT_NAME_NOT_FOUND;
}

/**
 * ZwOpenKey: opens an existing key named by `ObjectAttributes` (absolute, or relative to its RootDirectory, a
 * key handle) and returns a kernel handle in `KeyHandle.value`. A key that does not exist gives
 * STATUS_OBJECT_NAME_NOT_FOUND and no handle; a RootDirectory that is not an open key handle gives
 * STATUS_INVALID_HANDLE; a name that is not absolute without a root, or absolute with one, gives
 * STATUS_OBJECT_PATH_SYNTAX_BAD; a malformed name (odd Length, an empty component) gives
 * STATUS_OBJECT_NAME_INVALID; an OBJECT_ATTRIBUTES whose Length is not sizeof(OBJECT_ATTRIBUTES) or whose
 * Attributes has unknown bits gives STATUS_INVALID_PARAMETER. The handle carries the access asked for (generic
 * rights mapped to key rights): ZwQueryValueKey needs KEY_QUERY_VALUE. IRQL PASSIVE_LEVEL.
 */
export function ZwOpenKey(
  KeyHandle: { value: HANDLE },
  DesiredAccess: number,
  ObjectAttributes: OBJECT_ATTRIBUTES | null,
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'ZwOpenKey', DdiRule.IrqlZwPassive);
  const key = resolveKey(ObjectAttributes);
  if (typeof key === 'number') return key;
  KeyHandle.value = createHandle(KEY_TYPE, key, mapKeyAccess(DesiredAccess), key.path);
  return STATUS_SUCCESS;
}

export const REG_OPTION_NON_VOLATILE = 0x00000000;
export const REG_OPTION_VOLATILE = 0x00000001;
export const REG_OPTION_CREATE_LINK = 0x00000002;
export const REG_OPTION_BACKUP_RESTORE = 0x00000004;
export const REG_OPTION_OPEN_LINK = 0x00000008;
export const REG_CREATED_NEW_KEY = 0x00000001;
export const REG_OPENED_EXISTING_KEY = 0x00000002;

const KNOWN_CREATE_OPTIONS =
  REG_OPTION_VOLATILE | REG_OPTION_CREATE_LINK | REG_OPTION_BACKUP_RESTORE | REG_OPTION_OPEN_LINK;

/**
 * ZwCreateKey: opens the key `ObjectAttributes` names, creating it if it does not exist. A new key must be a
 * direct subkey of an existing key (else STATUS_OBJECT_NAME_NOT_FOUND), and when the name is relative the
 * RootDirectory handle must have KEY_CREATE_SUB_KEY access (else STATUS_ACCESS_DENIED). An existing key is opened
 * and left as it is. `Disposition.value` (optional) receives REG_CREATED_NEW_KEY or REG_OPENED_EXISTING_KEY. A
 * volatile parent cannot have a non-volatile child (STATUS_CHILD_MUST_BE_VOLATILE); unknown CreateOptions bits
 * are STATUS_INVALID_PARAMETER. Name checks and statuses otherwise as ZwOpenKey. `Class` is kept by nothing here.
 * Volatility has no effect beyond that rule: the simulated machine never reboots. IRQL PASSIVE_LEVEL.
 */
export function ZwCreateKey(
  KeyHandle: { value: HANDLE },
  DesiredAccess: number,
  ObjectAttributes: OBJECT_ATTRIBUTES | null,
  TitleIndex: number,
  Class: UNICODE_STRING | null,
  CreateOptions: number,
  Disposition: { value: number } | null,
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'ZwCreateKey', DdiRule.IrqlZwPassive);
  void TitleIndex;
  void Class;
  if ((CreateOptions & ~KNOWN_CREATE_OPTIONS) !== 0) return STATUS_INVALID_PARAMETER;
  const name = parseKeyName(ObjectAttributes);
  if (typeof name === 'number') return name;
  let key = descend(name.start, name.parts, false);
  let disposition = REG_OPENED_EXISTING_KEY;
  if (key === null) {
    const parent = descend(name.start, name.parts.slice(0, -1), false);
    if (parent === null) return STATUS_OBJECT_NAME_NOT_FOUND;
    if (name.rootAccess !== null && (name.rootAccess & KEY_CREATE_SUB_KEY) === 0) return STATUS_ACCESS_DENIED;
    const volatile = (CreateOptions & REG_OPTION_VOLATILE) !== 0;
    if (parent.volatile && !volatile) return STATUS_CHILD_MUST_BE_VOLATILE;
    const last = name.parts[name.parts.length - 1]!;
    key = new RegistryKey(last, parent);
    key.volatile = volatile;
    parent.subkeys.set(last.toLowerCase(), key);
    disposition = REG_CREATED_NEW_KEY;
  }
  KeyHandle.value = createHandle(KEY_TYPE, key, mapKeyAccess(DesiredAccess), key.path);
  if (Disposition !== null) Disposition.value = disposition;
  return STATUS_SUCCESS;
}

/**
 * ZwSetValueKey: creates or replaces the value `ValueName` (NULL: the key's unnamed value) of the key
 * `KeyHandle`, with `DataSize` bytes read from `Data` as type `Type` (for the REG_*_SZ types DataSize counts the
 * terminating zeros). The handle must have been opened with KEY_SET_VALUE (else STATUS_ACCESS_DENIED); a handle
 * that is not an open key handle gives STATUS_INVALID_HANDLE. IRQL PASSIVE_LEVEL.
 */
export function ZwSetValueKey(
  KeyHandle: HANDLE,
  ValueName: UNICODE_STRING | null,
  TitleIndex: number,
  Type: number,
  Data: number,
  DataSize: number,
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'ZwSetValueKey', DdiRule.IrqlZwPassive);
  void TitleIndex;
  const entry = lookupHandle(KeyHandle, KEY_TYPE);
  if (entry === undefined) return STATUS_INVALID_HANDLE;
  if ((entry.access & KEY_SET_VALUE) === 0) return STATUS_ACCESS_DENIED;
  const name = ValueName === null ? '' : unicodeStringValue(ValueName);
  if (name === null || !Number.isInteger(DataSize) || DataSize < 0) return STATUS_INVALID_PARAMETER;
  let data = new Uint8Array(0);
  if (DataSize > 0) {
    checkAccess(Data, DataSize, false);
    data = memory.slice(Data - ARENA_BASE, Data - ARENA_BASE + DataSize);
  }
  (entry.object as RegistryKey).values.set(name.toLowerCase(), { name, type: Type >>> 0, data });
  return STATUS_SUCCESS;
}

// ---- ZwQueryValueKey ----------------------------------------------------------------------------------------

/**
 * ZwQueryValueKey: reads the value `ValueName` of the key `KeyHandle` into the caller's buffer at
 * `KeyValueInformation` (`Length` bytes) in the layout of `KeyValueInformationClass`
 * (KeyValueBasicInformation, KeyValueFullInformation[Align64], KeyValuePartialInformation[Align64]).
 * `ResultLength.value` receives the size of the whole information: what was written on STATUS_SUCCESS, what is
 * needed on STATUS_BUFFER_OVERFLOW (the fixed part and as much of the rest as fitted were written) and
 * STATUS_BUFFER_TOO_SMALL (the fixed part did not fit: nothing was written). A missing value gives
 * STATUS_OBJECT_NAME_NOT_FOUND; a handle that is not an open key handle STATUS_INVALID_HANDLE; one opened without
 * KEY_QUERY_VALUE STATUS_ACCESS_DENIED; an unknown information class STATUS_INVALID_PARAMETER. IRQL PASSIVE_LEVEL.
 */
export function ZwQueryValueKey(
  KeyHandle: HANDLE,
  ValueName: UNICODE_STRING | null,
  KeyValueInformationClass: number,
  KeyValueInformation: number,
  Length: number,
  ResultLength: { value: number },
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'ZwQueryValueKey', DdiRule.IrqlZwPassive);
  // An unknown class is refused before the handle is even looked at, as NtQueryValueKey does.
  if (!Number.isInteger(KeyValueInformationClass) || KeyValueInformationClass < 0 || KeyValueInformationClass > 4) {
    return STATUS_INVALID_PARAMETER;
  }
  const entry = lookupHandle(KeyHandle, KEY_TYPE);
  if (entry === undefined) return STATUS_INVALID_HANDLE;
  if ((entry.access & KEY_QUERY_VALUE) === 0) return STATUS_ACCESS_DENIED;
  // Decided: a NULL or malformed ValueName is an invalid parameter (Windows would fault on NULL).
  const name = ValueName === null ? null : unicodeStringValue(ValueName);
  if (name === null) return STATUS_INVALID_PARAMETER;
  const value = (entry.object as RegistryKey).values.get(name.toLowerCase());
  if (value === undefined) return STATUS_OBJECT_NAME_NOT_FOUND;
  return writeValueInformation(value, KeyValueInformationClass, KeyValueInformation, Length >>> 0, ResultLength);
}

/** Writes `bytes` at `address` + `offset`, at most `room` of them; returns how many did not fit. */
function writeSome(address: number, offset: number, bytes: Uint8Array, room: number): number {
  const n = Math.max(0, Math.min(bytes.length, room - offset));
  if (n > 0) {
    checkAccess(address + offset, n, true);
    memory.set(n === bytes.length ? bytes : bytes.subarray(0, n), address + offset - ARENA_BASE);
  }
  return bytes.length - n;
}

function writeValueInformation(
  value: RegistryValue,
  infoClass: number,
  buffer: number,
  length: number,
  resultLength: { value: number },
): number {
  const name = utf16(value.name);
  const data = value.data;
  let fixed: number;
  let required: number;
  switch (infoClass) {
    case KeyValueBasicInformation:
      fixed = KEY_VALUE_BASIC_INFORMATION.NameOffset;
      required = fixed + name.length;
      break;
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64:
      fixed = KEY_VALUE_FULL_INFORMATION.NameOffset;
      // On x64 both classes put the data at an 8-byte boundary after the name.
      required = data.length > 0 ? align8(fixed + name.length) + data.length : fixed + name.length;
      break;
    case KeyValuePartialInformation:
      fixed = KEY_VALUE_PARTIAL_INFORMATION.DataOffset;
      required = fixed + data.length;
      break;
    case KeyValuePartialInformationAlign64:
      fixed = 8;
      required = fixed + data.length;
      break;
    default:
      return STATUS_INVALID_PARAMETER;
  }
  resultLength.value = required;
  if (length < fixed) return STATUS_BUFFER_TOO_SMALL;
  checkAccess(buffer, fixed, true);
  let short = 0;
  switch (infoClass) {
    case KeyValueBasicInformation:
      writeUlong(buffer, 0);
      writeUlong(buffer + 4, value.type);
      writeUlong(buffer + 8, name.length);
      short = writeSome(buffer, fixed, name, length);
      break;
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64: {
      const dataOffset = data.length > 0 ? align8(fixed + name.length) : 0xffffffff;
      writeUlong(buffer, 0);
      writeUlong(buffer + 4, value.type);
      writeUlong(buffer + 8, dataOffset);
      writeUlong(buffer + 12, data.length);
      writeUlong(buffer + 16, name.length);
      short = writeSome(buffer, fixed, name, length);
      if (data.length > 0) short += writeSome(buffer, dataOffset, data, length);
      break;
    }
    case KeyValuePartialInformation:
      writeUlong(buffer, 0);
      writeUlong(buffer + 4, value.type);
      writeUlong(buffer + 8, data.length);
      short = writeSome(buffer, fixed, data, length);
      break;
    default:
      writeUlong(buffer, value.type);
      writeUlong(buffer + 4, data.length);
      short = writeSome(buffer, fixed, data, length);
  }
  return short > 0 ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

// ---- RtlQueryRegistryValues ----------------------------------------------------------------------------------

export const RTL_REGISTRY_ABSOLUTE = 0;
export const RTL_REGISTRY_SERVICES = 1;
export const RTL_REGISTRY_CONTROL = 2;
export const RTL_REGISTRY_WINDOWS_NT = 3;
export const RTL_REGISTRY_DEVICEMAP = 4;
export const RTL_REGISTRY_USER = 5;
export const RTL_REGISTRY_MAXIMUM = 6;
export const RTL_REGISTRY_HANDLE = 0x40000000;
export const RTL_REGISTRY_OPTIONAL = 0x80000000;

export const RTL_QUERY_REGISTRY_SUBKEY = 0x00000001;
export const RTL_QUERY_REGISTRY_TOPKEY = 0x00000002;
export const RTL_QUERY_REGISTRY_REQUIRED = 0x00000004;
export const RTL_QUERY_REGISTRY_NOVALUE = 0x00000008;
export const RTL_QUERY_REGISTRY_NOEXPAND = 0x00000010;
export const RTL_QUERY_REGISTRY_DIRECT = 0x00000020;
export const RTL_QUERY_REGISTRY_DELETE = 0x00000040;
export const RTL_QUERY_REGISTRY_TYPECHECK = 0x00000100;
export const RTL_QUERY_REGISTRY_TYPECHECK_SHIFT = 24;

const ENTRY_FLAGS_NOT_END = RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_TOPKEY | RTL_QUERY_REGISTRY_DIRECT;

const RELATIVE_ROOTS = [
  '',
  '\\Registry\\Machine\\System\\CurrentControlSet\\Services',
  '\\Registry\\Machine\\System\\CurrentControlSet\\Control',
  '\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion',
  '\\Registry\\Machine\\Hardware\\DeviceMap',
  // Decided: the current user of a system thread is the default user, as the documentation says.
  '\\Registry\\User\\.Default',
];

/**
 * QueryRoutine: called with a value's name, type, data (an address of a temporary copy, valid for the call) and
 * length, and the Context and EntryContext of the call and its table entry. A failing status stops the query
 * (STATUS_BUFFER_TOO_SMALL excepted).
 */
export type RTL_QUERY_REGISTRY_ROUTINE = (
  ValueName: string,
  ValueType: number,
  ValueData: number,
  ValueLength: number,
  Context: unknown,
  EntryContext: unknown,
) => number;

/**
 * One entry of an RtlQueryRegistryValues table. With RTL_QUERY_REGISTRY_DIRECT, EntryContext is where the value
 * goes: a UNICODE_STRING for REG_SZ / REG_EXPAND_SZ / REG_MULTI_SZ; for other data, the address of a buffer in
 * simulated memory (read as the documentation describes: up to four bytes stored there; more, and the buffer
 * starts with a LONG giving its size), or a `{ value }` box standing for a ULONG variable (up to four bytes,
 * little-endian). DefaultData is the address of the default's bytes, or for the string types a string.
 */
export class RTL_QUERY_REGISTRY_TABLE {
  QueryRoutine: RTL_QUERY_REGISTRY_ROUTINE | null = null;
  Flags = 0;
  Name: string | null = null;
  EntryContext: unknown = null;
  DefaultType = REG_NONE;
  DefaultData: number | string | null = null;
  DefaultLength = 0;
  constructor(init: Partial<RTL_QUERY_REGISTRY_TABLE> = {}) {
    Object.assign(this, init);
  }
}

/** The tag of the temporary copies RtlQueryRegistryValues hands to query routines (decided here). */
const TAG_QUERY = poolTag('RtlQ');

/**
 * RtlQueryRegistryValues: reads several values of one key (and its subkeys) with one call, through a table
 * ended by an entry with a NULL QueryRoutine and a NULL Name. `Path` is a registry path (absolute or relative to
 * `RelativeTo`'s root) or, with RTL_REGISTRY_HANDLE, an open key handle. Statuses as documented:
 * STATUS_SUCCESS; STATUS_INVALID_PARAMETER for an entry whose flags need a QueryRoutine or a Name it lacks;
 * STATUS_OBJECT_NAME_NOT_FOUND when Path is no key or a RTL_QUERY_REGISTRY_REQUIRED value or subkey is missing;
 * STATUS_BUFFER_TOO_SMALL when a RTL_QUERY_REGISTRY_DIRECT buffer is too small; STATUS_OBJECT_TYPE_MISMATCH when
 * RTL_QUERY_REGISTRY_TYPECHECK finds another type than the one in DefaultType's top byte; a query routine's
 * failing status. IRQL PASSIVE_LEVEL. `Environment` is not used: REG_EXPAND_SZ values are not expanded (kernel
 * drivers pass RTL_QUERY_REGISTRY_NOEXPAND, as the documentation tells them to).
 */
export function RtlQueryRegistryValues(
  RelativeTo: number,
  Path: string | HANDLE,
  QueryTable: readonly RTL_QUERY_REGISTRY_TABLE[],
  Context: unknown,
  Environment: unknown,
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'RtlQueryRegistryValues', DdiRule.IrqlDocumentedLimit);
  void Environment;
  const relativeTo = RelativeTo >>> 0;
  const optional = (relativeTo & RTL_REGISTRY_OPTIONAL) !== 0;
  let top: RegistryKey | null;
  if ((relativeTo & RTL_REGISTRY_HANDLE) !== 0) {
    const entry = typeof Path === 'number' ? lookupHandle(Path, KEY_TYPE) : undefined;
    if (entry === undefined) return STATUS_INVALID_HANDLE;
    top = entry.object as RegistryKey;
  } else {
    const base = relativeTo & ~RTL_REGISTRY_OPTIONAL;
    if (base >= RTL_REGISTRY_MAXIMUM || typeof Path !== 'string') return STATUS_INVALID_PARAMETER;
    const full =
      base === RTL_REGISTRY_ABSOLUTE ? Path : `${RELATIVE_ROOTS[base]}${Path.startsWith('\\') ? '' : '\\'}${Path}`;
    top = findRegistryKey(full);
    if (top === null) return optional ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
  }
  let current: RegistryKey | null = top;
  for (let i = 0; ; i++) {
    const entry = QueryTable[i];
    // Decided: a table without its NULL entry would be read past its end in C; here it is an invalid parameter.
    if (entry === undefined) return STATUS_INVALID_PARAMETER;
    // The NULL entry ends the table; an entry whose flags need a Name (SUBKEY, DIRECT) or act alone (TOPKEY) is
    // not the end even with both NULL, and is checked below.
    if (entry.QueryRoutine === null && entry.Name === null && (entry.Flags & ENTRY_FLAGS_NOT_END) === 0) break;
    const flags = entry.Flags;
    if ((flags & RTL_QUERY_REGISTRY_TOPKEY) !== 0) {
      current = top;
      if (entry.QueryRoutine === null && entry.Name === null) continue;
    }
    if ((flags & RTL_QUERY_REGISTRY_SUBKEY) !== 0) {
      if (entry.Name === null) return STATUS_INVALID_PARAMETER;
      const parts = entry.Name.split('\\');
      current = parts.some((p) => p === '') ? null : descend(top, parts, false);
      if (current === null && (flags & RTL_QUERY_REGISTRY_REQUIRED) !== 0) return STATUS_OBJECT_NAME_NOT_FOUND;
      if (entry.QueryRoutine === null) continue;
      // A SUBKEY entry with a routine reports every value of the subkey.
      const status = current === null ? STATUS_SUCCESS : queryAllValues(current, entry, Context);
      if (!NT_SUCCESS(status)) return status;
      continue;
    }
    const direct = (flags & RTL_QUERY_REGISTRY_DIRECT) !== 0;
    if (direct ? entry.Name === null : entry.QueryRoutine === null) return STATUS_INVALID_PARAMETER;
    let status: number;
    if (entry.Name === null) {
      if ((flags & RTL_QUERY_REGISTRY_NOVALUE) !== 0)
        status = entry.QueryRoutine!('', REG_NONE, 0, 0, Context, entry.EntryContext);
      else if (current === null || current.values.size === 0) {
        status = (flags & RTL_QUERY_REGISTRY_REQUIRED) !== 0 ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_SUCCESS;
      } else status = queryAllValues(current, entry, Context);
    } else {
      const value = current?.values.get(entry.Name.toLowerCase());
      if (value !== undefined) {
        status = queryValue(value, entry, Context);
        if (NT_SUCCESS(status) && (flags & RTL_QUERY_REGISTRY_DELETE) !== 0)
          current!.values.delete(value.name.toLowerCase());
      } else if ((flags & RTL_QUERY_REGISTRY_REQUIRED) !== 0) status = STATUS_OBJECT_NAME_NOT_FOUND;
      else if ((entry.DefaultType & 0xff) === REG_NONE) status = STATUS_SUCCESS;
      else {
        const fallback = defaultValue(entry);
        status = typeof fallback === 'number' ? fallback : queryValue(fallback, entry, Context, true);
      }
    }
    if (!NT_SUCCESS(status) && !(status === STATUS_BUFFER_TOO_SMALL && !direct)) return status;
  }
  return STATUS_SUCCESS;
}

function queryAllValues(key: RegistryKey, entry: RTL_QUERY_REGISTRY_TABLE, context: unknown): number {
  for (const value of [...key.values.values()]) {
    const status = queryValue(value, entry, context);
    if (!NT_SUCCESS(status) && status !== STATUS_BUFFER_TOO_SMALL) return status;
    if ((entry.Flags & RTL_QUERY_REGISTRY_DELETE) !== 0) key.values.delete(value.name.toLowerCase());
  }
  return STATUS_SUCCESS;
}

/** The table entry's default as a value, or a status if it is malformed. */
function defaultValue(entry: RTL_QUERY_REGISTRY_TABLE): RegistryValue | number {
  const type = entry.DefaultType & 0xff;
  const d = entry.DefaultData;
  if (typeof d === 'string') {
    if (type !== REG_SZ && type !== REG_EXPAND_SZ && type !== REG_MULTI_SZ) return STATUS_INVALID_PARAMETER;
    // DefaultLength 0 means: the string's own length (with its NUL; for REG_MULTI_SZ, up to the empty string).
    const text = entry.DefaultLength > 0 ? d.slice(0, entry.DefaultLength / 2) : `${d}\0`;
    return { name: entry.Name ?? '', type, data: utf16(text) };
  }
  if (typeof d !== 'number' || d === 0) return STATUS_INVALID_PARAMETER;
  checkAccess(d, entry.DefaultLength, false);
  return { name: entry.Name ?? '', type, data: memory.slice(d - ARENA_BASE, d - ARENA_BASE + entry.DefaultLength) };
}

function isStringType(type: number): boolean {
  return type === REG_SZ || type === REG_EXPAND_SZ || type === REG_MULTI_SZ;
}

function queryValue(
  value: RegistryValue,
  entry: RTL_QUERY_REGISTRY_TABLE,
  context: unknown,
  isDefault = false,
): number {
  const flags = entry.Flags;
  if ((flags & RTL_QUERY_REGISTRY_DIRECT) !== 0) {
    // The type check applies to the stored value; a default is the caller's own and is not checked.
    if ((flags & RTL_QUERY_REGISTRY_TYPECHECK) !== 0 && !isDefault) {
      const expected = (entry.DefaultType >>> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) & 0xff;
      if (expected !== value.type) return STATUS_OBJECT_TYPE_MISMATCH;
    }
    return storeDirect(value, entry);
  }
  const routine = entry.QueryRoutine!;
  if (value.type === REG_MULTI_SZ && (flags & RTL_QUERY_REGISTRY_NOEXPAND) === 0) {
    // Each string of a REG_MULTI_SZ is reported as a REG_SZ of the same name.
    const strings = decodeUtf16(value.data).split('\0');
    for (const s of strings) {
      if (s === '') break;
      const status = callRoutine(routine, value.name, REG_SZ, utf16(`${s}\0`), context, entry.EntryContext);
      if (!NT_SUCCESS(status)) return status;
    }
    return STATUS_SUCCESS;
  }
  return callRoutine(routine, value.name, value.type, value.data, context, entry.EntryContext);
}

function callRoutine(
  routine: RTL_QUERY_REGISTRY_ROUTINE,
  name: string,
  type: number,
  data: Uint8Array,
  context: unknown,
  entryContext: unknown,
): number {
  if (data.length === 0) return routine(name, type, 0, 0, context, entryContext);
  const copy = ExAllocatePoolWithTag(PagedPool, data.length, TAG_QUERY);
  if (copy === 0) return STATUS_INSUFFICIENT_RESOURCES;
  memory.set(data, copy - ARENA_BASE);
  try {
    return routine(name, type, copy, data.length, context, entryContext);
  } finally {
    ExFreePoolWithTag(copy, TAG_QUERY);
  }
}

function isUlongBox(x: unknown): x is { value: number } {
  return typeof x === 'object' && x !== null && !(x instanceof UNICODE_STRING) && 'value' in x;
}

function storeDirect(value: RegistryValue, entry: RTL_QUERY_REGISTRY_TABLE): number {
  const target = entry.EntryContext;
  const data = value.data;
  if (isStringType(value.type)) {
    if (value.type === REG_MULTI_SZ && (entry.Flags & RTL_QUERY_REGISTRY_NOEXPAND) === 0)
      return STATUS_INVALID_PARAMETER;
    // Decided: a string value meeting an EntryContext that is no UNICODE_STRING (DIRECT without TYPECHECK, the
    // overflow the documentation warns of) is refused as an invalid parameter instead of corrupting memory.
    if (!(target instanceof UNICODE_STRING)) return STATUS_INVALID_PARAMETER;
    let text = decodeUtf16(data);
    // The string without its terminating NUL (a REG_MULTI_SZ keeps the NULs between its strings).
    if (text.endsWith('\0')) text = text.slice(0, -1);
    const bytes = text.length * 2;
    if (target.Buffer === null) {
      target.MaximumLength = bytes + 2;
    } else if (bytes + 2 > target.MaximumLength) return STATUS_BUFFER_TOO_SMALL;
    target.Buffer = text;
    target.Length = bytes;
    return STATUS_SUCCESS;
  }
  if (isUlongBox(target)) {
    // A ULONG variable: up to four bytes, the rest of the variable as it was.
    if (data.length > 4) return STATUS_BUFFER_TOO_SMALL;
    const word = new DataView(new ArrayBuffer(4));
    word.setUint32(0, (target.value ?? 0) >>> 0, true);
    for (let i = 0; i < data.length; i++) word.setUint8(i, data[i]!);
    target.value = word.getUint32(0, true);
    return STATUS_SUCCESS;
  }
  // Decided, as above: nonstring data needs an address or a ULONG box.
  if (typeof target !== 'number' || target === 0) return STATUS_INVALID_PARAMETER;
  if (data.length <= 4) {
    checkAccess(target, data.length, true);
    memory.set(data, target - ARENA_BASE);
    return STATUS_SUCCESS;
  }
  checkAccess(target, 4, false);
  const size = memoryView.getInt32(target - ARENA_BASE, true);
  if (size < 0) {
    if (data.length > -size) return STATUS_BUFFER_TOO_SMALL;
    checkAccess(target, data.length, true);
    memory.set(data, target - ARENA_BASE);
    return STATUS_SUCCESS;
  }
  if (data.length + 8 > size) return STATUS_BUFFER_TOO_SMALL;
  checkAccess(target, data.length + 8, true);
  writeUlong(target, data.length);
  writeUlong(target + 4, value.type);
  memory.set(data, target + 8 - ARENA_BASE);
  return STATUS_SUCCESS;
}
