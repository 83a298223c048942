/**
 * Drivers and devices, as far as network drivers need them: a DRIVER_OBJECT handed to DriverEntry, DriverUnload,
 * device objects (callout drivers register callouts against one; firewall-hook drivers open \Device\Ip), and
 * named kernel devices that answer IOCTLs. `loadDriver` runs a driver module's DriverEntry; `unloadDriver` runs
 * its DriverUnload.
 */
import { DdiRule } from './bugcheck.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL, requireIrqlAtMost } from './irql.js';
import { createRegistryKey, serviceKeyPath } from './registry.js';
import {
  NT_SUCCESS,
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_COLLISION,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_SUCCESS,
} from './status.js';

/** IRP major function codes used here. */
export const IRP_MJ_CREATE = 0x00;
export const IRP_MJ_CLOSE = 0x02;
export const IRP_MJ_DEVICE_CONTROL = 0x0e;
export const IRP_MJ_INTERNAL_DEVICE_CONTROL = 0x0f;
export const IRP_MJ_MAXIMUM_FUNCTION = 0x1b;

export const FILE_DEVICE_NETWORK = 0x12;
export const FILE_DEVICE_UNKNOWN = 0x22;
export const FILE_DEVICE_SECURE_OPEN = 0x100;
export const METHOD_BUFFERED = 0;
export const FILE_ANY_ACCESS = 0;
export const FILE_READ_ACCESS = 1;
export const FILE_WRITE_ACCESS = 2;

/** CTL_CODE(DeviceType, Function, Method, Access) */
export function CTL_CODE(DeviceType: number, FunctionCode: number, Method: number, Access: number): number {
  return ((DeviceType << 16) | (Access << 14) | (FunctionCode << 2) | Method) >>> 0;
}

/** A device control request as a device's handler sees it (the parts of an IRP that IOCTLs use). */
export interface DeviceIoControlRequest {
  readonly IoControlCode: number;
  /** METHOD_BUFFERED input: the structure the caller passed (an object, as structures are here). */
  readonly InputBuffer: unknown;
  readonly InputBufferLength: number;
  /** Filled by the handler. */
  OutputBuffer: unknown;
  /** Bytes of output (IoStatus.Information). */
  Information: number;
}

/** DEVICE_OBJECT: the fields drivers touch. */
export class DEVICE_OBJECT {
  Type = 3;
  Size = 0x150;
  DriverObject: DRIVER_OBJECT;
  NextDevice: DEVICE_OBJECT | null = null;
  DeviceExtension: unknown = null;
  DeviceType: number;
  Characteristics: number;
  Flags = 0;
  /** wdknet: the device's name, if it has one. */
  readonly name: string | null;
  /** wdknet: device-control handler for devices wdknet itself implements (\Device\Ip). */
  deviceControl: ((request: DeviceIoControlRequest) => number) | null = null;

  constructor(driver: DRIVER_OBJECT, name: string | null, type: number, characteristics: number) {
    this.DriverObject = driver;
    this.name = name;
    this.DeviceType = type;
    this.Characteristics = characteristics;
  }
}

/** DRIVER_OBJECT: what DriverEntry receives. */
export class DRIVER_OBJECT {
  Type = 4;
  Size = 0x150;
  DeviceObject: DEVICE_OBJECT | null = null;
  DriverName: string;
  DriverExtension: unknown = null;
  DriverUnload: ((DriverObject: DRIVER_OBJECT) => void) | null = null;
  MajorFunction: (((DeviceObject: DEVICE_OBJECT, Irp: unknown) => number) | null)[] = new Array(
    IRP_MJ_MAXIMUM_FUNCTION + 1,
  ).fill(null);
  constructor(name: string) {
    this.DriverName = name;
  }
}

const devices = new Map<string, DEVICE_OBJECT>();

/**
 * IoCreateDevice: creates a device object for `DriverObject`, optionally named (`\Device\Name`). A name already
 * in use gives STATUS_OBJECT_NAME_COLLISION. IRQL PASSIVE_LEVEL.
 */
export function IoCreateDevice(
  DriverObject: DRIVER_OBJECT,
  DeviceExtensionSize: number,
  DeviceName: string | null,
  DeviceType: number,
  DeviceCharacteristics: number,
  Exclusive: boolean,
  DeviceObject: { value: DEVICE_OBJECT | null },
): number {
  requireIrqlAtMost(PASSIVE_LEVEL, 'IoCreateDevice', DdiRule.IrqlDocumentedLimit);
  void Exclusive;
  if (DeviceName !== null && devices.has(DeviceName)) return STATUS_OBJECT_NAME_COLLISION;
  const device = new DEVICE_OBJECT(DriverObject, DeviceName, DeviceType, DeviceCharacteristics);
  device.DeviceExtension = DeviceExtensionSize > 0 ? new Uint8Array(DeviceExtensionSize) : null;
  device.NextDevice = DriverObject.DeviceObject;
  DriverObject.DeviceObject = device;
  if (DeviceName !== null) devices.set(DeviceName, device);
  DeviceObject.value = device;
  return STATUS_SUCCESS;
}

