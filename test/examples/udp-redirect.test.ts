import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';

import { resetSystem } from 'wdknet/ddi';
import {
  IPV4_DESTINATION,
  IPV4_SOURCE,
  ipv4ChecksumOk,
  read16,
  read32,
  transportChecksumOk,
  write16,
} from '../../examples/lib/inet.js';
import * as driver from '../../examples/udp-redirect.js';
import { type LoadedDriver, loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { assertNoLeaks } from './leaks.js';
import { ip, ipv4Packet } from './packets.js';
import { IpPacketHarness } from './wfp-harness.js';

const CLIENT = ip('192.168.1.10');
const FROM = ip('8.8.8.8');
const TO = ip('10.53.0.1');

function request(sourcePort: number, payload: Uint8Array, id = 1) {
  return ipv4Packet({
    protocol: 'udp',
    source: CLIENT,
    destination: FROM,
    sourcePort,
    destinationPort: 53,
    payload,
    id,
  });
}
function reply(destinationPort: number, payload: Uint8Array, id = 2) {
  return ipv4Packet({
    protocol: 'udp',
    source: TO,
    destination: CLIENT,
    sourcePort: 5353,
    destinationPort,
    payload,
    id,
  });
}

// ddproxy-style redirection: clone, rewrite the addresses and ports with checksum fixes, inject the clone, absorb
// the original; the replies are translated back so the application sees the peer it addressed.
describe('example udp-redirect (WFP callout, ddproxy-style packet modification)', () => {
  let loaded: LoadedDriver | null;
  let h: IpPacketHarness;
  beforeEach(() => {
    resetSystem();
    driver.configureRedirect(FROM, 53, TO, 5353);
    loaded = loadDriver('redirect', driver);
    assert.equal(loaded.status, 0);
    h = new IpPacketHarness();
  });
  afterEach(async () => {
    if (loaded !== null) unloadDriver(loaded);
    await h.drain();
    h.release();
    assertNoLeaks();
  });

  it('sends a request for 8.8.8.8:53 to 10.53.0.1:5353 with valid checksums and the payload intact', async () => {
    const payload = new TextEncoder().encode('query');
    assert.equal(h.offer(request(40000, payload), false), 'absorbed');
    await h.drain();
    assert.equal(h.sent.length, 1);
    const out = h.sent[0]!;
    assert.equal(read32(out, IPV4_DESTINATION), TO);
    assert.equal(read16(out, 22), 5353);
    assert.equal(read32(out, IPV4_SOURCE), CLIENT);
    assert.equal(read16(out, 20), 40000);
    assert.deepEqual(out.subarray(28), payload);
    assert.ok(ipv4ChecksumOk(out) && transportChecksumOk(out));
    assert.equal(driver.redirectStats.reinjected, 1);
  });

  it('translates the reply from 10.53.0.1:5353 back to 8.8.8.8:53', async () => {
    const payload = new TextEncoder().encode('answer');
    assert.equal(h.offer(reply(40000, payload), true), 'absorbed');
    await h.drain();
    assert.equal(h.delivered.length, 1);
    const got = h.delivered[0]!;
    assert.equal(read32(got, IPV4_SOURCE), FROM);
    assert.equal(read16(got, 20), 53);
    assert.deepEqual(got.subarray(28), payload);
    assert.ok(ipv4ChecksumOk(got) && transportChecksumOk(got));
  });

  it('lets every other packet through untouched', async () => {
    const others = [
      ipv4Packet({ protocol: 'udp', source: CLIENT, destination: FROM, destinationPort: 54 }),
      ipv4Packet({ protocol: 'tcp', source: CLIENT, destination: FROM, destinationPort: 53 }),
      ipv4Packet({ protocol: 'udp', source: CLIENT, destination: TO, destinationPort: 53 }),
    ];
    for (const p of others) assert.equal(h.offer(p, false), 'permitted');
    assert.equal(
      h.offer(ipv4Packet({ protocol: 'udp', source: FROM, destination: CLIENT, sourcePort: 53 }), true),
      'permitted',
    );
    await h.drain();
    assert.deepEqual(h.sent, others);
    assert.equal(driver.redirectStats.absorbed, 0);
  });

  it('keeps "no checksum" (UDP checksum 0) as none', async () => {
    const p = request(1234, new Uint8Array([1, 2, 3]));
    write16(p, 26, 0);
    h.offer(p, false);
    await h.drain();
    assert.equal(read16(h.sent[0]!, 26), 0);
    assert.ok(ipv4ChecksumOk(h.sent[0]!));
  });

  it('rewrites exactly the matching datagrams, with valid checksums, whatever the ports and payload (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 1, max: 0xffff }),
            fc.constantFrom(53, 54, 5353),
            fc.uint8Array({ maxLength: 40 }),
          ),
          {
            maxLength: 12,
          },
        ),
        async (datagrams) => {
          const before = h.sent.length;
          for (const [sport, dport, payload] of datagrams) {
            h.offer(
              ipv4Packet({
                protocol: 'udp',
                source: CLIENT,
                destination: FROM,
                sourcePort: sport,
                destinationPort: dport,
                payload,
              }),
              false,
            );
          }
          await h.drain();
          const sent = h.sent.slice(before);
          assert.equal(sent.length, datagrams.length);
          sent.forEach((out, i) => {
            const [sport, dport, payload] = datagrams[i]!;
            assert.equal(read32(out, IPV4_DESTINATION), dport === 53 ? TO : FROM);
            assert.equal(read16(out, 22), dport === 53 ? 5353 : dport);
            assert.equal(read16(out, 20), sport);
            assert.deepEqual(out.subarray(28), payload);
            assert.ok(ipv4ChecksumOk(out) && transportChecksumOk(out));
          });
        },
      ),
      { numRuns: 40 },
    );
    assert.ok(driver.redirectStats.balanced());
  });
});
