/** Finding wdknet's own folder (src/ or dist/) from a module's URL, wherever the module sits in it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ownFolder } from '../../src/kernel/own-folder.js';

describe('ownFolder', () => {
  it('finds src/ from a source module at any depth', () => {
    assert.equal(ownFolder('file:///w/wdknet/src/kernel/verifier.ts').href, 'file:///w/wdknet/src/');
    assert.equal(ownFolder('file:///w/wdknet/src/index.ts').href, 'file:///w/wdknet/src/');
    assert.equal(ownFolder('file:///w/wdknet/src/a/b/c.ts').href, 'file:///w/wdknet/src/');
  });

  it('finds dist/ from the bundled chunk and from an entry file below it', () => {
    assert.equal(ownFolder('file:///w/wdknet/dist/wdknet.js').href, 'file:///w/wdknet/dist/');
    assert.equal(ownFolder('file:///w/wdknet/dist/cli/main.js').href, 'file:///w/wdknet/dist/');
  });

  it('takes the nearest such folder (an install under a project of its own)', () => {
    assert.equal(
      ownFolder('file:///home/u/src/app/node_modules/wdknet/dist/wdknet.js').href,
      'file:///home/u/src/app/node_modules/wdknet/dist/',
    );
    // A folder merely starting or ending with the name is not it.
    assert.equal(ownFolder('file:///x/src/sources/distant/m.js').href, 'file:///x/src/');
  });

  it('keeps percent-encoding, as stack frames print file URLs', () => {
    assert.equal(ownFolder('file:///my%20dir/dist/cli/main.js').pathname, '/my%20dir/dist/');
  });

  it('refuses a module outside any src or dist folder', () => {
    assert.throws(() => ownFolder('file:///opt/wdknet/lib/m.js'), /not inside a src or dist folder/);
  });

  it('is the same folder from every module inside it (property)', () => {
    const segment = fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/).filter((s) => s !== 'src' && s !== 'dist');
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 4 }),
        fc.constantFrom('src', 'dist'),
        fc.array(segment, { maxLength: 4 }),
        segment,
        (above, own, below, file) => {
          const folder = `file:///${[...above, own].join('/')}/`;
          const module = `${folder}${below.map((s) => `${s}/`).join('')}${file}.js`;
          assert.equal(ownFolder(module).href, folder);
        },
      ),
    );
  });
});
