/**
 * Packet accounting, so a driver can prove it lost nothing: every packet it sees is passed on, dropped with a
 * named reason, or absorbed and later reinjected (or, if reinjection fails, dropped with a reason). Tests check
 * `seen === passed + dropped + absorbed` and `absorbed === reinjected + droppedAfterAbsorb` once the queue drains.
 * Counting is a few integer increments: no allocation per packet (a reason's slot is made once, on first use).
 */
export class PacketAccounting {
  /** Packets the driver classified or was handed. */
  seen = 0;
  /** Packets let through unchanged (or, for a hook, forwarded in a rewritten copy). */
  passed = 0;
  /** Packets dropped before they were absorbed (blocked at classify, DROP from a hook). */
  dropped = 0;
  /** Packets taken out of the path to be reinjected later. */
  absorbed = 0;
  /** Absorbed packets put back into the path successfully. */
  reinjected = 0;
  /** Absorbed packets that could not be put back (their drop is also counted under a reason). */
  droppedAfterAbsorb = 0;
  /** Drops by reason. */
  readonly drops: Record<string, number> = {};

  /** Counts a drop of a packet not yet absorbed. */
  drop(reason: string): void {
    this.dropped++;
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  /** Counts a drop of a packet that had been absorbed. */
  dropAbsorbed(reason: string): void {
    this.droppedAfterAbsorb++;
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  /** Packets absorbed and not yet reinjected or dropped. */
  inFlight(): number {
    return this.absorbed - this.reinjected - this.droppedAfterAbsorb;
  }

  /** Sum of drops of both kinds. */
  totalDropped(): number {
    return this.dropped + this.droppedAfterAbsorb;
  }

  /** True when every packet seen is accounted for: passed, dropped, or absorbed. */
  balanced(): boolean {
    return this.seen === this.passed + this.dropped + this.absorbed;
  }

  /** Zeroes every counter (DriverEntry does this, so a reloaded driver starts afresh). */
  reset(): void {
    this.seen = this.passed = this.dropped = this.absorbed = this.reinjected = this.droppedAfterAbsorb = 0;
    for (const key of Object.keys(this.drops)) delete this.drops[key];
  }
}
