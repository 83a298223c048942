/** The idiomatic API of the NDIS driver model. */
export {};
