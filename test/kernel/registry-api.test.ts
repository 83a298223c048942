/** The idiomatic registry helpers (src/api/registry.ts): the same core as ZwOpenKey / ZwQueryValueKey / ZwClose. */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { driverParameters, RegistryKeyReader } from '../../src/api/registry.js';
import {
  collectLeaks,
  loadDriver,
  REG_BINARY,
  REG_DWORD,
  REG_SZ,
  resetSystem,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_SUCCESS,
  StatusError,
} from '../../src/kernel/index.js';

describe('registry, idiomatic: driverParameters and RegistryKeyReader', () => {
  beforeEach(() => resetSystem({ verifier: 'full' }));

  it('values written with driverParameters read back typed, through a handle that is closed afterwards', () => {
    const params = driverParameters('demo')
      .set('Port', 5353)
      .set('Big', 1n << 40n)
      .set('Address', '10.53.0.1')
      .set('Names', ['a', 'b'])
      .set('Blob', new Uint8Array([1, 2]))
      .set('Hex', 0x10, 'dword');
    assert.equal(params.path, '\\Registry\\Machine\\System\\CurrentControlSet\\Services\\demo\\Parameters');
    const key = RegistryKeyReader.open(params.path);
    assert.equal(key.value('port'), 5353);
    assert.equal(key.value('Big'), 1n << 40n);
    assert.equal(key.value('Address'), '10.53.0.1');
    assert.deepEqual(key.value('Names'), ['a', 'b']);
    assert.deepEqual(key.value('Blob'), new Uint8Array([1, 2]));
    assert.equal(key.value('Hex'), 16);
    assert.equal(key.value('Missing'), undefined);
    assert.equal(key.raw('Port')!.type, REG_DWORD);
    assert.equal(key.raw('Address')!.type, REG_SZ);
    assert.equal(key.raw('Blob')!.type, REG_BINARY);
    assert.equal(collectLeaks().length, 1, 'the open handle');
    key.close();
    assert.deepEqual(collectLeaks(), []);
  });

  it('a key that does not exist is a StatusError with STATUS_OBJECT_NAME_NOT_FOUND', () => {
    assert.throws(
      () => RegistryKeyReader.open(driverParameters('nobody').path),
      (e: unknown) => e instanceof StatusError && e.status === STATUS_OBJECT_NAME_NOT_FOUND,
    );
  });

  it('parameters set before loadDriver are what DriverEntry reads from RegistryPath\\Parameters', () => {
    driverParameters('reader').set('Level', 3);
    let level: unknown;
    loadDriver('reader', {
      DriverEntry(_d, RegistryPath) {
        const key = RegistryKeyReader.open(`${RegistryPath}\\Parameters`);
        level = key.value('Level');
        key.close();
        return STATUS_SUCCESS;
      },
    });
    assert.equal(level, 3);
  });
});
