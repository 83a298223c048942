/** The faithful face of the NDIS driver model (miniport, filter, protocol): WDK names only. */
export {};
