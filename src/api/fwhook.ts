/** The idiomatic API of the fwhook layer. */
export {};
