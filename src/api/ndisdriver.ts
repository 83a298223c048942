/**
 * The idiomatic API of the NDIS driver model: register drivers with typed errors instead of statuses, bring
 * simulated adapters up and down, look at the stacks NDIS built, and build networks of virtual NICs on wires.
 * Everything goes through the same core as the faithful face (`wdknet/ddi`): the DDIs themselves.
 */
import type { DRIVER_OBJECT } from '../kernel/driver.js';
import { NT_SUCCESS, StatusError } from '../kernel/status.js';
import {
  asAdapter,
  asMiniportDriver,
  type NdisMiniportBlock,
  RUN_STATE_NAMES,
  registry,
} from '../ndis/driver-blocks.js';
import { drainNdisPnpWork } from '../ndis/driver-lifecycle.js';
import type {
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_HANDLE,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
} from '../ndis/driver-structures.js';
import { NdisFDeregisterFilterDriver, NdisFRegisterFilterDriver } from '../ndis/filter.js';
import {
  type AdapterOptions,
  addMiniportAdapter,
  NdisMDeregisterMiniportDriver,
  NdisMRegisterMiniportDriver,
  removeMiniportAdapter,
} from '../ndis/miniport.js';
import { NdisDeregisterProtocolDriver, NdisRegisterProtocolDriver } from '../ndis/protocol.js';

export { NicCounters, unloadVirtualNicDriver, VirtualNic, type VirtualNicOptions } from '../stack/nic.js';
export { OUTSIDE, Wire, type WirePort, type WireTap } from '../stack/wire.js';
export { type AdapterOptions, drainNdisPnpWork };

/** A registered driver: its NDIS handle and a way to deregister it. */
export interface RegisteredDriver {
  /** The handle NDIS returned (NdisMiniportDriverHandle, NdisFilterDriverHandle or NdisProtocolHandle). */
  readonly handle: NDIS_HANDLE;
  /** Deregisters (blocking, as the DDI does: it unbinds, detaches or halts first). */
  deregister(): void;
}

function check(status: number, what: string): void {
  if (!NT_SUCCESS(status)) throw new StatusError(status, what);
}

/** Registers a miniport driver (NdisMRegisterMiniportDriver); throws StatusError on failure. */
export function registerMiniportDriver(
  driverObject: DRIVER_OBJECT,
  characteristics: NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  context: unknown = null,
): RegisteredDriver {
  const box = { value: null as NDIS_HANDLE };
  check(NdisMRegisterMiniportDriver(driverObject, '', context, characteristics, box), 'NdisMRegisterMiniportDriver');
  const handle = box.value;
  return { handle, deregister: () => NdisMDeregisterMiniportDriver(handle) };
}

/**
 * Registers a filter driver (NdisFRegisterFilterDriver); throws StatusError on failure. As on Windows, NDIS
 * attaches it to the adapters after this returns (so the driver has its handle first): run
 * {@link drainNdisPnpWork} (or let the event loop turn) to have that happen.
 */
export function registerFilterDriver(
  driverObject: DRIVER_OBJECT,
  characteristics: NDIS_FILTER_DRIVER_CHARACTERISTICS,
  context: unknown = null,
): RegisteredDriver {
  const box = { value: null as NDIS_HANDLE };
  check(NdisFRegisterFilterDriver(driverObject, context, characteristics, box), 'NdisFRegisterFilterDriver');
  const handle = box.value;
  return { handle, deregister: () => NdisFDeregisterFilterDriver(handle) };
}

/**
 * Registers a protocol driver (NdisRegisterProtocolDriver); throws StatusError on failure. NDIS binds it to the
 * adapters after this returns: run {@link drainNdisPnpWork} (or let the event loop turn) to have that happen.
 */
export function registerProtocolDriver(
  characteristics: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  context: unknown = null,
): RegisteredDriver {
  const box = { value: null as NDIS_HANDLE };
  check(NdisRegisterProtocolDriver(context, characteristics, box), 'NdisRegisterProtocolDriver');
  const handle = box.value;
  return { handle, deregister: () => NdisDeregisterProtocolDriver(handle) };
}

/** Starts an adapter of a registered miniport driver (as Plug and Play would); throws StatusError on failure. */
export function startAdapter(miniportDriver: NDIS_HANDLE, options: AdapterOptions = {}): NdisMiniportBlock {
  const { status, adapter } = addMiniportAdapter(asMiniportDriver(miniportDriver, 'startAdapter'), options);
  if (adapter === null) throw new StatusError(status, 'MiniportInitializeEx');
  return adapter;
}

/** Removes an adapter: unbind, detach, pause, halt. */
export function stopAdapter(adapter: NDIS_HANDLE, surprise = false): void {
  removeMiniportAdapter(asAdapter(adapter, 'stopAdapter'), surprise);
}

/** One adapter's stack as NDIS sees it, bottom to top. */
export interface AdapterStackInfo {
  readonly name: string;
  readonly ifIndex: number;
  readonly miniport: string;
  readonly state: string;
  /** Filter modules from the bottom up. */
  readonly filters: readonly { name: string; state: string; sendsOut: number; receivesOut: number }[];
  /** Bindings on top. */
  readonly bindings: readonly { protocol: string; state: string; sendsOut: number; receivesHeld: number }[];
  /** NBLs through the miniport edge. */
  readonly sent: number;
  readonly completed: number;
  readonly indicated: number;
  readonly returned: number;
}

/** A snapshot of every adapter's stack (what `!ndiskd.netreport` would show). */
export function ndisStacks(): AdapterStackInfo[] {
  return registry.adapters.map((a) => ({
    name: a.name,
    ifIndex: a.IfIndex,
    miniport: a.driver.DriverObject.DriverName,
    state: RUN_STATE_NAMES[a.state] ?? String(a.state),
    filters: a.filters.map((m) => ({
      name: m.driver.chars.FriendlyName || m.driver.DriverObject.DriverName,
      state: RUN_STATE_NAMES[m.state] ?? String(m.state),
      sendsOut: m.sendsOut,
      receivesOut: m.receivesOut,
    })),
    bindings: a.opens.map((o) => ({
      protocol: o.protocol.chars.Name,
      state: RUN_STATE_NAMES[o.state] ?? String(o.state),
      sendsOut: o.sendsOut,
      receivesHeld: o.receivesHeld,
    })),
    sent: a.sent,
    completed: a.completed,
    indicated: a.indicated,
    returned: a.returned,
  }));
}
