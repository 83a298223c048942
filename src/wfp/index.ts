/** The WFP layer: filter engine, callouts, classify, packets and injection. */
export * from './callouts.js';
export * from './classify.js';
export * from './constants.js';
export { FWPM_SUBLAYER_UNIVERSAL, UNIVERSAL_SUBLAYER_WEIGHT } from './engine.js';
export * from './fields.js';
export * from './injection.js';
export * from './ipHeader.js';
export * from './layers.js';
export * from './management.js';
export * from './match.js';
export * from './packets.js';
export * from './sink.js';
export * from './structures.js';
export * from './values.js';
