import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ndisStacks } from '../../src/api/ndisdriver.js';
import type { VerifierMode } from '../../src/kernel/verifier.js';
import { NblFault, NdisRule } from '../../src/ndis/driver-verifier.js';
import { addMiniportAdapter } from '../../src/ndis/miniport.js';
import { assertBugCheck } from '../helpers.js';
import {
  DRIVER_VERIFIER_DETECTED_VIOLATION,
  NDIS_STATUS_SUCCESS,
  NdisReturnNetBufferLists,
  type NET_BUFFER_LIST,
  resetSystem,
} from './ddi.js';
import { type EventLog, TestFilter, TestMiniport, TestProtocol, toArray } from './drivers.js';

/** A miniport, `filters` pass-through filter drivers and a protocol, with every handler call counted. */
function stack(mode: VerifierMode, filters: number, holdSends = false) {
  resetSystem({ verifier: mode });
  const log: EventLog = [];
  const miniport = new TestMiniport({ holdSends });
  const calls = { miniportReturn: 0, protocolReceive: 0, protocolComplete: 0, miniportSend: 0 };
  const chars = miniport.chars;
  const ret = chars.ReturnNetBufferListsHandler!;
  chars.ReturnNetBufferListsHandler = (ctx, nbls, flags) => {
    calls.miniportReturn++;
    ret(ctx, nbls, flags);
  };
  const send = chars.SendNetBufferListsHandler!;
  chars.SendNetBufferListsHandler = (ctx, nbls, port, flags) => {
    calls.miniportSend++;
    send(ctx, nbls, port, flags);
  };
  assert.equal(miniport.register(), NDIS_STATUS_SUCCESS);
  for (let i = 0; i < filters; i++)
    assert.equal(new TestFilter({ name: `F${i}`, log }).register(), NDIS_STATUS_SUCCESS);
  const { adapter } = addMiniportAdapter(miniport.handle as never, { name: 'Chain Adapter' });
  const protocol = new TestProtocol({ holdReceives: true });
  const receive = protocol.chars.ReceiveNetBufferListsHandler!;
  protocol.chars.ReceiveNetBufferListsHandler = (ctx, nbls, port, count, flags) => {
    calls.protocolReceive++;
    receive(ctx, nbls, port, count, flags);
  };
  const complete = protocol.chars.SendNetBufferListsCompleteHandler!;
  protocol.chars.SendNetBufferListsCompleteHandler = (ctx, nbls, flags) => {
    calls.protocolComplete++;
    complete(ctx, nbls, flags);
  };
  assert.equal(protocol.register(), NDIS_STATUS_SUCCESS);
  return { a: miniport.adapters[0]!, b: protocol.bindings[0]!, calls, block: adapter! };
}

const modes: VerifierMode[] = ['off', 'standard', 'full'];

describe('NDIS 6 data path: a list travels as one list', () => {
  it('a chain the miniport indicates reaches the one binding in one ProtocolReceiveNetBufferLists call with NumberOfNetBufferLists, and a chain the protocol returns reaches MiniportReturnNetBufferLists in one call (NdisMIndicateReceiveNetBufferLists, NdisReturnNetBufferLists), in every verifier mode, with or without pass-through filters', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...modes),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 40 }),
        (mode, filters, n) => {
          const { a, b, calls } = stack(mode, filters);
          const chain = toArray(a.indicate(n));
          assert.equal(calls.protocolReceive, 1);
          assert.deepEqual(b.indicationSizes, [n]);
          assert.deepEqual(b.received, chain);
          assert.equal(a.returned.length, 0, 'nothing comes back before the protocol returns it');
          b.returnHeld();
          assert.equal(calls.miniportReturn, 1);
          assert.deepEqual(a.returned, chain);
          const [s] = ndisStacks();
          assert.equal(s!.indicated, n);
          assert.equal(s!.returned, n);
          assert.ok(s!.bindings.every((o) => o.receivesHeld === 0));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a chain the protocol sends reaches MiniportSendNetBufferLists in one call, and completed as one list it reaches ProtocolSendNetBufferListsComplete in one call with each NBL’s status (NdisSendNetBufferLists, NdisMSendNetBufferListsComplete)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...modes),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 40 }),
        (mode, filters, n) => {
          const { a, b, calls } = stack(mode, filters, true);
          const sent = toArray(b.send(n));
          assert.equal(calls.miniportSend, 1);
          assert.deepEqual(a.held, sent);
          a.completeHeld();
          assert.equal(calls.protocolComplete, 1);
          assert.deepEqual(b.completed, sent);
          const [s] = ndisStacks();
          assert.equal(s!.sent, n);
          assert.equal(s!.completed, n);
          assert.ok(s!.bindings.every((o) => o.sendsOut === 0));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a protocol that returns part of an indicated chain returns exactly that part to the miniport, in the order returned (NdisReturnNetBufferLists)', () => {
    for (const mode of modes) {
      const { a, b, calls } = stack(mode, 0);
      const chain = toArray(a.indicate(5));
      const keep = b.holding;
      b.holding = [keep[3]!, keep[0]!];
      b.returnHeld();
      assert.deepEqual(a.returned, [chain[3], chain[0]]);
      b.holding = [keep[4]!, keep[2]!, keep[1]!];
      b.returnHeld();
      assert.deepEqual(a.returned, [chain[3], chain[0], chain[4], chain[2], chain[1]]);
      assert.equal(calls.miniportReturn, 2);
    }
  });

  it('with no filter module, returning an NBL that no driver waits for is still reported as NdisFilterTimedDataReceive / not outstanding (0xC4, 0x00092012) when the binding count says it is held', () => {
    // The binding's count is forged to pass the standard check; the miniport's wait (stack position 0) is gone.
    const { a, b } = stack('standard', 0);
    a.indicate(1);
    const nbl = b.holding[0]! as NET_BUFFER_LIST;
    b.holding = [];
    nbl.ndisTrack &= ~1;
    const e = assertBugCheck(
      () => NdisReturnNetBufferLists(b.handle, nbl, 0),
      DRIVER_VERIFIER_DETECTED_VIOLATION,
      NdisRule.NdisFilterTimedDataReceive,
    );
    assert.equal(e.parameters[3], NblFault.NotOutstanding);
  });
});
