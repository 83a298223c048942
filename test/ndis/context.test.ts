import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { poolTagStats } from '../../src/kernel/pool.js';
import { Ndis6Violation } from '../../src/ndis/violations.js';
import { assertBugCheck } from '../helpers.js';
import {
  bytesAt,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  GftFlowEntryId,
  Ieee8021QNetBufferListInfo,
  IPsecOffloadV2NetBufferListInfo,
  MaxNetBufferListInfo,
  MEMORY_ALLOCATION_ALIGNMENT,
  NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY,
  NDIS_GET_NET_BUFFER_LIST_VLAN_ID,
  NDIS_HASH_FUNCTION_MASK,
  NDIS_HASH_TYPE_MASK,
  NDIS_NBL_FLAGS_IS_IPV4,
  NDIS_NBL_FLAGS_IS_TCP,
  NDIS_SET_NET_BUFFER_LIST_USER_PRIORITY,
  NDIS_SET_NET_BUFFER_LIST_VLAN_ID,
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_SUCCESS,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferListContext,
  NdisClearNblFlag,
  NdisCopyReceiveNetBufferListInfo,
  NdisCopySendNetBufferListInfo,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListContext,
  NdisSetNblFlag,
  NdisTestNblFlag,
  NdisTestNblFlags,
  NET_BUFFER_LIST_CONTEXT_DATA_SIZE,
  NET_BUFFER_LIST_CONTEXT_DATA_START,
  NET_BUFFER_LIST_FIRST_NB,
  NET_BUFFER_LIST_FLAGS,
  NET_BUFFER_LIST_GET_HASH_FUNCTION,
  NET_BUFFER_LIST_GET_HASH_TYPE,
  NET_BUFFER_LIST_GET_HASH_VALUE,
  NET_BUFFER_LIST_INFO,
  NET_BUFFER_LIST_NBL_FLAGS,
  NET_BUFFER_LIST_NEXT_NBL,
  NET_BUFFER_LIST_PROTOCOL_RESERVED,
  NET_BUFFER_LIST_SET_HASH_FUNCTION,
  NET_BUFFER_LIST_SET_HASH_TYPE,
  NET_BUFFER_LIST_SET_HASH_VALUE,
  NET_BUFFER_LIST_STATUS,
  NetBufferListCancelId,
  NetBufferListHashInfo,
  NetBufferListHashValue,
  NetBufferListInfoReserved3,
  NrtNameResolutionId,
  poolTag,
  resetSystem,
  SwitchForwardingDetail,
  TcpIpChecksumNetBufferListInfo,
  TcpLargeSendNetBufferListInfo,
  TcpReceiveBytesTransferred,
  TcpRecvSegCoalesceInfo,
  UdpSegmentationOffloadInfo,
  VirtualSubnetInfo,
  WfpNetBufferListInfo,
} from './ddi.js';
import { nblPool, TAG } from './helpers.js';

