/** The pool tag table as poolmon prints it: Tag, Type, Allocs, Frees, Diff, Bytes, Per Alloc. */
import type { TagStats } from '../kernel/pool.js';

/** Formats poolmon rows (sorted by tag name, as `poolmon /t` would be by tag). */
export function formatPoolmon(rows: readonly TagStats[]): string {
  const header = ' Tag  Type      Allocs       Frees      Diff        Bytes   Per Alloc';
  const lines = [header];
  for (const r of [...rows].sort((a, b) => a.name.localeCompare(b.name))) {
    const diff = r.allocs - r.frees;
    const per = diff === 0 ? 0 : Math.round(r.bytes / diff);
    lines.push(
      ` ${r.name} ${r.type.padEnd(5)} ${String(r.allocs).padStart(11)} ${String(r.frees).padStart(11)} ${String(diff).padStart(9)} ${String(r.bytes).padStart(12)} ${String(per).padStart(11)}`,
    );
  }
  return lines.join('\n');
}
