/**
 * The second step of `npm run build`, after `tsc -p tsconfig.build.json` has written the declaration files
 * (dist/**\/*.d.ts, what the exports map's "types" point to): Rollup compiles src/ into dist/ as ONE module
 * holding all of wdknet's code, dist/wdknet.js, and small entry files that re-export from it:
 *
 *   dist/index.js      `wdknet`      (the idiomatic API)
 *   dist/ddi/index.js  `wdknet/ddi`  (the faithful DDI)
 *   dist/cli/main.js   the `wdknet` command (its own argument handling, then the shared module)
 *   dist/cli/jit.js    the command's JIT settings, for benchmarks that run the library as the command does
 *
 * Why one module: in V8 every use of a binding imported from another ES module costs a cell load, a hole (TDZ)
 * check and a map or Smi check in optimized code. In one module those uses are variables of its own context, and
 * a top-level `const` there (ARENA_BASE, the arena's views, the constants of every header and layer) is folded
 * into the optimized code as the value itself (bench/results-bundle.md has the instructions per frame). Rollup,
 * because it keeps each `const` a `const`: esbuild's bundler turns every top-level declaration into a `var`, which
 * V8 must load and check on every use (a third of the gain lost, measured). Each file is compiled alone by
 * TypeScript's own transpiler with tsconfig.json's options, so the code is what tsc emits (esbuild's per-file
 * transform measured 3% more instructions per frame). Rollup as @rollup/wasm-node, its WebAssembly build: the same
 * bundler with no native binary per platform to install.
 *
 * ONE chunk: every module but the command's own lands in the chunk (manualChunks), whichever entries reach it.
 * The command's module (src/cli/main.ts, which parses argv when it loads) stays in its entry file, so importing
 * the library never runs it.
 *
 * Any other .js left in dist/ (from an older per-file build) is deleted: a driver that imported one would get a
 * second kernel, WFP engine and pool beside the bundle's.
 *
 * Run: node --import tsx scripts/bundle.ts (npm run build does).
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, rollup } from '@rollup/wasm-node';
import ts from 'typescript';

const root = fileURLToPath(new URL('../', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

/** The entry files: output path (without .js) -> the source module whose exports it carries, or that it runs. */
const ENTRIES: Record<string, string> = {
  index: 'index.ts',
  'ddi/index': 'ddi/index.ts',
  'cli/jit': 'cli/jit.ts',
  'cli/main': 'cli/main.ts',
};
/** The one module that stays out of the shared chunk: the command's own (it runs when it loads). */
const COMMAND = join(src, ENTRIES['cli/main']!);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
// Packages stay imports of the installed package: the dependencies (commander, cli-progress), and tsx, which the
// command imports only to load a driver written in TypeScript (a development dependency, as the user's).
const packages = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
const builtins = new Set(builtinModules);
const isExternal = (id: string): boolean =>
  id.startsWith('node:') || builtins.has(id) || packages.some((p) => id === p || id.startsWith(`${p}/`));

/** tsconfig.json's options, to compile each file as tsc does (ES modules, its target, source maps). */
const compilerOptions: ts.CompilerOptions = {
  ...ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root)
    .options,
  module: ts.ModuleKind.ESNext,
  sourceMap: true,
  inlineSources: false,
  declaration: false,
};

