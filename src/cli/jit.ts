/**
 * JIT settings of the `wdknet` process, applied by `applyJitSettings()` (the command calls it first thing).
 *
 * One setting: the inlining budget. V8's optimizing compiler stops inlining into a function once the bytecode it
 * has inlined there reaches 920 bytes (--max-inlined-bytecode-size-cumulative). A frame's path through the simulated
 * machine (NIC, NDIS, the IP layer, WFP, the send and its completion) is many small functions, and at the default
 * the hot outer functions run out of budget, so small helpers on that path (header reads, MDL lookups) are left as
 * calls. 3,000 lets them inline: 13-15% less time per 64-byte frame through `wdknet run` (bench/RESULTS.md), with
 * no change in behaviour. A larger budget measured no better (the compiled code only grows).
 *
 * V8 reads the flag when it optimizes a function, which happens only once a function is hot, after start-up: so
 * setting it at run time, once the modules are loaded, takes effect for the whole run. Importing this module
 * changes nothing (it is bundled with the library, whose users keep their process's settings). A budget the user
 * passed to node (`node --max-inlined-bytecode-size-cumulative=N`) wins: it is left alone.
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

/** Sets the inlining budget for this process, unless its node options chose one. Returns the flag set, or null. */
export function applyJitSettings(execArgv: readonly string[] = process.execArgv): string | null {
  const flag = inliningFlag(execArgv);
  if (flag !== null) setFlagsFromString(flag);
  return flag;
}
