/**
 * Chaining buffer descriptors to NDIS 5 packets and querying the chain. Head and Tail bracket the chain
 * (linked through MDL.Next); PhysicalCount, TotalLength and Count are a cache that every change invalidates
 * (ValidCounts = FALSE) and the queries recompute, as the ndis.h macros do.
 *
 * N5-4: what may be chained depends on the role of the driver that owns the packet's pool. Under the verifier a
 * lower-level driver chaining anything but buffer-pool descriptors, or anyone chaining a freed MDL or a buffer
 * already in the chain, is reported (0xC4 with an Ndis5Violation rule id). The verifier also remembers which
 * packet each buffer-pool descriptor is chained to, so that a packet whose chain holds a buffer freed with
 * NdisFreeBuffer is reported when it is used again (Ndis5Violation.PacketChainHoldsFreedBuffer).
 */
import { isMdlLive, MDL, MdlOrigin, MmGetSystemAddressForMdlSafe, NormalPagePriority } from '../kernel/mdl.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import { type NDIS_BUFFER, NDIS_BUFFER_TO_SPAN_PAGES, type NdisBufferSlot } from './ndis5buffer.js';
import { checkPacket, type NDIS_PACKET } from './ndis5packet.js';
import { Ndis5DriverRole, Ndis5Violation, ndis5Violation, reportFreedInChain } from './ndis5rules.js';

/** Verifier: every MDL of `chain` may be chained to `packet` by the driver that owns its pool. */
function checkChainable(packet: NDIS_PACKET, chain: MDL, ddi: string): void {
  checkPacket(packet, ddi);
  const protocol = packet.pool.role === Ndis5DriverRole.HighestLevelProtocol;
  for (let m: MDL | null = chain, i = 0; m !== null; m = m.Next, i++) {
    if (!(m instanceof MDL) || !isMdlLive(m)) {
      ndis5Violation(
        Ndis5Violation.DeadMdlChained,
        i,
        0,
        0,
        `${ddi}: buffer ${i} of the chain is not an allocated MDL`,
      );
    }
    const poolDescriptor = m.origin === MdlOrigin.NdisBufferPool;
    if (!poolDescriptor && !(protocol && m.origin === MdlOrigin.Io)) {
      ndis5Violation(
        Ndis5Violation.ForeignMdlChained,
        m.origin,
        i,
        0,
        protocol
          ? `${ddi}: buffer ${i} is an MDL owned by another object (origin ${m.origin}); only buffer descriptors and OS MDLs may be chained`
          : `${ddi}: buffer ${i} is not from a buffer pool (origin ${m.origin}); lower-level NDIS drivers chain only descriptors from NdisAllocateBuffer (a highest-level protocol may chain OS MDLs: declare it with setPacketPoolDriverRole)`,
      );
    }
    for (let b = packet.Private.Head; b !== null; b = b.Next) {
      if (b === m) {
        ndis5Violation(
          Ndis5Violation.BufferChainedTwice,
          i,
          0,
          0,
          `${ddi}: buffer ${i} is already chained to this packet; chaining it again would make the chain loop`,
        );
      }
    }
    if (poolDescriptor) {
      // Remembered so that NdisFreeBuffer can tell a buffer freed while still in this packet's chain.
      const slot = m.owner as NdisBufferSlot;
      slot.packet = packet;
      slot.generation = packet.generation;
    }
    if (i > 0xffff) break;
  }
}

function lastOf(chain: MDL): MDL {
  let last = chain;
  while (last.Next !== null) last = last.Next;
  return last;
}

/** NdisChainBufferAtFront: links `Buffer` (and any buffers chained after it) at the head of the packet's chain. */
export function NdisChainBufferAtFront(Packet: NDIS_PACKET, Buffer: NDIS_BUFFER): void {
  if (verifierLevel >= VERIFIER_STANDARD) checkChainable(Packet, Buffer, 'NdisChainBufferAtFront');
  const p = Packet.Private;
  const last = lastOf(Buffer);
  if (p.Head === null) p.Tail = last;
  last.Next = p.Head;
  p.Head = Buffer;
  p.ValidCounts = false;
}

