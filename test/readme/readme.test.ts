import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

// The README's worked examples are code a user will paste: each ```ts readme block runs here, in its own process,
// and what it prints must match the `// expected` comments on its console.log lines.
const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts readme\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README worked examples', () => {
  it('has the faithful and the idiomatic example', () => {
    assert.equal(blocks.length, 2);
  });

  for (const [i, code] of blocks.entries()) {
    it(`example ${i + 1} runs and prints what its comments say`, () => {
      // Inside the checkout (tmp/ is ignored by git), so 'wdknet' resolves to this package as it would for a user.
      const dir = join(root, 'tmp');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `readme-example-${i + 1}.ts`);
      writeFileSync(file, code);
      const out = execFileSync(process.execPath, ['--conditions=development', '--import', 'tsx', file], {
        encoding: 'utf8',
        cwd: root,
      });
      const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]!.trim());
      assert.deepEqual(
        out
          .trim()
          .split('\n')
          .map((l) => l.trim()),
        expected,
      );
    });
  }
});
