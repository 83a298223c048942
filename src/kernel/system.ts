/**
 * Starting from a clean system. `resetSystem()` empties every pool, clears every counter and registration, sets
 * IRQL to PASSIVE_LEVEL and selects the verifier mode. Layers above the kernel register their own reset with
 * {@link onSystemReset} when they load, so one call resets everything that has been imported.
 */
import { resetDeferredWork } from './deferred.js';
import { resetDrivers } from './driver.js';
import { resetHandles } from './handles.js';
import { resetIrql } from './irql.js';
import { resetMdls } from './mdl.js';
import { resetPool, setPoolFaultHook } from './pool.js';
import { resetRegistry } from './registry.js';
import { setVerifierMode, type VerifierMode } from './verifier.js';

/** Options for {@link resetSystem}. */
export interface SystemOptions {
  /** Verifier mode: 'off', 'standard' (default) or 'full'. */
  verifier?: VerifierMode;
  /** The most pool, in bytes, that may be in use at once (default: the whole 1 GiB arena). */
  poolLimit?: number;
}

const hooks: (() => void)[] = [];

/** Registers a layer's reset, run by every {@link resetSystem} after the kernel's own. */
export function onSystemReset(hook: () => void): void {
  hooks.push(hook);
}

const readyHooks: (() => void)[] = [];

/**
 * Registers work that must run once the machine is clean again, at the very end of every {@link resetSystem}
 * (and once now): a layer that provides a built-in device, such as \Device\Ip, recreates it here, after the
 * kernel has forgotten every device.
 */
export function onSystemReady(hook: () => void): void {
  readyHooks.push(hook);
  hook();
}

/** Returns the simulated machine to a clean state. Call it before each test that needs one. */
export function resetSystem(options: SystemOptions = {}): void {
  setVerifierMode(options.verifier ?? 'standard');
  setPoolFaultHook(null);
  resetDeferredWork();
  for (const hook of hooks) hook();
  resetDrivers();
  resetHandles();
  resetRegistry();
  resetMdls();
  resetPool(options.poolLimit);
  resetIrql();
  for (const hook of readyHooks) hook();
}
