/**
 * The used data of a NET_BUFFER must lie in its MDL chain (NdisAllocateNetBuffer: DataOffset and DataLength are
 * in the chain). NDIS checks it at allocation; a driver can break it afterwards (a larger DataLength, a shortened
 * MDL), so the verifier checks it again wherever NDIS takes the data: NdisGetDataBuffer, sends, receive
 * indications and WFP injections (0xC4 / Ndis6Violation.DataBeyondChain, P3 bytes needed, P4 bytes in the chain).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
import { addMiniportAdapter } from '../../src/ndis/miniport.js';
import { Ndis6Violation } from '../../src/ndis/violations.js';
import { AF_INET } from '../../src/wfp/constants.js';
import {
  FWPS_INJECTION_TYPE_NETWORK,
  FwpsFreeNetBufferList0,
  FwpsInjectionHandleCreate0,
  FwpsInjectionHandleDestroy0,
  FwpsInjectNetworkSendAsync0,
} from '../../src/wfp/index.js';
import { assertBugCheck } from '../helpers.js';
import {
  bytesAt,
  DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  ExFreePool,
  MmGetSystemAddressForMdlSafe,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_STATUS_SUCCESS,
  NdisAllocateNetBuffer,
  NdisAllocateNetBufferList,
  NdisAllocateNetBufferMdlAndData,
  NdisFreeNetBuffer,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisFreeNetBufferPool,
  NdisGetDataBuffer,
  NdisMIndicateReceiveNetBufferLists,
  NdisSendNetBufferLists,
  NET_BUFFER_LIST_CONTEXT_DATA_START,
  NonPagedPool,
  poolTag,
  RtlCopyMemory,
  resetSystem,
  SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION,
} from '../ndisdriver/ddi.js';
import { allocChain, dispatchFlag, TestMiniport, TestProtocol } from '../ndisdriver/drivers.js';
import { packet, udp4, wfpPool } from '../wfp/packetUtil.js';
import { chainOf, nblPool, nbPool, pattern } from './helpers.js';

function stack() {
  const miniport = new TestMiniport({ holdSends: true });
  assert.equal(miniport.register(), NDIS_STATUS_SUCCESS);
  assert.equal(addMiniportAdapter(miniport.handle as never, { name: 'Test Adapter 1' }).status, NDIS_STATUS_SUCCESS);
  const protocol = new TestProtocol({ holdReceives: true });
  assert.equal(protocol.register(), NDIS_STATUS_SUCCESS);
  return { a: miniport.adapters[0]!, b: protocol.bindings[0]! };
}

describe('data past the MDL chain, caught where NDIS takes the data (standard verifier)', () => {
  beforeEach(() => resetSystem());

  it('NdisGetDataBuffer on a NET_BUFFER whose DataLength was grown past its chain is 0xC4 / DataBeyondChain (N6-5)', () => {
    const pool = nbPool();
    const chain = chainOf([pattern(10), pattern(20)]);
    const nb = NdisAllocateNetBuffer(pool, chain, 4, 26)!;
    assert.notEqual(NdisGetDataBuffer(nb, 6, 0, 1, 0), 0);
    nb.DataLength = 27;
    const e = assertBugCheck(
      () => NdisGetDataBuffer(nb, 4, 0, 1, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.DataBeyondChain,
    );
    assert.deepEqual(e.parameters.slice(2), [31, 30]);
    nb.DataLength = 26;
    // An MDL shortened under the NET_BUFFER: the same bytes are now past the chain.
    chain!.Next!.ByteCount = 19;
    assertBugCheck(
      () => NdisGetDataBuffer(nb, 4, 0, 1, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.DataBeyondChain,
    );
    chain!.Next!.ByteCount = 20;
    NdisFreeNetBuffer(nb);
  });

  it('NdisSendNetBufferLists with a NET_BUFFER whose data runs past its chain never reaches the miniport', () => {
    const { a, b } = stack();
    const nbl = allocChain(b.protocol.pool!, 1, b.handle);
    nbl.FirstNetBuffer!.DataLength += 1;
    assertBugCheck(
      () => NdisSendNetBufferLists(b.handle, nbl, 0, dispatchFlag(NDIS_SEND_FLAGS_DISPATCH_LEVEL)),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.DataBeyondChain,
    );
    assert.equal(a.sent.length, 0);
  });

  it('NdisMIndicateReceiveNetBufferLists with a later NET_BUFFER list whose data runs past its chain never reaches the protocol', () => {
    const { a, b } = stack();
    const nbls = allocChain(a.pool, 3, a.handle);
    nbls.Next!.Next!.FirstNetBuffer!.DataOffset += 8;
    assertBugCheck(
      () => NdisMIndicateReceiveNetBufferLists(a.handle, nbls, 0, 3, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.DataBeyondChain,
    );
    assert.equal(b.received.length, 0);
  });

  it('FwpsInjectNetworkSendAsync0 of a list whose data runs past its chain is reported before anything is injected', () => {
    const injection = { value: null as unknown };
    assert.equal(FwpsInjectionHandleCreate0(AF_INET, FWPS_INJECTION_TYPE_NETWORK, injection), 0);
    const pool = wfpPool();
    const { nbl, chain } = packet(pool, udp4(0x0a000001, 0x0a000002, 1, 2));
    nbl.FirstNetBuffer!.DataLength += 100;
    assertBugCheck(
      () => FwpsInjectNetworkSendAsync0(injection.value, null, 0, 1, nbl, () => {}, null),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      Ndis6Violation.DataBeyondChain,
    );
    nbl.FirstNetBuffer!.DataLength -= 100;
    FwpsFreeNetBufferList0(nbl);
    chain.free();
    assert.equal(FwpsInjectionHandleDestroy0(injection.value), 0);
  });

  it('NdisGetDataBuffer: reported exactly when DataOffset + DataLength exceed the bytes of the chain (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        (sizes, offset, length) => {
          resetSystem();
          const chain = chainOf(sizes.map((n) => pattern(n)));
          const total = sizes.reduce((x, y) => x + y, 0);
          const pool = nbPool();
          const nb = NdisAllocateNetBuffer(pool, chain, 0, 0)!;
          nb.DataOffset = offset;
          nb.DataLength = length;
          let reported = false;
          try {
            NdisGetDataBuffer(nb, 1, 0, 1, 0);
          } catch (e) {
            assert.equal((e as { parameters?: number[] }).parameters?.[0], Ndis6Violation.DataBeyondChain);
            reported = true;
          }
          assert.equal(reported, offset + length > total);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('data past the MDL chain with the verifier off', () => {
  beforeEach(() => resetSystem({ verifier: 'off' }));

  it('is not checked: NdisGetDataBuffer returns what the chain has (the hot path pays nothing)', () => {
    const pool = nbPool();
    const chain = chainOf([pattern(10)]);
    const nb = NdisAllocateNetBuffer(pool, chain, 0, 10)!;
    nb.DataLength = 11;
    assert.notEqual(NdisGetDataBuffer(nb, 4, 0, 1, 0), 0);
  });
});

describe('overruns that stay inside one pool block: data into the descriptors NDIS keeps beside it (full verifier)', () => {
  beforeEach(() => resetSystem({ verifier: 'full' }));

  it('N6-7: an access below the built-in data of NdisAllocateNetBufferMdlAndData reaches the NET_BUFFER in the same block: DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION', () => {
    const pool = nbPool(64);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    const va = MmGetSystemAddressForMdlSafe(nb.MdlChain!, 0);
    bytesAt(va, 64).fill(7);
    const e = assertBugCheck(() => bytesAt(va - 8, 16), DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION);
    assert.deepEqual(e.parameters, [va - 8, 0, 0, 0]);
    const src = ExAllocatePoolWithTag(NonPagedPool, 8, poolTag('tseT'));
    assertBugCheck(() => RtlCopyMemory(va - 1, src, 8), DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION);
    ExFreePool(src);
    NdisFreeNetBuffer(nb);
    NdisFreeNetBufferPool(pool);
  });

  it('a write into that NET_BUFFER that went around every check is found when its block is freed: SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION 0x23', () => {
    const pool = nbPool(64);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    const va = MmGetSystemAddressForMdlSafe(nb.MdlChain!, 0);
    memory[va - ARENA_BASE - 3] = 0; // a raw store, as through a stale or miscomputed view
    const e = assertBugCheck(() => {
      NdisFreeNetBuffer(nb);
      NdisFreeNetBufferPool(pool);
    }, SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION);
    assert.equal(e.parameters[1], va - 3);
    assert.equal(e.parameters[3], 0x23);
  });

  it('an overrun of a NET_BUFFER_LIST context area into the NET_BUFFER preallocated after it is caught', () => {
    const pool = nblPool({ ContextSize: 16, fAllocateNetBuffer: true, DataSize: 128 });
    const nbl = NdisAllocateNetBufferList(pool, 16, 0)!;
    const ctx = NET_BUFFER_LIST_CONTEXT_DATA_START(nbl);
    bytesAt(ctx, 16).fill(1);
    assertBugCheck(() => bytesAt(ctx, 17), DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION);
    const data = MmGetSystemAddressForMdlSafe(nbl.FirstNetBuffer!.MdlChain!, 0);
    bytesAt(data, 128).fill(2);
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferListPool(pool);
  });

  it('standard verifier: not checked (special pool is a full-mode check)', () => {
    resetSystem();
    const pool = nbPool(64);
    const nb = NdisAllocateNetBufferMdlAndData(pool)!;
    const va = MmGetSystemAddressForMdlSafe(nb.MdlChain!, 0);
    assert.equal(bytesAt(va - 8, 16).length, 16);
    NdisFreeNetBuffer(nb);
    NdisFreeNetBufferPool(pool);
  });
});
