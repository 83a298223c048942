/**
 * The faithful face of the layers these tests cover (kernel, NDIS 5, firewall hook), imported directly so the
 * tests do not depend on other layers' modules that src/ddi/index.ts also loads.
 */
export * from '../../src/ddi/fwhook.js';
export * from '../../src/ddi/kernel.js';
export * from '../../src/ddi/ndis5.js';
