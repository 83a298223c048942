/**
 * The verifier's mode, read by every layer. Checks guarded by `verifierLevel >= VERIFIER_STANDARD` cost one
 * comparison of a module-level number when the verifier is off.
 */

import { ownFolder } from './own-folder.js';

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
const OWN_ROOT = ownFolder(import.meta.url).pathname;
/**
 * The sources of the built code, src/ beside dist/: under `node --enable-source-maps` a stack prints wdknet's
 * frames at their source positions there (the same folder as OWN_ROOT when running from the sources).
 */
const OWN_SOURCES = new URL('../src/', ownFolder(import.meta.url)).pathname;

function structured(_error: Error, frames: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return frames;
}

/** Formatted call sites by the raw (generated-code) position of the driver's frame. */
const siteCache = new Map<string, string>();

/**
 * Where the driver called from: the first stack frame outside wdknet itself (recorded in full mode).
 *
 * Formatting a stack through source maps costs tens of microseconds a frame, so the driver's frame is first found
 * with V8's structured stack API (a few microseconds) and its formatted text is cached by that raw position: a
 * driver that allocates from the same line a million times pays for the formatting once.
 */
export function callSite(): string {
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = structured;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  Error.captureStackTrace(holder, callSite);
  const frames = holder.stack ?? [];
  Error.prepareStackTrace = previous;
  let key = '';
  for (const frame of frames) {
    const file = frame.getFileName() ?? '';
    if (file === '' || file.includes(OWN_ROOT) || file.startsWith('node:')) continue;
    key = `${file}:${frame.getLineNumber()}:${frame.getColumnNumber()}`;
    break;
  }
  if (key === '') return 'unknown';
  let site = siteCache.get(key);
  if (site === undefined) {
    site = formattedCallSite();
    siteCache.set(key, site);
  }
  return site;
}

/** The slow, exact path: the formatted (source-mapped) first frame outside wdknet. */
function formattedCallSite(): string {
  const lines = (new Error().stack ?? '').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (
      line.includes(OWN_ROOT) ||
      line.includes(OWN_SOURCES) ||
      line.includes('node:internal') ||
      !line.includes('at ')
    ) {
      continue;
    }
    return line.trim().replace(/^at /, '');
  }
  return 'unknown';
}
