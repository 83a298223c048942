import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { Ndis5Violation, TAG_NDIS_PACKET_POOL } from '../../src/ndis/ndis5.js';
import { assertBugCheck } from '../helpers.js';
import {
  BAD_POOL_CALLER,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  fPACKET_ALLOCATED_BY_NDIS,
  fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO,
  Ieee8021QInfo,
  MaxPerPacketInfo,
  type NDIS_BUFFER,
  type NDIS_BUFFER_POOL,
  NDIS_FLAGS_DONT_LOOPBACK,
  NDIS_FLAGS_SENT_AT_DPC,
  NDIS_GET_ORIGINAL_PACKET,
  NDIS_GET_PACKET_CANCEL_ID,
  NDIS_GET_PACKET_HEADER_SIZE,
  NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO,
  NDIS_GET_PACKET_PROTOCOL_TYPE,
  NDIS_GET_PACKET_STATUS,
  NDIS_GET_PACKET_TIME_RECEIVED,
  NDIS_GET_PACKET_TIME_SENT,
  NDIS_GET_PACKET_TIME_TO_SEND,
  NDIS_OOB_DATA_FROM_PACKET,
  type NDIS_PACKET,
  NDIS_PACKET_EXTENSION_FROM_PACKET,
  type NDIS_PACKET_POOL,
  NDIS_PER_PACKET_INFO_FROM_PACKET,
  NDIS_PROTOCOL_ID_TCP_IP,
  NDIS_SET_ORIGINAL_PACKET,
  NDIS_SET_PACKET_CANCEL_ID,
  NDIS_SET_PACKET_HEADER_SIZE,
  NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO,
  NDIS_SET_PACKET_STATUS,
  NDIS_SET_PACKET_TIME_RECEIVED,
  NDIS_SET_PACKET_TIME_TO_SEND,
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  NdisAllocateBuffer,
  NdisAllocateBufferPool,
  NdisAllocatePacket,
  NdisAllocatePacketPool,
  NdisAllocatePacketPoolEx,
  NdisChainBufferAtBack,
  NdisClearPacketFlags,
  NdisFreeBuffer,
  NdisFreePacket,
  NdisFreePacketPool,
  NdisGetPacketFlags,
  NdisPacketPoolUsage,
  NdisReinitializePacket,
  NdisSetPacketFlags,
  NdisUnchainBufferAtFront,
  NonPagedPool,
  PROTOCOL_RESERVED_SIZE_IN_PACKET,
  poolTag,
  resetSystem,
  TcpIpChecksumPacketInfo,
} from './ddi.js';

const TAG = poolTag('5sdN');

function packetPool(n: number, reserved = 16, overflow?: number): { status: number; pool: NDIS_PACKET_POOL | null } {
  const status = { value: -1 };
  const pool = { value: null as NDIS_PACKET_POOL | null };
  if (overflow === undefined) NdisAllocatePacketPool(status, pool, n, reserved);
  else NdisAllocatePacketPoolEx(status, pool, n, overflow, reserved);
  return { status: status.value, pool: pool.value };
}

function packet(pool: NDIS_PACKET_POOL): { status: number; packet: NDIS_PACKET | null } {
  const status = { value: -1 };
  const p = { value: null as NDIS_PACKET | null };
  NdisAllocatePacket(status, p, pool);
  return { status: status.value, packet: p.value };
}

