/**
 * Walking MDL chains. A NET_BUFFER's data starts DataOffset bytes into MdlChain; CurrentMdl / CurrentMdlOffset
 * cache that position. Data need not start in the first MDL, and chains may hold empty MDLs or MDLs that are
 * all backfill: every walk here skips them.
 *
 * The cached position is canonical (decided here, so that retreat then advance restores every field): it is the
 * first MDL in which the data offset falls strictly inside the MDL, so empty MDLs and the end of a full MDL are
 * skipped; when no such MDL exists (no data left) it is the last MDL, with CurrentMdlOffset its remaining offset.
 */
import { ARENA_BASE, memory, moveWithinArena } from '../kernel/arena.js';
import type { MDL } from '../kernel/mdl.js';
import { checkAccess } from '../kernel/memory.js';
import { VERIFIER_STANDARD, verifierLevel } from '../kernel/verifier.js';
import type { NET_BUFFER } from './structures.js';
import { Ndis6Violation, ndisViolation } from './violations.js';

// Per-packet functions are `const` arrow functions: see requireNetBufferIrql (violations.ts) for why.
/** The system address of an MDL's first byte (every simulated page is mapped at its own address). */
export const mdlVa = (m: MDL): number => {
  return m.StartVa + m.ByteOffset;
};

/** Bytes the whole chain describes. */
export function chainBytes(chain: MDL | null): number {
  let n = 0;
  for (let m = chain; m !== null; m = m.Next) n += m.ByteCount;
  return n;
}

/** Recomputes CurrentMdl / CurrentMdlOffset from MdlChain and DataOffset. */
export const seekCursor = (nb: NET_BUFFER): void => {
  let m = nb.MdlChain;
  let off = nb.DataOffset;
  if (m === null) {
    nb.CurrentMdl = null;
    nb.CurrentMdlOffset = 0;
    return;
  }
  while (off >= m.ByteCount && m.Next !== null) {
    off -= m.ByteCount;
    m = m.Next;
  }
  nb.CurrentMdl = m;
  nb.CurrentMdlOffset = off;
};

/** Moves the cursor forward by `delta` bytes from where it is (delta >= 0). */
export const cursorForward = (nb: NET_BUFFER, delta: number): void => {
  let m = nb.CurrentMdl;
  if (m === null) return;
  let off = nb.CurrentMdlOffset + delta;
  while (off >= m.ByteCount && m.Next !== null) {
    off -= m.ByteCount;
    m = m.Next;
  }
  nb.CurrentMdl = m;
  nb.CurrentMdlOffset = off;
};

/** Standard verifier: the used data must lie inside the chain. */
export function checkDataInChain(nb: NET_BUFFER, ddi: string): void {
  if (verifierLevel < VERIFIER_STANDARD) return;
  const have = chainBytes(nb.MdlChain);
  if (nb.DataOffset + nb.DataLength > have) {
    ndisViolation(
      Ndis6Violation.DataBeyondChain,
      nb.address,
      nb.DataOffset + nb.DataLength,
      have,
      `${ddi}: DataOffset ${nb.DataOffset} + DataLength ${nb.DataLength} run past the ${have} bytes the MDL chain describes`,
    );
  }
}

/**
 * Copies `length` bytes of data starting `skip` bytes after the NET_BUFFER's data start into simulated memory
 * at `dest`. The caller has checked that the bytes exist.
 */
export function copyOut(nb: NET_BUFFER, skip: number, dest: number, length: number): void {
  let m = nb.CurrentMdl;
  let off = nb.CurrentMdlOffset + skip;
  let d = dest;
  let left = length;
  while (m !== null && left > 0) {
    const avail = m.ByteCount - off;
    if (avail <= 0) {
      off -= m.ByteCount;
      m = m.Next;
      continue;
    }
    const n = Math.min(avail, left);
    const src = mdlVa(m) + off;
    checkAccess(src, n, false);
    checkAccess(d, n, true);
    moveWithinArena(d - ARENA_BASE, src - ARENA_BASE, n);
    d += n;
    left -= n;
    off = 0;
    m = m.Next;
  }
}

/** Copies a NET_BUFFER's used data out into a new Uint8Array (a flat copy; for tests and the idiomatic API). */
export function flatten(nb: NET_BUFFER): Uint8Array {
  const out = new Uint8Array(nb.DataLength);
  let m = nb.CurrentMdl;
  let off = nb.CurrentMdlOffset;
  let at = 0;
  while (m !== null && at < out.length) {
    const avail = m.ByteCount - off;
    if (avail > 0) {
      const n = Math.min(avail, out.length - at);
      const src = mdlVa(m) + off;
      checkAccess(src, n, false);
      out.set(memory.subarray(src - ARENA_BASE, src - ARENA_BASE + n), at);
      at += n;
      off = 0;
    } else {
      off -= m.ByteCount;
    }
    m = m.Next;
  }
  return out;
}
