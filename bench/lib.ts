/** Small shared timing helpers for the benchmarks: warm up, then time a loop with the high-resolution clock. */

/** Runs `body(i)` `iterations` times after a warm-up and returns nanoseconds per iteration. */
export function nsPerOp(iterations: number, body: (i: number) => void): number {
  const warm = Math.min(iterations, 200_000);
  for (let i = 0; i < warm; i++) body(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) body(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

/** Best of `runs` measurements (the least disturbed by the rest of the machine). */
export function bestOf(runs: number, measure: () => number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) best = Math.min(best, measure());
  return best;
}

/** Heap in use after a full collection (needs --expose-gc). */
export function heapUsedAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** The machine, for the results file. */
export async function machine(): Promise<string> {
  const os = await import('node:os');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${os.arch()}, Node ${process.version}`;
}

/** Prints a table row. */
export function row(name: string, ns: number, baseline?: number): void {
  const ratio = baseline === undefined ? '' : `  ${(ns / baseline).toFixed(2)}x baseline`;
  console.log(`${name.padEnd(58)} ${ns.toFixed(1).padStart(9)} ns/op${ratio}`);
}

class Slot {
  next: Slot | null = null;
  length = 0;
}
const freeList: Slot[] = Array.from({ length: 64 }, () => new Slot());
/** Written by the baselines so V8 cannot drop their work. */
let baselineSink = 0;

/** DESIGN.md's ~8 ns anchor: pop, touch and push of a preallocated object free list (best of 3). */
export function freeListBaselineNs(iterations: number): number {
  return bestOf(3, () =>
    nsPerOp(iterations, (i) => {
      const s = freeList.pop()!;
      s.length = i;
      freeList.push(s);
    }),
  );
}

/** Node's way to get a packet buffer: Buffer.allocUnsafe(size), optionally with a wrapper object (best of 3). */
export function allocUnsafeBaselineNs(iterations: number, size: number, wrapped: boolean): number {
  return bestOf(3, () =>
    nsPerOp(iterations, (i) => {
      if (wrapped) {
        const wrapper = { data: Buffer.allocUnsafe(size), length: i };
        baselineSink += wrapper.data.length;
      } else {
        const b = Buffer.allocUnsafe(size);
        b[0] = i;
        baselineSink += b.length;
      }
    }),
  );
}

/** What the baselines wrote (print it only if negative, which it never is). */
export function baselineSinkValue(): number {
  return baselineSink;
}