/** TypeScript sources: `./x.js` imports resolve to src's `x.ts`; each file is compiled alone by esbuild. */
const typescript: Plugin = {
  name: 'wdknet-typescript',
  resolveId(source, importer) {
    if (importer === undefined || !source.startsWith('.')) return null;
    const path = resolve(dirname(importer), source);
    const ts = path.replace(/\.js$/, '.ts');
    return existsSync(ts) ? ts : null;
  },
  transform(code, id) {
    if (!id.endsWith('.ts')) return null;
    const out = ts.transpileModule(code, { compilerOptions, fileName: id });
    return { code: out.outputText.replace(/\n\/\/# sourceMappingURL=.*$/, ''), map: out.sourceMapText ?? null };
  },
};

/**
 * The chunk's module variables as V8 reads them fastest. Its exports as copies: V8 keeps every binding a module exports in a cell, and the module's own code then
 * reads it through that cell too (a load, a hole check, an identity or Smi check per use), so each DDI the data
 * path calls and each public constant it reads paid that inside the one module. The chunk's last statement,
 * `export { a as X, ... }`, becomes `const a$export = a, ...; export { a$export as X, ... }` for every function,
 * class and const (the values cannot change, so the copy is the same value; Rollup ends the chunk with that
 * statement, after every declaration). What the chunk's code uses are then its own variables: functions and
 * classes from the module's context, consts folded into the code. Mutable bindings (let, var) stay exported as
 * they are: an importer must see their changes.
 */
const exportCopies: Plugin = {
  name: 'wdknet-export-copies',
  renderChunk(code, chunk) {
    if (chunk.isEntry) return null;
    const last = /^export \{([^}]*)\};\s*(\/\/# sourceMappingURL=.*)?\s*$/m.exec(code);
    if (last === null) return null;
    const immutable = new Set<string>();
    for (const m of code.matchAll(/^(?:async )?(?:function\*? |class |const )([\w$]+)/gm)) immutable.add(m[1]!);
    const copies = new Map<string, string>();
    const specifiers = last[1]!.split(',').map((spec) => {
      const [local, exported = local] = spec.trim().split(/\s+as\s+/) as [string, string?];
      if (!immutable.has(local)) return spec.trim();
      if (!copies.has(local)) copies.set(local, `${local}$export`);
      return `${copies.get(local)} as ${exported}`;
    });
    const declare = [...copies].map(([local, copy]) => `${copy} = ${local}`).join(', ');
    // A top-level `let` becomes a `var` (the same length: the source map stays valid): V8 cannot tell that a
    // module's let is initialised before a function reads it, so it checks for the hole (TDZ) on every read, and the
    // module state the data path reads per packet (the IRQL, the verifier level, hooks) is such a let. The code is
    // the same code that runs unbundled under the tests, where a read before initialisation would have thrown.
    const body = code.slice(0, last.index).replace(/^let /gm, 'var ');
    // Appended after the last line of code: the existing source map stays valid for everything before it.
    return { code: `${body}const ${declare};\nexport { ${specifiers.join(', ')} };\n`, map: null };
  },
};

const bundle = await rollup({
  input: Object.fromEntries(Object.entries(ENTRIES).map(([out, module]) => [out, join(src, module)])),
  external: isExternal,
  plugins: [typescript, exportCopies],
  // The library's modules import each other in cycles (NDIS's lifecycle and data path, WFP's injection and
  // sinks); ES modules allow it and Rollup keeps their evaluation order.
  onwarn(warning, warn) {
    if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning);
  },
});
const { output } = await bundle.write({
  dir: dist,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: 'wdknet.js',
  manualChunks: (id) => (id.startsWith(src) && id !== COMMAND ? 'wdknet' : undefined),
  sourcemap: true,
  // A bundle-wide "use strict" is implied by ES modules; nothing is renamed for brevity.
  generatedCode: { constBindings: true },
});
await bundle.close();
// The command runs by its first line (its node options, src/cli/jit.ts STARTUP_FLAGS), as npm's bin link runs it:
// executable, so that `./dist/cli/main.js` in a checkout does the same.
chmodSync(join(dist, 'cli/main.js'), 0o755);

const outputs = new Set(output.map((o) => join(dist, o.fileName)));
for (const o of output) if (o.type === 'chunk' && o.sourcemapFileName) outputs.add(join(dist, o.sourcemapFileName));
const chunks = output.filter((o) => o.type === 'chunk' && !o.isEntry);
if (chunks.length !== 1) throw new Error(`expected one shared chunk, Rollup made ${chunks.length}`);

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
const chunk = chunks[0]!;
console.log(
  `bundled ${chunk.type === 'chunk' ? Object.keys(chunk.modules).length : 0} modules into ${relative(root, join(dist, chunk.fileName))}, ` +
    `entries ${Object.keys(ENTRIES)
      .map((e) => relative(root, join(dist, `${e}.js`)))
      .join(', ')}` +
    (removed > 0 ? `; removed ${removed} stale .js/.js.map` : ''),
);
