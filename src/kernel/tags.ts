/**
 * Pool tags. In C a tag is a multi-character constant: 'fPCT' is the ULONG 0x66504354, its first character
 * the most significant byte. Stored little-endian, its bytes read "TCPf", which is how poolmon shows it.
 */

/** The ULONG value of the C multi-character constant `'abcd'` (one to four characters). */
export function poolTag(chars: string): number {
  if (chars.length < 1 || chars.length > 4)
    throw new RangeError(`a pool tag has one to four characters, not "${chars}"`);
  let value = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`pool tag "${chars}" has a character outside one byte`);
    value = value * 256 + c;
  }
  return value >>> 0;
}

/** A tag in memory order, as poolmon and !poolfind print it: 0x66504354 is "TCPf". */
export function tagToString(tag: number): string {
  let s = '';
  for (let shift = 0; shift < 32; shift += 8) {
    const c = (tag >>> shift) & 0xff;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : c === 0 ? ' ' : '?';
  }
  return s;
}
