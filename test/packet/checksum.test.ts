import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import {
  finishChecksum,
  foldSum,
  internetChecksum,
  pseudoHeaderSumV4,
  read16,
  sumWords,
  updateChecksum16,
  updateChecksum32,
  write16,
  write32,
} from '../../src/packet/index.js';

beforeEach(() => resetSystem());

describe('Internet checksum (RFC 1071)', () => {
  it('matches the worked example of RFC 1071 section 3', () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    assert.equal(foldSum(sumWords(b, 0, b.length)), 0xddf2);
    assert.equal(internetChecksum(b, 0, b.length), 0x220d);
  });

  it('an odd final byte counts as the high byte of a zero-padded word', () => {
    assert.equal(internetChecksum(Uint8Array.of(0x12), 0, 1), ~0x1200 & 0xffff);
    assert.equal(
      internetChecksum(Uint8Array.of(0xab, 0x12, 0x34), 0, 3),
      internetChecksum(Uint8Array.of(0xab, 0x12, 0x34, 0), 0, 4),
    );
  });

  it('data with its checksum filled in sums to all ones (verifies to 0)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 3000 }), fc.nat(), (data, pos) => {
        const at = (pos % Math.floor(data.length / 2)) * 2;
        write16(data, at, 0);
        write16(data, at, internetChecksum(data, 0, data.length));
        assert.equal(foldSum(sumWords(data, 0, data.length)), 0xffff);
        assert.equal(internetChecksum(data, 0, data.length), 0);
      }),
    );
  });

  it('summing in pieces (even-length first pieces) equals summing at once', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(300), (data, cut) => {
        const c = Math.min(cut * 2, data.length - (data.length % 2));
        const whole = foldSum(sumWords(data, 0, data.length));
        const parts = foldSum(sumWords(data, c, data.length - c, sumWords(data, 0, c)));
        assert.equal(parts, whole);
      }),
    );
  });

  it('incremental update (RFC 1624 eqn. 3) of a 16-bit word equals recomputing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 200 }), fc.nat(), fc.nat(0xffff), (data, pos, word) => {
        if (data.length % 2) data = data.subarray(0, data.length - 1);
        write16(data, 0, 0);
        write16(data, 0, internetChecksum(data, 0, data.length));
        const at = 2 + (pos % ((data.length - 2) / 2)) * 2;
        const old = read16(data, at);
        write16(data, at, word);
        // RFC 1624 section 3 assumes covered data that is not all zeros (true of every IP header).
        fc.pre(data.subarray(2).some((b) => b !== 0));
        const incremental = updateChecksum16(read16(data, 0), old, word);
        write16(data, 0, 0);
        const recomputed = internetChecksum(data, 0, data.length);
        // RFC 1624: both are valid encodings of the same sum; they differ only between 0x0000 and 0xffff.
        assert.ok(
          incremental === recomputed || ((incremental | recomputed) === 0xffff && (incremental & recomputed) === 0),
          `incremental ${incremental} recomputed ${recomputed}`,
        );
        write16(data, 0, incremental);
        assert.equal(foldSum(sumWords(data, 0, data.length)), 0xffff);
      }),
    );
  });

  it('incremental update of a 32-bit field (an address) keeps the packet verifying', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 100 }), fc.nat(0xffffffff), (data, value) => {
        if (data.length % 2) data = data.subarray(0, data.length - 1);
        write16(data, 0, 0);
        write16(data, 0, internetChecksum(data, 0, data.length));
        const old = ((data[4]! << 24) | (data[5]! << 16) | (data[6]! << 8) | data[7]!) >>> 0;
        write32(data, 4, value);
        write16(data, 0, updateChecksum32(read16(data, 0), old, value));
        assert.equal(foldSum(sumWords(data, 0, data.length)), 0xffff);
      }),
    );
  });

  it('the IPv4 pseudo-header sum covers addresses, protocol and length', () => {
    const b = new Uint8Array(12);
    write32(b, 0, 0xc0a80001);
    write32(b, 4, 0x0a000001);
    b[9] = 6;
    write16(b, 10, 40);
    assert.equal(foldSum(pseudoHeaderSumV4(0xc0a80001, 0x0a000001, 6, 40)), foldSum(sumWords(b, 0, 12)));
    assert.equal(finishChecksum(0xffff), 0);
  });
});
