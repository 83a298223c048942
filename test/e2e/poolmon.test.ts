/**
 * `wdknet poolmon` (issue 5: "tags, as poolmon shows them"): plays a capture and prints only the pool table, one
 * row per tag in poolmon's columns; a clean run has every tag back at zero, a leaking driver shows its tag's
 * difference and bytes, and the exit status says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

function cli(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ROW = /^ (.{4}) (Nonp|Paged)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(\d+)\s+(\d+)$/;

function rows(stdout: string) {
  const lines = stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ Tag {2}Type {6}Allocs {7}Frees {6}Diff {8}Bytes {3}Per Alloc$/);
  return lines.slice(1).map((line) => {
    const m = ROW.exec(line);
    assert.ok(m !== null, `a poolmon row: '${line}'`);
    return { tag: m[1]!, allocs: Number(m[3]), frees: Number(m[4]), diff: Number(m[5]), bytes: Number(m[6]) };
  });
}

describe('wdknet poolmon', () => {
  it('prints only the pool table; after a clean run every tag is back at zero (capture window, NICs, wire, host)', () => {
    const r = cli(['poolmon', '--no-examples']);
    assert.equal(r.status, 0, r.stderr);
    const table = rows(r.stdout);
    const tags = table.map((t) => t.tag);
    for (const tag of ['Capt', 'VNic', 'Wire']) assert.ok(tags.includes(tag), `row for '${tag}'`);
    for (const t of table) {
      assert.equal(t.allocs, t.frees, `'${t.tag}' allocations all freed`);
      assert.equal(t.diff, 0);
      assert.equal(t.bytes, 0);
    }
  });

  it("a driver that leaks shows its tag's outstanding allocation and bytes, and the exit status is 1", () => {
    const r = cli(['poolmon', '--no-examples', '--driver', join(root, 'test/e2e/fixtures/leaky.ts')]);
    assert.equal(r.status, 1);
    const leak = rows(r.stdout).find((t) => t.tag === 'Leak');
    assert.deepEqual(leak, { tag: 'Leak', allocs: 1, frees: 0, diff: 1, bytes: 100 });
  });

  it("the run report names a leaked block's owner: its tag and the driver line that first allocated the tag, without the full verifier", () => {
    const r = cli(['run', '--no-progress', '--no-examples', '--driver', join(root, 'test/e2e/fixtures/leaky.ts')]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /pool tag 'Leak', first allocated at .*fixtures\/leaky\.ts:12:/);
  });
});
