/** The `wdknet` process's JIT settings (src/cli/jit.ts): the inlining budget, unless the user chose one. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { applyJitSettings, INLINING_BUDGET, inliningFlag } from '../../src/cli/jit.js';

describe('JIT settings', () => {
  it('raises the inlining budget by default', () => {
    assert.equal(inliningFlag([]), `--max-inlined-bytecode-size-cumulative=${INLINING_BUDGET}`);
    assert.equal(inliningFlag(['--conditions=development', '--max-old-space-size=4096']), inliningFlag([]));
  });

  it("leaves the user's own budget alone, in either spelling", () => {
    assert.equal(inliningFlag(['--max-inlined-bytecode-size-cumulative=500']), null);
    assert.equal(inliningFlag(['--expose-gc', '--max_inlined_bytecode_size_cumulative=9000']), null);
  });

  it('names a flag this V8 has (a misspelt flag would be ignored without a word)', () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    const name = inliningFlag([])!.split('=')[0]!;
    assert.match(options, new RegExp(`^\\s*${name} `, 'm'));
  });

  it("applies the budget only when asked, and not over the user's own", () => {
    // Importing the module set nothing (the library is bundled with it); the command calls applyJitSettings.
    assert.equal(applyJitSettings(['--max-inlined-bytecode-size-cumulative=500']), null);
    assert.equal(applyJitSettings([]), inliningFlag([]));
  });
});