/** IoDeleteDevice */
export function IoDeleteDevice(DeviceObject: DEVICE_OBJECT): void {
  const driver = DeviceObject.DriverObject;
  if (driver.DeviceObject === DeviceObject) driver.DeviceObject = DeviceObject.NextDevice;
  else {
    for (let d = driver.DeviceObject; d !== null; d = d.NextDevice) {
      if (d.NextDevice === DeviceObject) {
        d.NextDevice = DeviceObject.NextDevice;
        break;
      }
    }
  }
  if (DeviceObject.name !== null) devices.delete(DeviceObject.name);
}

/** Looks up a named device (IoGetDeviceObjectPointer without the file object). */
export function IoGetDeviceObjectPointer(ObjectName: string, DeviceObject: { value: DEVICE_OBJECT | null }): number {
  const device = devices.get(ObjectName);
  if (device === undefined) return STATUS_OBJECT_NAME_NOT_FOUND;
  DeviceObject.value = device;
  return STATUS_SUCCESS;
}

/**
 * Sends a device-control request to a device, as IoBuildDeviceIoControlRequest + IoCallDriver would, and
 * returns the final status. `OutputBuffer.value` receives what the device returned.
 */
export function sendDeviceIoControl(
  DeviceObject: DEVICE_OBJECT,
  IoControlCode: number,
  InputBuffer: unknown,
  InputBufferLength: number,
  OutputBuffer?: { value: unknown },
): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'IoCallDriver', DdiRule.IrqlDocumentedLimit);
  if (DeviceObject.deviceControl === null) return STATUS_INVALID_DEVICE_REQUEST;
  const request: DeviceIoControlRequest = {
    IoControlCode,
    InputBuffer,
    InputBufferLength,
    OutputBuffer: null,
    Information: 0,
  };
  const status = DeviceObject.deviceControl(request);
  if (OutputBuffer !== undefined) OutputBuffer.value = request.OutputBuffer;
  return status;
}

/** A kernel-implemented device (such as \Device\Ip), owned by a built-in driver object. */
export function createSystemDevice(name: string, handler: (request: DeviceIoControlRequest) => number): DEVICE_OBJECT {
  const driver = new DRIVER_OBJECT(`\\Driver\\${name.replace(/^\\Device\\/, '')}`);
  const box = { value: null as DEVICE_OBJECT | null };
  const status = IoCreateDevice(driver, 0, name, FILE_DEVICE_NETWORK, 0, false, box);
  if (!NT_SUCCESS(status)) throw new Error(`cannot create ${name}: status 0x${(status >>> 0).toString(16)}`);
  box.value!.deviceControl = handler;
  return box.value!;
}

/** A driver module: what `wdknet run --driver` loads. */
export interface DriverModule {
  DriverEntry(DriverObject: DRIVER_OBJECT, RegistryPath: string): number;
}

/** A loaded driver. */
export interface LoadedDriver {
  readonly name: string;
  readonly object: DRIVER_OBJECT;
  readonly status: number;
}

const loaded: LoadedDriver[] = [];

/**
 * Loads a driver: makes its DRIVER_OBJECT and calls DriverEntry at PASSIVE_LEVEL. A failing status means the
 * driver did not load (as on Windows, DriverUnload is then not called).
 */
export function loadDriver(name: string, module: DriverModule): LoadedDriver {
  if (typeof module.DriverEntry !== 'function') {
    throw new TypeError(`driver ${name} has no DriverEntry function to call`);
  }
  const object = new DRIVER_OBJECT(`\\Driver\\${name}`);
  // The service key exists before the driver starts, as the service control manager created it.
  const registryPath = createRegistryKey(serviceKeyPath(name)).path;
  const status = module.DriverEntry(object, registryPath);
  if (typeof status !== 'number') {
    throw new TypeError(`DriverEntry of ${name} returned ${typeof status}, not an NTSTATUS`);
  }
  const driver: LoadedDriver = { name, object, status };
  if (NT_SUCCESS(status)) loaded.push(driver);
  return driver;
}

/** Unloads a driver that loaded: calls its DriverUnload, if it set one. */
export function unloadDriver(driver: LoadedDriver): number {
  const index = loaded.indexOf(driver);
  if (index < 0) return STATUS_INVALID_PARAMETER;
  loaded.splice(index, 1);
  driver.object.DriverUnload?.(driver.object);
  return STATUS_SUCCESS;
}

/** Drivers loaded and not yet unloaded, in load order. */
export function loadedDrivers(): readonly LoadedDriver[] {
  return loaded;
}

/** Forgets every device and driver (part of resetSystem). */
export function resetDrivers(): void {
  devices.clear();
  loaded.length = 0;
}
