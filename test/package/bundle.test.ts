/**
 * The built package is one bundled module graph (scripts/bundle.ts): all of wdknet's code in dist/wdknet.js, the
 * entry files re-exporting from it. `npm test` builds dist/ before running tests; these run the BUILT command and
 * a driver importing 'wdknet/ddi' without the development condition, as a user does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { RunSummary } from '../../src/cli/run.js';

const root = new URL('../../', import.meta.url).pathname;
const dist = join(root, 'dist');
// The driver lives inside the package folder (tmp/ is git-ignored), so 'wdknet/ddi' resolves to the package itself
// through its exports map, and so a wrong idea of "wdknet's own folder" (the whole package) would hide its frames.
mkdirSync(join(root, 'tmp'), { recursive: true });
const tmp = mkdtempSync(join(root, 'tmp', 'bundle-test-'));
// And a folder outside any package: there a .ts file is CommonJS, as a .js file would be.
const outside = mkdtempSync(join(tmpdir(), 'wdknet-driver-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** The entry files (package.json's exports and bin, and the benchmarks' JIT settings) and the one shared chunk. */
const ENTRIES = ['index.js', 'ddi/index.js', 'cli/main.js', 'cli/jit.js'];
const CHUNK = 'wdknet.js';

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => relative(dist, join(e.parentPath, e.name)))
    .sort();
}

