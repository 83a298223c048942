/**
 * Loading drivers for a run: a driver is a TypeScript or JavaScript module that exports
 * `DriverEntry(DriverObject, RegistryPath)`, as an ES module (CommonJsDriverError says why). TypeScript modules are
 * loaded through tsx's ESM loader, registered on demand when the CLI itself runs from JavaScript.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type DriverModule, type LoadedDriver, loadDriver } from '../kernel/driver.js';

let tsxRegistered = false;

/**
 * The package.json that decides how node loads a file under `dir` (the nearest one, as node looks it up), and
 * whether it says "type": "module"; null where no folder above has one.
 */
export function packageScope(dir: string): { packageJson: string; module: boolean } | null {
  for (let d = dir; ; d = dirname(d)) {
    const packageJson = join(d, 'package.json');
    if (existsSync(packageJson)) {
      let type: unknown;
      try {
        type = (JSON.parse(readFileSync(packageJson, 'utf8')) as { type?: unknown }).type;
      } catch {
        type = undefined; // node too takes an unreadable package.json for no "type"
      }
      return { packageJson, module: type === 'module' };
    }
    if (dirname(d) === d) return null;
  }
}

/**
 * A TypeScript driver that would load as CommonJS (a .cts file, or a .ts file outside a package whose package.json
 * says "type": "module", where node takes a .js file for CommonJS too). tsx compiles such a file to CommonJS, and
 * its imports of wdknet then load a second copy of wdknet, a machine of its own: the driver's filters, callouts and
 * hooks would be added there and never see this run's packets. So it is refused, saying what to do.
 */
export class CommonJsDriverError extends Error {
  constructor(
    readonly path: string,
    readonly packageJson: string | null,
  ) {
    super(
      `${path} would load as CommonJS (${packageJson === null ? 'no package.json above it' : `${packageJson} does not say "type": "module"`}), ` +
        'and its imports of wdknet would load a second copy of wdknet, which this run never sees: ' +
        'a TypeScript driver must be an ES module. Name it .mts, or put it in a package whose package.json says "type": "module"',
    );
    this.name = 'CommonJsDriverError';
  }
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const full = resolve(path);
  if (full.endsWith('.cts') || full.endsWith('.ts')) {
    const scope = packageScope(dirname(full));
    if (full.endsWith('.cts') || scope?.module !== true)
      throw new CommonJsDriverError(full, scope?.packageJson ?? null);
  }
  if (
    (full.endsWith('.ts') || full.endsWith('.mts')) &&
    !tsxRegistered &&
    !process.execArgv.join(' ').includes('tsx')
  ) {
    const api = (await import('tsx/esm/api')) as { register: () => unknown };
    api.register();
    tsxRegistered = true;
  }
  return (await import(pathToFileURL(full).href)) as Record<string, unknown>;
}

/** A driver module that does not export DriverEntry. */
export class NotADriverError extends Error {
  constructor(readonly path: string) {
    super(`${path} does not export a DriverEntry function`);
    this.name = 'NotADriverError';
  }
}

/** The name a driver module loads as (its service and \\Driver\\ name): its file name without the extension. */
export function driverNameOf(path: string): string {
  return basename(path, extname(path));
}

/** Imports `path` and runs its DriverEntry (kernel `loadDriver`). */
export async function loadDriverModule(path: string): Promise<LoadedDriver> {
  const module = await importModule(path);
  if (typeof module.DriverEntry !== 'function') throw new NotADriverError(path);
  return loadDriver(driverNameOf(path), module as unknown as DriverModule);
}

/**
 * The modules in `dir` (top level, .ts or .js, not declaration files) that export DriverEntry. A module that
 * fails to import is reported through `warn` and skipped.
 */
export async function findDriverModules(dir: string, warn: (message: string) => void = () => {}): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (!/\.(ts|js|mjs|mts)$/.test(name) || name.endsWith('.d.ts')) continue;
    const path = join(dir, name);
    try {
      const module = await importModule(path);
      if (typeof module.DriverEntry === 'function') out.push(path);
    } catch (e) {
      warn(`skipping ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}
