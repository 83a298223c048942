/**
 * The check every NDIS 6 driver registration makes of its characteristics structure (NdisMRegisterMiniportDriver,
 * NdisFRegisterFilterDriver, NdisRegisterProtocolDriver): the header's type, size and revision, an NDIS 6 major
 * version, and the handlers the driver type must supply.
 */
import { STATUS_SUCCESS } from '../kernel/status.js';
import { NDIS_STATUS_BAD_CHARACTERISTICS, NDIS_STATUS_BAD_VERSION } from './driver-constants.js';
import type { NDIS_OBJECT_HEADER } from './structures.js';

/** What the check reads of a characteristics structure. */
interface Characteristics {
  readonly Header: NDIS_OBJECT_HEADER;
  readonly MajorNdisVersion: number;
}

/** Which header a driver type's characteristics must carry. */
export interface CharacteristicsRule<C> {
  readonly type: number;
  readonly minSize: number;
  readonly minRevision: number;
  readonly maxRevision: number;
  /** Handlers that may not be NULL. */
  readonly required: readonly (keyof C)[];
}

/**
 * NDIS_STATUS_SUCCESS, NDIS_STATUS_BAD_CHARACTERISTICS (wrong header, or a required handler missing) or
 * NDIS_STATUS_BAD_VERSION (not NDIS 6.x).
 */
export function checkCharacteristics<C extends Characteristics>(c: C, rule: CharacteristicsRule<C>): number {
  const h = c.Header;
  if (h.Type !== rule.type || h.Size < rule.minSize || h.Revision < rule.minRevision || h.Revision > rule.maxRevision) {
    return NDIS_STATUS_BAD_CHARACTERISTICS;
  }
  if (c.MajorNdisVersion !== 6) return NDIS_STATUS_BAD_VERSION;
  for (const name of rule.required) {
    if (typeof c[name] !== 'function') return NDIS_STATUS_BAD_CHARACTERISTICS;
  }
  return STATUS_SUCCESS;
}
