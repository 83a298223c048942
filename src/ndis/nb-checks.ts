/**
 * Verifier checks on NET_BUFFER data that NDIS makes when a driver hands it lists (sends, receive indications,
 * WFP injections, NdisGetDataBuffer), not only when a NET_BUFFER is allocated: a driver may change DataLength or
 * shorten an MDL afterwards, and Windows would then walk past the end of the chain (a NULL Next) or read bytes the
 * chain does not describe. The documentation requires the used data to lie in the chain (NdisAllocateNetBuffer's
 * DataOffset and DataLength "in the MDL chain"); it is silent on when a violation is caught, so wdknet decides:
 * wherever NDIS takes a list, under the standard verifier, reported as 0xC4 / Ndis6Violation.DataBeyondChain.
 */
import { reserveInBlock } from '../kernel/pool.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { checkDataInChain } from './chain.js';
import {
  type NET_BUFFER,
  type NET_BUFFER_LIST,
  SIZEOF_NET_BUFFER,
  SIZEOF_NET_BUFFER_LIST,
  SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER,
} from './structures.js';

/**
 * Standard verifier: every NET_BUFFER of every list in `nbls` (linked through Next) has DataOffset + DataLength
 * within the bytes its MDL chain describes. One walk of each chain; costs nothing with the verifier off.
 */
export function checkNblDataInChains(nbls: NET_BUFFER_LIST | null, ddi: string): void {
  if (verifierLevel < VERIFIER_STANDARD) return;
  for (let l = nbls; l !== null; l = l.Next) {
    for (let nb = l.FirstNetBuffer; nb !== null; nb = nb.Next) checkDataInChain(nb, ddi);
  }
}

/**
 * Full verifier: the NET_BUFFER descriptor that shares a pool block with its built-in data is off limits to the
 * driver, so an underrun of the data (or a stray write) into it is caught although it stays inside the allocation
 * (see reserveInBlock). Called once when NDIS creates the descriptor.
 */
export function guardNetBufferDescriptor(nb: NET_BUFFER): void {
  reserveInBlock(nb.address, SIZEOF_NET_BUFFER);
}

/**
 * Full verifier: the same for a NET_BUFFER_LIST block - the list's descriptor, the header of its preallocated
 * context and its preallocated NET_BUFFER - so an overrun of the context data into the NET_BUFFER, or of anything
 * into the descriptors, is caught inside the allocation.
 */
export function guardNetBufferListDescriptors(nbl: NET_BUFFER_LIST): void {
  reserveInBlock(nbl.address, SIZEOF_NET_BUFFER_LIST);
  const ctx = nbl.preContext;
  if (ctx !== null)
    reserveInBlock(ctx.ContextData - SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER, SIZEOF_NET_BUFFER_LIST_CONTEXT_HEADER);
  const nb = nbl.preNb;
  if (nb !== null) reserveInBlock(nb.address, SIZEOF_NET_BUFFER);
}
