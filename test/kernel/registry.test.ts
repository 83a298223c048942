/**
 * The registry DDIs against their documentation pages (learn.microsoft.com, wdm.h): ZwOpenKey, ZwQueryValueKey,
 * ZwClose, RtlQueryRegistryValues, KEY_VALUE_PARTIAL_INFORMATION, RtlInitUnicodeString / UNICODE_STRING and
 * InitializeObjectAttributes. Each test names the page whose sentence it checks.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  atIrql,
  bytesAt,
  collectLeaks,
  createRegistryKey,
  DISPATCH_LEVEL,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  ExFreePoolWithTag,
  findRegistryKey,
  INVALID_KERNEL_HANDLE,
  InitializeObjectAttributes,
  KEY_ALL_ACCESS,
  KEY_QUERY_VALUE,
  KEY_READ,
  KEY_SET_VALUE,
  KEY_VALUE_BASIC_INFORMATION,
  KEY_VALUE_FULL_INFORMATION,
  KEY_VALUE_PARTIAL_INFORMATION,
  KeyValueBasicInformation,
  KeyValueFullInformation,
  KeyValuePartialInformation,
  KeyValuePartialInformationAlign64,
  loadDriver,
  NT_SUCCESS,
  OBJ_CASE_INSENSITIVE,
  OBJ_KERNEL_HANDLE,
  OBJECT_ATTRIBUTES,
  openHandles,
  PagedPool,
  poolTag,
  REG_BINARY,
  REG_CREATED_NEW_KEY,
  REG_DWORD,
  REG_MULTI_SZ,
  REG_NONE,
  REG_OPENED_EXISTING_KEY,
  REG_OPTION_NON_VOLATILE,
  REG_OPTION_VOLATILE,
  REG_QWORD,
  REG_SZ,
  RTL_CONSTANT_STRING,
  RTL_QUERY_REGISTRY_DELETE,
  RTL_QUERY_REGISTRY_DIRECT,
  RTL_QUERY_REGISTRY_NOEXPAND,
  RTL_QUERY_REGISTRY_REQUIRED,
  RTL_QUERY_REGISTRY_SUBKEY,
  RTL_QUERY_REGISTRY_TABLE,
  RTL_QUERY_REGISTRY_TYPECHECK,
  RTL_QUERY_REGISTRY_TYPECHECK_SHIFT,
  RTL_REGISTRY_ABSOLUTE,
  RTL_REGISTRY_HANDLE,
  RTL_REGISTRY_OPTIONAL,
  RTL_REGISTRY_SERVICES,
  RtlInitUnicodeString,
  RtlQueryRegistryValues,
  resetSystem,
  STATUS_ACCESS_DENIED,
  STATUS_BUFFER_OVERFLOW,
  STATUS_BUFFER_TOO_SMALL,
  STATUS_CHILD_MUST_BE_VOLATILE,
  STATUS_INVALID_HANDLE,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_INVALID,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_OBJECT_PATH_SYNTAX_BAD,
  STATUS_OBJECT_TYPE_MISMATCH,
  STATUS_SUCCESS,
  serviceKeyPath,
  setRegistryValue,
  UNICODE_STRING,
  ZwClose,
  ZwCreateKey,
  ZwOpenKey,
  ZwQueryValueKey,
  ZwSetValueKey,
} from '../../src/kernel/index.js';
import { assertBugCheck } from '../helpers.js';

const PARAMS = `${serviceKeyPath('demo')}\\Parameters`;
const TAG = poolTag('tseT');

function attributes(name: string | null, root: number | null = null): OBJECT_ATTRIBUTES {
  const oa = new OBJECT_ATTRIBUTES();
  const s = name === null ? null : new UNICODE_STRING();
  if (s !== null) RtlInitUnicodeString(s, name);
  InitializeObjectAttributes(oa, s, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, null);
  return oa;
}

function open(name: string, access = KEY_READ, root: number | null = null): { status: number; handle: number } {
  const box = { value: 0 };
  const status = ZwOpenKey(box, access, attributes(name, root));
  return { status, handle: box.value };
}

function buffer(size: number): number {
  const p = ExAllocatePoolWithTag(PagedPool, Math.max(size, 1), TAG);
  bytesAt(p, Math.max(size, 1)).fill(0xcc);
  return p;
}

describe('registry: ZwOpenKey (wdm.h)', () => {
  beforeEach(() => {
    resetSystem();
    setRegistryValue(PARAMS, 'Port', REG_DWORD, 53);
  });

  it('ZwOpenKey: "returns STATUS_SUCCESS if the given key was opened", with a kernel handle the caller must ZwClose', () => {
    const { status, handle } = open(PARAMS);
    assert.equal(status, STATUS_SUCCESS);
    assert.equal(handle % 4, 0);
    assert.ok(handle >= 0x80000000, 'a kernel handle (OBJ_KERNEL_HANDLE bit)');
    assert.equal(ZwClose(handle), STATUS_SUCCESS);
    assert.deepEqual(collectLeaks(), []);
  });

  it('ZwOpenKey: "If the specified key does not exist, ZwOpenKey returns an error status and does not return a key handle"', () => {
    const box = { value: 0x1234 };
    assert.equal(ZwOpenKey(box, KEY_READ, attributes(`${PARAMS}\\Missing`)), STATUS_OBJECT_NAME_NOT_FOUND);
    assert.equal(box.value, 0x1234, 'KeyHandle untouched');
    assert.equal(open('\\Registry\\Machine\\Nowhere\\At\\All').status, STATUS_OBJECT_NAME_NOT_FOUND);
    assert.equal(openHandles().length, 0);
  });

  it('ZwOpenKey: STATUS_INVALID_HANDLE for a RootDirectory that is not an open key handle', () => {
    assert.equal(open('Parameters', KEY_READ, 0x80000040).status, STATUS_INVALID_HANDLE);
    const service = open(serviceKeyPath('demo'));
    assert.equal(ZwClose(service.handle), STATUS_SUCCESS);
    assert.equal(open('Parameters', KEY_READ, service.handle).status, STATUS_INVALID_HANDLE, 'closed handle');
  });

  it('ZwOpenKey / OBJECT_ATTRIBUTES: a name relative to RootDirectory; an empty name opens the root key again', () => {
    const service = open(serviceKeyPath('demo'));
    const params = open('parameters', KEY_READ, service.handle);
    assert.equal(params.status, STATUS_SUCCESS);
    const again = open('', KEY_READ, params.handle);
    assert.equal(again.status, STATUS_SUCCESS);
    assert.notEqual(again.handle, params.handle);
    for (const h of [service.handle, params.handle, again.handle]) assert.equal(ZwClose(h), STATUS_SUCCESS);
  });

  it('ZwOpenKey / OBJECT_ATTRIBUTES: names are absolute without a root and relative with one (else STATUS_OBJECT_PATH_SYNTAX_BAD)', () => {
    assert.equal(open('Registry\\Machine').status, STATUS_OBJECT_PATH_SYNTAX_BAD);
    const service = open(serviceKeyPath('demo'));
    assert.equal(open('\\Registry\\Machine', KEY_READ, service.handle).status, STATUS_OBJECT_PATH_SYNTAX_BAD);
    ZwClose(service.handle);
  });

  it('ZwOpenKey / UNICODE_STRING: malformed names are STATUS_OBJECT_NAME_INVALID; a bad OBJECT_ATTRIBUTES STATUS_INVALID_PARAMETER', () => {
    const odd = attributes(PARAMS);
    odd.ObjectName!.Length = 7;
    assert.equal(ZwOpenKey({ value: 0 }, KEY_READ, odd), STATUS_OBJECT_NAME_INVALID);
    assert.equal(open('\\Registry\\Machine\\\\System').status, STATUS_OBJECT_NAME_INVALID);
    assert.equal(open(`${PARAMS}\\`).status, STATUS_OBJECT_NAME_INVALID);
    assert.equal(ZwOpenKey({ value: 0 }, KEY_READ, attributes(null)), STATUS_OBJECT_NAME_INVALID);
    const uninitialized = new OBJECT_ATTRIBUTES();
    uninitialized.ObjectName = RTL_CONSTANT_STRING(PARAMS);
    assert.equal(ZwOpenKey({ value: 0 }, KEY_READ, uninitialized), STATUS_INVALID_PARAMETER, 'Length is 0');
    const badBits = attributes(PARAMS);
    badBits.Attributes |= 0x10000;
    assert.equal(ZwOpenKey({ value: 0 }, KEY_READ, badBits), STATUS_INVALID_PARAMETER);
  });

  it('ZwOpenKey: names compare without regard to case (the registry is case-insensitive)', () => {
    const { status, handle } = open(PARAMS.toUpperCase());
    assert.equal(status, STATUS_SUCCESS);
    ZwClose(handle);
  });

  it('ZwOpenKey, ZwQueryValueKey, ZwClose, RtlQueryRegistryValues: IRQL PASSIVE_LEVEL only (IrqlZwPassive, 0xC4)', () => {
    const { handle } = open(PARAMS);
    atIrql(DISPATCH_LEVEL, () => {
      assertBugCheck(() => open(PARAMS), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x2001f);
      assertBugCheck(
        () => ZwQueryValueKey(handle, RTL_CONSTANT_STRING('Port'), KeyValuePartialInformation, 0, 0, { value: 0 }),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
        0x2001f,
      );
      assertBugCheck(() => ZwClose(handle), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x2001f);
      assertBugCheck(
        () => RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [new RTL_QUERY_REGISTRY_TABLE()], null, null),
        DRIVER_VERIFIER_DETECTED_VIOLATION,
      );
    });
    assert.equal(ZwClose(handle), STATUS_SUCCESS);
  });

  it('loadDriver: the service key exists before DriverEntry, so RegistryPath opens (as the SCM created it)', () => {
    let opened = -1;
    loadDriver('fresh', {
      DriverEntry(_driver, RegistryPath) {
        const r = open(RegistryPath);
        opened = r.status;
        ZwClose(r.handle);
        return STATUS_SUCCESS;
      },
    });
    assert.equal(opened, STATUS_SUCCESS);
    assert.ok(findRegistryKey(serviceKeyPath('fresh')) !== null);
  });

  it('ZwClose: "A driver must close every handle that it opens": a handle left open is reported as a leak', () => {
    resetSystem({ verifier: 'full' });
    setRegistryValue(PARAMS, 'Port', REG_DWORD, 53);
    const { handle } = open(PARAMS);
    const leaks = collectLeaks();
    assert.equal(leaks.length, 1);
    assert.equal(leaks[0]!.kind, 'handle');
    assert.match(leaks[0]!.detail, /Services\\demo\\Parameters/);
    assert.match(leaks[0]!.site ?? '', /registry\.test\.ts/, 'full verifier: the line that opened it');
    ZwClose(handle);
    assert.deepEqual(collectLeaks(), []);
  });
});

describe('registry: ZwClose (wdm.h)', () => {
  beforeEach(() => resetSystem());

  it('ZwClose: "returns STATUS_INVALID_HANDLE if Handle is not a valid handle" (closed twice, never opened)', () => {
    const { handle } = open('\\Registry\\Machine');
    assert.equal(ZwClose(handle), STATUS_SUCCESS);
    assert.equal(ZwClose(handle), STATUS_INVALID_HANDLE);
    assert.equal(ZwClose(0), STATUS_INVALID_HANDLE);
  });

  it('ZwClose: with the full verifier, closing a handle that is not open is INVALID_KERNEL_HANDLE (0x93; handle, 1, 0, 0)', () => {
    resetSystem({ verifier: 'full' });
    const { handle } = open('\\Registry\\Machine');
    ZwClose(handle);
    const bug = assertBugCheck(() => ZwClose(handle), INVALID_KERNEL_HANDLE, handle);
    assert.deepEqual([...bug.parameters], [handle, 1, 0, 0]);
  });

  it('ZwClose: "Closing an open object handle causes that handle to become invalid"; its slot is used again', () => {
    const a = open('\\Registry\\Machine').handle;
    const b = open('\\Registry\\User').handle;
    ZwClose(a);
    assert.equal(
      ZwQueryValueKey(a, RTL_CONSTANT_STRING('x'), KeyValuePartialInformation, 0, 0, { value: 0 }),
      STATUS_INVALID_HANDLE,
    );
    const c = open('\\Registry\\Machine\\Software').handle;
    assert.equal(c, a, 'the freed slot comes back first');
    ZwClose(b);
    ZwClose(c);
  });
});

describe('registry: ZwQueryValueKey (wdm.h) and KEY_VALUE_PARTIAL_INFORMATION', () => {
  let key: number;
  beforeEach(() => {
    resetSystem();
    setRegistryValue(PARAMS, 'Port', REG_DWORD, 0x12345678);
    setRegistryValue(PARAMS, 'Address', REG_SZ, '10.0.0.5');
    setRegistryValue(PARAMS, 'Empty', REG_BINARY, new Uint8Array(0));
    key = open(PARAMS).handle;
  });

  it('ZwQueryValueKey: STATUS_SUCCESS, and ResultLength is the amount of data returned (FIELD_OFFSET(Data) + DataLength)', () => {
    const p = buffer(64);
    const rl = { value: 0 };
    assert.equal(
      ZwQueryValueKey(key, RTL_CONSTANT_STRING('port'), KeyValuePartialInformation, p, 64, rl),
      STATUS_SUCCESS,
    );
    assert.equal(rl.value, 12 + 4);
    const info = new KEY_VALUE_PARTIAL_INFORMATION(p);
    assert.equal(info.TitleIndex, 0);
    assert.equal(info.Type, REG_DWORD);
    assert.equal(info.DataLength, 4);
    assert.deepEqual([...bytesAt(info.Data, 4)], [0x78, 0x56, 0x34, 0x12]);
    assert.equal(
      ZwQueryValueKey(key, RTL_CONSTANT_STRING('Address'), KeyValuePartialInformation, p, 64, rl),
      STATUS_SUCCESS,
    );
    assert.equal(info.Type, REG_SZ);
    assert.equal(info.DataLength, 18, 'UTF-16 with its NUL');
    assert.equal(Buffer.from(bytesAt(info.Data, 16)).toString('utf16le'), '10.0.0.5');
    ExFreePoolWithTag(p, TAG);
    ZwClose(key);
  });

  it('ZwQueryValueKey: STATUS_BUFFER_TOO_SMALL: "no data has been written", ResultLength "the minimum size required"', () => {
    const p = buffer(11);
    const rl = { value: 0 };
    assert.equal(
      ZwQueryValueKey(key, RTL_CONSTANT_STRING('Port'), KeyValuePartialInformation, p, 11, rl),
      STATUS_BUFFER_TOO_SMALL,
    );
    assert.equal(rl.value, 16);
    assert.ok(
      bytesAt(p, 11).every((b) => b === 0xcc),
      'nothing written',
    );
    ExFreePoolWithTag(p, TAG);
    ZwClose(key);
  });

  it('ZwQueryValueKey: STATUS_BUFFER_OVERFLOW: "only partial data has been written", ResultLength the size required', () => {
    const p = buffer(14);
    const rl = { value: 0 };
    const status = ZwQueryValueKey(key, RTL_CONSTANT_STRING('Port'), KeyValuePartialInformation, p, 14, rl);
    assert.equal(status, STATUS_BUFFER_OVERFLOW);
    assert.equal(NT_SUCCESS(status), false, 'a warning status is not success');
    assert.equal(rl.value, 16);
    const info = new KEY_VALUE_PARTIAL_INFORMATION(p);
    assert.equal(info.Type, REG_DWORD);
    assert.equal(info.DataLength, 4);
    assert.deepEqual([...bytesAt(p + 12, 2)], [0x78, 0x56], 'the part that fits');
    ExFreePoolWithTag(p, TAG);
    ZwClose(key);
  });

  it('ZwQueryValueKey: STATUS_OBJECT_NAME_NOT_FOUND: "The registry value was not available"', () => {
    const rl = { value: 7 };
    assert.equal(
      ZwQueryValueKey(key, RTL_CONSTANT_STRING('Nope'), KeyValuePartialInformation, 0, 0, rl),
      STATUS_OBJECT_NAME_NOT_FOUND,
    );
    ZwClose(key);
  });

  it('ZwQueryValueKey: STATUS_INVALID_PARAMETER for a class that is not a KEY_VALUE_INFORMATION_CLASS value', () => {
    const p = buffer(64);
    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING('Port'), 99, p, 64, { value: 0 }), STATUS_INVALID_PARAMETER);
    assert.equal(
      ZwQueryValueKey(0x80000400, RTL_CONSTANT_STRING('Port'), 5, p, 64, { value: 0 }),
      STATUS_INVALID_PARAMETER,
      'checked before the handle',
    );
    ExFreePoolWithTag(p, TAG);
    ZwClose(key);
  });

  it('ZwQueryValueKey: "KeyHandle ... must have been opened with KEY_QUERY_VALUE access" (else STATUS_ACCESS_DENIED)', () => {
    const writeOnly = open(PARAMS, KEY_SET_VALUE).handle;
    assert.equal(
      ZwQueryValueKey(writeOnly, RTL_CONSTANT_STRING('Port'), KeyValuePartialInformation, 0, 0, { value: 0 }),
      STATUS_ACCESS_DENIED,
    );
    for (const access of [KEY_QUERY_VALUE, KEY_READ, KEY_ALL_ACCESS, 0x80000000 /* GENERIC_READ */]) {
      const h = open(PARAMS, access).handle;
      const rl = { value: 0 };
      assert.equal(
        ZwQueryValueKey(h, RTL_CONSTANT_STRING('Port'), KeyValuePartialInformation, 0, 0, rl),
        STATUS_BUFFER_TOO_SMALL,
      );
      ZwClose(h);
    }
    ZwClose(writeOnly);
    ZwClose(key);
  });

  it('ZwQueryValueKey: KeyValueBasicInformation, KeyValueFullInformation and KeyValuePartialInformationAlign64 layouts (x64)', () => {
    const p = buffer(128);
    const rl = { value: 0 };
    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING('port'), KeyValueBasicInformation, p, 128, rl), 0);
    const basic = new KEY_VALUE_BASIC_INFORMATION(p);
    assert.equal(basic.Type, REG_DWORD);
    assert.equal(basic.NameLength, 8);
    assert.equal(Buffer.from(bytesAt(basic.Name, 8)).toString('utf16le'), 'Port', 'the name as written');
    assert.equal(rl.value, 12 + 8);

    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING('Port'), KeyValueFullInformation, p, 128, rl), 0);
    const full = new KEY_VALUE_FULL_INFORMATION(p);
    assert.equal(full.NameLength, 8);
    assert.equal(full.DataOffset, 32, 'after the name, rounded up to 8 bytes');
    assert.equal(full.DataLength, 4);
    assert.equal(rl.value, 36);
    assert.deepEqual([...bytesAt(p + full.DataOffset, 4)], [0x78, 0x56, 0x34, 0x12]);
    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING('Empty'), KeyValueFullInformation, p, 128, rl), 0);
    assert.equal(full.DataOffset, 0xffffffff, 'no data: no offset');

    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING('Port'), KeyValuePartialInformationAlign64, p, 128, rl), 0);
    assert.deepEqual([...bytesAt(p, 12)], [4, 0, 0, 0, 4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12]);
    assert.equal(rl.value, 12);
    ExFreePoolWithTag(p, TAG);
    ZwClose(key);
  });

  it('ZwQueryValueKey: for any value and any Length, the status, ResultLength and bytes written follow the documented rule (property)', () => {
    ZwClose(key);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ type: fc.constant(REG_DWORD), data: fc.nat({ max: 0xffffffff }) as fc.Arbitrary<unknown> }),
          fc.record({ type: fc.constant(REG_SZ), data: fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')) }),
          fc.record({ type: fc.constant(REG_BINARY), data: fc.uint8Array({ maxLength: 40 }) }),
          fc.record({ type: fc.constant(REG_QWORD), data: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
        ),
        fc.nat({ max: 70 }),
        (value, length) => {
          resetSystem();
          setRegistryValue(PARAMS, 'V', value.type, value.data as never);
          const stored = findRegistryKey(PARAMS)!.values.get('v')!.data;
          const h = open(PARAMS).handle;
          const p = buffer(length);
          const rl = { value: -1 };
          const status = ZwQueryValueKey(h, RTL_CONSTANT_STRING('V'), KeyValuePartialInformation, p, length, rl);
          assert.equal(rl.value, 12 + stored.length);
          const after = bytesAt(p, Math.max(length, 1));
          if (length < 12) {
            assert.equal(status, STATUS_BUFFER_TOO_SMALL);
            assert.ok(after.every((b) => b === 0xcc));
          } else {
            assert.equal(status, length >= 12 + stored.length ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW);
            const info = new KEY_VALUE_PARTIAL_INFORMATION(p);
            assert.equal(info.Type, value.type);
            assert.equal(info.DataLength, stored.length);
            const n = Math.min(stored.length, length - 12);
            assert.deepEqual(bytesAt(p + 12, n), stored.subarray(0, n));
            assert.ok(
              after.subarray(12 + n, length).every((b) => b === 0xcc),
              'nothing past the data',
            );
          }
          ExFreePoolWithTag(p, TAG);
          ZwClose(h);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('registry: RtlQueryRegistryValues (wdm.h)', () => {
  beforeEach(() => {
    resetSystem();
    setRegistryValue(PARAMS, 'Port', REG_DWORD, 5353);
    setRegistryValue(PARAMS, 'Address', REG_SZ, '10.53.0.1');
    setRegistryValue(PARAMS, 'Names', REG_MULTI_SZ, ['a', 'bc']);
    setRegistryValue(PARAMS, 'Big', REG_QWORD, 0x1122334455667788n);
    setRegistryValue(`${PARAMS}\\Sub`, 'Inner', REG_DWORD, 9);
  });

  const direct = (name: string, context: unknown, expected: number, extra = 0) =>
    new RTL_QUERY_REGISTRY_TABLE({
      Flags: RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK | extra,
      Name: name,
      EntryContext: context,
      DefaultType: (expected << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_NONE,
    });
  const end = () => new RTL_QUERY_REGISTRY_TABLE();

  it('RtlQueryRegistryValues: STATUS_SUCCESS "The entire query table was processed"; DIRECT stores a DWORD and a REG_SZ', () => {
    const port = { value: 0 };
    const address = new UNICODE_STRING();
    const status = RtlQueryRegistryValues(
      RTL_REGISTRY_SERVICES,
      'demo\\Parameters',
      [direct('Port', port, REG_DWORD), direct('Address', address, REG_SZ), end()],
      null,
      null,
    );
    assert.equal(status, STATUS_SUCCESS);
    assert.equal(port.value, 5353);
    assert.equal(address.Buffer, '10.53.0.1', 'Buffer NULL: the routine provides the storage');
    assert.equal(address.Length, 18);
    assert.equal(address.MaximumLength, 20);
  });

  it('RtlQueryRegistryValues: DIRECT into a caller buffer: a nonstring value of up to sizeof(ULONG) at EntryContext', () => {
    const p = buffer(8);
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Port', p, REG_DWORD), end()], null, null),
      0,
    );
    assert.deepEqual([...bytesAt(p, 8)], [0xe9, 0x14, 0, 0, 0xcc, 0xcc, 0xcc, 0xcc]);
    ExFreePoolWithTag(p, TAG);
  });

  it('RtlQueryRegistryValues: DIRECT, more than sizeof(ULONG): a negative LONG size takes the data alone, a positive one length, type and data', () => {
    const p = buffer(24);
    const view = new DataView(bytesAt(p, 24).buffer, bytesAt(p, 24).byteOffset, 24);
    view.setInt32(0, -8, true);
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Big', p, REG_QWORD), end()], null, null),
      0,
    );
    assert.equal(view.getBigUint64(0, true), 0x1122334455667788n);
    view.setInt32(0, 16, true);
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Big', p, REG_QWORD), end()], null, null),
      0,
    );
    assert.equal(view.getUint32(0, true), 8);
    assert.equal(view.getUint32(4, true), REG_QWORD);
    assert.equal(view.getBigUint64(8, true), 0x1122334455667788n);
    ExFreePoolWithTag(p, TAG);
  });

  it('RtlQueryRegistryValues: STATUS_BUFFER_TOO_SMALL when the DIRECT buffer "is too small to hold the key value data"', () => {
    const p = buffer(8);
    new DataView(bytesAt(p, 8).buffer, bytesAt(p, 8).byteOffset, 8).setInt32(0, -4, true);
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Big', p, REG_QWORD), end()], null, null),
      STATUS_BUFFER_TOO_SMALL,
    );
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [direct('Big', { value: 0 }, REG_QWORD), end()],
        null,
        null,
      ),
      STATUS_BUFFER_TOO_SMALL,
      'a ULONG variable holds four bytes',
    );
    const small = new UNICODE_STRING();
    small.Buffer = '';
    small.MaximumLength = 10;
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Address', small, REG_SZ), end()], null, null),
      STATUS_BUFFER_TOO_SMALL,
    );
    ExFreePoolWithTag(p, TAG);
  });

  it('RtlQueryRegistryValues: STATUS_OBJECT_TYPE_MISMATCH when RTL_QUERY_REGISTRY_TYPECHECK finds another type', () => {
    const port = { value: 77 };
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Address', port, REG_DWORD), end()], null, null),
      STATUS_OBJECT_TYPE_MISMATCH,
    );
    assert.equal(port.value, 77, 'nothing stored');
  });

  it('RtlQueryRegistryValues: STATUS_OBJECT_NAME_NOT_FOUND when Path is no key (RTL_REGISTRY_OPTIONAL: success) or a REQUIRED value is missing', () => {
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, 'nobody\\Parameters', [end()], null, null),
      STATUS_OBJECT_NAME_NOT_FOUND,
    );
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_SERVICES | RTL_REGISTRY_OPTIONAL, 'nobody\\Parameters', [end()], null, null),
      STATUS_SUCCESS,
    );
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [direct('Missing', { value: 0 }, REG_DWORD, RTL_QUERY_REGISTRY_REQUIRED), end()],
        null,
        null,
      ),
      STATUS_OBJECT_NAME_NOT_FOUND,
    );
  });

  it('RtlQueryRegistryValues: a missing value that is not REQUIRED takes DefaultData, or leaves EntryContext alone with REG_NONE', () => {
    const untouched = { value: 42 };
    const defaulted = { value: 0 };
    const d = buffer(4);
    bytesAt(d, 4).set([7, 0, 0, 0]);
    const name = new UNICODE_STRING();
    const status = RtlQueryRegistryValues(
      RTL_REGISTRY_ABSOLUTE,
      PARAMS,
      [
        direct('Missing', untouched, REG_DWORD),
        new RTL_QUERY_REGISTRY_TABLE({
          Flags: RTL_QUERY_REGISTRY_DIRECT,
          Name: 'Missing',
          EntryContext: defaulted,
          DefaultType: REG_DWORD,
          DefaultData: d,
          DefaultLength: 4,
        }),
        new RTL_QUERY_REGISTRY_TABLE({
          Flags: RTL_QUERY_REGISTRY_DIRECT,
          Name: 'MissingName',
          EntryContext: name,
          DefaultType: REG_SZ,
          DefaultData: 'fallback',
        }),
        end(),
      ],
      null,
      null,
    );
    assert.equal(status, STATUS_SUCCESS);
    assert.equal(untouched.value, 42);
    assert.equal(defaulted.value, 7);
    assert.equal(name.Buffer, 'fallback');
    ExFreePoolWithTag(d, TAG);
  });

  it('RtlQueryRegistryValues: STATUS_INVALID_PARAMETER for an entry whose flags need a QueryRoutine or a Name it lacks', () => {
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [new RTL_QUERY_REGISTRY_TABLE({ Flags: RTL_QUERY_REGISTRY_SUBKEY }), end()],
        null,
        null,
      ),
      STATUS_INVALID_PARAMETER,
      'SUBKEY needs a Name',
    );
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [new RTL_QUERY_REGISTRY_TABLE({ Name: 'Port' }), end()],
        null,
        null,
      ),
      STATUS_INVALID_PARAMETER,
      'a named entry without DIRECT needs a QueryRoutine',
    );
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [new RTL_QUERY_REGISTRY_TABLE({ Flags: RTL_QUERY_REGISTRY_DIRECT, EntryContext: { value: 0 } }), end()],
        null,
        null,
      ),
      STATUS_INVALID_PARAMETER,
      'DIRECT needs a Name (and is not the end of the table without one)',
    );
    assert.equal(
      RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, [direct('Port', { value: 0 }, REG_DWORD)], null, null),
      STATUS_INVALID_PARAMETER,
      'a table without its NULL entry',
    );
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [direct('Names', new UNICODE_STRING(), REG_MULTI_SZ), end()],
        null,
        null,
      ),
      STATUS_INVALID_PARAMETER,
      'REG_MULTI_SZ with DIRECT needs RTL_QUERY_REGISTRY_NOEXPAND',
    );
  });

  it('RtlQueryRegistryValues: REG_MULTI_SZ with NOEXPAND is stored "as a single string value", each component terminated by a zero', () => {
    const names = new UNICODE_STRING();
    assert.equal(
      RtlQueryRegistryValues(
        RTL_REGISTRY_ABSOLUTE,
        PARAMS,
        [direct('Names', names, REG_MULTI_SZ, RTL_QUERY_REGISTRY_NOEXPAND), end()],
        null,
        null,
      ),
      STATUS_SUCCESS,
    );
    assert.equal(names.Buffer, 'a\0bc\0');
  });

  it('RtlQueryRegistryValues: QueryRoutine gets name, type, data and length; each REG_MULTI_SZ string separately; a failing status stops the table', () => {
    const seen: string[] = [];
    const routine = (name: string, type: number, data: number, length: number, context: unknown, entry: unknown) => {
      const bytes = length === 0 ? '' : Buffer.from(bytesAt(data, length)).toString('hex');
      seen.push(`${name} ${type} ${bytes} ${String(context)} ${String(entry)}`);
      return name === 'Port' && entry === 'stop' ? STATUS_ACCESS_DENIED : STATUS_SUCCESS;
    };
    const status = RtlQueryRegistryValues(
      RTL_REGISTRY_ABSOLUTE,
      PARAMS,
      [
        new RTL_QUERY_REGISTRY_TABLE({ QueryRoutine: routine, Name: 'Port', EntryContext: 'e1' }),
        new RTL_QUERY_REGISTRY_TABLE({ QueryRoutine: routine, Name: 'Names', EntryContext: 'e2' }),
        new RTL_QUERY_REGISTRY_TABLE({ QueryRoutine: routine, Name: 'Port', EntryContext: 'stop' }),
        new RTL_QUERY_REGISTRY_TABLE({ QueryRoutine: routine, Name: 'Address', EntryContext: 'never' }),
        end(),
      ],
      'ctx',
      null,
    );
    assert.equal(status, STATUS_ACCESS_DENIED);
    assert.deepEqual(seen, [
      'Port 4 e9140000 ctx e1',
      'Names 1 61000000 ctx e2',
      'Names 1 620063000000 ctx e2',
      'Port 4 e9140000 ctx stop',
    ]);
    assert.deepEqual(collectLeaks(), [], 'the temporary copies are freed');
  });

  it('RtlQueryRegistryValues: a QueryRoutine returning STATUS_BUFFER_TOO_SMALL does not stop the table', () => {
    let calls = 0;
    const routine = () => {
      calls++;
      return STATUS_BUFFER_TOO_SMALL;
    };
    const table = [
      new RTL_QUERY_REGISTRY_TABLE({ QueryRoutine: routine, Name: 'Port' }),
      new RTL_QUERY_REGISTRY_TABLE({ QueryRoutine: routine, Name: 'Address' }),
      end(),
    ];
    assert.equal(RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, PARAMS, table, null, null), STATUS_SUCCESS);
    assert.equal(calls, 2);
  });

  it('RtlQueryRegistryValues: RTL_REGISTRY_HANDLE, RTL_QUERY_REGISTRY_SUBKEY and RTL_QUERY_REGISTRY_DELETE', () => {
    const h = open(PARAMS).handle;
    const inner = { value: 0 };
    const port = { value: 0 };
    const status = RtlQueryRegistryValues(
      RTL_REGISTRY_HANDLE,
      h,
      [
        direct('Port', port, REG_DWORD, RTL_QUERY_REGISTRY_DELETE),
        new RTL_QUERY_REGISTRY_TABLE({ Flags: RTL_QUERY_REGISTRY_SUBKEY, Name: 'Sub' }),
        direct('Inner', inner, REG_DWORD),
        end(),
      ],
      null,
      null,
    );
    assert.equal(status, STATUS_SUCCESS);
    assert.equal(port.value, 5353);
    assert.equal(inner.value, 9);
    assert.equal(findRegistryKey(PARAMS)!.values.has('port'), false, 'deleted after the query');
    assert.equal(RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, 0x80000100, [end()], null, null), STATUS_INVALID_HANDLE);
    ZwClose(h);
  });
});

