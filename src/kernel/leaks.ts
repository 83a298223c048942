/**
 * Leak reporting across layers. Each layer registers a source that lists what it still has outstanding (pool
 * blocks, MDLs, NET_BUFFER_LISTs, clones, NDIS 5 packets, IPRcvBufs, injections, ...). `collectLeaks()` asks every
 * source, so the end of a run, a driver unload or a test can report everything still held, by tag and owner,
 * with the call site where full verifier mode recorded one. The kernel never imports the layers above it.
 */
import { outstandingIoMdls, TAG_MDL } from './mdl.js';
import { outstandingAllocations } from './pool.js';
import { tagToString } from './tags.js';

/** One thing still outstanding. */
export interface Leak {
  /** What it is: 'pool', 'MDL', 'NET_BUFFER_LIST', 'NDIS_PACKET', 'IPRcvBuf', 'injection', ... */
  readonly kind: string;
  /** The pool tag it is charged to, in poolmon order ("TCPf"), or '' when it has none. */
  readonly tag: string;
  /** Bytes it holds, where that means something. */
  readonly size: number;
  /** Who holds it: a pool, a driver, a layer, "allocated by <site>". */
  readonly owner: string;
  /** Where the driver allocated it (full verifier mode), or undefined. */
  readonly site: string | undefined;
  /** Address or identifying detail for the person reading the report. */
  readonly detail: string;
}

/** A source of leaks: returns what its layer still has outstanding. */
export type LeakSource = () => readonly Leak[];

const sources = new Map<string, LeakSource>();
const systemOwned = new Map<string, () => Iterable<number>>();

/**
 * Registers pool blocks that belong to the system itself and live as long as it does, such as NDIS's internal
 * pools and the descriptors cached in them (as NDIS keeps freed descriptors in lookaside lists). They are not a
 * driver's leak, so the pool's leak source leaves them out; a layer still reports its own objects.
 */
export function registerSystemOwnedBlocks(name: string, blocks: () => Iterable<number>): void {
  systemOwned.set(name, blocks);
}

function systemOwnedBlocks(): Set<number> {
  const out = new Set<number>();
  for (const blocks of systemOwned.values()) for (const address of blocks()) out.add(address);
  return out;
}

/** Registers (or replaces) a layer's leak source under a name. */
export function registerLeakSource(name: string, source: LeakSource): void {
  sources.set(name, source);
}

registerLeakSource('pool', () => {
  const owned = systemOwnedBlocks();
  return outstandingAllocations()
    .filter((a) => !owned.has(a.address))
    .map((a) => ({
      kind: 'pool',
      tag: a.tagName,
      size: a.size,
      // The tag's first allocation names the driver that uses it, whatever the verifier mode.
      owner:
        a.tagSite === 'unknown'
          ? `pool tag '${a.tagName}'`
          : `pool tag '${a.tagName}', first allocated at ${a.tagSite}`,
      site: a.site,
      detail: `0x${a.address.toString(16)}`,
    }));
});

registerLeakSource('mdl', () =>
  outstandingIoMdls().map((m) => ({
    kind: 'MDL',
    tag: tagToString(TAG_MDL),
    size: m.ByteCount,
    owner: 'IoAllocateMdl / NdisAllocateMdl',
    site: m.site,
    detail: `describes 0x${(m.StartVa + m.ByteOffset).toString(16)} (${m.ByteCount} bytes)`,
  })),
);

/** Everything every layer still has outstanding. Descriptors charged to the pool also appear as their layer's kind. */
export function collectLeaks(): Leak[] {
  const out: Leak[] = [];
  for (const source of sources.values()) out.push(...source());
  return out;
}

/** A readable multi-line report of `leaks`, grouped by kind and tag. */
export function formatLeaks(leaks: readonly Leak[]): string {
  if (leaks.length === 0) return 'no leaks';
  const lines = [`${leaks.length} outstanding:`];
  for (const leak of leaks) {
    const where = leak.site === undefined ? '' : ` allocated at ${leak.site}`;
    lines.push(
      `  ${leak.kind.padEnd(16)} ${`'${leak.tag}'`.padEnd(7)} ${String(leak.size).padStart(7)} B  ${leak.owner}: ${leak.detail}${where}`,
    );
  }
  return lines.join('\n');
}
