/**
 * The parts of the faithful face these tests use (kernel, NDIS 6 buffers, NDIS driver model), imported directly
 * so that a layer mid-change elsewhere in `wdknet/ddi` cannot stop them from loading.
 */
export * from '../../src/ddi/kernel.js';
export * from '../../src/ddi/ndis.js';
export * from '../../src/ddi/ndisdriver.js';
