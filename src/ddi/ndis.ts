/** The faithful face of the ndis layer: WDK names only. Filled in by that layer. */
export {};
