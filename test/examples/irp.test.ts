import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DRIVER_OBJECT,
  Executive,
  IO_STATUS_BLOCK,
  IoBuildDeviceIoControlRequest,
  IoCallDriver,
  KEVENT,
  KeInitializeEvent,
  KernelMode,
  KeSetEvent,
  KeWaitForSingleObject,
  NotificationEvent,
  resetSystem,
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_SUCCESS,
  STATUS_TIMEOUT,
  SynchronizationEvent,
} from 'wdknet/ddi';
import { createSystemDevice, IoCreateDevice } from '../../src/kernel/driver.js';
import { enableFaultInjection } from '../../src/kernel/faults.js';
import { assertBugCheck } from '../helpers.js';

// IoBuildDeviceIoControlRequest + IoCallDriver + KeWaitForSingleObject: how a driver sends an IOCTL to another
// driver's device (a firewall-hook driver to \Device\Ip). Documentation: the I/O manager frees the IRP on
// completion and reports the final status in the caller's IO_STATUS_BLOCK and signals its event.
describe('IoBuildDeviceIoControlRequest / IoCallDriver / events', () => {
  beforeEach(() => resetSystem());

  it('delivers the request to the device and reports its status in the IO_STATUS_BLOCK and the event', () => {
    const seen: unknown[] = [];
    const device = createSystemDevice('\\Device\\TestIoctl', (request) => {
      seen.push(request.IoControlCode, request.InputBuffer, request.InputBufferLength);
      request.Information = 7;
      return STATUS_SUCCESS;
    });
    const event = new KEVENT();
    KeInitializeEvent(event, NotificationEvent, false);
    const iosb = new IO_STATUS_BLOCK();
    const input = { x: 1 };
    const irp = IoBuildDeviceIoControlRequest(0x128030, device, input, 16, null, 0, false, event, iosb);
    assert.ok(irp !== null);
    assert.equal(IoCallDriver(device, irp), STATUS_SUCCESS);
    assert.deepEqual(seen, [0x128030, input, 16]);
    assert.equal(iosb.Status, STATUS_SUCCESS);
    assert.equal(iosb.Information, 7);
    assert.equal(KeWaitForSingleObject(event, Executive, KernelMode, false, null), STATUS_SUCCESS);
  });

  it('a device without a device-control handler refuses with STATUS_INVALID_DEVICE_REQUEST', () => {
    const box = { value: null as never };
    IoCreateDevice(new DRIVER_OBJECT('\\Driver\\X'), 0, null, 0x22, 0, false, box);
    const iosb = new IO_STATUS_BLOCK();
    const irp = IoBuildDeviceIoControlRequest(1, box.value, null, 0, null, 0, false, null, iosb)!;
    assert.equal(IoCallDriver(box.value, irp), STATUS_INVALID_DEVICE_REQUEST);
    assert.equal(iosb.Status, STATUS_INVALID_DEVICE_REQUEST);
  });

  it('returns NULL when the IRP cannot be allocated (low resources)', () => {
    const device = createSystemDevice('\\Device\\TestIoctl2', () => STATUS_SUCCESS);
    enableFaultInjection({ probability: 1, ddis: ['IoBuildDeviceIoControlRequest'] });
    assert.equal(IoBuildDeviceIoControlRequest(1, device, null, 0, null, 0, false, null, new IO_STATUS_BLOCK()), null);
  });

  it('sending the same IRP twice is reported', () => {
    const device = createSystemDevice('\\Device\\TestIoctl3', () => STATUS_SUCCESS);
    const irp = IoBuildDeviceIoControlRequest(1, device, null, 0, null, 0, false, null, new IO_STATUS_BLOCK())!;
    IoCallDriver(device, irp);
    assertBugCheck(() => IoCallDriver(device, irp), 0xc4, 0x1002);
  });

  it('events: KeSetEvent returns the previous state; a synchronization event resets on a satisfied wait', () => {
    const e = new KEVENT();
    KeInitializeEvent(e, SynchronizationEvent, false);
    assert.equal(KeWaitForSingleObject(e, Executive, KernelMode, false, { value: 0n }), STATUS_TIMEOUT);
    assert.equal(KeSetEvent(e, 0, false), 0);
    assert.equal(KeSetEvent(e, 0, false), 1);
    assert.equal(KeWaitForSingleObject(e, Executive, KernelMode, false, null), STATUS_SUCCESS);
    assert.equal(KeWaitForSingleObject(e, Executive, KernelMode, false, { value: -10000n }), STATUS_TIMEOUT);
  });

  it('a wait that nothing can ever satisfy is reported as a deadlock instead of hanging', () => {
    const e = new KEVENT();
    KeInitializeEvent(e, NotificationEvent, false);
    assertBugCheck(() => KeWaitForSingleObject(e, Executive, KernelMode, false, null), 0xc4, 0x1001);
  });
});
