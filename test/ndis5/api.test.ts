import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  chainBuffers,
  Ndis5BufferPool,
  Ndis5DriverRole,
  Ndis5PacketPool,
  packetCounts,
  unchainAllBuffers,
} from '../../src/api/ndis5.js';
import { StatusError } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import {
  ExAllocatePoolWithTag,
  IoAllocateMdl,
  IoFreeMdl,
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_RESOURCES,
  NonPagedPool,
  poolTag,
} from './ddi.js';

describe('NDIS 5 idiomatic API (the same core as wdknet/ddi)', () => {
  beforeEach(() => resetSystem());

  it('N5-1 / N5-3: pools allocate to their exact capacity and throw StatusError past it', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 256, poolTag('tseT'));
    const buffers = new Ndis5BufferPool(2);
    const a = buffers.allocate(mem, 100);
    const b = buffers.allocate(mem + 100, 156);
    assert.throws(
      () => buffers.allocate(mem, 1),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_FAILURE && /exhausted/.test(e.message),
    );
    const packets = new Ndis5PacketPool(1, { protocolReservedLength: 16 });
    const p = packets.allocate();
    assert.throws(
      () => packets.allocate(),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_RESOURCES,
    );
    chainBuffers(p, a, b);
    const counts = packetCounts(p);
    assert.deepEqual([counts.length, counts.buffers], [256, 2]);
    assert.ok(counts.pages >= 2, 'each buffer spans at least one page');
    const back = unchainAllBuffers(p);
    assert.deepEqual(back, [a, b]);
    for (const x of back) buffers.free(x);
    packets.free(p);
    packets.dispose();
    buffers.dispose();
  });

  it('N5-2: a range outside allocated nonpaged pool is a StatusError(NDIS_STATUS_FAILURE)', () => {
    const buffers = new Ndis5BufferPool(1);
    assert.throws(
      () => buffers.allocate(0x0900_0000, 10),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_FAILURE && /nonpaged/.test(e.message),
    );
  });

  it('N5-4: a pool created for a highest-level protocol may carry OS MDLs', () => {
    const mem = ExAllocatePoolWithTag(NonPagedPool, 64, poolTag('tseT'));
    const packets = new Ndis5PacketPool(1, { role: Ndis5DriverRole.HighestLevelProtocol });
    const p = packets.allocate();
    const os = IoAllocateMdl(mem, 64, false, false, null)!;
    chainBuffers(p, os);
    assert.equal(packetCounts(p).length, 64);
    unchainAllBuffers(p);
    IoFreeMdl(os);
    packets.free(p);
  });
});
