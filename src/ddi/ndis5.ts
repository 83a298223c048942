/** The faithful face of the ndis5 layer: WDK names only. Filled in by that layer. */
export {};
