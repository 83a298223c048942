/**
 * A test double for an adapter: the IP layer's {@link IpInterface} with no NDIS underneath, so the IP layer's own
 * behaviour is tested alone (the real adapters are NDIS bindings to the virtual NIC: protocol.ts). It indicates
 * each frame as a NET_BUFFER_LIST from its own receive pool (one MDL, data at the Ethernet header, as a NIC
 * indicates), takes the host's sends and hands each transmitted frame to an output callback, completing the send
 * at once. Received lists come back through {@link TapAdapter.returnReceived} and go back to the pool.
 */
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
import { poolTag } from '../../src/kernel/tags.js';
import { mdlVa } from '../../src/ndis/chain.js';
import { TcpIpChecksumNetBufferListInfo } from '../../src/ndis/info.js';
import {
  NdisAllocateNetBufferMdlAndData,
  NdisAllocateNetBufferPool,
  NdisFreeNetBuffer,
  NdisFreeNetBufferPool,
} from '../../src/ndis/netBuffer.js';
import {
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
} from '../../src/ndis/netBufferList.js';
import type { NetBufferListPool, NetBufferPool } from '../../src/ndis/pools.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  type NET_BUFFER,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NET_BUFFER_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS_REVISION_1,
} from '../../src/ndis/structures.js';
import type { IpInterface, IpLayer } from '../../src/stack/ip.js';

/** The tap's receive-buffer tag: "Tap " in poolmon (decided). */
export const TAG_TAP = poolTag(' paT');

/** Frames larger than this arrive in the large pool (IPv4's 64 KiB, bigtcp / GSO captures beyond: dropped). */
const SMALL_FRAME = 2048;
const LARGE_FRAME = 262_144;

/** Called with each frame the host transmits, as `bytes[offset, offset + length)`, valid only during the call. */
export type FrameOutput = (ifIndex: number, bytes: Uint8Array, offset: number, length: number) => void;

/** An adapter that replays frames into a host and collects what the host sends. */
export class TapAdapter implements IpInterface {
  mtu = 65535;
  promiscuous = true;
  /** Frames indicated to the host. */
  indicated = 0;
  /** Frames too big for the tap's buffers (counted, not indicated). */
  oversize = 0;
  /** Frames the tap could not receive because no receive buffer could be had (low resources). */
  noResources = 0;
  private small: NetBufferListPool | null = null;
  private large: NetBufferListPool | null = null;
  /** NET_BUFFERs (with their data) for the second and later frames of a list that carries several. */
  private extra: NetBufferPool | null = null;
  /** Lists given back by the host. */
  returned = 0;

  constructor(
    readonly ifIndex: number,
    readonly mac: number,
    private readonly host: IpLayer,
    private readonly output: FrameOutput,
  ) {}

  /** Makes the receive pools. */
  start(): void {
    this.small = makePool(SMALL_FRAME);
    this.large = makePool(LARGE_FRAME);
    this.extra = makeNbPool(SMALL_FRAME);
    if (this.small === null || this.large === null || this.extra === null) {
      throw new Error('the tap cannot allocate its receive pools');
    }
  }

  /** Frees the receive pools (every indicated frame must have come back). */
  stop(): void {
    if (this.small !== null) NdisFreeNetBufferListPool(this.small);
    if (this.large !== null) NdisFreeNetBufferListPool(this.large);
    if (this.extra !== null) NdisFreeNetBufferPool(this.extra);
    this.small = this.large = null;
    this.extra = null;
  }

