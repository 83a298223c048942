/**
 * `wdknet/ddi`: the Windows DDI exactly as driver code calls it. Functions, macros, constants and structure
 * fields carry their WDK names; pointers to memory are numbers (addresses in the simulated kernel address space,
 * read and written with `bytesAt`); out parameters are `{ value }` boxes; statuses are signed 32-bit numbers.
 *
 * Start every test from a clean machine with `resetSystem()`.
 */

export * from './fwhook.js';
export * from './kernel.js';
export * from './ndis.js';
export * from './ndis5.js';
export * from './ndisdriver.js';
export * from './wfp.js';
