/**
 * Copying NET_BUFFER_LIST information between lists: NdisCopySendNetBufferListInfo and
 * NdisCopyReceiveNetBufferListInfo (for a driver that clones or allocates a new list to pass a request on).
 */
import { RECEIVE_INFO_SLOTS, SEND_INFO_SLOTS } from './info.js';
import type { NET_BUFFER_LIST } from './structures.js';
import { requireNetBufferIrql } from './violations.js';

/** NdisCopySendNetBufferListInfo: copies the send-path information slots from `SrcNetBufferList`. */
export function NdisCopySendNetBufferListInfo(
  DestNetBufferList: NET_BUFFER_LIST,
  SrcNetBufferList: NET_BUFFER_LIST,
): void {
  requireNetBufferIrql('NdisCopySendNetBufferListInfo');
  copySlots(DestNetBufferList, SrcNetBufferList, SEND_INFO_SLOTS);
}

/** NdisCopyReceiveNetBufferListInfo: copies the receive-path information slots from `SrcNetBufferList`. */
export function NdisCopyReceiveNetBufferListInfo(
  DestNetBufferList: NET_BUFFER_LIST,
  SrcNetBufferList: NET_BUFFER_LIST,
): void {
  requireNetBufferIrql('NdisCopyReceiveNetBufferListInfo');
  copySlots(DestNetBufferList, SrcNetBufferList, RECEIVE_INFO_SLOTS);
}

function copySlots(dest: NET_BUFFER_LIST, src: NET_BUFFER_LIST, slots: readonly number[]): void {
  for (const slot of slots) dest.NetBufferListInfo[slot] = src.NetBufferListInfo[slot];
}
