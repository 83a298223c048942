/**
 * JIT settings of the `wdknet` process, applied when this module is first imported (the command imports it first).
 *
 * One setting: the inlining budget. V8's optimizing compiler stops inlining into a function once the bytecode it
 * has inlined there reaches 920 bytes (--max-inlined-bytecode-size-cumulative). A frame's path through the simulated
 * machine (NIC, NDIS, the IP layer, WFP, the send and its completion) is many small functions, and at the default
 * the hot outer functions run out of budget, so small helpers on that path (header reads, MDL lookups) are left as
 * calls. 3,000 lets them inline: 13-15% less time per 64-byte frame through `wdknet run` (bench/RESULTS.md), with
 * no change in behaviour. A larger budget measured no better (the compiled code only grows).
 *
 * V8 reads the flag when it optimizes a function, which happens only once a function is hot, after start-up: so
 * setting it here, at run time, takes effect for the whole run. A budget the user passed to node
 * (`node --max-inlined-bytecode-size-cumulative=N`) wins: it is left alone.
 */
import { setFlagsFromString } from 'node:v8';

/** The inlining budget wdknet runs with, in bytes of bytecode (V8's default: 920). */
export const INLINING_BUDGET = 3000;

const FLAG = '--max-inlined-bytecode-size-cumulative';

/**
 * The V8 flag to set for a process started with node options `execArgv`, or null when the user chose the budget
 * there (V8 takes `_` for `-` in flag names; NODE_OPTIONS cannot carry this flag: node refuses it there).
 */
export function inliningFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((a) => a.replaceAll('_', '-').startsWith(FLAG))) return null;
  return `${FLAG}=${INLINING_BUDGET}`;
}

const flag = inliningFlag(process.execArgv);
if (flag !== null) setFlagsFromString(flag);
