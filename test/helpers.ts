/** Shared test helpers. */
import assert from 'node:assert/strict';
import { BugCheck } from '../src/kernel/bugcheck.js';

/** Asserts that `fn` bug-checks with `code` and, if given, Parameter 1. Returns the BugCheck. */
export function assertBugCheck(fn: () => unknown, code: number, p1?: number): BugCheck {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof BugCheck, `expected a BugCheck, got ${e}`);
    assert.equal(e.code, code, `bug check code: ${e.message}`);
    if (p1 !== undefined) assert.equal(e.parameters[0], p1, `parameter 1: ${e.message}`);
    return e;
  }
  assert.fail(`expected bug check 0x${code.toString(16)}, but the call returned`);
}
