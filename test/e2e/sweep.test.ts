/**
 * Robustness: every capture of the tcpdump and libpcap test suites (many malformed on purpose) through the host,
 * bare and with every example driver loaded. Each run must end clean: no bug check, no leak, every packet
 * accounted for; a malformed file may only stop the run with a typed capture error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

function sweep(drivers: string[]): { captures: number; formatErrors: number; problems: string[] } {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(root, 'test/e2e/fixtures/sweep.ts'), ...drivers],
    { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('every shared capture through the host', () => {
  it('bare host: all clean', () => {
    const s = sweep([]);
    assert.ok(s.captures > 600, `${s.captures} captures`);
    assert.deepEqual(s.problems, []);
  });

  it('with the example drivers loaded: all clean', () => {
    const examples = readdirSync(join(root, 'examples'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(root, 'examples', f));
    assert.ok(examples.length > 0);
    const s = sweep(examples);
    assert.deepEqual(s.problems, []);
  });
});
