/**
 * UNICODE_STRING, the counted string the object manager and the registry take names in, and the Rtl routines
 * that fill one.
 *
 * Where wdknet departs from C (decided here): `Buffer` holds the characters as a JavaScript string rather than
 * the address of WCHARs in simulated memory. Names are what a driver passes as `L"..."` literals, and the kernel
 * already takes names as strings (IoCreateDevice's DeviceName, DriverEntry's RegistryPath). `Length` and
 * `MaximumLength` keep their C meaning, bytes (two per UTF-16 code unit), and the routines that read a
 * UNICODE_STRING honour `Length`: only the first `Length / 2` characters of `Buffer` are the string.
 */

/** The most bytes a UNICODE_STRING can count (its Length is a USHORT holding an even number). */
export const UNICODE_STRING_MAX_BYTES = 0xfffe;

/** UNICODE_STRING: `Length` bytes of string in `Buffer`, which has room for `MaximumLength` bytes. */
export class UNICODE_STRING {
  /** Bytes of string, not counting a terminating NUL. */
  Length = 0;
  /** Bytes `Buffer` can hold. */
  MaximumLength = 0;
  /** The characters (see the file comment), or null for NULL. */
  Buffer: string | null = null;
}

/**
 * RtlInitUnicodeString: points `DestinationString` at `SourceString` (NULL gives an empty string with a NULL
 * Buffer). Length is the string's bytes, MaximumLength two more for its NUL. A source longer than a USHORT can
 * count is cut to the longest length that fits, as Windows' implementation does (decided here: the docs only
 * point to RtlInitUnicodeStringEx, which fails instead).
 */
export function RtlInitUnicodeString(DestinationString: UNICODE_STRING, SourceString: string | null): void {
  if (SourceString === null) {
    DestinationString.Length = 0;
    DestinationString.MaximumLength = 0;
    DestinationString.Buffer = null;
    return;
  }
  const bytes = Math.min(SourceString.length * 2, UNICODE_STRING_MAX_BYTES - 2);
  DestinationString.Length = bytes;
  DestinationString.MaximumLength = bytes + 2;
  DestinationString.Buffer = SourceString;
}

/** RTL_CONSTANT_STRING: a UNICODE_STRING over a constant string (for globals), as RtlInitUnicodeString makes it. */
export function RTL_CONSTANT_STRING(SourceString: string): UNICODE_STRING {
  const s = new UNICODE_STRING();
  RtlInitUnicodeString(s, SourceString);
  return s;
}

/**
 * RtlFreeUnicodeString: releases a string's buffer that a routine allocated for the caller (such as
 * RtlQueryRegistryValues for a REG_SZ with a NULL Buffer) and leaves it empty. The characters live in a
 * JavaScript string here, so there is no pool block to give back.
 */
export function RtlFreeUnicodeString(UnicodeString: UNICODE_STRING): void {
  UnicodeString.Length = 0;
  UnicodeString.MaximumLength = 0;
  UnicodeString.Buffer = null;
}

/**
 * wdknet: the string a UNICODE_STRING counts (its first `Length / 2` characters), or null when it is not a
 * well-formed one: a NULL Buffer with a nonzero Length, an odd Length, or Length above MaximumLength.
 */
export function unicodeStringValue(s: UNICODE_STRING): string | null {
  if (!Number.isInteger(s.Length) || s.Length < 0 || s.Length % 2 !== 0 || s.Length > s.MaximumLength) return null;
  if (s.Buffer === null) return s.Length === 0 ? '' : null;
  if (s.Length / 2 > s.Buffer.length) return null;
  return s.Buffer.slice(0, s.Length / 2);
}
