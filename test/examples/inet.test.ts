import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  fixIpv4Checksum,
  fixTransportChecksum,
  IPV4_DESTINATION,
  ipv4ChecksumOk,
  read16,
  rewriteAddressAndPort,
  transportChecksumOk,
  UDP_CHECKSUM,
  updateChecksum,
  write16,
} from '../../examples/lib/inet.js';
import { ipv4Packet } from './packets.js';

const arbPacket = fc.record({
  protocol: fc.constantFrom('tcp' as const, 'udp' as const),
  source: fc.integer({ min: 0, max: 0xffffffff }),
  destination: fc.integer({ min: 0, max: 0xffffffff }),
  sourcePort: fc.integer({ min: 0, max: 0xffff }),
  destinationPort: fc.integer({ min: 0, max: 0xffff }),
  ttl: fc.integer({ min: 1, max: 255 }),
  payload: fc.uint8Array({ maxLength: 64 }),
});

// The drivers' own checksum routines (RFC 1071 sums, RFC 1624 incremental update) must agree with a full
// recomputation, or a rewritten packet would be dropped by the receiver.
describe('example drivers: Internet checksum helpers', () => {
  it('built packets verify; a flipped byte does not', () => {
    fc.assert(
      fc.property(arbPacket, fc.nat(), (spec, at) => {
        const b = ipv4Packet(spec);
        assert.ok(ipv4ChecksumOk(b));
        assert.ok(transportChecksumOk(b));
        const i = at % b.length;
        b[i] = b[i]! ^ 0x5a;
        // A UDP checksum field that becomes 0 means "no checksum", which is valid by definition (RFC 768).
        if (spec.protocol === 'udp' && read16(b, 26) === 0) return;
        assert.ok(!(ipv4ChecksumOk(b) && transportChecksumOk(b)), `byte ${i} changed and both still verify`);
      }),
    );
  });

  it('incremental update (RFC 1624) equals recomputing after a rewrite of address and port', () => {
    fc.assert(
      fc.property(
        arbPacket,
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (spec, addr, port) => {
          const b = ipv4Packet(spec);
          const udp = spec.protocol === 'udp';
          rewriteAddressAndPort(b, IPV4_DESTINATION, addr, 22, port, 20 + (udp ? UDP_CHECKSUM : 16), udp);
          fixIpv4Checksum(b);
          assert.ok(ipv4ChecksumOk(b));
          assert.ok(transportChecksumOk(b), 'incrementally fixed checksum verifies');
          const incremental = read16(b, 20 + (udp ? UDP_CHECKSUM : 16));
          fixTransportChecksum(b);
          const full = read16(b, 20 + (udp ? UDP_CHECKSUM : 16));
          // 0x0000 and 0xFFFF are the same ones'-complement number; UDP sends 0xFFFF for a computed zero.
          assert.ok(incremental === full || (incremental ^ full) === 0xffff, `${incremental} vs ${full}`);
        },
      ),
    );
  });

  it('a UDP datagram without a checksum (0) keeps none after a rewrite', () => {
    const b = ipv4Packet({ protocol: 'udp', source: 1, destination: 2, payload: new Uint8Array([1, 2, 3]) });
    write16(b, 26, 0);
    rewriteAddressAndPort(b, IPV4_DESTINATION, 0x0a000001, 22, 53, 26, true);
    assert.equal(read16(b, 26), 0);
  });

  it('updateChecksum of an unchanged word changes nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xfffe }), fc.integer({ min: 0, max: 0xffff }), (c, w) => {
        const u = updateChecksum(c, w, w);
        assert.ok(u === c || (u ^ c) === 0xffff);
      }),
    );
  });
});
