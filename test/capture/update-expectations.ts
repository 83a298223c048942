/**
 * Regenerates test/capture/expectations.json (the outcome of every shared capture, checked live with tshark /
 * libpcap) and test/capture/verified-digests.json (the fingerprint of each verified round trip):
 * `node --import tsx test/capture/update-expectations.ts`. Review the diff before committing: the corpus test
 * fails on any change of outcome.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapParallel, sharedCaptures } from './tshark.js';
import { roundTripDigest, verifyCapture } from './verify.js';

const tmp = mkdtempSync(join(tmpdir(), 'wdknet-expect-'));
try {
  const files = sharedCaptures();
  const results = await mapParallel(files, 2, (f) => verifyCapture(f, tmp));
  const out: Record<string, unknown> = {};
  const digests: Record<string, string> = {};
  const failures: string[] = [];
  files.forEach((f, i) => {
    const r = results[i]!;
    out[f] = r;
    if (typeof r === 'string' && !r.startsWith('roundtrip')) failures.push(`${f}: ${r}`);
    if (r === 'roundtrip' || r === 'roundtrip:libpcap') digests[f] = roundTripDigest(f)!;
  });
  for (const f of failures) console.error(f);
  writeFileSync(new URL('./expectations.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  writeFileSync(new URL('./verified-digests.json', import.meta.url), `${JSON.stringify(digests, null, 1)}\n`);
  console.log(`${files.length} captures, ${failures.length} failing`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
