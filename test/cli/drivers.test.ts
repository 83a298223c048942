/** Which driver modules the command loads, and which it refuses (src/cli/drivers.ts). */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CommonJsDriverError, loadDriverModule, packageScope } from '../../src/cli/drivers.js';

const root = new URL('../../', import.meta.url).pathname;
const outside = mkdtempSync(join(tmpdir(), 'wdknet-scope-'));
after(() => rmSync(outside, { recursive: true, force: true }));

describe('driver modules', () => {
  it('finds the package.json node would: the nearest one, and whether it says type module', () => {
    assert.deepEqual(packageScope(join(root, 'examples')), { packageJson: join(root, 'package.json'), module: true });
    assert.equal(packageScope(outside), null);
    const plain = join(outside, 'plain', 'src');
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(outside, 'plain', 'package.json'), '{"name":"plain"}');
    assert.deepEqual(packageScope(plain), { packageJson: join(outside, 'plain', 'package.json'), module: false });
    // Unreadable JSON says no "type", as node takes it.
    const broken = join(outside, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'package.json'), '{ not json');
    assert.equal(packageScope(broken)?.module, false);
  });

  it('refuses a TypeScript driver that would load as CommonJS, before importing it', async () => {
    const cts = join(outside, 'driver.cts');
    writeFileSync(cts, 'throw new Error("imported");\n');
    await assert.rejects(loadDriverModule(cts), (e: unknown) => e instanceof CommonJsDriverError && e.path === cts);
    const ts = join(outside, 'plain', 'driver.ts');
    writeFileSync(ts, 'throw new Error("imported");\n');
    await assert.rejects(
      loadDriverModule(ts),
      (e: unknown) =>
        e instanceof CommonJsDriverError &&
        e.packageJson === join(outside, 'plain', 'package.json') &&
        /does not say "type": "module"/.test(e.message),
    );
  });
});
