/** The idiomatic API of the ndis5 layer. */
export {};
