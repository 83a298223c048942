/**
 * NDIS 5 rules shared by buffers and packets: the tags their descriptors are charged to, the driver roles that
 * decide which MDLs may be chained to a packet (N5-4), and how misuse is reported.
 *
 * Misuse that Windows reports as a pool error (freeing a descriptor twice) is BAD_POOL_CALLER, as the kernel
 * reports it for MDLs. Misuse that Windows leaves to NDIS's own checks or to Driver Verifier is reported as
 * DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) with a wdknet rule id in Parameter 1 from {@link Ndis5Violation}
 * (the kernel uses the same convention, 0x1011..0x1014, for its own descriptor rules).
 */
import { bugCheck, DRIVER_VERIFIER_DETECTED_VIOLATION } from '../kernel/bugcheck.js';
import { isMdlLive, type MDL } from '../kernel/mdl.js';
import { isPoisoned } from '../kernel/poison.js';
import { poolTag } from '../kernel/tags.js';

/**
 * Packet pools and every packet descriptor allocated from one: "NDpp" in poolmon (C constant 'ppDN'). Buffer pools
 * take no memory of their own (NdisAllocateBufferPool always succeeds); their descriptors are MDLs, charged to
 * "Mdl " like every MDL, as on NT where NdisAllocateBuffer made them with IoAllocateMdl.
 */
export const TAG_NDIS_PACKET_POOL = poolTag('ppDN');

/** Bytes charged for the header of a packet pool (decided: the size of a small pool block header). */
export const SIZEOF_NDIS5_POOL_HEADER = 64;

/**
 * DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 values for NDIS 5 descriptor rules (wdknet rule ids).
 * Parameters 2..4 are described where each is raised.
 */
export const Ndis5Violation = {
  /** NdisFreeBufferPool while descriptors from it are still allocated. P2 outstanding, P3 capacity. */
  BufferPoolFreedWithBuffersOut: 0x1050,
  /** NdisFreePacketPool while packets from it are still allocated. P2 outstanding, P3 capacity. */
  PacketPoolFreedWithPacketsOut: 0x1051,
  /** NdisFreePacket of a packet that still has buffer descriptors chained. P2 buffer count. */
  PacketFreedWithBuffersChained: 0x1052,
  /** A lower-level driver chained an MDL that is not a buffer-pool descriptor (N5-4). P2 the MDL's origin. */
  ForeignMdlChained: 0x1053,
  /** A descriptor went back to a pool other than the one it came from. */
  WrongPool: 0x1054,
  /** NdisAdjustBufferLength past the length the descriptor was allocated with. P2 requested, P3 allocated. */
  AdjustBeyondAllocation: 0x1055,
  /** A pool handle that is not a live pool (freed, or not a pool at all). */
  BadPoolHandle: 0x1056,
  /** A packet argument that is not a live NDIS_PACKET from a packet pool. */
  BadPacket: 0x1057,
  /** An MDL that is freed (or was never allocated) was chained to a packet. */
  DeadMdlChained: 0x1058,
  /** A buffer already in the packet's chain was chained again (the chain would loop). */
  BufferChainedTwice: 0x1059,
  /** NdisAdjustBufferLength on an MDL that is not a descriptor from NdisAllocateBuffer / NdisCopyBuffer. P2 origin. */
  NotABufferDescriptor: 0x105a,
  /** NdisFreeBuffer before the length was restored after NdisAdjustBufferLength. P2 current, P3 original. */
  FreedWithAdjustedLength: 0x105b,
  /**
   * A packet whose chain holds a buffer that NdisFreeBuffer freed while it was still chained was used again (its
   * chain queried, walked or changed). Freeing the chained buffers is allowed only just before NdisFreePacket (or
   * NdisReinitializePacket). P2 the freed buffer's index in the chain, P3 0 (detected at the later use).
   */
  PacketChainHoldsFreedBuffer: 0x105c,
} as const;

/**
 * What the verifier records of the packet a buffer descriptor was chained to (NDIS_PACKET implements it; the
 * buffer side needs only this much, so the two files do not import each other).
 */
export interface ChainingPacket {
  readonly Private: { Head: MDL | null };
  /** Bumped each time the packet is allocated or reinitialised: a record of an older chaining is stale. */
  generation: number;
  /** Chain index of the first buffer freed while chained to this packet, or -1. */
  freedInChain: number;
}

/**
 * True while `m` is an allocated MDL. Safe on a descriptor freed in full verifier mode (whose fields trap), so
 * a verifier walk along a chain can stop at a freed buffer instead of bug-checking on it.
 */
export function isLiveDescriptor(m: MDL): boolean {
  return !isPoisoned(m) && isMdlLive(m);
}

/**
 * Reports use of a packet whose chain holds a buffer freed while chained (verifier; see
 * PacketChainHoldsFreedBuffer). Buffer-pool descriptors are tracked when they are chained (`freedInChain`, which
 * also sees a freed descriptor that was already allocated again); any other MDL in the chain (an OS MDL a
 * highest-level protocol chained and freed with IoFreeMdl) is found by walking the chain to its first freed MDL.
 */
export function reportFreedInChain(packet: ChainingPacket, ddi: string): void {
  const index = packet.freedInChain >= 0 ? packet.freedInChain : firstFreedInChain(packet);
  if (index < 0) return;
  ndis5Violation(
    Ndis5Violation.PacketChainHoldsFreedBuffer,
    index,
    0,
    0,
    `${ddi}: buffer ${index} of this packet's chain was freed while still chained; after freeing chained buffers the packet may only be freed (NdisFreePacket) or reinitialised (NdisReinitializePacket), not used`,
  );
}

/** Index of the first MDL of the packet's chain that is no longer allocated, or -1. */
function firstFreedInChain(packet: ChainingPacket): number {
  let index = 0;
  for (let b = packet.Private.Head; b !== null && index <= 0xffff; index++) {
    if (!isLiveDescriptor(b)) return index;
    b = b.Next;
  }
  return -1;
}

/**
 * DRIVER_VERIFIER_DETECTED_VIOLATION Parameter 1 when an NDIS 5 buffer or packet call is made above
 * DISPATCH_LEVEL (a wdknet id in the style of the DDI compliance rule ids; the kernel uses 0x0002xxxx).
 */
export const IRQL_NDIS5_FUNCTION_RULE = 0x00040009;

/**
 * The role of the driver that owns a packet pool, which decides what it may chain to its packets (N5-4):
 * "All lower-level NDIS drivers must allocate all buffer descriptors that they chain to packets from buffer
 * pool. Only highest-level protocol drivers can be given OS-dependent descriptors" (NdisAllocateBuffer).
 * A packet pool belongs to a lower-level driver (miniport, intermediate, or non-highest protocol) unless its
 * owner declares otherwise with `setPacketPoolDriverRole`.
 */
export const Ndis5DriverRole = {
  /** A miniport, intermediate or lower protocol driver: only buffer-pool descriptors may be chained. */
  LowerLevel: 1,
  /** A highest-level protocol driver: may also chain OS MDLs (IoAllocateMdl / NdisAllocateMdl). */
  HighestLevelProtocol: 2,
} as const;

/** One of the {@link Ndis5DriverRole} values. */
export type Ndis5DriverRoleValue = (typeof Ndis5DriverRole)[keyof typeof Ndis5DriverRole];

/** Raises an NDIS 5 rule violation. */
export function ndis5Violation(rule: number, p2: number, p3: number, p4: number, reason: string): never {
  return bugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, rule, p2, p3, p4, reason);
}
