/**
 * NDIS's own blocks for the driver model: the handles NDIS gives drivers. A miniport driver block
 * (NdisMiniportDriverHandle), a miniport adapter block (MiniportAdapterHandle / NdisMiniportHandle), a filter
 * driver block, a filter module (NdisFilterHandle), a protocol block (NdisProtocolHandle) and an open block
 * (NdisBindingHandle). Each lives in nonpaged pool under an NDIS tag, so poolmon, the pool limit and the leak
 * report see them, and its pool address is the number bug checks report (as !ndiskd would show it).
 *
 * The stack of one adapter: position 0 is the miniport, positions 1..n the filter modules from the bottom up,
 * and the open blocks (bindings) sit on top.
 */
import type { DRIVER_OBJECT } from '../kernel/driver.js';
import { ExAllocatePoolWithTag, ExFreePool, NonPagedPoolNx } from '../kernel/pool.js';
import { poolTag } from '../kernel/tags.js';
import { VERIFIER_OFF, verifierLevel } from '../kernel/verifier.js';
import type {
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_HANDLE,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  NET_LUID,
} from './driver-structures.js';
import { driverViolation, NdisDriverViolation, newHolderId } from './driver-verifier.js';

// Pool tags of NDIS's driver-model blocks (decided: Windows does not document its own).
/** Miniport driver blocks: "NdMd" in poolmon. */
export const TAG_MINIPORT_DRIVER = poolTag('dMdN');
/** Miniport adapter blocks: "NdMb". */
export const TAG_MINIPORT_BLOCK = poolTag('bMdN');
/** Filter driver blocks: "NdFd". */
export const TAG_FILTER_DRIVER = poolTag('dFdN');
/** Filter modules: "NdFm". */
export const TAG_FILTER_MODULE = poolTag('mFdN');
/** Protocol blocks: "NdPr". */
export const TAG_PROTOCOL = poolTag('rPdN');
/** Open blocks (bindings): "NdOp". */
export const TAG_OPEN = poolTag('pOdN');

/** Bytes charged for each block (decided: realistic orders of magnitude, not Windows' exact sizes). */
const BLOCK_BYTES = { driver: 256, adapter: 2048, module: 512, open: 512 } as const;

/** The run state of a miniport adapter, a filter module or a binding (the NDIS 6 state machines). */
export const RunState = {
  Detached: 0,
  Attaching: 1,
  Paused: 2,
  Restarting: 3,
  Running: 4,
  Pausing: 5,
  Halted: 6,
} as const;

/** What kind of NDIS block an object is (a number field: cheaper on the data path than instanceof). */
export const BlockKind = {
  MiniportDriver: 1,
  Adapter: 2,
  FilterDriver: 3,
  FilterModule: 4,
  Protocol: 5,
  Binding: 6,
} as const;

/** The kind of an opaque handle, or 0 when it is no NDIS block. */
export function blockKind(handle: unknown): number {
  return typeof handle === 'object' && handle !== null ? ((handle as { kind?: number }).kind ?? 0) : 0;
}

/** Names of the run states, for messages. */
export const RUN_STATE_NAMES = ['Detached', 'Attaching', 'Paused', 'Restarting', 'Running', 'Pausing', 'Halted'];

/** Allocates the pool block behind an NDIS handle; 0 when the pool is exhausted. */
export function allocateBlock(kind: keyof typeof BLOCK_BYTES, tag: number): number {
  return ExAllocatePoolWithTag(NonPagedPoolNx, BLOCK_BYTES[kind], tag);
}

/** Frees the pool block behind an NDIS handle. */
export function freeBlock(address: number): void {
  if (address !== 0) ExFreePool(address);
}

/** NdisMiniportDriverHandle: a registered miniport driver. */
export class NdisMiniportDriverBlock {
  readonly kind = BlockKind.MiniportDriver;
  readonly DriverObject: DRIVER_OBJECT;
  readonly MiniportDriverContext: NDIS_HANDLE;
  readonly chars: NDIS_MINIPORT_DRIVER_CHARACTERISTICS;
  readonly address: number;
  readonly adapters: NdisMiniportBlock[] = [];
  registered = true;
  constructor(
    driver: DRIVER_OBJECT,
    context: NDIS_HANDLE,
    chars: NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    address: number,
  ) {
    this.DriverObject = driver;
    this.MiniportDriverContext = context;
    this.chars = chars;
    this.address = address;
  }
}

