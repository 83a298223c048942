/**
 * pcapng timestamps: a 64-bit count of interface units (if_tsresol: 10^-n or 2^-n seconds) stored as two
 * 32-bit halves. Converted to seconds and nanoseconds without BigInt on the hot path: the 64-bit value exceeds
 * 2^53 for nanosecond clocks, so it is divided by long division in 16-bit digits.
 */
import type { CaptureRecord } from './record.js';

const TWO32 = 4294967296;

/** Units per second of an if_tsresol byte: 10^v, or 2^(v & 0x7f) when the top bit is set; 0 when too fine. */
export function unitsPerSecondOf(tsresol: number): number {
  const exp = tsresol & 0x7f;
  const units = tsresol & 0x80 ? 2 ** exp : 10 ** exp;
  // Decided: resolutions finer than 2^-53 s cannot be represented exactly in a number and are refused.
  return units > Number.MAX_SAFE_INTEGER ? 0 : units;
}

/** Sets `r.seconds` and `r.nanoseconds` from the 64-bit timestamp (`high`, `low`) in `units` per second. */
export function setTimestamp(r: CaptureRecord, high: number, low: number, units: number, tsOffset: number): void {
  const total = high * TWO32 + low;
  let seconds: number;
  let rem: number;
  if (total <= Number.MAX_SAFE_INTEGER) {
    seconds = Math.floor(total / units);
    rem = total - seconds * units;
  } else if (units >= 2048 && units < TWO32) {
    // Every clock from milliseconds to 2^-31 s (nanoseconds above all, past 2^53 units since April 1970): the high
    // half is divided first, then the remainder with the low half's two 16-bit digits. Every dividend stays below
    // 2^48, where a floating-point quotient floors exactly; the seconds (below 2^53 for units of 2^11 and up) too.
    const q1 = Math.floor(high / units);
    const n2 = (high - q1 * units) * 65536 + (low >>> 16);
    const q2 = Math.floor(n2 / units);
    const n3 = (n2 - q2 * units) * 65536 + (low & 0xffff);
    const q3 = Math.floor(n3 / units);
    seconds = q1 * TWO32 + q2 * 65536 + q3;
    rem = n3 - q3 * units;
  } else if (units < 2 ** 37) {
    // Long division of the four 16-bit digits; every intermediate stays below 2^53.
    divRem = 0;
    let quotient = divStep(0, high >>> 16, units);
    quotient = quotient * 65536 + divStep(divRem, high & 0xffff, units);
    quotient = quotient * 65536 + divStep(divRem, low >>> 16, units);
    quotient = quotient * 65536 + divStep(divRem, low & 0xffff, units);
    seconds = quotient;
    rem = divRem;
  } else {
    const big = (BigInt(high) << 32n) | BigInt(low);
    const u = BigInt(units);
    seconds = Number(big / u);
    rem = Number(big % u);
  }
  r.seconds = seconds + tsOffset;
  r.nanoseconds = nanosOf(rem, units);
}

let divRem = 0;

/** One digit of long division: returns the quotient digit of (rem * 65536 + digit) / units, remainder in divRem. */
function divStep(rem: number, digit: number, units: number): number {
  const n = rem * 65536 + digit;
  const q = Math.floor(n / units);
  divRem = n - q * units;
  return q;
}

function nanosOf(rem: number, units: number): number {
  // The two usual resolutions first: the general tests below use floating-point remainders, which are slow.
  if (units === 1e6) return rem * 1000;
  if (units === 1e9) return rem;
  if (units <= 1e9 && 1e9 % units === 0) return rem * (1e9 / units);
  if (units % 1e9 === 0) return Math.floor(rem / (units / 1e9));
  return Math.floor((rem * 1e9) / units);
}

/** Output of {@link toUnits}. */
export const unitsOut = { high: 0.5, low: 0.5 };

/**
 * Converts `time` less `offsetSeconds` (an interface's if_tsoffset) to a 64-bit count of `units` per second, left in
 * {@link unitsOut}. The time is read from its fields: a seconds value passed as an argument would be allocated.
 */
export function toUnitsOf(
  time: Readonly<{ seconds: number; nanoseconds: number }>,
  offsetSeconds: number,
  units: number,
): void {
  const seconds = time.seconds - offsetSeconds;
  const nanoseconds = time.nanoseconds;
  let frac: number;
  if (units === 1e9) frac = nanoseconds;
  else if (units <= 1e9 && 1e9 % units === 0) frac = Math.floor(nanoseconds / (1e9 / units));
  else frac = Math.floor((nanoseconds * units) / 1e9);
  const total = seconds * units + frac;
  if (total <= Number.MAX_SAFE_INTEGER) {
    unitsOut.high = Math.floor(total / TWO32);
    unitsOut.low = total - unitsOut.high * TWO32;
    return;
  }
  if (seconds >= 0 && seconds < TWO32 && Number.isInteger(seconds) && units < TWO32 && frac >= 0 && frac < units) {
    // A nanosecond clock after 1970 + 104 days passes 2^53: the 64-bit product is built from 16-bit pieces of the
    // seconds, every intermediate below 2^53 (no BigInt, which would allocate on every packet written).
    // seconds * units + frac = (a * units) * 2^16 + (b * units + frac), where seconds = a * 2^16 + b.
    const a = Math.floor(seconds / 65536);
    const q = a * units; // < 2^48
    const qHigh = Math.floor(q / 65536);
    const r = (q - qHigh * 65536) * 65536 + (seconds - a * 65536) * units + frac; // < 2^49
    const carry = Math.floor(r / TWO32);
    unitsOut.high = qHigh + carry;
    unitsOut.low = r - carry * TWO32;
    return;
  }
  const big = BigInt(seconds) * BigInt(units) + BigInt(frac);
  unitsOut.high = Number((big >> 32n) & 0xffffffffn);
  unitsOut.low = Number(big & 0xffffffffn);
}

const scratchTime = { seconds: 0.5, nanoseconds: 0.5 };

/** Converts seconds + nanoseconds to a 64-bit count of `units` per second, left in {@link unitsOut}. */
export function toUnits(seconds: number, nanoseconds: number, units: number): void {
  scratchTime.seconds = seconds;
  scratchTime.nanoseconds = nanoseconds;
  toUnitsOf(scratchTime, 0, units);
}