describe('NET_BUFFER_LIST context (W-2, W-3 alignment)', () => {
  beforeEach(() => resetSystem());

  it('W-2/W-3: ContextSize and ContextBackFill must be multiples of MEMORY_ALLOCATION_ALIGNMENT (16 on x64)', () => {
    assert.equal(MEMORY_ALLOCATION_ALIGNMENT, 16);
    const pool = nblPool();
    assert.equal(NdisAllocateNetBufferList(pool, 8, 0), null, 'W-2 ContextSize 8');
    assert.equal(NdisAllocateNetBufferList(pool, 16, 24), null, 'W-3 ContextBackFill 24');
    const nbl = NdisAllocateNetBufferList(pool, 16, 32)!;
    assert.equal(NdisAllocateNetBufferListContext(nbl, 12, 0, TAG), NDIS_STATUS_FAILURE);
    assert.equal(NdisAllocateNetBufferListContext(nbl, 16, 4, TAG), NDIS_STATUS_FAILURE);
    NdisFreeNetBufferList(nbl);
  });

  it('the pool ContextSize is preallocated: DATA_START is ContextData + Offset and DATA_SIZE is Size (not Size - Offset)', () => {
    const pool = nblPool({ ContextSize: 64 });
    const nbl = NdisAllocateNetBufferList(pool, 16, 0)!;
    const ctx = nbl.Context!;
    assert.equal(ctx.Size, 64);
    assert.equal(ctx.Offset, 48);
    assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), ctx.ContextData + 48);
    assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 64);
    assert.equal(ctx.ContextData % MEMORY_ALLOCATION_ALIGNMENT, 0, 'ContextData is aligned');
    bytesAt(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), 16).fill(7);
    NdisFreeNetBufferList(nbl);
  });

  it('property: allocate uses backfill (Offset goes down) or chains a new block; free reverses it exactly', () => {
    const tag = poolTag('xtCN');
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 6 }), back: fc.integer({ min: 0, max: 4 }) }), {
          maxLength: 8,
        }),
        fc.integer({ min: 0, max: 4 }),
        (steps, poolContext) => {
          resetSystem();
          const pool = nblPool({ ContextSize: poolContext * 16 });
          const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
          const start = nbl.Context;
          const trail: { offset: number; size: number }[] = [];
          for (const s of steps) {
            const size = s.size * 16;
            const before = nbl.Context;
            const prevOffset = before?.Offset ?? 0;
            assert.equal(NdisAllocateNetBufferListContext(nbl, size, s.back * 16, tag), NDIS_STATUS_SUCCESS);
            if (before !== null && prevOffset >= size) {
              assert.equal(nbl.Context, before, 'enough backfill: the same block');
              assert.equal(nbl.Context.Offset, prevOffset - size);
            } else {
              assert.equal(nbl.Context!.Next, before, 'new block chained in front');
              assert.equal(nbl.Context!.Size, size + s.back * 16);
              assert.equal(nbl.Context!.Offset, s.back * 16);
            }
            assert.ok(nbl.Context!.Size - nbl.Context!.Offset >= size);
            trail.push({ offset: nbl.Context!.Offset, size });
          }
          for (const t of trail.reverse()) {
            assert.equal(nbl.Context!.Offset, t.offset);
            NdisFreeNetBufferListContext(nbl, t.size);
          }
          assert.equal(nbl.Context, start);
          assert.equal(poolTagStats(tag)?.bytes ?? 0, 0, 'every block NDIS allocated is freed');
          NdisFreeNetBufferList(nbl);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('freeing more context than is allocated, or a list with context still allocated, is reported', () => {
    const pool = nblPool();
    const nbl = NdisAllocateNetBufferList(pool, 0, 0)!;
    assertBugCheck(
      () => NdisFreeNetBufferListContext(nbl, 16),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.ContextUnderflow,
    );
    NdisAllocateNetBufferListContext(nbl, 32, 0, TAG);
    assertBugCheck(
      () => NdisFreeNetBufferList(nbl),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.ContextOutstanding,
    );
    NdisFreeNetBufferListContext(nbl, 32);
    NdisFreeNetBufferList(nbl);
  });

  it('the context NdisAllocateNetBufferList reserved may not be freed with NdisFreeNetBufferListContext', () => {
    const pool = nblPool({ ContextSize: 64 });
    const nbl = NdisAllocateNetBufferList(pool, 32, 0)!;
    assertBugCheck(
      () => NdisFreeNetBufferListContext(nbl, 16),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.ContextUnderflow,
    );
    assert.equal(NdisAllocateNetBufferListContext(nbl, 16, 0, TAG), NDIS_STATUS_SUCCESS);
    assert.equal(nbl.Context!.Offset, 16, 'taken from the same block');
    assertBugCheck(
      () => NdisFreeNetBufferList(nbl),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.ContextOutstanding,
    );
    NdisFreeNetBufferListContext(nbl, 16);
    assertBugCheck(
      () => NdisFreeNetBufferListContext(nbl, 16),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.ContextUnderflow,
    );
    NdisFreeNetBufferList(nbl);
  });

  it('context allocated with the list (ContextSize beyond the pool preallocation) is freed with it', () => {
    const pool = nblPool({ ContextSize: 16 });
    const before = poolTagStats(TAG)!.bytes;
    const nbl = NdisAllocateNetBufferList(pool, 48, 16)!;
    assert.equal(nbl.Context!.Size, 64);
    assert.equal(nbl.Context!.Offset, 16);
    NdisFreeNetBufferList(nbl);
    // The list's own block stays cached in the pool (as a lookaside entry); the context block is gone.
    const cached = poolTagStats(TAG)!.bytes;
    const again = NdisAllocateNetBufferList(pool, 0, 0)!;
    NdisFreeNetBufferList(again);
    assert.equal(poolTagStats(TAG)!.bytes, cached);
    assert.ok(cached > before);
  });
});