/** NdisFilterDriverHandle: a registered filter driver. */
export class NdisFilterDriverBlock {
  readonly kind = BlockKind.FilterDriver;
  readonly DriverObject: DRIVER_OBJECT;
  readonly FilterDriverContext: NDIS_HANDLE;
  readonly chars: NDIS_FILTER_DRIVER_CHARACTERISTICS;
  readonly address: number;
  readonly modules: NdisFilterModule[] = [];
  registered = true;
  constructor(driver: DRIVER_OBJECT, context: NDIS_HANDLE, chars: NDIS_FILTER_DRIVER_CHARACTERISTICS, address: number) {
    this.DriverObject = driver;
    this.FilterDriverContext = context;
    this.chars = chars;
    this.address = address;
  }
}

/** NdisProtocolHandle: a registered protocol driver. */
export class NdisProtocolBlock {
  readonly kind = BlockKind.Protocol;
  readonly ProtocolDriverContext: NDIS_HANDLE;
  readonly chars: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS;
  readonly address: number;
  readonly opens: NdisOpenBlock[] = [];
  /** Adapters NDIS already offered to ProtocolBindAdapterEx (each is offered once, bound or declined). */
  readonly offered = new Set<NdisMiniportBlock>();
  registered = true;
  constructor(context: NDIS_HANDLE, chars: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, address: number) {
    this.ProtocolDriverContext = context;
    this.chars = chars;
    this.address = address;
  }
}

/** MiniportAdapterHandle: one adapter of a miniport driver, and the stack built on it. */
export class NdisMiniportBlock {
  readonly kind = BlockKind.Adapter;
  /** The id NBLs held by this block record (driver-verifier.ts NblHolder). */
  readonly holderId: number = newHolderId(this);
  readonly driver: NdisMiniportDriverBlock;
  readonly address: number;
  /** The adapter's name (the instance name bindings see as AdapterName). */
  readonly name: string;
  readonly IfIndex: number;
  readonly NetLuid: NET_LUID;
  /** Set by NdisMSetMiniportAttributes (registration attributes). */
  MiniportAdapterContext: NDIS_HANDLE = null;
  registrationSet = false;
  /** Set by NdisMSetMiniportAttributes (general attributes). */
  general: NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES | null = null;
  state: number = RunState.Detached;
  /** True while MiniportInitializeEx runs (NdisMSetMiniportAttributes is legal only then). */
  initializing = false;
  /** Filter modules from the bottom (position 1) up. */
  readonly filters: NdisFilterModule[] = [];
  /** Bindings (open blocks) on top of the stack. */
  readonly opens: NdisOpenBlock[] = [];
  /** NBLs the miniport holds from MiniportSendNetBufferLists and has not completed. */
  sendsHeld = 0;
  /** NBLs it indicated without NDIS_RECEIVE_FLAGS_RESOURCES that have not come back. */
  receivesOut = 0;
  /** Counters NDIS keeps (frames through the miniport edge). */
  sent = 0;
  completed = 0;
  indicated = 0;
  returned = 0;
  constructor(driver: NdisMiniportDriverBlock, address: number, name: string, ifIndex: number, luid: NET_LUID) {
    this.driver = driver;
    this.address = address;
    this.name = name;
    this.IfIndex = ifIndex;
    this.NetLuid = luid;
  }
}

/** NdisFilterHandle: one filter driver attached to one adapter. */
export class NdisFilterModule {
  readonly kind = BlockKind.FilterModule;
  /** The id NBLs held by this block record (driver-verifier.ts NblHolder). */
  readonly holderId: number = newHolderId(this);
  readonly driver: NdisFilterDriverBlock;
  readonly adapter: NdisMiniportBlock;
  readonly address: number;
  /** Position in the adapter's stack (1 = just above the miniport). Kept current as modules come and go. */
  position = 0;
  /** Set by NdisFSetAttributes during FilterAttach. */
  FilterModuleContext: NDIS_HANDLE = null;
  attributesSet = false;
  state: number = RunState.Detached;
  /** NBLs this module handed down (NdisFSendNetBufferLists) that have not come back past it. */
  sendsOut = 0;
  /** NBLs this module indicated up (NdisFIndicateReceiveNetBufferLists) that have not come back past it. */
  receivesOut = 0;
  constructor(driver: NdisFilterDriverBlock, adapter: NdisMiniportBlock, address: number) {
    this.driver = driver;
    this.adapter = adapter;
    this.address = address;
  }
}

