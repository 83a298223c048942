/**
 * The host's flow table: which transport flows (protocol, local port, remote port, remote address) have been
 * authorized, so the ALE layers (auth connect / recv accept / flow established) classify only the first packet
 * of each flow, as Windows does. Open addressing over typed arrays; a lookup allocates nothing. A flow's handle
 * is the number the WFP metadata carries as flowHandle.
 */

const EMPTY = 0;

/** The authorized flows of one host. */
export class FlowTable {
  private capacity = 256;
  private count = 0;
  /** Per slot: 0 empty, else the flow handle. */
  private handles = new Float64Array(this.capacity);
  /** Per slot: six key words (protocol << 16 | local port, remote port, remote address words 0..3). */
  private keys = new Uint32Array(6 * this.capacity);
  private nextHandle = 1;
  private readonly key = new Uint32Array(6);

  /** Flows established so far. */
  size(): number {
    return this.count;
  }

  private setKey(protocol: number, localPort: number, remotePort: number, remote: ArrayLike<number>): Uint32Array {
    const k = this.key;
    k[0] = ((protocol << 16) | localPort) >>> 0;
    k[1] = remotePort;
    k[2] = remote[0]!;
    k[3] = remote[1]!;
    k[4] = remote[2]!;
    k[5] = remote[3]!;
    return k;
  }

  private slot(k: Uint32Array): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < 6; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
    const mask = this.capacity - 1;
    let i = (h ^ (h >>> 16)) & mask;
    for (;;) {
      if (this.handles[i] === EMPTY) return i;
      const b = 6 * i;
      const keys = this.keys;
      if (
        keys[b] === k[0] &&
        keys[b + 1] === k[1] &&
        keys[b + 2] === k[2] &&
        keys[b + 3] === k[3] &&
        keys[b + 4] === k[4] &&
        keys[b + 5] === k[5]
      ) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * The handle of the flow, or 0 when it is new. `remote` holds four words (an IPv4 address in its mapped
   * form: 0, 0, 0xffff, address).
   */
  find(protocol: number, localPort: number, remotePort: number, remote: ArrayLike<number>): number {
    return this.handles[this.slot(this.setKey(protocol, localPort, remotePort, remote))]!;
  }

  /** Records a new authorized flow and returns its handle. */
  add(protocol: number, localPort: number, remotePort: number, remote: ArrayLike<number>): number {
    if (2 * (this.count + 1) > this.capacity) this.grow();
    const k = this.setKey(protocol, localPort, remotePort, remote);
    const i = this.slot(k);
    if (this.handles[i] !== EMPTY) return this.handles[i]!;
    this.keys.set(k, 6 * i);
    const handle = this.nextHandle++;
    this.handles[i] = handle;
    this.count++;
    return handle;
  }

  private grow(): void {
    const { handles, keys } = this;
    this.capacity *= 2;
    this.handles = new Float64Array(this.capacity);
    this.keys = new Uint32Array(6 * this.capacity);
    for (let i = 0; i < handles.length; i++) {
      if (handles[i] === EMPTY) continue;
      const k = keys.subarray(6 * i, 6 * i + 6);
      const j = this.slot(k);
      this.keys.set(k, 6 * j);
      this.handles[j] = handles[i]!;
    }
  }
}
