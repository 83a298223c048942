import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildRcvBufChain,
  buildRcvBufChainFromMdl,
  copyRcvBufChainToMemory,
  FirewallViolation,
  flattenRcvBufChain,
  rcvBufChainCount,
  rcvBufChainLength,
  TAG_FIREWALL_BUFFER,
  TAG_IP_RECEIVE_BUFFER,
  TAG_IPRCVBUF,
} from '../../src/fwhook/index.js';
import { enableFaultInjection } from '../../src/kernel/faults.js';
import { poolTagStats } from '../../src/kernel/pool.js';
import { assertBugCheck } from '../helpers.js';
import {
  BAD_POOL_CALLER,
  bytesAt,
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  ExAllocatePoolWithTag,
  ExFreePool,
  FreeIprBuff,
  HIGH_LEVEL,
  IoAllocateMdl,
  IPAllocBuff,
  IPFreeBuff,
  IPR_FLAG_CHECKSUM_OFFLOAD,
  IPR_OWNER_FIREWALL,
  IPR_OWNER_IP,
  IPRcvBuf,
  KeLowerIrql,
  KeRaiseIrql,
  NonPagedPool,
  PagedPool,
  poolTag,
  resetSystem,
} from './ddi.js';

/** What the documentation tells a hook to do: nonpaged pool, sizeof(IPRcvBuf), tag 'fPCT'. */
function newDescriptor(): IPRcvBuf {
  const address = ExAllocatePoolWithTag(NonPagedPool, IPRcvBuf.sizeof, poolTag('fPCT'));
  assert.notEqual(address, 0);
  const rcv = new IPRcvBuf(address);
  bytesAt(address, IPRcvBuf.sizeof).fill(0);
  return rcv;
}

function bytesOf(tag: number): number {
  return poolTagStats(tag)?.bytes ?? 0;
}

