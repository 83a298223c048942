/**
 * Send completions routed by SourceHandle (NdisMSendNetBufferListsComplete: "NDIS uses the SourceHandle member
 * of each NET_BUFFER_LIST to return it to the driver that sent it"). NDIS delivers a completed list to each
 * sender as runs of neighbours bound for the same driver; wdknet checks a run's SourceHandle once and lets later
 * NBLs with the same SourceHandle join the run without checking it again. This property pins that the routing
 * is the same as checking every NBL: each binding gets exactly the NBLs it sent, in completion order, in one
 * call per run, with and without filter modules in between.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addMiniportAdapter } from '../../src/ndis/miniport.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import { resetSystem } from './ddi.js';
import { type EventLog, TestFilter, TestMiniport, TestProtocol } from './drivers.js';

describe('send completions go back by SourceHandle, in runs (NdisMSendNetBufferListsComplete)', () => {
  it('property: two bindings sending interleaved, completed as one list in any order: each gets its own NBLs, one handler call per run of neighbours, with 0 to 2 filter modules and any verifier mode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const, 'full' as const),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.record({ who: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 1, max: 3 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.infiniteStream(fc.nat()),
        (mode, filterCount, sends, randoms) => {
          resetSystem({ verifier: mode });
          const log: EventLog = [];
          const miniport = new TestMiniport({ holdSends: true });
          miniport.register();
          for (let i = 0; i < filterCount; i++) new TestFilter({ name: `F${i}`, log }).register();
          addMiniportAdapter(miniport.handle as never, { name: 'P' });
          const protocols = [new TestProtocol({ name: 'FIRST' }), new TestProtocol({ name: 'SECOND' })];
          const calls: { who: number; nbls: NET_BUFFER_LIST[] }[] = [];
          protocols.forEach((p, who) => {
            const inner = p.chars.SendNetBufferListsCompleteHandler!;
            p.chars.SendNetBufferListsCompleteHandler = (ctx, nbls, flags) => {
              const list: NET_BUFFER_LIST[] = [];
              for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) list.push(x);
              calls.push({ who, nbls: list });
              inner(ctx, nbls, flags);
            };
            p.register();
          });
          const bindings = protocols.map((p) => p.bindings[0]!);
          const owner = new Map<NET_BUFFER_LIST, number>();
          let id = 0;
          for (const s of sends) {
            const chain = bindings[s.who]!.send(s.n, id);
            id += s.n;
            for (let x: NET_BUFFER_LIST | null = chain; x !== null; x = x.Next) owner.set(x, s.who);
          }
          const a = miniport.adapters[0]!;
          // The miniport completes everything as one list, in an order the test picks.
          const held = a.held;
          const it = randoms[Symbol.iterator]();
          for (let i = held.length - 1; i > 0; i--) {
            const j = it.next().value! % (i + 1);
            [held[i], held[j]] = [held[j]!, held[i]!];
          }
          const order = [...held];
          a.completeHeld();
          // Expected: runs of neighbours with the same sender, each one call.
          const runs: { who: number; nbls: NET_BUFFER_LIST[] }[] = [];
          for (const nbl of order) {
            const who = owner.get(nbl)!;
            const last = runs[runs.length - 1];
            if (last !== undefined && last.who === who) last.nbls.push(nbl);
            else runs.push({ who, nbls: [nbl] });
          }
          assert.equal(calls.length, runs.length);
          for (let i = 0; i < runs.length; i++) {
            assert.equal(calls[i]!.who, runs[i]!.who);
            assert.deepEqual(calls[i]!.nbls, runs[i]!.nbls);
          }
          for (const [who, b] of bindings.entries()) {
            assert.deepEqual(
              b.completed,
              order.filter((x) => owner.get(x) === who),
            );
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
