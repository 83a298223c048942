import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  ExAllocatePoolWithTag,
  FwpsAllocateCloneNetBufferList0,
  FwpsFreeCloneNetBufferList0,
  type NET_BUFFER_LIST,
  NonPagedPool,
  poolTag,
  resetSystem,
} from 'wdknet/ddi';
import { driverLeaks } from './leaks.js';
import { ip, ipv4Packet } from './packets.js';
import { IpPacketHarness } from './wfp-harness.js';

// The example tests' leak check sets aside only NDIS's own cache (internal pool headers and cached descriptors):
// it must still report what a driver leaks.
describe('example tests: the leak check', () => {
  beforeEach(() => resetSystem());

  it('reports a clone a driver never freed, and stops once it is freed (NDIS cache set aside)', () => {
    const h = new IpPacketHarness();
    const p = h.build(ipv4Packet({ protocol: 'udp', source: ip('1.1.1.1'), destination: ip('2.2.2.2') }))!;
    const box = { value: null as NET_BUFFER_LIST | null };
    assert.equal(FwpsAllocateCloneNetBufferList0(p.nbl, null, null, 0, box), 0);
    assert.ok(
      driverLeaks().some((l) => /clone NET_BUFFER_LIST/.test(l.kind)),
      'the outstanding clone is a leak',
    );
    FwpsFreeCloneNetBufferList0(box.value!, 0);
    h.classify(p, false); // no filters: permitted and freed
    h.release();
    assert.deepEqual(driverLeaks(), [], 'the freed clone left only NDIS cache, which is not reported');
  });

  it("reports pool memory under NDIS's tag that is not its cache", () => {
    const block = ExAllocatePoolWithTag(NonPagedPool, 32, poolTag('SIDN'));
    assert.notEqual(block, 0);
    assert.ok(
      driverLeaks().some((l) => l.kind === 'pool' && l.tag === 'NDIS' && l.detail === `0x${block.toString(16)}`),
    );
  });
});