describe('NET_BUFFER_LIST information and macros', () => {
  beforeEach(() => resetSystem());

  it('NDIS_NET_BUFFER_LIST_INFO has the x64 values of nblinfo.h, aliases included', () => {
    assert.equal(TcpIpChecksumNetBufferListInfo, 0);
    assert.equal(IPsecOffloadV2NetBufferListInfo, 1);
    assert.equal(TcpLargeSendNetBufferListInfo, 2);
    assert.equal(Ieee8021QNetBufferListInfo, 4);
    assert.equal(NetBufferListCancelId, 5);
    assert.equal(NetBufferListHashValue, 8);
    assert.equal(WfpNetBufferListInfo, 10);
    assert.equal(TcpReceiveBytesTransferred, 17);
    assert.equal(NrtNameResolutionId, 17);
    assert.equal(SwitchForwardingDetail, 19);
    assert.equal(VirtualSubnetInfo, 20);
    assert.equal(TcpRecvSegCoalesceInfo, 22);
    assert.equal(UdpSegmentationOffloadInfo, 22);
    assert.equal(GftFlowEntryId, 25);
    assert.equal(NetBufferListInfoReserved3, 26);
    assert.equal(MaxNetBufferListInfo, 27);
    const nbl = NdisAllocateNetBufferList(nblPool(), 0, 0)!;
    assert.equal(nbl.NetBufferListInfo.length, 27);
  });

  it('NET_BUFFER_LIST_INFO reads and writes slots; the field macros read the fields; NBL flag helpers', () => {
    const nbl = NdisAllocateNetBufferList(nblPool({ fAllocateNetBuffer: true }), 0, 0)!;
    assert.equal(NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo), null);
    assert.equal(NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo, 0x2005), 0x2005);
    assert.equal(NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo), 0x2005);
    // undefined (no value) reads; NULL clears.
    assert.equal(NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo, undefined), 0x2005);
    assert.equal(NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo, null), null);
    assert.equal(nbl.NetBufferListInfo[Ieee8021QNetBufferListInfo], null);
    NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo, 0x2005);
    assert.equal(nbl.NetBufferListInfo[4], 0x2005);
    assert.equal(NET_BUFFER_LIST_FIRST_NB(nbl), nbl.FirstNetBuffer);
    assert.equal(NET_BUFFER_LIST_NEXT_NBL(nbl), null);
    nbl.Status = -1073741823;
    assert.equal(NET_BUFFER_LIST_STATUS(nbl), -1073741823);
    assert.equal(NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl), nbl.ProtocolReserved);
    NdisSetNblFlag(nbl, NDIS_NBL_FLAGS_IS_IPV4 | NDIS_NBL_FLAGS_IS_TCP);
    assert.equal(NET_BUFFER_LIST_NBL_FLAGS(nbl), 0x200 | 0x800);
    assert.ok(NdisTestNblFlags(nbl, NDIS_NBL_FLAGS_IS_IPV4 | NDIS_NBL_FLAGS_IS_TCP));
    NdisClearNblFlag(nbl, NDIS_NBL_FLAGS_IS_TCP);
    assert.ok(!NdisTestNblFlag(nbl, NDIS_NBL_FLAGS_IS_TCP));
    assert.equal(NET_BUFFER_LIST_FLAGS(nbl), 0);
    // The unions of nbl.h: stDataLength is DataLength, NdisReserved2 is Status as a ULONG.
    const nb = nbl.FirstNetBuffer!;
    nb.stDataLength = 7;
    assert.equal(nb.DataLength, 7);
    assert.equal(nbl.NdisReserved2, 0xc0000001);
    nbl.NdisReserved2 = 0;
    assert.equal(NET_BUFFER_LIST_STATUS(nbl), 0);
  });

  it('802.1Q and RSS hash macros pack their bit-fields into the slot Value as MSVC lays them out', () => {
    const nbl = NdisAllocateNetBufferList(nblPool(), 0, 0)!;
    assert.equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(nbl), 0, 'NULL slot reads as 0');
    NDIS_SET_NET_BUFFER_LIST_VLAN_ID(nbl, 0x123);
    NDIS_SET_NET_BUFFER_LIST_USER_PRIORITY(nbl, 5);
    assert.equal(NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo), (0x123 << 4) | 5);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(nbl), 0x123);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY(nbl), 5);
    NDIS_SET_NET_BUFFER_LIST_VLAN_ID(nbl, 0x1fff);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(nbl), 0xfff, 'twelve bits');
    assert.equal(NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY(nbl), 5, 'priority kept');
    NET_BUFFER_LIST_SET_HASH_VALUE(nbl, 0xdeadbeef);
    assert.equal(NET_BUFFER_LIST_GET_HASH_VALUE(nbl), 0xdeadbeef);
    NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl, 1);
    NET_BUFFER_LIST_SET_HASH_TYPE(nbl, 0x200);
    assert.equal(NET_BUFFER_LIST_GET_HASH_FUNCTION(nbl), 1);
    assert.equal(NET_BUFFER_LIST_GET_HASH_TYPE(nbl), 0x200);
    assert.equal(NET_BUFFER_LIST_INFO(nbl, NetBufferListHashInfo), 0x201);
    assert.equal(NDIS_HASH_TYPE_MASK & NDIS_HASH_FUNCTION_MASK, 0);
  });

  it('NdisCopySendNetBufferListInfo copies the documented send slots; NdisCopyReceiveNetBufferListInfo the receive ones', () => {
    const pool = nblPool();
    const src = NdisAllocateNetBufferList(pool, 0, 0)!;
    for (let i = 0; i < MaxNetBufferListInfo; i++) src.NetBufferListInfo[i] = 1000 + i;
    const send = NdisAllocateNetBufferList(pool, 0, 0)!;
    NdisCopySendNetBufferListInfo(send, src);
    for (const slot of [0, 1, 2, 4, 6, 5, 7, 11, 12, 20, 14]) assert.equal(send.NetBufferListInfo[slot], 1000 + slot);
    assert.equal(send.NetBufferListInfo[WfpNetBufferListInfo], null, 'WFP-reserved slot not copied');
    assert.equal(send.NetBufferListInfo[NetBufferListHashValue], null, 'hash is receive-side');
    const recv = NdisAllocateNetBufferList(pool, 0, 0)!;
    NdisCopyReceiveNetBufferListInfo(recv, src);
    assert.equal(recv.NetBufferListInfo[NetBufferListHashValue], 1008);
    assert.equal(recv.NetBufferListInfo[TcpIpChecksumNetBufferListInfo], 1000);
    assert.equal(recv.NetBufferListInfo[TcpLargeSendNetBufferListInfo], null, 'LSO is send-side');
    assert.equal(recv.NetBufferListInfo[NetBufferListCancelId], null);
  });
});
