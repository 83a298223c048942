/** The packet layer: header codecs, checksums and checksum-offload information. */
export * from './address.js';
export * from './build.js';
export * from './checksum.js';
export * from './checksum-status.js';
export * from './constants.js';
export * from './decode.js';
export * from './describe.js';
export * from './offload.js';
export * from './packet-info.js';
