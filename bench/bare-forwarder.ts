/**
 * A reference for bench/host.ts: the least JavaScript can do with the same capture. It reads a little-endian
 * microsecond pcap file in 1 MiB chunks, and for each Ethernet + IPv4 frame copies it into a receive ring,
 * verifies the header checksum, applies the benchmark's filter (drop what goes to 192.0.2.9), decrements the TTL
 * with an incremental checksum update (RFC 1624), rewrites the MAC addresses and copies the frame with its record
 * header into a 1 MiB output buffer written with writeSync. No NIC, NDIS, pool, WFP or neighbour cache: it shows
 * how much of `wdknet run`'s time per frame is the machine it simulates rather than the bytes it moves.
 *
 * Not a product path and not faithful to anything: only the benchmark's own captures are accepted (other files
 * throw).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const CHUNK = 1 << 20;
const MAX_RECORD = 65_536 + 16;

/** Forwards `input` to `output` as described above; returns the frames written. */
export function bareForward(input: string, output: string): number {
  const inFd = openSync(input, 'r');
  const outFd = openSync(output, 'w');
  try {
    // One buffer for the three regions, so every copy is a copyWithin inside it.
    const mem = new Uint8Array(3 * (CHUNK + MAX_RECORD));
    const view = new DataView(mem.buffer);
    const ring = CHUNK + MAX_RECORD;
    const out = 2 * (CHUNK + MAX_RECORD);
    let end = readSync(inFd, mem, 0, CHUNK, 0);
    let fileOffset = end;
    if (end < 24 || view.getUint32(0, true) !== 0xa1b2c3d4) throw new Error(`${input}: not a little-endian pcap`);
    mem.copyWithin(out, 0, 24);
    let put = 24;
    let at = 24;
    let slot = 0;
    let written = 0;
    for (;;) {
      if (at + 16 > end || at + 16 + view.getUint32(at + 8, true) > end) {
        mem.copyWithin(0, at, end);
        end -= at;
        at = 0;
        const n = readSync(inFd, mem, end, CHUNK, fileOffset);
        fileOffset += n;
        end += n;
        if (n === 0) break;
        continue;
      }
      const length = view.getUint32(at + 8, true);
      const from = at + 16;
      const seconds = view.getUint32(at, true);
      const micros = view.getUint32(at + 4, true);
      at = from + length;
      if (length < 34 || length > 2048) continue;
      const f = ring + (slot++ & 63) * 2048;
      mem.copyWithin(f, from, from + length);
      if (mem[f + 12] !== 0x08 || mem[f + 13] !== 0x00 || mem[f + 14] !== 0x45) continue;
      let sum = 0;
      for (let i = 14; i < 34; i += 2) sum += (mem[f + i]! << 8) | mem[f + i + 1]!;
      sum = (sum & 0xffff) + (sum >>> 16);
      if ((sum & 0xffff) + (sum >>> 16) !== 0xffff) continue;
      if (view.getUint32(f + 30, false) === 0xc0000209) continue;
      const ttl = mem[f + 22]!;
      if (ttl <= 1) continue;
      mem[f + 22] = ttl - 1;
      // RFC 1624: HC' = ~(~HC + ~m + m'), the TTL being the high byte of its word.
      let c = (~view.getUint16(f + 24, false) & 0xffff) + 0xfeff;
      c = (c & 0xffff) + (c >>> 16);
      view.setUint16(f + 24, ~c & 0xffff, false);
      for (let i = 0; i < 6; i++) {
        mem[f + i] = 0x02;
        mem[f + 6 + i] = 0x03;
      }
      if (put + 16 + length > CHUNK) {
        writeSync(outFd, mem, out, put);
        put = 0;
      }
      view.setUint32(out + put, seconds, true);
      view.setUint32(out + put + 4, micros, true);
      view.setUint32(out + put + 8, length, true);
      view.setUint32(out + put + 12, length, true);
      mem.copyWithin(out + put + 16, f, f + length);
      put += 16 + length;
      written++;
    }
    writeSync(outFd, mem, out, put);
    return written;
  } finally {
    closeSync(outFd);
    closeSync(inFd);
  }
}
