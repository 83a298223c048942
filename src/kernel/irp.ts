/**
 * Device I/O control requests the way a kernel driver sends them to another driver's device:
 * IoBuildDeviceIoControlRequest, IoCallDriver, and the notification event and IO_STATUS_BLOCK the caller waits on
 * (KeInitializeEvent, KeSetEvent, KeWaitForSingleObject). A firewall-hook driver registers its hook this way with
 * \Device\Ip.
 *
 * One simulated processor runs everything, so a wait cannot block: KeWaitForSingleObject first lets queued
 * deferred work run (what would signal the event on Windows), and a wait that can then never be satisfied is
 * reported as Driver Verifier's deadlock detection would (0xC4, Parameter 1 0x1001) instead of hanging.
 */
import { bugCheck, DdiRule, DRIVER_VERIFIER_DETECTED_VIOLATION } from './bugcheck.js';
import { drainDeferredWork } from './deferred.js';
import {
  type DEVICE_OBJECT,
  type DeviceIoControlRequest,
  IRP_MJ_DEVICE_CONTROL,
  IRP_MJ_INTERNAL_DEVICE_CONTROL,
} from './driver.js';
import { APC_LEVEL, DISPATCH_LEVEL, KeGetCurrentIrql, PASSIVE_LEVEL, requireIrqlAtMost } from './irql.js';
import { poolCharge, poolRelease } from './pool.js';
import { STATUS_INVALID_DEVICE_REQUEST, STATUS_PENDING, STATUS_SUCCESS } from './status.js';
import { poolTag } from './tags.js';

/** EVENT_TYPE */
export const NotificationEvent = 0;
/** EVENT_TYPE: an event a satisfied wait resets. */
export const SynchronizationEvent = 1;
/** KWAIT_REASON / KPROCESSOR_MODE values drivers pass to KeWaitForSingleObject. */
export const Executive = 0;
/** KPROCESSOR_MODE KernelMode. */
export const KernelMode = 0;
/** KPROCESSOR_MODE UserMode. */
export const UserMode = 1;
/** KeWaitForSingleObject's status when the timeout expired. */
export const STATUS_TIMEOUT = 0x102;

/** Pool tag of IRPs ("Irp " in poolmon) and sizeof(IRP) on x64 with one stack location. */
const TAG_IRP = poolTag(' prI');
const SIZEOF_IRP = 0xd0 + 0x48;

/** IO_STATUS_BLOCK: the final status of a request and its Information (bytes returned). */
export class IO_STATUS_BLOCK {
  Status = STATUS_SUCCESS;
  Information = 0;
}

/** KEVENT: a dispatcher event. */
export class KEVENT {
  /** NotificationEvent (stays signaled until reset) or SynchronizationEvent (a wait resets it). */
  Type = NotificationEvent;
  SignalState = 0;
}

/** KeInitializeEvent: sets up an event of `Type`, signaled when `State` is TRUE. Any IRQL. */
export function KeInitializeEvent(Event: KEVENT, Type: number, State: boolean): void {
  Event.Type = Type;
  Event.SignalState = State ? 1 : 0;
}

/** KeSetEvent: signals the event and returns its previous state. IRQL <= DISPATCH_LEVEL. */
export function KeSetEvent(Event: KEVENT, Increment: number, Wait: boolean): number {
  void Increment;
  void Wait;
  requireIrqlAtMost(DISPATCH_LEVEL, 'KeSetEvent', DdiRule.IrqlDocumentedLimit);
  const previous = Event.SignalState;
  Event.SignalState = 1;
  return previous;
}

/** KeResetEvent: clears the event and returns its previous state. IRQL <= DISPATCH_LEVEL. */
export function KeResetEvent(Event: KEVENT): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'KeResetEvent', DdiRule.IrqlDocumentedLimit);
  const previous = Event.SignalState;
  Event.SignalState = 0;
  return previous;
}

/**
 * KeWaitForSingleObject on an event: STATUS_SUCCESS once it is signaled (a synchronization event is then reset),
 * STATUS_TIMEOUT when `Timeout` is given and it is not. IRQL <= APC_LEVEL, or DISPATCH_LEVEL with a zero timeout.
 */
export function KeWaitForSingleObject(
  // biome-ignore lint/suspicious/noShadowRestrictedNames: the WDK parameter is named Object
  Object: KEVENT,
  WaitReason: number,
  WaitMode: number,
  Alertable: boolean,
  Timeout: { value: bigint | number } | null,
): number {
  void WaitReason;
  void WaitMode;
  void Alertable;
  const zeroTimeout = Timeout !== null && Number(Timeout.value) === 0;
  requireIrqlAtMost(zeroTimeout ? DISPATCH_LEVEL : APC_LEVEL, 'KeWaitForSingleObject', DdiRule.IrqlDocumentedLimit);
  if (Object.SignalState === 0 && !zeroTimeout && KeGetCurrentIrql() === PASSIVE_LEVEL) drainDeferredWork();
  if (Object.SignalState !== 0) {
    if (Object.Type === SynchronizationEvent) Object.SignalState = 0;
    return STATUS_SUCCESS;
  }
  if (Timeout !== null) return STATUS_TIMEOUT;
  return bugCheck(
    DRIVER_VERIFIER_DETECTED_VIOLATION,
    0x1001,
    0,
    0,
    0,
    'KeWaitForSingleObject with no timeout on an event that nothing left to run will ever signal: a deadlock',
  );
}

