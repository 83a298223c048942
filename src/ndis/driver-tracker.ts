/**
 * Full verifier mode: every NET_BUFFER_LIST in flight through the driver model, with the call site where its
 * driver handed it to NDIS (a send, or a receive indication made without NDIS_RECEIVE_FLAGS_RESOURCES), until it
 * is back with that driver. The leak report lists each one with the block that holds it now, as
 * `!ndiskd.pendingnbls` would. In standard and off modes nothing is recorded (one comparison per call).
 */
import { registerLeakSource } from '../kernel/leaks.js';
import { onSystemReset } from '../kernel/system.js';
import { callSite, VERIFIER_FULL, verifierLevel } from '../kernel/verifier.js';
import {
  BlockKind,
  blockKind,
  type NdisFilterModule,
  type NdisMiniportBlock,
  type NdisOpenBlock,
} from './driver-blocks.js';
import { holderOf } from './driver-verifier.js';
import type { NET_BUFFER_LIST } from './structures.js';

const sites = new Map<NET_BUFFER_LIST, string>();

/** Records that `nbl` left its driver (full mode only). */
export function trackOut(nbl: NET_BUFFER_LIST): void {
  if (verifierLevel >= VERIFIER_FULL) sites.set(nbl, callSite());
}

/** Records that `nbl` is back with its driver. */
export function trackBack(nbl: NET_BUFFER_LIST): void {
  if (verifierLevel >= VERIFIER_FULL) sites.delete(nbl);
}

/** Who holds an NBL, in words. */
function describe(holder: unknown): string {
  switch (blockKind(holder)) {
    case BlockKind.Adapter:
      return `miniport adapter ${(holder as NdisMiniportBlock).name}`;
    case BlockKind.FilterModule: {
      const m = holder as NdisFilterModule;
      return `filter module ${m.driver.chars.FriendlyName || m.driver.DriverObject.DriverName} on ${m.adapter.name}`;
    }
    case BlockKind.Binding: {
      const o = holder as NdisOpenBlock;
      return `binding of ${o.protocol.chars.Name} to ${o.adapter.name}`;
    }
    default:
      return 'several bindings';
  }
}

registerLeakSource('ndis-nbls', () =>
  [...sites].map(([nbl, site]) => ({
    kind: 'NET_BUFFER_LIST in flight',
    tag: '',
    size: 0,
    owner: describe(holderOf(nbl)),
    site,
    detail: `NBL at 0x${nbl.address.toString(16)}`,
  })),
);

onSystemReset(() => sites.clear());