describe('registry: ZwCreateKey and ZwSetValueKey (wdm.h)', () => {
  beforeEach(() => {
    resetSystem();
    createRegistryKey(serviceKeyPath('demo'));
  });

  function create(
    name: string,
    root: number | null = null,
    access = KEY_ALL_ACCESS,
    options = REG_OPTION_NON_VOLATILE,
  ) {
    const handle = { value: 0 };
    const disposition = { value: 0 };
    const status = ZwCreateKey(handle, access, attributes(name, root), 0, null, options, disposition);
    return { status, handle: handle.value, disposition: disposition.value };
  }

  it('ZwCreateKey: creates a missing key (REG_CREATED_NEW_KEY); "If the specified key already exists, it is opened" (REG_OPENED_EXISTING_KEY)', () => {
    const made = create(`${serviceKeyPath('demo')}\\State`);
    assert.equal(made.status, STATUS_SUCCESS);
    assert.equal(made.disposition, REG_CREATED_NEW_KEY);
    const again = create(`${serviceKeyPath('demo')}\\STATE`);
    assert.equal(again.disposition, REG_OPENED_EXISTING_KEY);
    assert.equal(
      findRegistryKey(`${serviceKeyPath('demo')}\\State`)!.path.endsWith('\\State'),
      true,
      'name as first written',
    );
    ZwClose(made.handle);
    ZwClose(again.handle);
    const noDisposition = { value: 0 };
    assert.equal(
      ZwCreateKey(noDisposition, KEY_READ, attributes('\\Registry\\Machine'), 0, null, 0, null),
      STATUS_SUCCESS,
    );
    ZwClose(noDisposition.value);
  });

  it('ZwCreateKey: "the new key must be a direct subkey" of an existing key (else STATUS_OBJECT_NAME_NOT_FOUND)', () => {
    assert.equal(create(`${serviceKeyPath('demo')}\\A\\B`).status, STATUS_OBJECT_NAME_NOT_FOUND);
    assert.equal(findRegistryKey(`${serviceKeyPath('demo')}\\A`), null, 'nothing half made');
  });

  it('ZwCreateKey: relative to RootDirectory, which "must have been opened for KEY_CREATE_SUB_KEY access"', () => {
    const service = open(serviceKeyPath('demo'), KEY_READ);
    assert.equal(create('Sub', service.handle).status, STATUS_ACCESS_DENIED);
    const writable = open(serviceKeyPath('demo'), KEY_ALL_ACCESS);
    const sub = create('Sub', writable.handle);
    assert.equal(sub.status, STATUS_SUCCESS);
    assert.equal(sub.disposition, REG_CREATED_NEW_KEY);
    const existing = create('Sub', service.handle);
    assert.equal(existing.status, STATUS_SUCCESS, 'opening an existing subkey needs no create right');
    for (const h of [service.handle, writable.handle, sub.handle, existing.handle]) ZwClose(h);
  });

  it('ZwCreateKey: a volatile key cannot have a non-volatile subkey (STATUS_CHILD_MUST_BE_VOLATILE); unknown CreateOptions are invalid', () => {
    const v = create(`${serviceKeyPath('demo')}\\Volatile`, null, KEY_ALL_ACCESS, REG_OPTION_VOLATILE);
    assert.equal(v.status, STATUS_SUCCESS);
    assert.equal(create(`${serviceKeyPath('demo')}\\Volatile\\Child`).status, STATUS_CHILD_MUST_BE_VOLATILE);
    const child = create(`${serviceKeyPath('demo')}\\Volatile\\Child`, null, KEY_ALL_ACCESS, REG_OPTION_VOLATILE);
    assert.equal(child.status, STATUS_SUCCESS);
    assert.equal(create(`${serviceKeyPath('demo')}\\X`, null, KEY_ALL_ACCESS, 0x100).status, STATUS_INVALID_PARAMETER);
    ZwClose(v.handle);
    ZwClose(child.handle);
  });

  it('ZwSetValueKey: creates a value, then "overwrites the original value entry"; ZwQueryValueKey reads back the bytes', () => {
    const key = create(`${serviceKeyPath('demo')}\\State`).handle;
    const data = buffer(8);
    bytesAt(data, 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(ZwSetValueKey(key, RTL_CONSTANT_STRING('Blob'), 0, REG_BINARY, data, 8), STATUS_SUCCESS);
    assert.equal(ZwSetValueKey(key, RTL_CONSTANT_STRING('BLOB'), 0, REG_DWORD, data, 4), STATUS_SUCCESS);
    const out = buffer(32);
    const rl = { value: 0 };
    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING('blob'), KeyValuePartialInformation, out, 32, rl), 0);
    const info = new KEY_VALUE_PARTIAL_INFORMATION(out);
    assert.deepEqual([info.Type, info.DataLength, ...bytesAt(info.Data, 4)], [REG_DWORD, 4, 1, 2, 3, 4]);
    assert.equal(ZwSetValueKey(key, null, 0, REG_SZ, 0, 0), STATUS_SUCCESS, 'the unnamed value, empty');
    assert.equal(ZwQueryValueKey(key, RTL_CONSTANT_STRING(''), KeyValuePartialInformation, out, 32, rl), 0);
    assert.equal(rl.value, 12);
    ExFreePoolWithTag(data, TAG);
    ExFreePoolWithTag(out, TAG);
    ZwClose(key);
  });

  it('ZwSetValueKey: "KeyHandle ... must have been opened with the KEY_SET_VALUE DesiredAccess flag" (STATUS_ACCESS_DENIED); STATUS_INVALID_HANDLE', () => {
    const readOnly = open('\\Registry\\Machine\\Software', KEY_READ).handle;
    assert.equal(ZwSetValueKey(readOnly, RTL_CONSTANT_STRING('x'), 0, REG_SZ, 0, 0), STATUS_ACCESS_DENIED);
    ZwClose(readOnly);
    assert.equal(ZwSetValueKey(readOnly, RTL_CONSTANT_STRING('x'), 0, REG_SZ, 0, 0), STATUS_INVALID_HANDLE);
    atIrql(DISPATCH_LEVEL, () =>
      assertBugCheck(() => ZwSetValueKey(readOnly, null, 0, REG_SZ, 0, 0), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x2001f),
    );
  });
});

