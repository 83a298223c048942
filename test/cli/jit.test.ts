/** The `wdknet` process's JIT settings (src/cli/jit.ts): two inlining limits, each unless the user chose it. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { applyJitSettings, INLINED_FUNCTION_LIMIT, INLINING_BUDGET, jitFlags } from '../../src/cli/jit.js';

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
