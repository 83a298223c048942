/** The idiomatic API of the verifier layer. */
export {};