describe('registry: RtlInitUnicodeString / UNICODE_STRING (wdm.h, ntdef.h)', () => {
  it('RtlInitUnicodeString: Length is the string in bytes, MaximumLength two more for the NUL; NULL gives an empty string (property)', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 64 }), { nil: null }), (source) => {
        const s = new UNICODE_STRING();
        RtlInitUnicodeString(s, source);
        if (source === null) assert.deepEqual([s.Length, s.MaximumLength, s.Buffer], [0, 0, null]);
        else
          assert.deepEqual([s.Length, s.MaximumLength, s.Buffer], [source.length * 2, source.length * 2 + 2, source]);
      }),
    );
  });

  it('RtlInitUnicodeString: a source longer than a USHORT can count is cut to the longest even length that fits', () => {
    const s = new UNICODE_STRING();
    RtlInitUnicodeString(s, 'x'.repeat(40000));
    assert.equal(s.Length, 0xfffc);
    assert.equal(s.MaximumLength, 0xfffe);
  });

  it('ZwOpenKey honours UNICODE_STRING.Length: only the counted characters are the name', () => {
    resetSystem();
    setRegistryValue(PARAMS, 'Port', REG_DWORD, 1);
    const oa = attributes(`${PARAMS}\\ignored tail`);
    oa.ObjectName!.Length = PARAMS.length * 2;
    const box = { value: 0 };
    assert.equal(ZwOpenKey(box, KEY_READ, oa), STATUS_SUCCESS);
    assert.equal(ZwClose(box.value), STATUS_SUCCESS);
  });
});
