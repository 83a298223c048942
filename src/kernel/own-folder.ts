/**
 * The folder that holds wdknet's own code, found from any of its modules' `import.meta.url`.
 *
 * Run from the sources, each module sits at its own depth under src/ (src/kernel/verifier.ts, src/cli/main.ts);
 * built, the code of every module is in one bundled chunk directly in dist/, and the entry files are a level
 * below it (dist/cli/main.js). A fixed `new URL('../', import.meta.url)` therefore names a different folder
 * depending on how wdknet runs. The nearest enclosing folder called src or dist is the same folder in every case.
 */

/**
 * The nearest folder named `src` or `dist` that contains the module at `moduleUrl` (a file: URL), as a URL
 * ending in '/'. Throws when there is none (wdknet's code is always in one of the two).
 */
export function ownFolder(moduleUrl: string): URL {
  let folder = new URL('./', moduleUrl);
  for (;;) {
    const name = folder.pathname.slice(0, -1).split('/').pop();
    if (name === 'src' || name === 'dist') return folder;
    const parent = new URL('../', folder);
    if (parent.href === folder.href) throw new Error(`${moduleUrl} is not inside a src or dist folder`);
    folder = parent;
  }
}
