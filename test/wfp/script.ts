/**
 * A scripted callout for arbitration tests: what classifyFn does is encoded in the filter's rawContext, so one
 * registered callout can play every role.
 */
import {
  FWP_ACTION_BLOCK,
  FWP_ACTION_CONTINUE,
  FWP_ACTION_PERMIT,
  FWPS_CLASSIFY_OUT_FLAG_ABSORB,
  type FWPS_CLASSIFY_OUT0,
  type FWPS_FILTER0,
  FWPS_RIGHT_ACTION_WRITE,
} from '../../src/wfp/index.js';

/** What the callout returns. */
export const Ret = { Leave: 0, Block: 1, Permit: 2, Continue: 3, Garbage: 4 } as const;
/** Clear FWPS_RIGHT_ACTION_WRITE after deciding (a hard decision). */
export const CLEAR_RIGHT = 0x100;
/** Set FWPS_CLASSIFY_OUT_FLAG_ABSORB. */
export const ABSORB = 0x200;
/** Behave like a well-written driver: do nothing when the right is already cleared. */
export const RESPECT_RIGHT = 0x400;

/** rawContext for a scripted behaviour. */
export function script(ret: number, flags = 0): bigint {
  return BigInt(ret | flags);
}

/** One recorded classifyFn call. */
export interface CalloutCall {
  filterId: number;
  rightsBefore: number;
  actionBefore: number;
}

/** A classifyFn1 that follows the filter's script and records each call in `calls`. */
export function scriptedClassify(calls: CalloutCall[]) {
  return (
    _values: unknown,
    _meta: unknown,
    _layerData: unknown,
    _context: unknown,
    filter: FWPS_FILTER0,
    _flowContext: number,
    out: FWPS_CLASSIFY_OUT0,
  ): void => {
    calls.push({ filterId: filter.filterId, rightsBefore: out.rights, actionBefore: out.actionType });
    const s = Number(filter.context);
    if ((s & RESPECT_RIGHT) !== 0 && (out.rights & FWPS_RIGHT_ACTION_WRITE) === 0) return;
    switch (s & 0xff) {
      case Ret.Block:
        out.actionType = FWP_ACTION_BLOCK;
        break;
      case Ret.Permit:
        out.actionType = FWP_ACTION_PERMIT;
        break;
      case Ret.Continue:
        out.actionType = FWP_ACTION_CONTINUE;
        break;
      case Ret.Garbage:
        out.actionType = 0x7;
        break;
    }
    if ((s & CLEAR_RIGHT) !== 0) out.rights &= ~FWPS_RIGHT_ACTION_WRITE;
    if ((s & ABSORB) !== 0) out.flags |= FWPS_CLASSIFY_OUT_FLAG_ABSORB;
  };
}
