/** The idiomatic API of the wfp layer. */
export {};
