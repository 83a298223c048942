/** runCapture with parameters: written before DriverEntry reads them; a key handle left open fails the run. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseParameter } from '../../src/cli/params.js';
import { runCapture } from '../../src/cli/run.js';
import { seen } from '../e2e/fixtures/handle-leak.js';

const root = new URL('../../', import.meta.url).pathname;
const SAMPLE = join(root, 'samples', 'router.pcapng');
const FIXTURE = join(root, 'test', 'e2e', 'fixtures', 'handle-leak.ts');

describe('wdknet run: parameters and key handles', () => {
  it('DriverEntry reads the --param value; the key handle it never closed is a leak (exit status 1) with its line', async () => {
    const outcome = await runCapture({
      capture: SAMPLE,
      drivers: [FIXTURE],
      params: [parseParameter('handle-leak:Level=dword:7')],
      verifier: 'full',
      hosts: 1,
    });
    assert.equal(seen.level, 7);
    assert.equal(outcome.exitCode, 1);
    const handles = outcome.summary.leaks.filter((l) => l.kind === 'handle');
    assert.equal(handles.length, 1);
    assert.match(handles[0]!.detail, /Services\\handle-leak\\Parameters$/);
    assert.match(handles[0]!.site ?? '', /handle-leak\.ts/);
    assert.match(outcome.report, /handle .*Key handle never closed \(ZwClose\)/);
  });

  it('a run after it starts from an empty registry: no parameter, no key, DriverEntry fails with STATUS_OBJECT_NAME_NOT_FOUND', async () => {
    await assert.rejects(
      runCapture({ capture: SAMPLE, drivers: [FIXTURE], verifier: 'standard', hosts: 1 }),
      /DriverEntry of .*handle-leak\.ts failed with STATUS_OBJECT_NAME_NOT_FOUND \(0xC0000034\)/,
    );
  });
});
