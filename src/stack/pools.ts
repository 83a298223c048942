/**
 * The NET_BUFFER_LIST pools the host's IP layer and its virtual NICs allocate: one place that fills
 * NET_BUFFER_LIST_POOL_PARAMETERS (revision 1) and calls NdisAllocateNetBufferListPool.
 */
import { NdisAllocateNetBufferListPool } from '../ndis/netBufferList.js';
import type { NetBufferListPool } from '../ndis/pools.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
} from '../ndis/structures.js';

/**
 * A NET_BUFFER_LIST pool charged to `tag`, each list with `dataSize` bytes of data, with a NET_BUFFER of its own
 * when `allocateNetBuffer`; `protocolId` is NDIS_PROTOCOL_ID_* (0 for a miniport). Null when NDIS refuses.
 */
export function allocateListPool(
  tag: number,
  dataSize: number,
  allocateNetBuffer: boolean,
  protocolId = 0,
): NetBufferListPool | null {
  const p = new NET_BUFFER_LIST_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  p.ProtocolId = protocolId;
  p.fAllocateNetBuffer = allocateNetBuffer;
  p.ContextSize = 0;
  p.PoolTag = tag;
  p.DataSize = dataSize;
  return NdisAllocateNetBufferListPool(null, p);
}
