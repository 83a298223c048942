/**
 * Addresses as the IP layer keeps them. An IPv4 address is an unsigned 32-bit number (network order: the first
 * octet is the most significant byte). An IPv6 address is four such words in a Uint32Array. A MAC address is a
 * 48-bit number (exact in a double). Parsing and formatting allocate and are for configuration and reports, never
 * for the per-packet path, which reads addresses straight out of simulated memory (see {@link readIpv6Words}).
 */
import { ARENA_BASE, memory, memoryView } from '../kernel/arena.js';

/** Parses dotted-quad IPv4 ("10.0.0.1") into its 32-bit value; throws RangeError on anything else. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new RangeError(`"${text}" is not an IPv4 address`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new RangeError(`"${text}" is not an IPv4 address`);
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

/** Formats a 32-bit IPv4 value as a dotted quad. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** Parses an IPv6 address in any RFC 4291 text form (with "::" and an embedded IPv4 tail) into four words. */
export function parseIpv6(text: string): Uint32Array {
  const bad = () => new RangeError(`"${text}" is not an IPv6 address`);
  let groups: number[] = [];
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const parseHalf = (half: string): number[] => {
    if (half === '') return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) throw bad();
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = parseHalf(halves[0]!);
  if (halves.length === 2) {
    const tail = parseHalf(halves[1]!);
    if (head.length + tail.length > 7) throw bad();
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) throw bad();
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return words;
}

/** Formats four words as an RFC 5952 IPv6 address (lower case, longest run of zero groups as "::"). */
export function formatIpv6(words: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) groups.push(words[i]! >>> 16, words[i]! & 0xffff);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Reads the 16 bytes of an IPv6 address at simulated address `va` into `out[at..at+4)`. Allocation-free. */
export function readIpv6Words(va: number, out: Uint32Array, at = 0): void {
  const o = va - ARENA_BASE;
  for (let i = 0; i < 4; i++) {
    const b = o + 4 * i;
    out[at + i] = ((memory[b]! << 24) | (memory[b + 1]! << 16) | (memory[b + 2]! << 8) | memory[b + 3]!) >>> 0;
  }
}

/** Writes four words as 16 bytes at simulated address `va`. Allocation-free. */
export function writeIpv6Words(va: number, words: ArrayLike<number>, at = 0): void {
  const o = va - ARENA_BASE;
  for (let i = 0; i < 4; i++) {
    const w = words[at + i]!;
    const b = o + 4 * i;
    memory[b] = w >>> 24;
    memory[b + 1] = (w >>> 16) & 0xff;
    memory[b + 2] = (w >>> 8) & 0xff;
    memory[b + 3] = w & 0xff;
  }
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes) into a 48-bit number. */
export function parseMac(text: string): number {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new RangeError(`"${text}" is not a MAC address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number.parseInt(p, 16), 0);
}

/** Formats a 48-bit MAC value as "aa:bb:cc:dd:ee:ff". */
export function formatMac(mac: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push((Math.floor(mac / 2 ** (8 * i)) % 256).toString(16).padStart(2, '0'));
  return out.join(':');
}

/** Reads a 6-byte MAC at simulated address `va` as a 48-bit number. Allocation-free. */
export function readMac(va: number): number {
  const o = va - ARENA_BASE;
  return (
    (memory[o]! * 0x10000 + ((memory[o + 1]! << 8) | memory[o + 2]!)) * 0x1000000 +
    ((memory[o + 3]! << 16) | (memory[o + 4]! << 8) | memory[o + 5]!)
  );
}

/** Writes a 48-bit MAC as 6 bytes at simulated address `va`. Allocation-free. */
export function writeMac(va: number, mac: number): void {
  const high = (mac / 0x1000000) | 0; // below 2^24: integer arithmetic, no Math.floor
  writeMacHalves(va, high, mac - high * 0x1000000);
}

/** Is the MAC at simulated address `va` the one whose upper and lower 24 bits are `high` and `low`? */
export function macEquals(va: number, high: number, low: number): boolean {
  // Two overlapping big-endian loads (bytes 0-3 and 2-5) instead of six byte loads: this runs per packet.
  const o = va - ARENA_BASE;
  return memoryView.getUint32(o) >>> 8 === high && (memoryView.getUint32(o + 2) & 0xffffff) === low;
}

/** Writes a MAC given as its upper and lower 24 bits (two small integers: nothing is allocated to pass them). */
export function writeMacHalves(va: number, high: number, low: number): void {
  // Two big-endian stores (bytes 0-1, then 2-5) instead of six byte stores: the data path writes two MACs per frame.
  const o = va - ARENA_BASE;
  memoryView.setUint16(o, high >>> 8);
  memoryView.setUint32(o + 2, ((high & 0xff) << 24) | (low & 0xffffff));
}

/** The Ethernet broadcast address. */
export const MAC_BROADCAST = 0xffff_ffff_ffff;

/**
 * Is the MAC at simulated address `va` a group (multicast or broadcast) address? The I/G bit: the low bit of the
 * first octet (read in place: the data path never makes the 48-bit number).
 */
export function isGroupMacAt(va: number): boolean {
  return (memory[va - ARENA_BASE]! & 1) === 1;
}

/** The Ethernet multicast MAC an IPv6 multicast address maps to (RFC 2464: 33:33 and the low 32 bits). */
export function ipv6MulticastMac(lowWord: number): number {
  return 0x3333 * 0x1_0000_0000 + (lowWord >>> 0);
}

/** The Ethernet multicast MAC an IPv4 multicast address maps to (RFC 1112: 01:00:5e and the low 23 bits). */
export function ipv4MulticastMac(address: number): number {
  return 0x01005e * 0x1000000 + (address & 0x7fffff);
}
