/**
 * The idiomatic API of the NDIS 5 layer: buffer and packet pools as classes whose methods throw a typed
 * StatusError instead of returning a status. They call the same functions as `wdknet/ddi`; the logic lives once,
 * in src/ndis.
 */
import { NDIS_STATUS_FAILURE, StatusError } from '../kernel/status.js';
import {
  type NDIS_BUFFER,
  type NDIS_BUFFER_POOL,
  type NDIS_PACKET,
  type NDIS_PACKET_POOL,
  Ndis5DriverRole,
  type Ndis5DriverRoleValue,
  NdisAllocateBuffer,
  NdisAllocateBufferPool,
  NdisAllocatePacket,
  NdisAllocatePacketPoolEx,
  NdisChainBufferAtBack,
  NdisCopyBuffer,
  NdisFreeBuffer,
  NdisFreeBufferPool,
  NdisFreePacket,
  NdisFreePacketPool,
  NdisQueryPacket,
  NdisUnchainBufferAtFront,
  setPacketPoolDriverRole,
} from '../ndis/ndis5.js';

export { Ndis5DriverRole, type Ndis5DriverRoleValue, Ndis5Violation, setPacketPoolDriverRole } from '../ndis/ndis5.js';

const status = { value: 0 };

/** A pool of NDIS 5 buffer descriptors (NDIS_BUFFER, an MDL) with an exact capacity. */
export class Ndis5BufferPool {
  /** The underlying NDIS_BUFFER_POOL handle, for DDI calls. */
  readonly handle: NDIS_BUFFER_POOL;
  private readonly out = { value: null as NDIS_BUFFER | null };

  /** Creates a pool of `capacity` descriptors (this always succeeds, as NdisAllocateBufferPool does). */
  constructor(capacity: number) {
    const handle = { value: null as NDIS_BUFFER_POOL | null };
    NdisAllocateBufferPool(status, handle, capacity);
    this.handle = handle.value!;
  }

  /** Descriptors the pool holds in all. */
  get capacity(): number {
    return this.handle.NumberOfDescriptors;
  }

  /** Descriptors allocated now. */
  get inUse(): number {
    return this.handle.inUse;
  }

  /**
   * A descriptor mapping `[address, address + length)`, which must lie in allocated nonpaged pool. Throws
   * StatusError(NDIS_STATUS_FAILURE) when it does not, or when the pool is exhausted.
   */
  allocate(address: number, length: number): NDIS_BUFFER {
    NdisAllocateBuffer(status, this.out, this.handle, address, length);
    if (this.out.value === null) {
      throw new StatusError(
        NDIS_STATUS_FAILURE,
        `no buffer descriptor for 0x${address.toString(16)}+${length}: ${this.inUse === this.capacity ? 'the pool is exhausted' : 'the range is not inside allocated nonpaged pool'}`,
      );
    }
    return this.out.value;
  }

  /** Descriptors (a chain when the source is chained) for `length` bytes at `offset` of `source`. Throws StatusError. */
  copy(source: NDIS_BUFFER, offset: number, length: number): NDIS_BUFFER {
    NdisCopyBuffer(status, this.out, this.handle, source, offset, length);
    if (this.out.value === null) throw new StatusError(status.value, `cannot copy ${length} bytes at ${offset}`);
    return this.out.value;
  }

  /** Frees a descriptor from this pool. */
  free(buffer: NDIS_BUFFER): void {
    NdisFreeBuffer(buffer);
  }

  /** Frees the pool (every descriptor must have been freed). */
  dispose(): void {
    NdisFreeBufferPool(this.handle);
  }
}

/** Options for {@link Ndis5PacketPool}. */
export interface Ndis5PacketPoolOptions {
  /** Extra descriptors beyond the capacity (NumberOfOverflowDescriptors). */
  overflow?: number;
  /** Bytes of ProtocolReserved per packet (default 0). */
  protocolReservedLength?: number;
  /** The owning driver's role (N5-4); default lower-level. */
  role?: Ndis5DriverRoleValue;
}

/** A pool of NDIS 5 packet descriptors with an exact capacity. */
export class Ndis5PacketPool {
  /** The underlying NDIS_PACKET_POOL handle, for DDI calls. */
  readonly handle: NDIS_PACKET_POOL;
  private readonly out = { value: null as NDIS_PACKET | null };

  /** Creates a pool of `capacity` packets. Throws StatusError when the pool cannot be allocated. */
  constructor(capacity: number, options: Ndis5PacketPoolOptions = {}) {
    const handle = { value: null as NDIS_PACKET_POOL | null };
    NdisAllocatePacketPoolEx(status, handle, capacity, options.overflow ?? 0, options.protocolReservedLength ?? 0);
    if (handle.value === null) throw new StatusError(status.value, `cannot allocate a packet pool of ${capacity}`);
    this.handle = handle.value;
    if (options.role !== undefined && options.role !== Ndis5DriverRole.LowerLevel) {
      setPacketPoolDriverRole(this.handle, options.role);
    }
  }

  /** Packets the pool holds in all. */
  get capacity(): number {
    return this.handle.NumberOfDescriptors;
  }

  /** Packets allocated now. */
  get inUse(): number {
    return this.handle.inUse;
  }

  /** A fresh packet. Throws StatusError(NDIS_STATUS_RESOURCES) when the pool is exhausted. */
  allocate(): NDIS_PACKET {
    NdisAllocatePacket(status, this.out, this.handle);
    if (this.out.value === null) throw new StatusError(status.value, 'the packet pool is exhausted');
    return this.out.value;
  }

  /** Frees a packet (its buffers must have been unchained or freed). */
  free(packet: NDIS_PACKET): void {
    NdisFreePacket(packet);
  }

  /** Frees the pool (every packet must have been freed). */
  dispose(): void {
    NdisFreePacketPool(this.handle);
  }
}

/** Chains `buffers` to the back of `packet`, in order. */
export function chainBuffers(packet: NDIS_PACKET, ...buffers: NDIS_BUFFER[]): void {
  for (const b of buffers) NdisChainBufferAtBack(packet, b);
}

/** Unchains every buffer of `packet` and returns them in chain order. */
export function unchainAllBuffers(packet: NDIS_PACKET): NDIS_BUFFER[] {
  const out: NDIS_BUFFER[] = [];
  const box = { value: null as NDIS_BUFFER | null };
  for (;;) {
    NdisUnchainBufferAtFront(packet, box);
    if (box.value === null) return out;
    out.push(box.value);
  }
}

/** The packet's total length, buffer count and physical page count (NdisQueryPacket). */
export function packetCounts(packet: NDIS_PACKET): { length: number; buffers: number; pages: number } {
  const pages = { value: 0 };
  const buffers = { value: 0 };
  const length = { value: 0 };
  NdisQueryPacket(packet, pages, buffers, null, length);
  return { length: length.value, buffers: buffers.value, pages: pages.value };
}
