/** The kernel layer: simulated memory, the pool, MDLs, IRQL, deferred work and bug checks. */
export * from './arena.js';
export * from './bugcheck.js';
export * from './deferred.js';
export * from './dpc.js';
export * from './driver.js';
export * from './faults.js';
export * from './irp.js';
export * from './irql.js';
export * from './leaks.js';
export * from './mdl.js';
export * from './memory.js';
export * from './poison.js';
export * from './pool.js';
export * from './status.js';
export * from './system.js';
export * from './tags.js';
export * from './verifier.js';
