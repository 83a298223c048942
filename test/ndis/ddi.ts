/**
 * The faithful faces these tests use: the kernel's and the NDIS 6 layer's. Imported directly rather than through
 * src/ddi/index.ts so that a layer another engineer has mid-edit cannot break these tests.
 */
export * from '../../src/ddi/kernel.js';
export * from '../../src/ddi/ndis.js';
