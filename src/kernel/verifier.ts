/**
 * The verifier's mode, read by every layer. Checks guarded by `verifierLevel >= VERIFIER_STANDARD` cost one
 * comparison of a module-level number when the verifier is off.
 */

export const VERIFIER_OFF = 0;
export const VERIFIER_STANDARD = 1;
export const VERIFIER_FULL = 2;

export type VerifierMode = 'off' | 'standard' | 'full';

/** Current level: 0 off, 1 standard (the default), 2 full. Read it as a live binding. */
export let verifierLevel = VERIFIER_STANDARD;

/** Selects the verifier mode for the whole system. */
export function setVerifierMode(mode: VerifierMode): void {
  verifierLevel = mode === 'off' ? VERIFIER_OFF : mode === 'full' ? VERIFIER_FULL : VERIFIER_STANDARD;
}

/** The current mode by name. */
export function getVerifierMode(): VerifierMode {
  return verifierLevel === VERIFIER_OFF ? 'off' : verifierLevel === VERIFIER_FULL ? 'full' : 'standard';
}

/** wdknet's own source (or dist) folder: stack frames inside it are not the driver's. */
const OWN_ROOT = new URL('../', import.meta.url).pathname;

/** Where the driver called from: the first stack frame outside wdknet itself (recorded in full mode). */
export function callSite(): string {
  const lines = (new Error().stack ?? '').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.includes(OWN_ROOT) || line.includes('node:internal') || !line.includes('at ')) continue;
    return line.trim().replace(/^at /, '');
  }
  return 'unknown';
}
