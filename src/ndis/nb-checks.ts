/**
 * Verifier checks on NET_BUFFER data that NDIS makes when a driver hands it lists (sends, receive indications,
 * WFP injections, NdisGetDataBuffer), not only when a NET_BUFFER is allocated: a driver may change DataLength or
 * shorten an MDL afterwards, and Windows would then walk past the end of the chain (a NULL Next) or read bytes the
 * chain does not describe. The documentation requires the used data to lie in the chain (NdisAllocateNetBuffer's
 * DataOffset and DataLength "in the MDL chain"); it is silent on when a violation is caught, so wdknet decides:
 * wherever NDIS takes a list, under the standard verifier, reported as 0xC4 / Ndis6Violation.DataBeyondChain.
 */
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { checkDataInChain } from './chain.js';
import type { NET_BUFFER_LIST } from './structures.js';

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
