/**
 * An observer of NET_BUFFER_LISTs passing NDIS lightweight filter modules, for tools that follow a packet's life
 * (`wdknet run --trace`). The data path calls it as it hands a list to a module's FilterSendNetBufferLists or
 * FilterReceiveNetBufferLists; with no observer set (the default) that costs one comparison per hop.
 */
import { onSystemReset } from '../kernel/system.js';
import type { NdisFilterModule } from './driver-blocks.js';
import type { NET_BUFFER_LIST } from './structures.js';

/** Called once per list in a chain handed to a filter module: `receive` is the direction (false: a send). */
export type FilterPassageObserver = (nbl: NET_BUFFER_LIST, module: NdisFilterModule, receive: boolean) => void;

/** The observer, or null. Read by the data path on each hop to a filter module. */
export let filterPassageObserver: FilterPassageObserver | null = null;

/** Sets (or with null clears) the observer; a system reset clears it. */
export function setFilterPassageObserver(observer: FilterPassageObserver | null): void {
  filterPassageObserver = observer;
}

/** Tells the observer about every list of `nbls` (the data path calls this only when an observer is set). */
export function observeFilterPassage(nbls: NET_BUFFER_LIST | null, module: NdisFilterModule, receive: boolean): void {
  for (let nbl = nbls; nbl !== null; nbl = nbl.Next) filterPassageObserver?.(nbl, module, receive);
}

onSystemReset(() => {
  filterPassageObserver = null;
});
