/** Runs every benchmark in bench/ (each in its own process, so one cannot warm the JIT for another). */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const skip = new Set(['run.ts', 'lib.ts', 'bare-forwarder.ts']);
for (const file of readdirSync(here).sort()) {
  if (!file.endsWith('.ts') || skip.has(file)) continue;
  if (only.length > 0 && !only.some((o) => file.startsWith(o))) continue;
  console.log(`\n=== ${file}`);
  execFileSync(process.execPath, ['--conditions=development', '--import', 'tsx', '--expose-gc', join(here, file)], {
    stdio: 'inherit',
  });
}
