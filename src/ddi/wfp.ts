/** The faithful face of the wfp layer: WDK names only. Filled in by that layer. */
export {};
