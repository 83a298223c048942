/**
 * Every shared capture (tcpdump's and libpcap's test files) round-trips through wdknet's reader and writer, as
 * checked by tshark (or libpcap where tshark cannot show the stored frames), or fails with the
 * CaptureFormatError recorded in expectations.json. Regenerate with update-expectations.ts and review the diff.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resetSystem } from '../../src/kernel/system.js';
import { mapParallel, sharedCaptures } from './tshark.js';
import { type Expectation, verifyCapture } from './verify.js';

const expectations = JSON.parse(readFileSync(new URL('./expectations.json', import.meta.url), 'utf8')) as Record<
  string,
  Expectation
>;

describe('shared captures: round trip or typed error', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wdknet-corpus-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the expectations list every shared capture and nothing else', () => {
    resetSystem();
    assert.deepEqual(Object.keys(expectations).sort(), sharedCaptures().sort());
  });

  it('each capture round-trips (tshark / libpcap read back the same frames) or fails as recorded', async () => {
    const files = sharedCaptures();
    assert.ok(files.length > 600, `expected the ~615 shared captures, found ${files.length}`);
    const results = await mapParallel(files, 2, (f) => verifyCapture(f, tmp));
    const wrong: string[] = [];
    files.forEach((f, i) => {
      const got = results[i];
      const want = expectations[f];
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        wrong.push(`${f}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    });
    assert.deepEqual(wrong, []);
    const tsharkChecked = results.filter((r) => r === 'roundtrip').length;
    assert.ok(tsharkChecked > 550, `only ${tsharkChecked} captures checked against tshark`);
  });
});