/** NdisBindingHandle: one protocol bound to one adapter. */
export class NdisOpenBlock {
  readonly kind = BlockKind.Binding;
  /** The id NBLs held by this block record (driver-verifier.ts NblHolder). */
  readonly holderId: number = newHolderId(this);
  readonly protocol: NdisProtocolBlock;
  readonly adapter: NdisMiniportBlock;
  readonly address: number;
  readonly ProtocolBindingContext: NDIS_HANDLE;
  state: number = RunState.Paused;
  /** NBLs sent on this binding and not yet completed to the protocol. */
  sendsOut = 0;
  /** Receive indications the protocol holds and has not returned. */
  receivesHeld = 0;
  /** True once NdisCloseAdapterEx was called. */
  closing = false;
  constructor(protocol: NdisProtocolBlock, adapter: NdisMiniportBlock, address: number, context: NDIS_HANDLE) {
    this.protocol = protocol;
    this.adapter = adapter;
    this.address = address;
    this.ProtocolBindingContext = context;
  }
}

/** Everything registered, in registration order. */
export const registry = {
  miniportDrivers: [] as NdisMiniportDriverBlock[],
  adapters: [] as NdisMiniportBlock[],
  filterDrivers: [] as NdisFilterDriverBlock[],
  protocols: [] as NdisProtocolBlock[],
};

/** Forgets every block (part of resetSystem; the pool itself is reset by the kernel). */
export function resetRegistry(): void {
  registry.miniportDrivers.length = 0;
  registry.adapters.length = 0;
  registry.filterDrivers.length = 0;
  registry.protocols.length = 0;
}

function badHandle(kind: number, expected: string, ddi: string): never {
  return driverViolation(NdisDriverViolation.InvalidHandle, 0, kind, 0, `${ddi}: the handle is not ${expected}`);
}

// The data-path handle checks use instanceof rather than blockKind: a `kind` load on handles of every block
// class is a megamorphic access, paid on every send, indication, completion and return.

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** Checks an opaque handle is a MiniportAdapterHandle (with the verifier off the check is skipped). */
export const asAdapter = (handle: unknown, ddi: string): NdisMiniportBlock => {
  if (verifierLevel === VERIFIER_OFF || handle instanceof NdisMiniportBlock) return handle as NdisMiniportBlock;
  return badHandle(BlockKind.Adapter, 'a MiniportAdapterHandle', ddi);
};

/** Checks an opaque handle is an NdisMiniportDriverHandle. */
export function asMiniportDriver(handle: unknown, ddi: string): NdisMiniportDriverBlock {
  if (blockKind(handle) === BlockKind.MiniportDriver) return handle as NdisMiniportDriverBlock;
  return badHandle(BlockKind.MiniportDriver, 'an NdisMiniportDriverHandle', ddi);
}

/** Checks an opaque handle is an NdisFilterDriverHandle. */
export function asFilterDriver(handle: unknown, ddi: string): NdisFilterDriverBlock {
  if (blockKind(handle) === BlockKind.FilterDriver) return handle as NdisFilterDriverBlock;
  return badHandle(BlockKind.FilterDriver, 'an NdisFilterDriverHandle', ddi);
}

/** Checks an opaque handle is an NdisFilterHandle (with the verifier off the check is skipped). */
export function asFilterModule(handle: unknown, ddi: string): NdisFilterModule {
  if (verifierLevel === VERIFIER_OFF || handle instanceof NdisFilterModule) return handle as NdisFilterModule;
  return badHandle(BlockKind.FilterModule, 'an NdisFilterHandle', ddi);
}

/** Checks an opaque handle is an NdisProtocolHandle. */
export function asProtocol(handle: unknown, ddi: string): NdisProtocolBlock {
  if (blockKind(handle) === BlockKind.Protocol) return handle as NdisProtocolBlock;
  return badHandle(BlockKind.Protocol, 'an NdisProtocolHandle', ddi);
}

/** Checks an opaque handle is an NdisBindingHandle (with the verifier off the check is skipped). */
export const asBinding = (handle: unknown, ddi: string): NdisOpenBlock => {
  if (verifierLevel === VERIFIER_OFF || handle instanceof NdisOpenBlock) return handle as NdisOpenBlock;
  return badHandle(BlockKind.Binding, 'an NdisBindingHandle', ddi);
};
