/** The NDIS 6 buffer layer: NET_BUFFER / NET_BUFFER_LIST, their pools, and the DDIs that move their data. */
export * from './chain.js';
export * from './context.js';
export * from './data.js';
export * from './derived.js';
export * from './info.js';
export * from './infoCopy.js';
export * from './macros.js';
export * from './netBuffer.js';
export * from './netBufferList.js';
export * from './pools.js';
export * from './retreat.js';
export * from './structures.js';
export * from './violations.js';
