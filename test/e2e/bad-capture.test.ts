/**
 * Issue 5, Captures: "A malformed file gets a typed error naming the byte offset and what was wrong; packets
 * before it are kept." For `wdknet run` that means the packets before the bad record are played, what the host
 * sent for them is written, the report is printed with the error, and the exit status is 3 - the same output a
 * capture cut cleanly before the bad record gives.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunSummary } from '../../src/cli/run.js';

const root = new URL('../../', import.meta.url).pathname;
const captures = join(root, '..', 'shared', 'captures', 'tcpdump');
const tmp = mkdtempSync(join(tmpdir(), 'wdknet-bad-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A real capture whose last record is cut 10 bytes short. */
function truncated(name: string): string {
  const bytes = readFileSync(join(captures, name));
  const path = join(tmp, `cut-${name}`);
  writeFileSync(path, bytes.subarray(0, bytes.length - 10));
  return path;
}

describe('wdknet run on a capture malformed part way', () => {
  it('plays and writes the packets before the bad record, prints the report and the error with its offset and field, exit 3; the output is what the clean prefix gives', () => {
    const bad = truncated('dns_tcp.pcap');
    const out = join(tmp, 'bad-out.pcap');
    const r = cli(['run', '--no-progress', '--json', bad, '-o', out]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /bad capture: incl_len = \d+ at file offset (\d+): .* \(after (\d+) packets\)/);
    const s = JSON.parse(r.stdout) as RunSummary;
    assert.ok(s.captureError !== null);
    assert.equal(s.captureError.field, 'incl_len');
    assert.equal(s.framesRead, s.captureError.packetsRead, 'every packet before the error was played');
    assert.ok(s.framesRead > 0 && s.framesWritten > 0);
    assert.equal(s.balance, 0, 'conserved');
    assert.deepEqual(s.leaks, []);
    for (const row of s.pool) assert.equal(row.bytes, 0, `pool tag '${row.tag}' at zero`);

    // The same capture cut cleanly before the bad record (its header starts 8 bytes before incl_len).
    const clean = join(tmp, 'clean.pcap');
    writeFileSync(clean, readFileSync(bad).subarray(0, s.captureError.offset - 8));
    const cleanOut = join(tmp, 'clean-out.pcap');
    const c = cli(['run', '--no-progress', '--json', clean, '-o', cleanOut]);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(readFileSync(out), readFileSync(cleanOut), 'the same frames, byte for byte');

    const text = cli(['run', '--no-progress', bad]);
    assert.equal(text.status, 3);
    assert.match(text.stdout, /bad capture: incl_len = .* the run played the packets before it/);
    assert.match(text.stdout, /Leaks: none/);

    const pool = cli(['poolmon', bad]);
    assert.equal(pool.status, 3);
    assert.match(pool.stdout, /^ Tag {2}Type/);
    assert.match(pool.stderr, /bad capture: incl_len = \d+ at file offset \d+/);
  });

  it('with --hosts 2 the peer scan stops at the bad record too', () => {
    const r = cli(['run', '--no-progress', '--json', truncated('dns_tcp.pcap'), '--hosts', '2']);
    assert.equal(r.status, 3, r.stderr);
    const s = JSON.parse(r.stdout) as RunSummary;
    assert.equal(s.hosts, 2);
    assert.ok(s.framesRead > 0);
    assert.equal(s.balance, 0);
  });

  it('a header that is already bad still stops before anything plays (exit 3, no report)', () => {
    const bad = join(tmp, 'bad-header.pcap');
    writeFileSync(bad, Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 4, 0, ...new Array(16).fill(0)]));
    const r = cli(['run', '--no-progress', bad]);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /bad capture: version_major = 9 at file offset 4/);
  });
});