/** NdisChainBufferAtBack: links `Buffer` (and any buffers chained after it) at the tail of the packet's chain. */
export function NdisChainBufferAtBack(Packet: NDIS_PACKET, Buffer: NDIS_BUFFER): void {
  if (verifierLevel >= VERIFIER_STANDARD) checkChainable(Packet, Buffer, 'NdisChainBufferAtBack');
  const p = Packet.Private;
  const last = lastOf(Buffer);
  if (p.Head !== null) p.Tail!.Next = Buffer;
  else p.Head = Buffer;
  p.Tail = last;
  p.ValidCounts = false;
}

/** NdisUnchainBufferAtFront: removes the first buffer of the chain into `Buffer` (NULL if the chain is empty). */
export function NdisUnchainBufferAtFront(Packet: NDIS_PACKET, Buffer: { value: NDIS_BUFFER | null }): void {
  if (verifierLevel >= VERIFIER_STANDARD) checkPacket(Packet, 'NdisUnchainBufferAtFront');
  const p = Packet.Private;
  const first = p.Head;
  Buffer.value = first;
  if (first === null) return;
  p.Head = first.Next;
  if (p.Head === null) p.Tail = null;
  first.Next = null;
  p.ValidCounts = false;
  if (verifierLevel >= VERIFIER_STANDARD) forgetChained(first);
}

/** Verifier: `m` has left its packet's chain, so freeing it now is no concern of the packet's. */
function forgetChained(m: MDL): void {
  if (m.origin === MdlOrigin.NdisBufferPool) (m.owner as NdisBufferSlot).packet = null;
}

/** NdisUnchainBufferAtBack: removes the last buffer of the chain into `Buffer` (NULL if the chain is empty). */
export function NdisUnchainBufferAtBack(Packet: NDIS_PACKET, Buffer: { value: NDIS_BUFFER | null }): void {
  if (verifierLevel >= VERIFIER_STANDARD) checkPacket(Packet, 'NdisUnchainBufferAtBack');
  const p = Packet.Private;
  const first = p.Head;
  if (first === null) {
    Buffer.value = null;
    return;
  }
  let last: MDL;
  if (first.Next === null) {
    last = first;
    p.Head = null;
    p.Tail = null;
  } else {
    let before = first;
    while (before.Next!.Next !== null) before = before.Next!;
    last = before.Next!;
    before.Next = null;
    p.Tail = before;
  }
  Buffer.value = last;
  p.ValidCounts = false;
  if (verifierLevel >= VERIFIER_STANDARD) forgetChained(last);
}

/** NdisRecalculatePacketCounts: recomputes PhysicalCount, TotalLength, Count and Tail from the chain. */
export function NdisRecalculatePacketCounts(Packet: NDIS_PACKET): void {
  if (verifierLevel >= VERIFIER_STANDARD) reportFreedInChain(Packet, 'NdisRecalculatePacketCounts');
  const p = Packet.Private;
  let pages = 0;
  let length = 0;
  let count = 0;
  let tail: MDL | null = null;
  for (let b = p.Head; b !== null; b = b.Next) {
    pages += NDIS_BUFFER_TO_SPAN_PAGES(b);
    length += b.ByteCount;
    count++;
    tail = b;
  }
  p.PhysicalCount = pages;
  p.TotalLength = length;
  p.Count = count;
  if (tail !== null) p.Tail = tail;
  p.ValidCounts = true;
}

/**
 * NdisQueryPacket: any of the physical page count, the buffer count, the first buffer and the total length
 * (each out box is optional: pass null for what you do not need). Recomputes the counts if they are stale.
 */
