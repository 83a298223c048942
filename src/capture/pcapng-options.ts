/** Decoding and encoding of pcapng options (type-length-value lists padded to 32 bits). */
import { CaptureFormatError } from './errors.js';
import { OPT_ENDOFOPT, type OptionKind, optionInfo } from './pcapng-format.js';

/** One option of a pcapng block. */
export interface PcapngOption {
  /** Option code. */
  code: number;
  /** Standard name (`if_tsresol`, `opt_comment`, ...) or `opt_<code>`. */
  name: string;
  /**
   * The decoded value: a string for text options, a number for 8/32-bit ones, a bigint for 64-bit ones, a
   * dotted/colon address for ns_dnsIP*addr, `[high, low]` for timestamps, else the raw bytes.
   */
  value: string | number | bigint | Uint8Array | [number, number];
  /** The value bytes as stored (a copy). */
  raw: Uint8Array;
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Rounds up to a multiple of 4. */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Checks the option list in `view[start, end)` without allocating; returns the end of the last option. Throws
 * {@link CaptureFormatError} (`option_length`) when an option runs past `end`. `fileBase` turns view offsets into
 * file offsets for the error.
 */
export function checkOptions(view: DataView, start: number, end: number, le: boolean, fileBase: number): void {
  let p = start;
  while (p + 4 <= end) {
    const code = view.getUint16(p, le);
    const len = view.getUint16(p + 2, le);
    if (code === OPT_ENDOFOPT) return;
    if (p + 4 + len > end) {
      throw new CaptureFormatError(fileBase + p + 2, 'option_length', len, `option ${code} runs past its block`);
    }
    p += 4 + pad4(len);
  }
}

/** Decodes the option list of a block of type `blockType` in `view[start, end)` (checks it first). */
export function decodeOptions(
  blockType: number,
  view: DataView,
  start: number,
  end: number,
  le: boolean,
  fileBase: number,
): PcapngOption[] {
  checkOptions(view, start, end, le, fileBase);
  const out: PcapngOption[] = [];
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let p = start;
  while (p + 4 <= end) {
    const code = view.getUint16(p, le);
    const len = view.getUint16(p + 2, le);
    if (code === OPT_ENDOFOPT) break;
    const raw = bytes.slice(p + 4, p + 4 + len);
    const [name, kind] = optionInfo(blockType, code);
    out.push({ code, name, value: decodeValue(kind, raw, le), raw });
    p += 4 + pad4(len);
  }
  return out;
}

function decodeValue(kind: OptionKind, raw: Uint8Array, le: boolean): PcapngOption['value'] {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (kind) {
    case 'string':
      // Decided: a trailing NUL that some writers add is not part of the text.
      return utf8.decode(raw[raw.length - 1] === 0 ? raw.subarray(0, raw.length - 1) : raw);
    case 'u8':
      return raw.length >= 1 ? raw[0]! : raw;
    case 'u32':
      return raw.length >= 4 ? v.getUint32(0, le) : raw;
    case 'u64':
      return raw.length >= 8 ? v.getBigUint64(0, le) : raw;
    case 'i64':
      return raw.length >= 8 ? v.getBigInt64(0, le) : raw;
    case 'timestamp':
      return raw.length >= 8 ? [v.getUint32(0, le), v.getUint32(4, le)] : raw;
    case 'ipv4':
      return raw.length >= 4 ? Array.from(raw.subarray(0, 4)).join('.') : raw;
    case 'ipv6':
      return raw.length >= 16 ? formatIpv6Words(raw) : raw;
    default:
      return raw;
  }
}

function formatIpv6Words(raw: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((raw[i]! << 8) | raw[i + 1]!).toString(16));
  return words.join(':');
}

/** An option to write: `value` is encoded as the standard kind of `code` in the block (raw bytes always work). */
export interface OptionInput {
  /** Option code. */
  code: number;
  /** The value (string, number, bigint, `[high, low]` timestamp, or raw bytes). */
  value: string | number | bigint | Uint8Array | [number, number];
}

/** Encodes one option value into bytes (without the code/length header and padding). */
export function encodeOptionValue(blockType: number, option: OptionInput, le: boolean): Uint8Array {
  const { value } = option;
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') {
    const [, kind] = optionInfo(blockType, option.code);
    if (kind === 'ipv4') return Uint8Array.from(value.split('.').map(Number));
    return utf8Encoder.encode(value);
  }
  const [, kind] = optionInfo(blockType, option.code);
  if (Array.isArray(value)) {
    const out = new Uint8Array(8);
    const v = new DataView(out.buffer);
    v.setUint32(0, value[0], le);
    v.setUint32(4, value[1], le);
    return out;
  }
  if (kind === 'u8') return Uint8Array.of(Number(value));
  if (kind === 'u64' || kind === 'i64' || typeof value === 'bigint') {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)), le);
    return out;
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, le);
  return out;
}

/** Encodes an option list, ended by opt_endofopt when it is not empty. */
export function encodeOptions(blockType: number, options: readonly OptionInput[], le: boolean): Uint8Array {
  if (options.length === 0) return new Uint8Array(0);
  const values = options.map((o) => encodeOptionValue(blockType, o, le));
  let size = 4;
  for (const v of values) size += 4 + pad4(v.length);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let p = 0;
  for (let i = 0; i < options.length; i++) {
    const v = values[i]!;
    if (v.length > 0xffff) throw new RangeError(`option ${options[i]!.code} is longer than 65535 bytes`);
    view.setUint16(p, options[i]!.code, le);
    view.setUint16(p + 2, v.length, le);
    out.set(v, p + 4);
    p += 4 + pad4(v.length);
  }
  return out; // the last 4 bytes stay zero: opt_endofopt
}