  /** Indicates `frame[offset, offset + length)` to the host. Returns false when it cannot (too big, no memory). */
  indicate(bytes: Uint8Array, offset: number, length: number, checksumInfo = 0): boolean {
    const pool = length <= SMALL_FRAME ? this.small : length <= LARGE_FRAME ? this.large : null;
    if (pool === null) {
      this.oversize++;
      return false;
    }
    const nbl = NdisAllocateNetBufferList(pool, 0, 0);
    if (nbl === null) {
      this.noResources++;
      return false;
    }
    const nb = nbl.FirstNetBuffer!;
    const va = mdlVa(nb.MdlChain!);
    memory.set(bytes.subarray(offset, offset + length), va - ARENA_BASE);
    nb.DataLength = length;
    nbl.SourceHandle = this;
    nbl.NetBufferListInfo[TcpIpChecksumNetBufferListInfo] = checksumInfo;
    this.indicated++;
    this.host.receive(this, nbl);
    return true;
  }

  /**
   * Indicates several frames (each at most 2048 bytes) in ONE list, a NET_BUFFER each, as a miniport that
   * attaches several NET_BUFFERs to a list does. Returns the list (the host gives it back once).
   */
  indicateMany(frames: readonly Uint8Array[], checksumInfo = 0): NET_BUFFER_LIST {
    const nbl = NdisAllocateNetBufferList(this.small!, 0, 0);
    if (nbl === null) throw new Error('no receive list');
    let tail: NET_BUFFER | null = null;
    for (const bytes of frames) {
      const nb: NET_BUFFER | null = tail === null ? nbl.FirstNetBuffer! : NdisAllocateNetBufferMdlAndData(this.extra!);
      if (nb === null) throw new Error('no receive buffer');
      memory.set(bytes, mdlVa(nb.MdlChain!) + nb.DataOffset - ARENA_BASE);
      nb.DataLength = bytes.length;
      if (tail !== null) tail.Next = nb;
      tail = nb;
    }
    nbl.SourceHandle = this;
    nbl.NetBufferListInfo[TcpIpChecksumNetBufferListInfo] = checksumInfo;
    this.indicated += frames.length;
    this.host.receive(this, nbl);
    return nbl;
  }

  /** See {@link IpInterface.transmit}: the frame goes to the output and the send completes at once. */
  transmit(nbl: NET_BUFFER_LIST): void {
    const nb = nbl.FirstNetBuffer!;
    let m = nb.CurrentMdl;
    const length = nb.DataLength;
    if (m !== null && m.ByteCount - nb.CurrentMdlOffset >= length) {
      this.output(this.ifIndex, memory, mdlVa(m) + nb.CurrentMdlOffset - ARENA_BASE, length);
    } else {
      // Data spread over several MDLs (a callout's injected chain): gather it.
      const out = new Uint8Array(length);
      let off = nb.CurrentMdlOffset;
      let at = 0;
      for (; m !== null && at < length; m = m.Next) {
        const n = Math.min(m.ByteCount - off, length - at);
        const start = mdlVa(m) + off - ARENA_BASE;
        out.set(memory.subarray(start, start + n), at);
        at += n;
        off = 0;
      }
      this.output(this.ifIndex, out, 0, length);
    }
    this.host.sendComplete(nbl, 0);
  }

  /** See {@link IpInterface.returnReceived}. */
  returnReceived(nbl: NET_BUFFER_LIST): void {
    this.returned++;
    nbl.SourceHandle = null;
    const extra = nbl.FirstNetBuffer!.Next;
    nbl.FirstNetBuffer!.Next = null;
    for (let nb: NET_BUFFER | null = extra; nb !== null; ) {
      const next: NET_BUFFER | null = nb.Next;
      nb.Next = null;
      NdisFreeNetBuffer(nb);
      nb = next;
    }
    NdisFreeNetBufferList(nbl);
  }
}

function makePool(dataSize: number): NetBufferListPool | null {
  const p = new NET_BUFFER_LIST_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  p.fAllocateNetBuffer = true;
  p.PoolTag = TAG_TAP;
  p.DataSize = dataSize;
  return NdisAllocateNetBufferListPool(null, p);
}

function makeNbPool(dataSize: number): NetBufferPool | null {
  const p = new NET_BUFFER_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  );
  p.PoolTag = TAG_TAP;
  p.DataSize = dataSize;
  return NdisAllocateNetBufferPool(null, p);
}
