/**
 * The NDIS 5 buffer and packet layer: buffer descriptors (NDIS_BUFFER, an MDL), packets (NDIS_PACKET) and their
 * pools. Importing it registers its reset with resetSystem and its leak source with collectLeaks.
 */
import { type Leak, registerLeakSource } from '../kernel/leaks.js';
import { TAG_MDL } from '../kernel/mdl.js';
import { onSystemReset } from '../kernel/system.js';
import { tagToString } from '../kernel/tags.js';
import { liveBufferPools, resetNdis5Buffers, systemPoolBuffersInUse } from './ndis5buffer.js';
import { livePacketPools, resetNdis5Packets } from './ndis5packet.js';
import { SIZEOF_NDIS5_POOL_HEADER, TAG_NDIS_PACKET_POOL } from './ndis5rules.js';

export * from './ndis5buffer.js';
export * from './ndis5chain.js';
export * from './ndis5packet.js';
export * from './ndis5rules.js';

onSystemReset(() => {
  resetNdis5Buffers();
  resetNdis5Packets();
});

registerLeakSource('ndis5', () => {
  const leaks: Leak[] = [];
  let n = 0;
  for (const pool of liveBufferPools()) {
    n++;
    leaks.push({
      kind: 'NDIS buffer pool',
      tag: '',
      size: 0,
      owner: 'NdisAllocateBufferPool (not freed with NdisFreeBufferPool)',
      site: undefined,
      detail: `buffer pool #${n}: ${pool.inUse} of ${pool.NumberOfDescriptors} descriptors still allocated`,
    });
    if (pool.inUse > 0) {
      leaks.push({
        kind: 'NDIS_BUFFER',
        tag: tagToString(TAG_MDL),
        size: pool.inUse,
        owner: `buffer pool #${n}`,
        site: undefined,
        detail: `${pool.inUse} buffer descriptor(s) not freed with NdisFreeBuffer`,
      });
    }
  }
  const unpooled = systemPoolBuffersInUse();
  if (unpooled > 0) {
    leaks.push({
      kind: 'NDIS_BUFFER',
      tag: tagToString(TAG_MDL),
      size: unpooled,
      owner: 'NdisAllocateBuffer with a NULL PoolHandle',
      site: undefined,
      detail: `${unpooled} buffer descriptor(s) not freed with NdisFreeBuffer`,
    });
  }
  n = 0;
  for (const pool of livePacketPools()) {
    n++;
    leaks.push({
      kind: 'NDIS packet pool',
      tag: tagToString(TAG_NDIS_PACKET_POOL),
      size: SIZEOF_NDIS5_POOL_HEADER,
      owner: 'NdisAllocatePacketPool (not freed with NdisFreePacketPool)',
      site: undefined,
      detail: `packet pool #${n}: ${pool.inUse} of ${pool.NumberOfDescriptors} packets still allocated`,
    });
    if (pool.inUse > 0) {
      leaks.push({
        kind: 'NDIS_PACKET',
        tag: tagToString(TAG_NDIS_PACKET_POOL),
        size: pool.inUse * pool.PacketLength,
        owner: `packet pool #${n}`,
        site: undefined,
        detail: `${pool.inUse} packet(s) not freed with NdisFreePacket`,
      });
    }
  }
  return leaks;
});
