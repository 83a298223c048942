/**
 * The second step of `npm run build`, after `tsc -p tsconfig.build.json` has written the declaration files
 * (dist/**\/*.d.ts, what the exports map's "types" point to): esbuild compiles src/ into dist/ as ONE bundled
 * module holding all of wdknet's code, dist/wdknet.js, and small entry files that re-export from it:
 *
 *   dist/index.js      `wdknet`      (the idiomatic API)
 *   dist/ddi/index.js  `wdknet/ddi`  (the faithful DDI)
 *   dist/cli/main.js   the `wdknet` command (its own argument handling, then the shared module)
 *   dist/cli/jit.js    the command's JIT settings, for benchmarks that run the library as the command does
 *
 * Why one module: in V8 every use of a binding imported from another ES module costs a cell load, a hole (TDZ)
 * check and a map or Smi check in optimized code; with the whole data path in one module those uses are plain
 * local variables (-5.7% instructions per 64-byte frame through `wdknet run`), and start-up loads one file
 * instead of ~200.
 *
 * ONE chunk for all entries: esbuild's code splitting puts each module in a chunk by the set of entries that reach
 * it, so entries reaching different parts of the code would get several chunks (and imports between them again).
 * Every entry here also imports a hub that reaches every library entry's code: every module is then reached by
 * every entry and lands in the same chunk. The command's own module (src/cli/main.ts, which parses argv when it
 * loads) stays in its entry file, outside the hub, so importing the library never runs it.
 *
 * Any other .js left in dist/ (from an older per-file build) is deleted: a driver that imported one would get a
 * second kernel, WFP engine and pool beside the bundle's.
 *
 * Run: node --import tsx scripts/bundle.ts (npm run build does).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

/** The modules every entry reaches through the hub (relative to src/): the library's and the command's helpers. */
const HUB = ['./index.ts', './ddi/index.ts', './cli/run.ts', './cli/jit.ts', './cli/inspect.ts'];

/** The entry files: output path (without .js) -> the source module whose exports it carries, or runs. */
const ENTRIES: Record<string, string> = {
  index: `export * from './index.ts';`,
  'ddi/index': `export * from './ddi/index.ts';`,
  'cli/jit': `export * from './cli/jit.ts';`,
  'cli/main': `#!/usr/bin/env node\nimport './cli/main.ts';`,
};

/** Serves the hub and the entry files as virtual modules resolved from src/. */
const entries: Plugin = {
  name: 'wdknet-entries',
  setup(b) {
    b.onResolve({ filter: /^wdknet:/ }, (args) => ({ path: args.path.slice('wdknet:'.length), namespace: 'wdknet' }));
    b.onLoad({ filter: /.*/, namespace: 'wdknet' }, (args) => {
      if (args.path === 'hub') {
        return { contents: HUB.map((m) => `import '${m}';`).join('\n'), resolveDir: src, loader: 'ts' };
      }
      const body = ENTRIES[args.path]!;
      // The hashbang must stay the first line; the hub import goes after it.
      const [first, ...rest] = body.startsWith('#!') ? body.split('\n') : ['', body];
      return { contents: `${first}\nimport 'wdknet:hub';\n${rest.join('\n')}\n`, resolveDir: src, loader: 'ts' };
    });
  },
};

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const node = /\d+/.exec(pkg.engines.node)![0];

const result = await build({
  absWorkingDir: root,
  entryPoints: Object.keys(ENTRIES).map((out) => ({ in: `wdknet:${out}`, out })),
  outdir: dist,
  bundle: true,
  splitting: true,
  chunkNames: 'wdknet',
  format: 'esm',
  platform: 'node',
  target: `node${node}`,
  // Packages stay imports of the installed package: the dependencies (commander, cli-progress), and tsx, which
  // the command imports only to load a driver written in TypeScript (a development dependency, as the user's).
  external: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }),
  minify: false,
  keepNames: true,
  sourcemap: 'linked',
  metafile: true,
  plugins: [entries],
  logLevel: 'warning',
});

const outputs = new Set(Object.keys(result.metafile.outputs).map((p) => join(root, p)));
const chunks = Object.entries(result.metafile.outputs).filter(([p, o]) => p.endsWith('.js') && !o.entryPoint);
if (chunks.length !== 1) throw new Error(`expected one shared chunk, esbuild made ${chunks.length}`);

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}
let removed = 0;
for (const file of files(dist)) {
  if ((file.endsWith('.js') || file.endsWith('.js.map')) && !outputs.has(file)) {
    rmSync(file);
    removed++;
  }
}
const size = (p: string) => result.metafile.outputs[p]!.bytes;
console.log(
  `bundled ${Object.keys(result.metafile.inputs).length} modules: ${chunks[0]![0]} (${size(chunks[0]![0])} bytes), ` +
    `entries ${Object.keys(ENTRIES)
      .map((e) => relative(root, join(dist, `${e}.js`)))
      .join(', ')}` +
    (removed > 0 ? `; removed ${removed} stale .js/.js.map` : ''),
);
