/** The idiomatic API of the capture layer. */
export {};
