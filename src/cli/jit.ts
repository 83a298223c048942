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
 * setting it here, at run time, takes effect for the whole run. A flag the user passed (node
 * --max-inlined-bytecode-size-cumulative=N, or NODE_OPTIONS) wins: it is left alone.
 */
import { setFlagsFromString } from 'node:v8';

/** The inlining budget wdknet runs with, in bytes of bytecode (V8's default: 920). */
export const INLINING_BUDGET = 3000;

const FLAG = '--max-inlined-bytecode-size-cumulative';

/**
 * The V8 flag to set for a process started with `execArgv` and `nodeOptions` (NODE_OPTIONS), or null when the user
 * chose the budget there (V8 takes `_` for `-` in flag names).
 */
export function inliningFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | null {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => a.replaceAll('_', '-').startsWith(FLAG))) return null;
  return `${FLAG}=${INLINING_BUDGET}`;
}

const flag = inliningFlag(process.execArgv, process.env.NODE_OPTIONS);
if (flag !== null) setFlagsFromString(flag);
