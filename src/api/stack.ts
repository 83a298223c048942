/** The idiomatic API of the stack layer. */
export {};
