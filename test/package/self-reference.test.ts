import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

// `npm test` builds dist/ before running tests. This imports the BUILT package by its name, in a fresh process
// without the development condition, exactly as a user's code would.
describe('the built package', () => {
  it('serves wdknet and wdknet/ddi from dist through the exports map', () => {
    const script = `
      const ddi = await import('wdknet/ddi');
      const api = await import('wdknet');
      const p = ddi.ExAllocatePoolWithTag(ddi.NonPagedPool, 32, ddi.poolTag('tseT'));
      ddi.bytesAt(p, 32).fill(7);
      ddi.ExFreePoolWithTag(p, ddi.poolTag('tseT'));
      console.log(JSON.stringify({
        url: import.meta.resolve('wdknet/ddi'),
        sameBugCheck: ddi.BugCheck === api.BugCheck,
        tag: api.poolmon()[0].name,
        ok: ddi.NT_SUCCESS(ddi.STATUS_SUCCESS),
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    assert.match(out.url, /\/dist\/ddi\/index\.js$/);
    assert.equal(out.sameBugCheck, true);
    assert.equal(out.tag, 'Test');
    assert.equal(out.ok, true);
  });
});
