/** The idiomatic API of the packet layer. */
export {};