export function NdisQueryPacket(
  Packet: NDIS_PACKET,
  PhysicalBufferCount: { value: number } | null,
  BufferCount: { value: number } | null,
  FirstBuffer: { value: NDIS_BUFFER | null } | null,
  TotalPacketLength: { value: number } | null,
): void {
  if (verifierLevel >= VERIFIER_STANDARD) reportFreedInChain(Packet, 'NdisQueryPacket');
  const p = Packet.Private;
  if ((PhysicalBufferCount !== null || BufferCount !== null || TotalPacketLength !== null) && !p.ValidCounts) {
    NdisRecalculatePacketCounts(Packet);
  }
  if (PhysicalBufferCount !== null) PhysicalBufferCount.value = p.PhysicalCount;
  if (BufferCount !== null) BufferCount.value = p.Count;
  if (FirstBuffer !== null) FirstBuffer.value = p.Head;
  if (TotalPacketLength !== null) TotalPacketLength.value = p.TotalLength;
}

/** NdisQueryPacketLength: the total bytes in the packet's buffers. */
export function NdisQueryPacketLength(Packet: NDIS_PACKET, TotalPacketLength: { value: number }): void {
  if (verifierLevel >= VERIFIER_STANDARD) reportFreedInChain(Packet, 'NdisQueryPacketLength');
  if (!Packet.Private.ValidCounts) NdisRecalculatePacketCounts(Packet);
  TotalPacketLength.value = Packet.Private.TotalLength;
}

function firstBuffer(
  Packet: NDIS_PACKET,
  FirstBuffer: { value: NDIS_BUFFER | null },
  FirstBufferVA: { value: number },
  FirstBufferLength: { value: number },
  TotalBufferLength: { value: number },
  Priority: number,
  ddi: string,
): void {
  if (verifierLevel >= VERIFIER_STANDARD) reportFreedInChain(Packet, ddi);
  const head = Packet.Private.Head;
  FirstBuffer.value = head;
  if (head === null) {
    FirstBufferVA.value = 0;
    FirstBufferLength.value = 0;
    TotalBufferLength.value = 0;
    return;
  }
  FirstBufferVA.value = MmGetSystemAddressForMdlSafe(head, Priority);
  let total = head.ByteCount;
  for (let b = head.Next; b !== null; b = b.Next) total += b.ByteCount;
  FirstBufferLength.value = head.ByteCount;
  TotalBufferLength.value = total;
}

/**
 * NdisGetFirstBufferFromPacket: the first buffer, its address and length, and the total length of the chain
 * (NULL and zeros for an empty packet).
 */
export function NdisGetFirstBufferFromPacket(
  Packet: NDIS_PACKET,
  FirstBuffer: { value: NDIS_BUFFER | null },
  FirstBufferVA: { value: number },
  FirstBufferLength: { value: number },
  TotalBufferLength: { value: number },
): void {
  firstBuffer(
    Packet,
    FirstBuffer,
    FirstBufferVA,
    FirstBufferLength,
    TotalBufferLength,
    NormalPagePriority,
    'NdisGetFirstBufferFromPacket',
  );
}

/** NdisGetFirstBufferFromPacketSafe: as NdisGetFirstBufferFromPacket, mapping the first buffer at `Priority`. */
export function NdisGetFirstBufferFromPacketSafe(
  Packet: NDIS_PACKET,
  FirstBuffer: { value: NDIS_BUFFER | null },
  FirstBufferVA: { value: number },
  FirstBufferLength: { value: number },
  TotalBufferLength: { value: number },
  Priority: number,
): void {
  firstBuffer(
    Packet,
    FirstBuffer,
    FirstBufferVA,
    FirstBufferLength,
    TotalBufferLength,
    Priority,
    'NdisGetFirstBufferFromPacketSafe',
  );
}

/** NDIS_PACKET_FIRST_NDIS_BUFFER */
export function NDIS_PACKET_FIRST_NDIS_BUFFER(Packet: NDIS_PACKET): NDIS_BUFFER | null {
  return Packet.Private.Head;
}

/** NDIS_PACKET_LAST_NDIS_BUFFER (meaningful only while Head is not NULL) */
export function NDIS_PACKET_LAST_NDIS_BUFFER(Packet: NDIS_PACKET): NDIS_BUFFER | null {
  return Packet.Private.Tail;
}

/** NDIS_PACKET_VALID_COUNTS */
export function NDIS_PACKET_VALID_COUNTS(Packet: NDIS_PACKET): boolean {
  return Packet.Private.ValidCounts;
}