/** IRP: the parts of an I/O request packet that a device-control request uses. */
export class IRP {
  Type = 6;
  Size = SIZEOF_IRP;
  IoStatus = new IO_STATUS_BLOCK();
  UserIosb: IO_STATUS_BLOCK | null = null;
  UserEvent: KEVENT | null = null;
  /** The current stack location's major function and parameters. */
  MajorFunction = IRP_MJ_DEVICE_CONTROL;
  IoControlCode = 0;
  InputBuffer: unknown = null;
  InputBufferLength = 0;
  OutputBuffer: unknown = null;
  OutputBufferLength = 0;
  /** wdknet: sent already (an IRP is sent once). */
  sent = false;
}

/**
 * IoBuildDeviceIoControlRequest: builds an IRP for IRP_MJ_DEVICE_CONTROL (or IRP_MJ_INTERNAL_DEVICE_CONTROL) to
 * `DeviceObject`. Returns NULL if the IRP cannot be allocated. The I/O manager frees the IRP when it completes;
 * the caller then finds the status in `IoStatusBlock` and `Event` signaled. IRQL PASSIVE_LEVEL.
 */
export function IoBuildDeviceIoControlRequest(
  IoControlCode: number,
  DeviceObject: DEVICE_OBJECT,
  InputBuffer: unknown,
  InputBufferLength: number,
  OutputBuffer: unknown,
  OutputBufferLength: number,
  InternalDeviceIoControl: boolean,
  Event: KEVENT | null,
  IoStatusBlock: IO_STATUS_BLOCK,
): IRP | null {
  requireIrqlAtMost(PASSIVE_LEVEL, 'IoBuildDeviceIoControlRequest', DdiRule.IrqlDocumentedLimit);
  void DeviceObject;
  if (!poolCharge(TAG_IRP, SIZEOF_IRP, 'IoBuildDeviceIoControlRequest')) return null;
  const irp = new IRP();
  irp.MajorFunction = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
  irp.IoControlCode = IoControlCode >>> 0;
  irp.InputBuffer = InputBuffer;
  irp.InputBufferLength = InputBufferLength;
  irp.OutputBuffer = OutputBuffer;
  irp.OutputBufferLength = OutputBufferLength;
  irp.UserEvent = Event;
  irp.UserIosb = IoStatusBlock;
  return irp;
}

/**
 * IoCallDriver: sends the IRP to the device and returns its status. Devices here complete device-control
 * requests at once, so the status is final (never STATUS_PENDING): the IRP is completed, its status copied to the
 * caller's IO_STATUS_BLOCK, the caller's event signaled, and the IRP freed. IRQL <= DISPATCH_LEVEL.
 */
export function IoCallDriver(DeviceObject: DEVICE_OBJECT, Irp: IRP): number {
  requireIrqlAtMost(DISPATCH_LEVEL, 'IoCallDriver', DdiRule.IrqlDocumentedLimit);
  if (Irp.sent) {
    bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1002, 0, 0, 0, 'IoCallDriver with an IRP that was already sent');
  }
  Irp.sent = true;
  let status = STATUS_INVALID_DEVICE_REQUEST;
  let information = 0;
  if (DeviceObject.deviceControl !== null) {
    const request: DeviceIoControlRequest = {
      IoControlCode: Irp.IoControlCode,
      InputBuffer: Irp.InputBuffer,
      InputBufferLength: Irp.InputBufferLength,
      OutputBuffer: null,
      Information: 0,
    };
    status = DeviceObject.deviceControl(request);
    information = request.Information;
    if (Irp.OutputBuffer !== null && typeof Irp.OutputBuffer === 'object' && 'value' in Irp.OutputBuffer) {
      (Irp.OutputBuffer as { value: unknown }).value = request.OutputBuffer;
    }
  }
  if (status === STATUS_PENDING) status = STATUS_SUCCESS; // decided: kernel devices here complete synchronously
  Irp.IoStatus.Status = status;
  Irp.IoStatus.Information = information;
  if (Irp.UserIosb !== null) {
    Irp.UserIosb.Status = status;
    Irp.UserIosb.Information = information;
  }
  if (Irp.UserEvent !== null) Irp.UserEvent.SignalState = 1;
  poolRelease(TAG_IRP, SIZEOF_IRP);
  return status;
}
