/** The faithful face of the fwhook layer: WDK names only. Filled in by that layer. */
export {};