function run(args: string[], nodeOptions: string[] = []): RunSummary {
  const command = [...nodeOptions, join(dist, 'cli/main.js'), 'run', '--no-progress', '--json', ...args];
  const r = spawnSync(process.execPath, command, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.ok(r.stdout.trim().startsWith('{'), `JSON report expected, got: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as RunSummary;
}

describe('the bundled build', () => {
  it('has only the entry files and the one chunk as JavaScript modules (no per-file duplicates)', () => {
    assert.deepEqual(jsFiles(dist), [...ENTRIES, CHUNK].sort());
    // The type declarations stay per file, where the exports map's "types" point.
    assert.ok(readFileSync(join(dist, 'ddi/index.d.ts'), 'utf8').includes('export *'));
    assert.ok(readFileSync(join(dist, 'index.d.ts'), 'utf8').includes('export *'));
  });

  it('puts every module of src/ in the chunk, except the command, which stays in its entry', () => {
    const sources = (file: string) =>
      (JSON.parse(readFileSync(join(dist, `${file}.map`), 'utf8')) as { sources: string[] }).sources.map((s) =>
        relative(root, join(dist, file, '..', s)),
      );
    const inChunk = sources(CHUNK);
    assert.ok(inChunk.includes('src/kernel/pool.ts') && inChunk.includes('src/wfp/classify.ts'), 'the core');
    assert.ok(inChunk.includes('src/stack/ip.ts') && inChunk.includes('src/cli/run.ts'), 'the host and the run');
    assert.ok(!inChunk.includes('src/cli/main.ts'));
    for (const entry of ENTRIES) {
      const own = sources(entry);
      assert.deepEqual(own, entry === 'cli/main.js' ? ['src/cli/main.ts'] : [], `${entry} holds no module of its own`);
      assert.match(readFileSync(join(dist, entry), 'utf8'), /from ["'](\.\.\/|\.\/)wdknet\.js["'];/);
    }
  });

  it('exports copies of its functions, classes and consts, keeps no top-level let, and its exports hold', async () => {
    const chunk = readFileSync(join(dist, CHUNK), 'utf8');
    // The rewrites V8's speed depends on (scripts/bundle.ts): silently losing them would only show as a slower run.
    assert.doesNotMatch(chunk, /^let /m, 'top-level lets are emitted as vars');
    const last = /^export \{([^}]*)\};/m.exec(chunk);
    assert.ok(last !== null, 'the chunk ends with one export statement');
    const specifiers = last[1]!.split(',').map((s) => s.trim().split(/\s+as\s+/)[0]!);
    assert.ok(specifiers.length > 1000);
    assert.ok(specifiers.includes('NdisAllocateCloneNetBufferList$export'), 'a DDI function is exported as a copy');
    assert.ok(specifiers.includes('NDIS_STATUS_SUCCESS$export'), 'a constant is exported as a copy');
    // The copies are the same values: a class keeps its identity, a constant its value.
    const ddi = (await import(join(dist, 'ddi/index.js'))) as Record<string, unknown>;
    const api = (await import(join(dist, 'index.js'))) as Record<string, unknown>;
    assert.equal(ddi.BugCheck, api.BugCheck);
    assert.equal(ddi.NDIS_STATUS_SUCCESS, 0);
    assert.equal(typeof ddi.NdisAllocateCloneNetBufferList, 'function');
  });

  it('runs the built command and a driver importing wdknet/ddi on ONE machine: the filter it adds blocks', () => {
    const driver = join(tmp, 'block-forwarding.mjs');
    writeFileSync(
      driver,
      `import * as W from 'wdknet/ddi';
let leaked = 0;
export function DriverEntry() {
  const h = { value: null };
  W.FwpmEngineOpen0(null, W.RPC_C_AUTHN_WINNT, null, null, h);
  const f = new W.FWPM_FILTER0();
  f.layerKey = W.FWPM_LAYER_IPFORWARD_V4;
  f.action.type = W.FWP_ACTION_BLOCK;
  leaked = W.ExAllocatePoolWithTag(W.NonPagedPool, 16, W.poolTag('kaeL'));
  return W.FwpmFilterAdd0(h.value, f, null, { value: 0 });
}
`,
    );
    const without = run(['--verifier', 'full']);
    const withDriver = run(['--verifier', 'full', '--driver', driver]);
    // Every IPv4 packet the router would forward is blocked at IPFORWARD_V4 by the driver's filter, which it could
    // only have added to the command's own WFP engine.
    assert.ok(without.transmitted > 0);
    assert.equal(without.dropped['WFP BLOCK'] ?? 0, 0);
    assert.ok(withDriver.dropped['WFP BLOCK']! > 0);
    assert.ok(withDriver.transmitted < without.transmitted);
    // The driver's pool allocation is in the same pool as the command's, and its owner is the driver's own line
    // (the verifier tells wdknet's frames, in the bundle, from the driver's, inside the same package folder).
    const leak = withDriver.leaks.find((l) => l.tag === 'Leak');
    assert.ok(leak, JSON.stringify(withDriver.leaks));
    assert.match(leak.site ?? '', /block-forwarding\.mjs:9:\d+/);
    // The same with source maps on, where node prints wdknet's own frames at their places in src/.
    const mapped = run(['--verifier', 'full', '--driver', driver], ['--enable-source-maps']);
    assert.match(mapped.leaks.find((l) => l.tag === 'Leak')?.site ?? '', /block-forwarding\.mjs:9:\d+/);
  });

  it('loads a TypeScript driver from outside any package as .mts, and refuses it as .ts (CommonJS there)', () => {
    const ddi = pathToFileURL(join(dist, 'ddi/index.js')).href;
    const source = `import * as W from '${ddi}';
export function DriverEntry(): number {
  const h: { value: unknown } = { value: null };
  W.FwpmEngineOpen0(null, W.RPC_C_AUTHN_WINNT, null, null, h as never);
  const f = new W.FWPM_FILTER0();
  f.layerKey = W.FWPM_LAYER_IPFORWARD_V4;
  f.action.type = W.FWP_ACTION_BLOCK;
  return W.FwpmFilterAdd0(h.value as never, f, null, { value: 0 });
}
`;
    // An ES module wherever it is: the built command (no tsx preloaded) registers tsx and loads it on its machine.
    const mts = join(outside, 'block-forwarding.mts');
    writeFileSync(mts, source);
    const loaded = run(['--no-examples', '--driver', mts]);
    assert.deepEqual(loaded.drivers, [{ name: 'block-forwarding', status: 0 }]);
    assert.ok(loaded.dropped['WFP BLOCK']! > 0, JSON.stringify(loaded.dropped));
    // As .ts there it is CommonJS: tsx would compile it so, and its import would load a second copy of wdknet whose
    // filter no packet of this run meets. Refused, saying why and what to do.
    const ts = join(outside, 'block-forwarding.ts');
    writeFileSync(ts, source);
    const r = spawnSync(process.execPath, [join(dist, 'cli/main.js'), 'run', '--no-progress', '--driver', ts], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /would load as CommonJS \(no package\.json above it\).*Name it \.mts/);
  });
});
