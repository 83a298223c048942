/**
 * FwpsConstructIpHeaderForTransportPacket0 on data spread over MDL chains: the result must equal an independent,
 * flat-buffer computation of the header and the transport checksum, wherever the MDL boundaries fall.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem, STATUS_SUCCESS } from '../../src/ddi/index.js';
import { NdisAdvanceNetBufferDataStart } from '../../src/ndis/retreat.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import { AF_INET, AF_INET6 } from '../../src/wfp/constants.js';
import { FwpsAllocateNetBufferAndNetBufferList0, FwpsFreeNetBufferList0 } from '../../src/wfp/index.js';
import { CONSTRUCTED_HOP_LIMIT, FwpsConstructIpHeaderForTransportPacket0 } from '../../src/wfp/ipHeader.js';
import { assertNothingLeft, Chain, dataOf, freePool, wfpPool } from './packetUtil.js';

/** Ones'-complement sum of big-endian words of `bytes` (odd tail padded), folded: the naive way. */
function onesSum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) + (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** What the packet must look like afterwards, computed from the flat segment. */
function expected(family: number, src: number[], dst: number[], protocol: number, segment: number[]): number[] {
  const seg = [...segment];
  const at = protocol === 6 ? 16 : protocol === 17 ? 6 : -1;
  if (at >= 0 && seg.length >= at + 2) {
    if (protocol === 17) {
      seg[4] = (seg.length >> 8) & 0xff;
      seg[5] = seg.length & 0xff;
    }
    seg[at] = 0;
    seg[at + 1] = 0;
    const len = seg.length;
    const pseudo = [...src, ...dst, 0, protocol, (len >> 8) & 0xff, len & 0xff];
    // The pseudo-header (an even number of bytes) then the segment, its odd tail padded with zero (RFC 768/793).
    let c = 0xffff - onesSum([...pseudo, ...seg]);
    if (protocol === 17 && c === 0) c = 0xffff;
    seg[at] = c >> 8;
    seg[at + 1] = c & 0xff;
  }
  if (family === AF_INET) {
    const total = 20 + seg.length;
    const h = [0x45, 0, total >> 8, total & 0xff, 0, 0, 0, 0, CONSTRUCTED_HOP_LIMIT, protocol, 0, 0, ...src, ...dst];
    const c = 0xffff - onesSum(h);
    h[10] = c >> 8;
    h[11] = c & 0xff;
    return [...h, ...seg];
  }
  const payload = seg.length;
  return [0x60, 0, 0, 0, payload >> 8, payload & 0xff, protocol, CONSTRUCTED_HOP_LIMIT, ...src, ...dst, ...seg];
}

/** Splits `bytes` into MDL-sized pieces at the given cut points (empty pieces allowed). */
function split(bytes: number[], cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(Uint8Array.from(bytes.slice(from, p)));
    from = p;
  }
  out.push(Uint8Array.from(bytes.slice(from)));
  return out;
}

describe('FwpsConstructIpHeaderForTransportPacket0 over MDL chains', () => {
  beforeEach(() => resetSystem());

  it('matches a flat computation for IPv4 and IPv6, TCP, UDP and others, wherever the MDLs split the data (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(AF_INET, AF_INET6),
        fc.constantFrom(6, 17, 1, 58),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: 90 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 5 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
        (family, protocol, segment, cuts, backfilled, srcAll, dstAll) => {
          const alen = family === AF_INET ? 4 : 16;
          const hlen = family === AF_INET ? 20 : 40;
          const src = srcAll.slice(0, alen);
          const dst = dstAll.slice(0, alen);
          const pool = wfpPool();
          // With backfill, the header goes in front of the data in the first MDL; without, NDIS retreats into a
          // new MDL of its own.
          const backfill = backfilled ? hlen : 0;
          const pieces = split(segment, cuts);
          const chain = new Chain([new Uint8Array(backfill), ...pieces]);
          const box = { value: null as NET_BUFFER_LIST | null };
          assert.equal(
            FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, backfill, segment.length, box),
            STATUS_SUCCESS,
          );
          const nbl = box.value!;
          assert.equal(
            FwpsConstructIpHeaderForTransportPacket0(
              nbl,
              0,
              family,
              Uint8Array.from(src),
              Uint8Array.from(dst),
              protocol,
              0,
              null,
              0,
              0,
              null,
              0,
              0,
            ),
            STATUS_SUCCESS,
          );
          assert.deepEqual([...dataOf(nbl.FirstNetBuffer!)], expected(family, src, dst, protocol, segment));
          NdisAdvanceNetBufferDataStart(nbl.FirstNetBuffer!, hlen, true, null);
          FwpsFreeNetBufferList0(nbl);
          chain.free();
          freePool(pool);
          assertNothingLeft();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives a UDP checksum of zero as 0xFFFF (RFC 768), and leaves a segment too short for the field alone', () => {
    const pool = wfpPool();
    // A UDP header whose checksum comes out zero: find a payload word that makes the sum 0xFFFF.
    const src = [10, 0, 0, 1];
    const dst = [10, 0, 0, 2];
    const seg = [0, 1, 0, 2, 0, 10, 0, 0, 0, 0];
    const partial = onesSum([...src, ...dst, 0, 17, 0, 10, ...seg]);
    const fill = 0xffff - partial;
    seg[8] = fill >> 8;
    seg[9] = fill & 0xff;
    const chain = new Chain([new Uint8Array(20), Uint8Array.from(seg.slice(0, 3)), Uint8Array.from(seg.slice(3))]);
    const box = { value: null as NET_BUFFER_LIST | null };
    FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, chain.head, 20, seg.length, box);
    const nbl = box.value!;
    FwpsConstructIpHeaderForTransportPacket0(
      nbl,
      0,
      AF_INET,
      Uint8Array.from(src),
      Uint8Array.from(dst),
      17,
      0,
      null,
      0,
      0,
      null,
      0,
      0,
    );
    const out = dataOf(nbl.FirstNetBuffer!);
    assert.equal((out[26]! << 8) | out[27]!, 0xffff);
    FwpsFreeNetBufferList0(nbl);
    chain.free();

    const short = new Chain([new Uint8Array(20), Uint8Array.from([1, 2, 3, 4, 5])]);
    FwpsAllocateNetBufferAndNetBufferList0(pool, 0, 0, short.head, 20, 5, box);
    FwpsConstructIpHeaderForTransportPacket0(
      box.value!,
      0,
      AF_INET,
      Uint8Array.from(src),
      Uint8Array.from(dst),
      17,
      0,
      null,
      0,
      0,
      null,
      0,
      0,
    );
    assert.deepEqual([...dataOf(box.value!.FirstNetBuffer!).subarray(20)], [1, 2, 3, 4, 5]);
    FwpsFreeNetBufferList0(box.value!);
    short.free();
    freePool(pool);
  });
});
