import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ndisStacks } from '../../src/api/ndisdriver.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { addMiniportAdapter, removeMiniportAdapter } from '../../src/ndis/miniport.js';
import {
  NdisDeregisterProtocolDriver,
  NdisFDeregisterFilterDriver,
  NdisFreeNetBufferListPool,
  NdisMDeregisterMiniportDriver,
  resetSystem,
} from './ddi.js';
import { type EventLog, TestFilter, TestMiniport, TestProtocol } from './drivers.js';

type Op =
  | { kind: 'send'; n: number }
  | { kind: 'complete'; k: number }
  | { kind: 'indicate'; n: number; resources: boolean }
  | { kind: 'return'; k: number }
  | { kind: 'filterSend'; f: number; n: number }
  | { kind: 'filterReceive'; f: number; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('complete' as const), k: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('indicate' as const), n: fc.integer({ min: 1, max: 4 }), resources: fc.boolean() }),
  fc.record({ kind: fc.constant('return' as const), k: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('filterSend' as const), f: fc.nat(3), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('filterReceive' as const), f: fc.nat(3), n: fc.integer({ min: 1, max: 3 }) }),
);

const filterShape = fc.record({ noSend: fc.boolean(), noReceive: fc.boolean() });

describe('NDIS 6 data path: properties over random filter stacks and traffic', () => {
  it('every NBL comes back exactly once to the driver that sent or indicated it, whatever the stack, the interleaving and the verifier mode; afterwards nothing is outstanding and teardown leaves no leak', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const, 'full' as const),
        fc.array(filterShape, { maxLength: 4 }),
        fc.array(op, { maxLength: 40 }),
        (mode, shapes, ops) => {
          resetSystem({ verifier: mode });
          const log: EventLog = [];
          const miniport = new TestMiniport({ holdSends: true });
          miniport.register();
          const filters = shapes.map((s, i) => new TestFilter({ name: `F${i}`, log, ...s }));
          for (const f of filters) f.register();
          const { adapter } = addMiniportAdapter(miniport.handle as never, { name: 'P' });
          const protocol = new TestProtocol({ holdReceives: true });
          protocol.register();
          const a = miniport.adapters[0]!;
          const b = protocol.bindings[0]!;
          let protocolSent = 0;
          let indicatedNoResources = 0;
          let indicatedResources = 0;
          const filterOwn = filters.map(() => 0);
          for (const o of ops) {
            switch (o.kind) {
              case 'send':
                b.send(o.n, protocolSent);
                protocolSent += o.n;
                break;
              case 'complete': {
                const some = a.held.splice(0, o.k);
                const rest = a.held;
                a.held = some;
                a.completeHeld();
                a.held = rest;
                break;
              }
              case 'indicate':
                a.indicate(o.n, o.resources);
                if (o.resources) indicatedResources += o.n;
                else indicatedNoResources += o.n;
                break;
              case 'return': {
                const some = b.holding.splice(0, o.k);
                const rest = b.holding;
                b.holding = some;
                b.returnHeld();
                b.holding = rest;
                break;
              }
              case 'filterSend': {
                const f = filters[o.f];
                if (f === undefined || f.options.noSend) break;
                f.modules[0]!.originateSend(o.n);
                filterOwn[o.f]! += o.n;
                break;
              }
              case 'filterReceive': {
                const f = filters[o.f];
                if (f === undefined || f.options.noReceive) break;
                f.modules[0]!.originateReceive(o.n);
                filterOwn[o.f]! += o.n;
                break;
              }
            }
          }
          a.completeHeld();
          b.returnHeld();
          // Every protocol send completed to the protocol, once each, and nothing else did.
          assert.equal(b.completed.length, protocolSent);
          assert.deepEqual(
            (b.completedIds as number[]).slice().sort((p, q) => p - q),
            Array.from({ length: protocolSent }, (_, i) => i),
          );
          // Every indication reached the protocol; those without RESOURCES came back to the miniport, once.
          assert.equal(a.returned.length, indicatedNoResources);
          assert.equal(new Set(a.returnedIds).size, a.returnedIds.length, 'no NBL returned twice');
          // Filters got exactly their own NBLs back.
          filters.forEach((f, i) => {
            const m = f.modules[0]!;
            assert.equal(m.ownBack.length, filterOwn[i]);
            assert.equal(m.own, 0);
          });
          const receivedByProtocol = b.received.length;
          const ownReceives = filters.reduce(
            (s, f) => s + f.modules[0]!.ownBackIds.filter((id) => id >= 2000).length,
            0,
          );
          assert.equal(receivedByProtocol, indicatedNoResources + indicatedResources + ownReceives);
          // NDIS holds nothing.
          const [stack] = ndisStacks();
          assert.ok(stack!.filters.every((m) => m.sendsOut === 0 && m.receivesOut === 0));
          assert.ok(stack!.bindings.every((o) => o.sendsOut === 0 && o.receivesHeld === 0));
          assert.equal(stack!.sent, stack!.completed);
          assert.equal(stack!.indicated - indicatedResources, stack!.returned);
          // Teardown: nothing leaks.
          for (const f of filters) NdisFDeregisterFilterDriver(f.handle);
          removeMiniportAdapter(adapter!);
          NdisDeregisterProtocolDriver(protocol.handle);
          NdisFreeNetBufferListPool(protocol.pool!);
          NdisMDeregisterMiniportDriver(miniport.handle);
          assert.deepEqual(collectLeaks(), []);
        },
      ),
      { numRuns: 150 },
    );
  });
});