describe('IPRcvBuf and its buffers (IPAllocBuff, IPFreeBuff, FreeIprBuff)', () => {
  beforeEach(() => resetSystem());

  it('FH-3: the descriptor is the caller\'s memory: a 64-byte x64 struct at its address, shown by poolmon as "TCPf"', () => {
    assert.equal(IPRcvBuf.sizeof, 64);
    const rcv = newDescriptor();
    assert.equal(poolTagStats(TAG_IPRCVBUF)!.name, 'TCPf');
    assert.equal(TAG_IPRCVBUF, 0x66504354);
    rcv.ipr_next = 0x1234_5678;
    rcv.ipr_owner = 3;
    rcv.ipr_buffer = 0x2000_0010;
    rcv.ipr_size = 1500;
    rcv.ipr_pMdl = 0x2000_0020;
    rcv.ipr_pClientCnt = 0x2000_0030;
    rcv.ipr_RcvContext = 0x2000_0040;
    rcv.ipr_RcvOffset = 14;
    rcv.ipr_flags = IPR_FLAG_CHECKSUM_OFFLOAD;
    const view = new DataView(bytesAt(rcv.address, 64).slice().buffer);
    const ptr = (o: number) => view.getUint32(o, true) + view.getUint32(o + 4, true) * 2 ** 32;
    assert.equal(ptr(0), 0x1234_5678, 'ipr_next at +0');
    assert.equal(view.getUint32(8, true), 3, 'ipr_owner at +8');
    assert.equal(ptr(16), 0x2000_0010, 'ipr_buffer at +16');
    assert.equal(view.getUint32(24, true), 1500, 'ipr_size at +24');
    assert.equal(ptr(32), 0x2000_0020, 'ipr_pMdl at +32');
    assert.equal(ptr(40), 0x2000_0030, 'ipr_pClientCnt at +40');
    assert.equal(ptr(48), 0x2000_0040, 'ipr_RcvContext at +48');
    assert.equal(view.getUint32(56, true), 14, 'ipr_RcvOffset at +56');
    assert.equal(view.getUint32(60, true), IPR_FLAG_CHECKSUM_OFFLOAD, 'ipr_flags at +60');
    // A second view over the same address sees the same fields: the struct is the memory, not the object.
    const again = new IPRcvBuf(rcv.address);
    assert.deepEqual(
      [again.ipr_next, again.ipr_owner, again.ipr_buffer, again.ipr_size, again.ipr_RcvOffset, again.ipr_flags],
      [0x1234_5678, 3, 0x2000_0010, 1500, 14, IPR_FLAG_CHECKSUM_OFFLOAD],
    );
    ExFreePool(rcv.address);
  });

  it('one view re-pointed with at() reads each descriptor of a chain; an address that is not one is refused', () => {
    const a = newDescriptor();
    const b = newDescriptor();
    a.ipr_size = 11;
    b.ipr_size = 22;
    const view = new IPRcvBuf(a.address);
    assert.equal(view.ipr_size, 11);
    assert.equal(view.at(b.address), view);
    assert.equal(view.ipr_size, 22);
    assert.throws(() => view.at(0), TypeError);
    assert.equal(view.address, b.address, 'a refused at() leaves the view where it was');
    ExFreePool(a.address);
    ExFreePool(b.address);
  });

  it("FH-1 / FH-2: IPAllocBuff allocates Size bytes for the descriptor's buffer and returns 1", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70_000 }), (size) => {
        resetSystem();
        const rcv = newDescriptor();
        rcv.ipr_next = 0;
        rcv.ipr_flags = IPR_FLAG_CHECKSUM_OFFLOAD;
        assert.equal(IPAllocBuff(rcv.address, size), 1);
        assert.equal(rcv.ipr_size, size);
        assert.equal(rcv.ipr_owner, IPR_OWNER_FIREWALL);
        assert.equal(rcv.ipr_flags, IPR_FLAG_CHECKSUM_OFFLOAD, 'flags are left alone');
        assert.equal(bytesOf(TAG_FIREWALL_BUFFER), size, 'Size bytes charged to "TCPb"');
        const buffer = bytesAt(rcv.ipr_buffer, size); // the whole range is mapped memory of the allocation
        buffer[size - 1] = 0x5a;
        IPFreeBuff(rcv);
        assert.equal(bytesOf(TAG_FIREWALL_BUFFER), 0);
        assert.equal(bytesOf(TAG_IPRCVBUF), 0);
      }),
      { numRuns: 60 },
    );
  });

  it('FH-1: IPAllocBuff keeps ipr_next, so a descriptor inside a chain stays in it', () => {
    const a = newDescriptor();
    const b = newDescriptor();
    a.ipr_next = b.address;
    assert.equal(IPAllocBuff(a, 10), 1);
    assert.equal(IPAllocBuff(b, 20), 1);
    assert.equal(a.ipr_next, b.address);
    IPFreeBuff(a);
    assert.equal(bytesOf(TAG_IPRCVBUF), 0);
  });

  it('FH-2 / FH-3: on failure IPAllocBuff returns another integer and leaves the descriptor intact; the caller frees it with ExFreePool', () => {
    const rcv = newDescriptor();
    rcv.ipr_next = 0x1111_0000;
    rcv.ipr_buffer = 0x2222_0000;
    rcv.ipr_size = 77;
    rcv.ipr_owner = IPR_OWNER_IP;
    rcv.ipr_RcvContext = 0x3333_0000;
    const before = bytesAt(rcv.address, 64).slice();
    enableFaultInjection({ probability: 1, tags: [TAG_FIREWALL_BUFFER] });
    const result = IPAllocBuff(rcv, 100);
    assert.notEqual(result, 1);
    assert.equal(typeof result, 'number');
    assert.deepEqual(bytesAt(rcv.address, 64).slice(), before, 'not one byte changed');
    assert.equal(IPAllocBuff(rcv, 0), 0, 'a zero-size buffer is refused too (decided)');
    assert.deepEqual(bytesAt(rcv.address, 64).slice(), before);
    ExFreePool(rcv.address);
    assert.equal(bytesOf(TAG_IPRCVBUF), 0);
  });

  it('FH-4: IPFreeBuff frees every buffer and every descriptor of a chain through ipr_next', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 12 }), (sizes) => {
        resetSystem();
        let head = 0;
        let prev: IPRcvBuf | null = null;
        for (const size of sizes) {
          const rcv = newDescriptor();
          assert.equal(IPAllocBuff(rcv, size), 1);
          if (prev === null) head = rcv.address;
          else prev.ipr_next = rcv.address;
          prev = rcv;
        }
        assert.equal(rcvBufChainCount(head), sizes.length);
        assert.equal(
          rcvBufChainLength(head),
          sizes.reduce((a, b) => a + b, 0),
        );
        assert.equal(poolTagStats(TAG_IPRCVBUF)!.allocs - poolTagStats(TAG_IPRCVBUF)!.frees, sizes.length);
        IPFreeBuff(head);
        assert.equal(bytesOf(TAG_IPRCVBUF), 0);
        assert.equal(bytesOf(TAG_FIREWALL_BUFFER), 0);
        assert.equal(poolTagStats(TAG_IPRCVBUF)!.allocs, poolTagStats(TAG_IPRCVBUF)!.frees);
      }),
      { numRuns: 60 },
    );
  });

  it('FH-5: FreeIprBuff frees only the memory ipr_buffer points to; the descriptor and the chain stay', () => {
    const a = newDescriptor();
    const b = newDescriptor();
    assert.equal(IPAllocBuff(a, 100), 1);
    assert.equal(IPAllocBuff(b, 200), 1);
    a.ipr_next = b.address;
    FreeIprBuff(a);
    assert.equal(bytesOf(TAG_FIREWALL_BUFFER), 200, "only a's 100 bytes went");
    assert.equal(bytesOf(TAG_IPRCVBUF), 128, 'both descriptors stay');
    assert.equal(a.ipr_next, b.address);
    // Reallocate a's buffer (as a hook that resizes a buffer does), then free the whole chain.
    assert.equal(IPAllocBuff(a, 50), 1);
    IPFreeBuff(a);
    assert.equal(bytesOf(TAG_FIREWALL_BUFFER), 0);
    assert.equal(bytesOf(TAG_IPRCVBUF), 0);
  });

  it('misuse: freeing a buffer twice, or a chain that loops, is reported by the pool (BAD_POOL_CALLER 0x07)', () => {
    const a = newDescriptor();
    assert.equal(IPAllocBuff(a, 10), 1);
    FreeIprBuff(a);
    assertBugCheck(() => FreeIprBuff(a), BAD_POOL_CALLER, 0x07);
    resetSystem();
    const x = newDescriptor();
    const y = newDescriptor();
    assert.equal(IPAllocBuff(x, 10), 1);
    assert.equal(IPAllocBuff(y, 10), 1);
    x.ipr_next = y.address;
    y.ipr_next = x.address;
    assertBugCheck(() => IPFreeBuff(x), BAD_POOL_CALLER, 0x07);
  });

  it('FH-3 under the verifier: a descriptor that is not a nonpaged pool block of sizeof(IPRcvBuf) is reported', () => {
    const small = ExAllocatePoolWithTag(NonPagedPool, 32, poolTag('fPCT'));
    assertBugCheck(
      () => IPAllocBuff(small, 10),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      FirewallViolation.DescriptorNotFromPool,
    );
    const paged = ExAllocatePoolWithTag(PagedPool, 64, poolTag('fPCT'));
    assertBugCheck(
      () => IPAllocBuff(paged, 10),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      FirewallViolation.DescriptorNotFromPool,
    );
    const big = ExAllocatePoolWithTag(NonPagedPool, 128, poolTag('fPCT'));
    assertBugCheck(
      () => IPAllocBuff(big + 16, 10),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      FirewallViolation.DescriptorNotFromPool,
    );
    // Full verifier mode also holds the hook to the documented tag.
    resetSystem({ verifier: 'full' });
    const wrongTag = ExAllocatePoolWithTag(NonPagedPool, 64, poolTag('tseT'));
    assertBugCheck(
      () => IPAllocBuff(wrongTag, 10),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      FirewallViolation.DescriptorNotFromPool,
    );
    const right = newDescriptor();
    assert.equal(IPAllocBuff(right, 10), 1);
    IPFreeBuff(right);
  });

  it('full verifier: touching a descriptor after IPFreeBuff is a use after free (special pool)', () => {
    resetSystem({ verifier: 'full' });
    const rcv = newDescriptor();
    assert.equal(IPAllocBuff(rcv, 32), 1);
    const buffer = rcv.ipr_buffer;
    IPFreeBuff(rcv);
    assertBugCheck(() => rcv.ipr_size, 0xd5);
    assertBugCheck(() => bytesAt(buffer, 1), 0xd5);
  });

  it('IRQL: the buffer functions run at DISPATCH_LEVEL at most', () => {
    const rcv = newDescriptor();
    const old = { value: 0 };
    KeRaiseIrql(HIGH_LEVEL, old);
    assertBugCheck(() => IPAllocBuff(rcv, 10), DRIVER_VERIFIER_DETECTED_VIOLATION);
    assertBugCheck(() => IPFreeBuff(rcv), DRIVER_VERIFIER_DETECTED_VIOLATION);
    KeLowerIrql(old.value);
  });

  it("the IP layer's chains: built from packet bytes in segments, flattened back, freed by IPFreeBuff", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 0, max: 700 }),
        (bytes, segment) => {
          resetSystem();
          const head = buildRcvBufChain(bytes, segment, IPR_FLAG_CHECKSUM_OFFLOAD);
          assert.notEqual(head, 0);
          const first = new IPRcvBuf(head);
          assert.equal(first.ipr_owner, IPR_OWNER_IP);
          assert.equal(first.ipr_RcvContext, first.ipr_buffer);
          assert.equal(first.ipr_flags, IPR_FLAG_CHECKSUM_OFFLOAD);
          const expectCount = segment === 0 ? 1 : Math.ceil(bytes.length / segment);
          assert.equal(rcvBufChainCount(head), expectCount);
          assert.deepEqual(flattenRcvBufChain(head), bytes);
          IPFreeBuff(head);
          assert.equal(bytesOf(TAG_IPRCVBUF), 0);
          assert.equal(bytesOf(TAG_IP_RECEIVE_BUFFER), 0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('an IP-owned buffer advanced past a header (ipr_buffer moved, ipr_RcvOffset counting it) is still freed whole', () => {
    const head = buildRcvBufChain(new Uint8Array(60).fill(7));
    const rcv = new IPRcvBuf(head);
    rcv.ipr_buffer += 20;
    rcv.ipr_size -= 20;
    rcv.ipr_RcvOffset += 20;
    IPFreeBuff(head);
    assert.equal(bytesOf(TAG_IP_RECEIVE_BUFFER), 0);
  });

  it("the IP layer's chains from an MDL chain: one descriptor per MDL piece from an offset; and back into memory", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }),
        fc.nat(300),
        fc.nat(900),
        (sizes, offset, length) => {
          resetSystem();
          const total = sizes.reduce((a, b) => a + b, 0);
          const mem = ExAllocatePoolWithTag(NonPagedPool, total, poolTag('tseT'));
          const bytes = bytesAt(mem, total);
          for (let i = 0; i < total; i++) bytes[i] = (i * 7 + 3) & 0xff;
          let head: ReturnType<typeof IoAllocateMdl> = null;
          let prev: ReturnType<typeof IoAllocateMdl> = null;
          let at = 0;
          for (const size of sizes) {
            const m = IoAllocateMdl(mem + at, size, false, false, null)!;
            if (prev === null) head = m;
            else prev.Next = m;
            prev = m;
            at += size;
          }
          const chain = buildRcvBufChainFromMdl(head, offset, length);
          if (length === 0 || offset + length > total) {
            assert.equal(chain, 0);
          } else {
            assert.deepEqual(flattenRcvBufChain(chain), bytes.slice(offset, offset + length));
            let pieces = 0;
            for (let i = 0, start = 0; i < sizes.length; start += sizes[i]!, i++) {
              if (start < offset + length && start + sizes[i]! > offset) pieces++;
            }
            assert.equal(rcvBufChainCount(chain), pieces, 'one descriptor per MDL piece');
            const out = ExAllocatePoolWithTag(NonPagedPool, length, poolTag('tseT'));
            assert.equal(copyRcvBufChainToMemory(chain, out, length), length);
            assert.deepEqual(bytesAt(out, length).slice(), bytes.slice(offset, offset + length));
            IPFreeBuff(chain);
          }
          assert.equal(bytesOf(TAG_IPRCVBUF), 0);
          assert.equal(bytesOf(TAG_IP_RECEIVE_BUFFER), 0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('building a chain under pool exhaustion returns 0 and leaves nothing allocated', () => {
    enableFaultInjection({ failCalls: [4], tags: [TAG_IPRCVBUF, TAG_IP_RECEIVE_BUFFER] });
    assert.equal(buildRcvBufChain(new Uint8Array(100), 30), 0);
    assert.equal(bytesOf(TAG_IPRCVBUF), 0);
    assert.equal(bytesOf(TAG_IP_RECEIVE_BUFFER), 0);
  });
});
