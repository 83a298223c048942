/** Text forms of MAC, IPv4 and IPv6 addresses, both ways. */

/** Formats the 6 bytes at `offset` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + bytes[offset + i]!.toString(16).padStart(2, '0');
  return s;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated). */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`not a MAC address: ${text}`);
  }
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** Formats an IPv4 address held as a uint32 number. */
export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** Parses a dotted IPv4 address into a uint32 number. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new RangeError(`not an IPv4 address: ${text}`);
  }
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}

/**
 * Formats the 16 bytes at `offset` as RFC 5952 text: lower case, no leading zeros, the longest run of two or
 * more zero words (the first of equal runs) as `::`, and an IPv4-mapped address with a dotted tail.
 */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number) =>
    w
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let t = text;
  const tail: number[] = [];
  const lastColon = t.lastIndexOf(':');
  if (t.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(t.slice(lastColon + 1));
    tail.push(v4 >>> 16, v4 & 0xffff);
    t = t.slice(0, lastColon + 1);
    if (!t.endsWith('::')) t = t.slice(0, -1);
  }
  const halves = t.split('::');
  if (halves.length > 2) throw new RangeError(`not an IPv6 address: ${text}`);
  const words = (s: string) => (s === '' ? [] : s.split(':').map((x) => Number.parseInt(x, 16)));
  const head = words(halves[0]!);
  const rest = halves.length === 2 ? words(halves[1]!) : [];
  const all =
    halves.length === 2 ? [...head, ...new Array(8 - head.length - rest.length - tail.length).fill(0), ...rest] : head;
  all.push(...tail);
  if (all.length !== 8 || all.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) {
    throw new RangeError(`not an IPv6 address: ${text}`);
  }
  all.forEach((x, i) => {
    out[2 * i] = x >>> 8;
    out[2 * i + 1] = x & 0xff;
  });
  return out;
}
