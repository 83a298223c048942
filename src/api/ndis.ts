/** The idiomatic API of the ndis layer. */
export {};
