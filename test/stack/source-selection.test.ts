/**
 * IPv6 source address selection, RFC 6724 rule 2 (prefer appropriate scope), as Windows selects: an answer to a
 * link-local address comes from the interface's link-local address, an answer to a global one from the
 * interface's global address.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { resetSystem } from '../../src/kernel/system.js';
import { DropReason } from '../../src/stack/counters.js';
import { frame } from './frames.js';
import { A_MAC, MAC1, testHost } from './host.js';

/** The IPv6 source address of an Ethernet frame, as text groups. */
function source6(f: Uint8Array): string {
  const g: string[] = [];
  for (let i = 22; i < 38; i += 2) g.push(((f[i]! << 8) | f[i + 1]!).toString(16));
  return g.join(':');
}

describe('IPv6 source address selection (RFC 6724 rule 2)', () => {
  beforeEach(() => resetSystem());

  it("RFC 6724 rule 2: the ICMPv6 error to a link-local sender comes from the interface's link-local address; to a global sender from its global one", () => {
    const r = testHost();
    // UDP to an unbound port of the host: port unreachable goes back to the sender.
    const probe = (src: string) => {
      const f = frame({ protocol: 'udp', src, dst: 'fd00:1::1', dstPort: 54, srcMac: A_MAC, dstMac: MAC1 });
      return r.if1.indicate(f, 0, f.length);
    };
    r.host.neighbors.learn6(1, [0xfe800000, 0, 0, 0x10], 0, A_MAC, true);
    assert.ok(probe('fe80::10'));
    assert.ok(probe('fd00:1::10'));
    assert.equal(r.host.counters.dropped[DropReason.PortUnreachable], 2);
    const errors = r.out.filter((o) => o.bytes[20] === 58);
    assert.equal(errors.length, 2);
    // Interface 1's link-local address is fe80::<modified EUI-64 of 02:00:00:00:01:01>.
    assert.equal(source6(errors[0]!.bytes), 'fe80:0:0:0:0:ff:fe00:101');
    assert.equal(source6(errors[1]!.bytes), 'fd00:1:0:0:0:0:0:1');
    r.finish();
  });
});
