/**
 * The `wdknet` process's JIT settings (src/cli/jit.ts): two inlining limits, each unless the user chose it, and the
 * node options the command's first line passes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  applyJitSettings,
  INLINED_FUNCTION_LIMIT,
  INLINING_BUDGET,
  jitFlags,
  STARTUP_FLAGS,
} from '../../src/cli/jit.js';

const BUDGET = `--max-inlined-bytecode-size-cumulative=${INLINING_BUDGET}`;
const LIMIT = `--max-inlined-bytecode-size=${INLINED_FUNCTION_LIMIT}`;

describe('JIT settings', () => {
  it('raises the inlining budget and the inlined-function limit by default', () => {
    assert.deepEqual(jitFlags([]), [BUDGET, LIMIT]);
    assert.deepEqual(jitFlags(['--conditions=development', '--max-old-space-size=4096']), jitFlags([]));
  });

  it("leaves each of the user's own settings alone, in either spelling", () => {
    assert.deepEqual(jitFlags(['--max-inlined-bytecode-size-cumulative=500']), [LIMIT]);
    assert.deepEqual(jitFlags(['--expose-gc', '--max_inlined_bytecode_size_cumulative=9000']), [LIMIT]);
    // One flag's name is the start of the other's: each is matched whole.
    assert.deepEqual(jitFlags(['--max-inlined-bytecode-size=200']), [BUDGET]);
    assert.deepEqual(jitFlags(['--max_inlined_bytecode_size=200', '--max-inlined-bytecode-size-cumulative=1']), []);
  });

  it('names flags this V8 has (a misspelt flag would be ignored without a word)', () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    for (const flag of jitFlags([])) assert.match(options, new RegExp(`^\\s*${flag.split('=')[0]} `, 'm'));
    // A boolean flag is listed by its positive name, with the --no- form as its default or not.
    for (const flag of STARTUP_FLAGS)
      assert.match(options, new RegExp(`^\\s*--${flag.replace(/^--(no-)?/, '')} `, 'm'));
  });

  it('starts the command with the start-up flags: its first line, in the source and in the build', () => {
    const line = `#!/usr/bin/env -S node ${STARTUP_FLAGS.join(' ')}`;
    const main = new URL('../../src/cli/main.ts', import.meta.url);
    const built = new URL('../../dist/cli/main.js', import.meta.url);
    assert.equal(readFileSync(main, 'utf8').split('\n')[0], line);
    assert.equal(readFileSync(built, 'utf8').split('\n')[0], line);
    accessSync(built, constants.X_OK);
  });

  it("runs the built command by that line, as npm's bin link does: node gets the flags", () => {
    // Executing the file itself: the kernel reads the first line and env starts node with the flags (this system's
    // env splits -S). A preloaded module reports the node options the process started with.
    const report = 'data:text/javascript,process.stderr.write(JSON.stringify(process.execArgv))';
    const r = spawnSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)), ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--import=${report}` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: wdknet /);
    const execArgv = JSON.parse(r.stderr) as string[];
    for (const flag of STARTUP_FLAGS) assert.ok(execArgv.includes(flag), `${flag} in ${r.stderr}`);
  });

  it("applies the settings only when asked, and not over the user's own", () => {
    // Importing the module set nothing (the library is bundled with it); the command calls applyJitSettings.
    assert.deepEqual(
      applyJitSettings(['--max-inlined-bytecode-size-cumulative=500', '--max-inlined-bytecode-size=9']),
      [],
    );
    assert.deepEqual(applyJitSettings([]), jitFlags([]));
  });
});
