/**
 * Every shared capture (tcpdump's and libpcap's test files) round-trips through wdknet's reader and writer, as
 * checked by tshark (or libpcap where tshark cannot show the stored frames), or fails with the
 * CaptureFormatError recorded in expectations.json. Regenerate with update-expectations.ts and review the diff.
 *
 * tshark is run live on every 8th capture and on every capture whose round-trip fingerprint (what wdknet reads
 * and the bytes it writes back) differs from the one stored when tshark last verified it; for the others the
 * stored verification still holds, since tshark would be given the very same bytes. Set WDKNET_FULL_CORPUS=1 to
 * run tshark on all of them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resetSystem } from '../../src/kernel/system.js';
import { mapParallel, sharedCaptures } from './tshark.js';
import { type Expectation, roundTripDigest, verifyCapture } from './verify.js';

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8')) as T;
const expectations = load<Record<string, Expectation>>('./expectations.json');
const digests = load<Record<string, string>>('./verified-digests.json');
const FULL = process.env['WDKNET_FULL_CORPUS'] === '1';

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
    let live = 0;
    const results = await mapParallel(files, 2, async (f) => {
      const want = expectations[f];
      const roundTrip = want === 'roundtrip' || want === 'roundtrip:libpcap';
      if (!FULL && roundTrip && files.indexOf(f) % 8 !== 0 && roundTripDigest(f) === digests[f]) return want;
      live++;
      return verifyCapture(f, tmp);
    });
    const wrong: string[] = [];
    files.forEach((f, i) => {
      if (JSON.stringify(results[i]) !== JSON.stringify(expectations[f])) {
        wrong.push(`${f}: expected ${JSON.stringify(expectations[f])}, got ${JSON.stringify(results[i])}`);
      }
    });
    assert.deepEqual(wrong, []);
    assert.ok(live >= files.length / 8, `only ${live} captures checked live`);
    const tsharkChecked = Object.values(expectations).filter((r) => r === 'roundtrip').length;
    assert.ok(tsharkChecked > 550, `only ${tsharkChecked} captures verified by tshark`);
  });
});