describe('NDIS 5 packets and packet pools', () => {
  beforeEach(() => resetSystem());

  it('NdisAllocatePacketPool: NumberOfDescriptors is the exact capacity; one more fails with NDIS_STATUS_RESOURCES', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 20 }), (n, overflow) => {
        resetSystem();
        const { status, pool } = packetPool(n, 8, overflow);
        assert.equal(status, NDIS_STATUS_SUCCESS);
        const out: NDIS_PACKET[] = [];
        for (let i = 0; i < n + overflow; i++) {
          const r = packet(pool!);
          assert.equal(r.status, NDIS_STATUS_SUCCESS, `packet ${i + 1} of ${n}+${overflow}`);
          out.push(r.packet!);
        }
        const extra = packet(pool!);
        assert.equal(extra.status, NDIS_STATUS_RESOURCES);
        assert.equal(extra.packet, null);
        assert.equal(NdisPacketPoolUsage(pool!), n + overflow);
        for (const p of out) NdisFreePacket(p);
        assert.equal(NdisPacketPoolUsage(pool!), 0);
        NdisFreePacketPool(pool!);
        assert.equal(poolTagStats(TAG_NDIS_PACKET_POOL)!.bytes, 0);
      }),
    );
  });

  it('NdisAllocatePacketPoolEx: more than 0xFFFF descriptors is NDIS_STATUS_RESOURCES; the overflow is clamped to 0xFFFF in all', () => {
    assert.equal(packetPool(0x10000, 0, 0).status, NDIS_STATUS_RESOURCES);
    const { status, pool } = packetPool(0xfff0, 0, 0x100);
    assert.equal(status, NDIS_STATUS_SUCCESS);
    assert.equal(pool!.NumberOfDescriptors, 0xffff);
  });

  it('a freed packet can be allocated again and comes back fully initialised', () => {
    const { pool } = packetPool(1, PROTOCOL_RESERVED_SIZE_IN_PACKET);
    const p = packet(pool!).packet!;
    assert.equal(p.ProtocolReserved.length, 32);
    assert.equal(p.Private.Pool, pool);
    assert.equal(p.Private.NdisPacketFlags, fPACKET_ALLOCATED_BY_NDIS);
    assert.equal(p.Private.NdisPacketOobOffset, 96 + 32, 'x64: the OOB block follows ProtocolReserved');
    p.ProtocolReserved.fill(0xaa);
    p.MiniportReserved.fill(0xbb);
    p.Reserved[0] = 7;
    NdisSetPacketFlags(p, NDIS_FLAGS_DONT_LOOPBACK);
    NDIS_SET_PACKET_STATUS(p, NDIS_STATUS_FAILURE);
    NDIS_SET_PACKET_TIME_RECEIVED(p, 123n);
    NDIS_PACKET_EXTENSION_FROM_PACKET(p).NdisPacketInfo[TcpIpChecksumPacketInfo] = 0x1f;
    NdisFreePacket(p);
    const again = packet(pool!).packet!;
    assert.equal(
      again.ProtocolReserved.every((b) => b === 0),
      true,
    );
    assert.equal(
      again.MacReserved.every((b) => b === 0),
      true,
    );
    assert.deepEqual(again.Reserved, [0, 0]);
    assert.equal(NdisGetPacketFlags(again), 0);
    assert.equal(NDIS_GET_PACKET_STATUS(again), 0);
    assert.equal(NDIS_GET_PACKET_TIME_RECEIVED(again), 0n);
    assert.equal(NDIS_PER_PACKET_INFO_FROM_PACKET(again, TcpIpChecksumPacketInfo), 0);
    assert.equal(again.Private.Head, null);
    NdisFreePacket(again);
  });

  it('the reserved union: MiniportReserved, WrapperReserved, MiniportReservedEx, WrapperReservedEx and MacReserved share 32 bytes', () => {
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    p.MacReserved[20] = 0x42;
    assert.equal(p.WrapperReserved[4], 0x42);
    assert.equal(p.MiniportReservedEx[20], 0x42);
    p.WrapperReservedEx[0] = 0x17;
    assert.equal(p.MacReserved[24], 0x17);
    assert.deepEqual(
      [p.MiniportReserved.length, p.WrapperReserved.length, p.MiniportReservedEx.length, p.WrapperReservedEx.length],
      [16, 16, 24, 8],
    );
    NdisFreePacket(p);
  });

  it('misuse: freeing a packet twice is BAD_POOL_CALLER 0x07', () => {
    const { pool } = packetPool(2);
    const p = packet(pool!).packet!;
    NdisFreePacket(p);
    assertBugCheck(() => NdisFreePacket(p), BAD_POOL_CALLER, 0x07);
    assert.equal(NdisPacketPoolUsage(pool!), 0, 'the double free did not corrupt the count');
  });

  it('misuse: freeing a packet that still has buffers chained is reported (their memory would be lost)', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    const bp = { value: null as NDIS_BUFFER_POOL | null };
    NdisAllocateBufferPool({ value: 0 }, bp, 2);
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    const b = { value: null as NDIS_BUFFER | null };
    NdisAllocateBuffer({ value: 0 }, b, bp.value!, mem, 64);
    NdisChainBufferAtBack(p, b.value!);
    const e = assertBugCheck(
      () => NdisFreePacket(p),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.PacketFreedWithBuffersChained,
    );
    assert.equal(e.parameters[1], 1);
    NdisUnchainBufferAtFront(p, b);
    NdisFreeBuffer(b.value!);
    NdisFreePacket(p);
  });

  it('verifier off: a packet freed with buffers chained goes back to the pool, as on Windows (the buffers stay allocated)', () => {
    resetSystem({ verifier: 'off' });
    const mem = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    const bp = { value: null as NDIS_BUFFER_POOL | null };
    NdisAllocateBufferPool({ value: 0 }, bp, 1);
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    const b = { value: null as NDIS_BUFFER | null };
    NdisAllocateBuffer({ value: 0 }, b, bp.value!, mem, 64);
    NdisChainBufferAtBack(p, b.value!);
    NdisFreePacket(p);
    assert.equal(NdisPacketPoolUsage(pool!), 0);
    assert.equal(bp.value!.inUse, 1);
  });

  it('misuse: NdisFreePacketPool with packets out is reported; so is a packet whose Private.Pool was overwritten', () => {
    const a = packetPool(2).pool!;
    const b = packetPool(2).pool!;
    const p = packet(a).packet!;
    const e = assertBugCheck(
      () => NdisFreePacketPool(a),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.PacketPoolFreedWithPacketsOut,
    );
    assert.deepEqual(e.parameters.slice(1, 3), [1, 2]);
    p.Private.Pool = b;
    assertBugCheck(() => NdisFreePacket(p), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis5Violation.WrongPool);
    p.Private.Pool = a;
    NdisFreePacket(p);
    NdisFreePacketPool(a);
    NdisFreePacketPool(b);
    assertBugCheck(() => NdisFreePacketPool(a), DRIVER_VERIFIER_DETECTED_VIOLATION, Ndis5Violation.BadPoolHandle);
  });

  it('full verifier: a freed packet is poisoned, so touching it is reported as use after free', () => {
    resetSystem({ verifier: 'full' });
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    NdisFreePacket(p);
    assertBugCheck(() => p.Private, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1011);
    const q = packet(pool!).packet!;
    assert.notEqual(q, p, 'a poisoned packet is never handed out again');
    NdisFreePacket(q);
  });

  it('misuse: chaining to or unchaining from a freed packet is reported', () => {
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    NdisFreePacket(p);
    assertBugCheck(
      () => NdisUnchainBufferAtFront(p, { value: null }),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis5Violation.BadPacket,
    );
  });

  it('full verifier: a freed buffer descriptor is poisoned too; freeing it again is caught as a use after free', () => {
    resetSystem({ verifier: 'full' });
    const mem = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    const bp = { value: null as NDIS_BUFFER_POOL | null };
    NdisAllocateBufferPool({ value: 0 }, bp, 1);
    const b = { value: null as NDIS_BUFFER | null };
    NdisAllocateBuffer({ value: 0 }, b, bp.value!, mem, 64);
    NdisFreeBuffer(b.value!);
    assertBugCheck(() => NdisFreeBuffer(b.value!), DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1011);
    const again = { value: null as NDIS_BUFFER | null };
    NdisAllocateBuffer({ value: 0 }, again, bp.value!, mem, 64);
    assert.ok(again.value, 'the slot went back to the pool even though the MDL object is retired');
  });

  it('packets are charged to "NDpp" while allocated; leaks are listed until pools are freed', () => {
    const { pool } = packetPool(4, 32);
    const stats = poolTagStats(TAG_NDIS_PACKET_POOL)!;
    assert.equal(stats.name, 'NDpp');
    const before = stats.bytes;
    const p = packet(pool!).packet!;
    assert.equal(stats.bytes - before, pool!.PacketLength);
    assert.ok(collectLeaks().some((l) => l.kind === 'NDIS_PACKET'));
    NdisFreePacket(p);
    NdisFreePacketPool(pool!);
    assert.equal(stats.bytes, 0);
    assert.equal(collectLeaks().filter((l) => l.kind.startsWith('NDIS')).length, 0);
  });

  it('flags: NdisSetPacketFlags ORs, NdisClearPacketFlags clears, the protocol id is the low four bits', () => {
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    NdisSetPacketFlags(p, NDIS_FLAGS_SENT_AT_DPC | NDIS_PROTOCOL_ID_TCP_IP);
    NdisSetPacketFlags(p, NDIS_FLAGS_DONT_LOOPBACK);
    assert.equal(NdisGetPacketFlags(p), NDIS_FLAGS_SENT_AT_DPC | NDIS_FLAGS_DONT_LOOPBACK | NDIS_PROTOCOL_ID_TCP_IP);
    assert.equal(NDIS_GET_PACKET_PROTOCOL_TYPE(p), NDIS_PROTOCOL_ID_TCP_IP);
    NdisClearPacketFlags(p, NDIS_FLAGS_SENT_AT_DPC);
    assert.equal(NdisGetPacketFlags(p), NDIS_FLAGS_DONT_LOOPBACK | NDIS_PROTOCOL_ID_TCP_IP);
    NdisFreePacket(p);
  });

  it('OOB data: header size, status, times (TimeToSend and TimeSent are one field), media-specific information', () => {
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    NDIS_SET_PACKET_HEADER_SIZE(p, 14);
    assert.equal(NDIS_GET_PACKET_HEADER_SIZE(p), 14);
    NDIS_SET_PACKET_STATUS(p, NDIS_STATUS_RESOURCES);
    assert.equal(NDIS_GET_PACKET_STATUS(p), NDIS_STATUS_RESOURCES);
    assert.equal(NDIS_OOB_DATA_FROM_PACKET(p).Status, NDIS_STATUS_RESOURCES);
    NDIS_SET_PACKET_TIME_TO_SEND(p, 133_000_000_000_000_001n);
    assert.equal(NDIS_GET_PACKET_TIME_SENT(p), 133_000_000_000_000_001n, 'beyond 2^53: kept exactly');
    assert.equal(NDIS_GET_PACKET_TIME_TO_SEND(p), 133_000_000_000_000_001n);
    const info = { value: -1 };
    const size = { value: -1 };
    NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(p, info, size);
    assert.deepEqual([info.value, size.value], [0, 0], 'nothing set yet');
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(p, 0x2000_0000, 24);
    assert.ok(p.Private.NdisPacketFlags & fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO);
    NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(p, info, size);
    assert.deepEqual([info.value, size.value], [0x2000_0000, 24]);
    // Only packets NDIS allocated carry media-specific information, as the macros check.
    p.Private.NdisPacketFlags &= ~fPACKET_ALLOCATED_BY_NDIS;
    NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(p, info, size);
    assert.deepEqual([info.value, size.value], [0, 0]);
    NdisFreePacket(p);
  });

  it('per-packet information: every NDIS_PER_PACKET_INFO slot, the original packet and the cancel id', () => {
    const { pool } = packetPool(2);
    const p = packet(pool!).packet!;
    const q = packet(pool!).packet!;
    for (let id = 0; id < MaxPerPacketInfo; id++) NDIS_PACKET_EXTENSION_FROM_PACKET(p).NdisPacketInfo[id] = id * 3 + 1;
    for (let id = 0; id < MaxPerPacketInfo; id++) assert.equal(NDIS_PER_PACKET_INFO_FROM_PACKET(p, id), id * 3 + 1);
    assert.equal(NDIS_PER_PACKET_INFO_FROM_PACKET(p, Ieee8021QInfo), 19);
    assert.throws(() => NDIS_PER_PACKET_INFO_FROM_PACKET(p, MaxPerPacketInfo), RangeError);
    NDIS_SET_ORIGINAL_PACKET(q, p);
    assert.equal(NDIS_GET_ORIGINAL_PACKET(q), p);
    NDIS_SET_ORIGINAL_PACKET(q, null);
    assert.equal(NDIS_GET_ORIGINAL_PACKET(q), null);
    NDIS_SET_PACKET_CANCEL_ID(q, 0x77);
    assert.equal(NDIS_GET_PACKET_CANCEL_ID(q), 0x77);
    NdisFreePacket(p);
    NdisFreePacket(q);
  });

  it('NdisReinitializePacket empties the chain and invalidates the counts', () => {
    const { pool } = packetPool(1);
    const p = packet(pool!).packet!;
    p.Private.ValidCounts = true;
    NdisReinitializePacket(p);
    assert.equal(p.Private.Head, null);
    assert.equal(p.Private.ValidCounts, false);
    NdisFreePacket(p);
  });
});
