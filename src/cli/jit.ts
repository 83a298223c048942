/**
 * JIT settings of the `wdknet` process, applied by `applyJitSettings()` (the command calls it first thing).
 *
 * Two settings, both about inlining. A frame's path through the simulated machine (NIC, NDIS, the IP layer, WFP,
 * the send and its completion) is many small functions and a few large ones, and V8's optimizing compiler leaves a
 * call wherever it stops inlining:
 * - It stops inlining into a function once the bytecode it has inlined there reaches 920 bytes
 *   (--max-inlined-bytecode-size-cumulative). At that default the hot outer functions run out of budget and small
 *   helpers on the path (header reads, MDL lookups) stay calls. 3,000 lets them inline: 13-15% less time per
 *   64-byte frame through `wdknet run` (bench/RESULTS.md). 5,000 measured worse (the compiled code only grows).
 * - It never inlines a function of more than 460 bytes of bytecode (--max-inlined-bytecode-size), which keeps
 *   the large steps of the path calls of their own. At 1,000 the capture reader's next frame inlines into the
 *   replay loop, the receive indication into the NIC's flush and the NIC's send into the protocol's handler:
 *   1.7% fewer instructions per frame (5,406 -> 5,313; bench/results-host.md); 2,000 inlines nothing more.
 * Neither changes behaviour.
 *
 * One more setting cannot wait for run time: V8 reads it only as the process starts, so the command's first line
 * passes it to node (`#!/usr/bin/env -S node ...`, src/cli/main.ts; npm's Windows shims read that line too):
 * - --no-concurrent-recompilation: the optimizing compiler runs on the main thread instead of a background one.
 *   With the background compiler, the main thread goes on interpreting for the 10-30 ms the first compile of the
 *   replay loop takes; meanwhile the path's smaller steps turn hot and are compiled on their own, and the code that
 *   results leaves calls where the loop's compile inlines otherwise (perf: the WFP filter's decision, the NBL's
 *   info clear and the neighbour lookup stay calls; the NIC's send, receive4 and the transmit are split apart).
 *   Compiling on the main thread, the loop's first compile takes the whole path, as in the valgrind counts of
 *   bench/results-host.md (which run --predictable, single-threaded). Measured per 1M 64-byte frames, best of five
 *   warm runs in each of three processes: 251-263 ms against 268-296 ms; one cold `wdknet run`: 528-542 ms against
 *   556-599 ms. The same compiles happen, only on the main thread: nothing else changes.
 *
 * V8 reads these flags when it optimizes a function, which happens only once a function is hot, after start-up:
 * so setting them at run time, once the modules are loaded, takes effect for the whole run. Importing this module
 * changes nothing (it is bundled with the library, whose users keep their process's settings). A setting the user
 * passed to node (`node --max-inlined-bytecode-size-cumulative=N`) wins: it is left alone.
 */
import { setFlagsFromString } from 'node:v8';

/** The inlining budget wdknet runs with, in bytes of bytecode (V8's default: 920). */
export const INLINING_BUDGET = 3000;

/** The largest function wdknet lets V8 inline, in bytes of bytecode (V8's default: 460). */
export const INLINED_FUNCTION_LIMIT = 1000;

/**
 * The node options the `wdknet` command starts with: its first line passes them (src/cli/main.ts), and a test holds
 * the two together. Running `node dist/cli/main.js` without them works the same, about 10% slower.
 */
export const STARTUP_FLAGS: readonly string[] = ['--no-concurrent-recompilation'];

const SETTINGS: readonly (readonly [flag: string, value: number])[] = [
  ['--max-inlined-bytecode-size-cumulative', INLINING_BUDGET],
  ['--max-inlined-bytecode-size', INLINED_FUNCTION_LIMIT],
];

/** The flag's name as V8 reads it: `_` and `-` are the same, and a value follows `=`. */
function flagName(argument: string): string {
  return argument.split('=')[0]!.replaceAll('_', '-');
}

/**
 * The V8 flags to set for a process started with node options `execArgv`: each of wdknet's settings the user did
 * not choose there (NODE_OPTIONS cannot carry these flags: node refuses them there).
 */
export function jitFlags(execArgv: readonly string[]): string[] {
  const chosen = new Set(execArgv.map(flagName));
  return SETTINGS.filter(([flag]) => !chosen.has(flag)).map(([flag, value]) => `${flag}=${value}`);
}

/** Sets wdknet's JIT settings for this process, except those its node options chose. Returns the flags set. */
export function applyJitSettings(execArgv: readonly string[] = process.execArgv): string[] {
  const flags = jitFlags(execArgv);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
