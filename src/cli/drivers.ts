/**
 * Loading drivers for a run: a driver is a TypeScript or JavaScript module that exports
 * `DriverEntry(DriverObject, RegistryPath)`. TypeScript modules are loaded through tsx's ESM loader, registered
 * on demand when the CLI itself runs from JavaScript.
 */
import { readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type DriverModule, type LoadedDriver, loadDriver } from '../kernel/driver.js';

let tsxRegistered = false;

async function importModule(path: string): Promise<Record<string, unknown>> {
  const full = resolve(path);
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
