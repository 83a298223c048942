/**
 * Regenerates test/capture/expectations.json from the shared captures:
 * `node --import tsx test/capture/update-expectations.ts`. Review the diff before committing it: the corpus test
 * fails on any change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapParallel, sharedCaptures } from './tshark.js';
import { verifyCapture } from './verify.js';

const tmp = mkdtempSync(join(tmpdir(), 'wdknet-expect-'));
try {
  const files = sharedCaptures();
  const results = await mapParallel(files, 2, (f) => verifyCapture(f, tmp));
  const out: Record<string, unknown> = {};
  files.forEach((f, i) => {
    out[f] = results[i];
  });
  const failures = files.filter(
    (_, i) => typeof results[i] === 'string' && !String(results[i]).startsWith('roundtrip'),
  );
  for (const f of failures) console.error(`${f}: ${out[f]}`);
  writeFileSync(new URL('./expectations.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`${files.length} captures, ${failures.length} failing`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
