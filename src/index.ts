/**
 * `wdknet`: the idiomatic TypeScript API over the same core as `wdknet/ddi`.
 */

export * from './api/capture.js';
export * from './api/fwhook.js';
export * from './api/ndis.js';
export * from './api/ndis5.js';
export * from './api/ndisdriver.js';
export * from './api/packet.js';
export * from './api/registry.js';
export * from './api/stack.js';
export * from './api/verifier.js';
export * from './api/wfp.js';
export { BugCheck } from './kernel/bugcheck.js';
export { drainDeferredWork, settle } from './kernel/deferred.js';
export { collectLeaks, formatLeaks, type Leak, registerLeakSource } from './kernel/leaks.js';
export { bytesAt, readBytes, writeBytes } from './kernel/memory.js';
export { outstandingAllocations, type PoolAllocation, poolmon, poolTagStats, type TagStats } from './kernel/pool.js';
export { KernelException, StatusError } from './kernel/status.js';
export { resetSystem, type SystemOptions } from './kernel/system.js';
export { poolTag, tagToString } from './kernel/tags.js';
export { getVerifierMode, setVerifierMode, type VerifierMode } from './kernel/verifier.js';
