import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  CTL_CODE,
  type DEVICE_OBJECT,
  FILE_DEVICE_NETWORK,
  FILE_DEVICE_UNKNOWN,
  IoCreateDevice,
  IoDeleteDevice,
  IoGetDeviceObjectPointer,
  METHOD_BUFFERED,
  resetSystem,
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_OBJECT_NAME_COLLISION,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_SUCCESS,
  STATUS_UNSUCCESSFUL,
} from '../../src/ddi/index.js';
import {
  createSystemDevice,
  loadDriver,
  loadedDrivers,
  sendDeviceIoControl,
  unloadDriver,
} from '../../src/kernel/driver.js';

describe('drivers and devices', () => {
  beforeEach(() => resetSystem());

  it('loads a driver through DriverEntry and unloads it through DriverUnload', () => {
    const calls: string[] = [];
    const driver = loadDriver('demo', {
      DriverEntry(DriverObject, RegistryPath) {
        calls.push(`entry ${DriverObject.DriverName} ${RegistryPath}`);
        DriverObject.DriverUnload = () => calls.push('unload');
        return STATUS_SUCCESS;
      },
    });
    assert.equal(loadedDrivers().length, 1);
    assert.equal(unloadDriver(driver), STATUS_SUCCESS);
    assert.deepEqual(calls, [
      'entry \\Driver\\demo \\Registry\\Machine\\System\\CurrentControlSet\\Services\\demo',
      'unload',
    ]);
    assert.equal(loadedDrivers().length, 0);
  });

  it('a driver whose DriverEntry fails is not loaded and its DriverUnload never runs', () => {
    let unloaded = false;
    const driver = loadDriver('bad', {
      DriverEntry(DriverObject) {
        DriverObject.DriverUnload = () => {
          unloaded = true;
        };
        return STATUS_UNSUCCESSFUL;
      },
    });
    assert.equal(driver.status, STATUS_UNSUCCESSFUL);
    assert.equal(loadedDrivers().length, 0);
    assert.equal(unloaded, false);
  });

  it('IoCreateDevice names are unique; IoGetDeviceObjectPointer finds them; IoDeleteDevice unlinks', () => {
    const d = loadDriver('dev', { DriverEntry: () => STATUS_SUCCESS });
    const box = { value: null as DEVICE_OBJECT | null };
    assert.equal(IoCreateDevice(d.object, 0, '\\Device\\Demo', FILE_DEVICE_UNKNOWN, 0, false, box), STATUS_SUCCESS);
    assert.equal(d.object.DeviceObject, box.value);
    assert.equal(
      IoCreateDevice(d.object, 0, '\\Device\\Demo', FILE_DEVICE_UNKNOWN, 0, false, box),
      STATUS_OBJECT_NAME_COLLISION,
    );
    const found = { value: null as DEVICE_OBJECT | null };
    assert.equal(IoGetDeviceObjectPointer('\\Device\\Demo', found), STATUS_SUCCESS);
    IoDeleteDevice(found.value!);
    assert.equal(d.object.DeviceObject, null);
    assert.equal(IoGetDeviceObjectPointer('\\Device\\Demo', found), STATUS_OBJECT_NAME_NOT_FOUND);
  });

  it('CTL_CODE packs device type, access, function and method; system devices answer IOCTLs', () => {
    assert.equal(CTL_CODE(FILE_DEVICE_NETWORK, 0x1, METHOD_BUFFERED, 0), 0x00120004);
    const device = createSystemDevice('\\Device\\Echo', (request) => {
      request.OutputBuffer = request.InputBuffer;
      return STATUS_SUCCESS;
    });
    const out = { value: null as unknown };
    assert.equal(sendDeviceIoControl(device, 0x1234, 'hello', 5, out), STATUS_SUCCESS);
    assert.equal(out.value, 'hello');
    const box = { value: null as DEVICE_OBJECT | null };
    const plain = loadDriver('p', { DriverEntry: () => STATUS_SUCCESS });
    IoCreateDevice(plain.object, 0, null, FILE_DEVICE_UNKNOWN, 0, false, box);
    assert.equal(sendDeviceIoControl(box.value!, 0x1234, null, 0), STATUS_INVALID_DEVICE_REQUEST);
  });
});
