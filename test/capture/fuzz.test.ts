/**
 * Fuzzing the readers with real captures mutated by fast-check (truncations, random bytes, huge lengths): the
 * only outcomes allowed are success or a CaptureFormatError, never another exception, never a hang.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { CaptureFormatError, copyCapture, MemorySink, openCapture } from '../../src/capture/index.js';
import { resetSystem } from '../../src/kernel/system.js';
import { capturePath } from './tshark.js';

beforeEach(() => resetSystem());

const SEEDS = [
  'tcpdump/802.1ad_QinQ.pcap',
  'tcpdump/bgp-role.pcapng',
  'tcpdump/isis_sr.pcapng',
  'tcpdump/timestamp_invalid_nano.pcap',
  'libpcap/rarp_req_reply.pcapng',
  'tcpdump/ipv6-routing-header.pcap',
].map((f) => readFileSync(capturePath(f)));

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 11, 12, 0xffffffff, 0x7fffffff, 0x40000, 0x40001), fc.nat()),
  }),
);

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = seed.slice();
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'byte') b[at] = m.value;
    else if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, m.value >>> 0, m.at % 2 === 0);
  }
  return b;
}

/** Reads everything (with block decoding on) and copies it; only CaptureFormatError may escape. */
function readAll(bytes: Uint8Array, window: number): number {
  let n = 0;
  try {
    const reader = openCapture(bytes, { chunk: new Uint8Array(window), onBlock: () => {} });
    for (let r = reader.next(); r !== null; r = reader.next()) {
      assert.ok(r.offset >= 0 && r.offset + r.caplen <= r.data.length);
      n++;
      assert.ok(n <= bytes.length / 8, 'more packets than the file can hold');
    }
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    assert.ok(e.packetsRead === n, 'packetsRead counts the packets returned');
  }
  try {
    copyCapture(bytes, new MemorySink());
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
  }
  return n;
}

describe('reader fuzzing', () => {
  it('mutated real captures give success or CaptureFormatError, in bounded time', () => {
    fc.assert(
      fc.property(
        fc.nat(SEEDS.length - 1),
        fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(512, 4096, 1 << 20),
        (seed, mutations, window) => {
          const started = Date.now();
          readAll(mutate(SEEDS[seed]!, mutations), window);
          assert.ok(Date.now() - started < 2000, 'reading took too long');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random bytes behind a valid magic give success or CaptureFormatError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1),
          Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d),
          Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a),
        ),
        fc.uint8Array({ maxLength: 400 }),
        (magic, rest) => {
          const b = new Uint8Array(magic.length + rest.length);
          b.set(magic);
          b.set(rest, 4);
          readAll(b, 512);
        },
      ),
      { numRuns: 500 },
    );
  });
});
