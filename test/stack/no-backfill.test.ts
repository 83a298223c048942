import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

// W-5: dataOffset is the initial backfill. A callout may inject a list with none; the stack then has to retreat
// with an MDL of its own to put the data start where a layer wants it, and must give that MDL back with the
// advance (FreeMdl TRUE), or the callout's FwpsFreeNetBufferList0 finds a retreat MDL still in the chain.
describe('injected lists without backfill', () => {
  it('divert reinjecting with dataOffset 0 runs the sample with no bug check and no leak', () => {
    const dir = join(root, 'tmp');
    mkdirSync(dir, { recursive: true });
    const driver = join(dir, 'divert-no-backfill.ts');
    writeFileSync(
      driver,
      [
        "import { DriverEntry as entry, divertOptions } from '../examples/divert.js';",
        'divertOptions.backfill = 0;',
        'export const DriverEntry = entry;',
      ].join('\n'),
    );
    const run = spawnSync(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        'src/cli/main.ts',
        'run',
        'samples/router.pcapng',
        '--no-progress',
        '--driver',
        driver,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Leaks: none/);
    assert.match(run.stdout, /absorbed by callouts\s+[1-9]/);
  });
});
