/**
 * Returns of receive indications on an adapter without filter modules (NdisReturnNetBufferLists: "NDIS returns
 * the NET_BUFFER_LIST structures to the miniport driver" once every protocol that was indicated them without
 * NDIS_RECEIVE_FLAGS_RESOURCES has given them back). wdknet passes the returned list down as it came and relinks
 * Next only around NBLs another binding still holds; this property pins that the miniport gets exactly the NBLs
 * whose last binding returned them, in the order of the return, as a well-formed list, with one or two bindings,
 * any subsets and any order, in every verifier mode; and that the holder recorded for each is the adapter.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NDIS_RETURN_FLAGS_DISPATCH_LEVEL } from '../../src/ndis/driver-constants.js';
import { holderOf } from '../../src/ndis/driver-verifier.js';
import { addMiniportAdapter } from '../../src/ndis/miniport.js';
import { NdisReturnNetBufferLists } from '../../src/ndis/protocol.js';
import type { NET_BUFFER_LIST } from '../../src/ndis/structures.js';
import { resetSystem } from './ddi.js';
import { dispatchFlag, type TestAdapter, TestMiniport, TestProtocol } from './drivers.js';

describe('returns go down to the miniport once the last binding returns (NdisReturnNetBufferLists)', () => {
  it('property: one or two bindings return random subsets in random order: the miniport gets exactly the NBLs no binding holds any more, per return, in return order, in every verifier mode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('off' as const, 'standard' as const, 'full' as const),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 8 }),
        fc.infiniteStream(fc.nat()),
        (mode, bindingCount, n, randoms) => {
          resetSystem({ verifier: mode });
          const miniport = new TestMiniport();
          // The holder recorded for each NBL that comes back is the adapter (checked before the miniport frees it).
          const inner = miniport.chars.ReturnNetBufferListsHandler!;
          miniport.chars.ReturnNetBufferListsHandler = (ctx, nbls, flags) => {
            for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
              // The very block of this run's adapter (holders are recorded as ids, which a reset hands out again).
              assert.equal(holderOf(x), (ctx as TestAdapter).handle);
            }
            inner(ctx, nbls, flags);
          };
          miniport.register();
          addMiniportAdapter(miniport.handle as never, { name: 'R' });
          const protocols: TestProtocol[] = [];
          for (let i = 0; i < bindingCount; i++) {
            const p = new TestProtocol({ name: `P${i}`, holdReceives: true });
            p.register();
            protocols.push(p);
          }
          const bindings = protocols.map((p) => p.bindings[0]!);
          const a = miniport.adapters[0]!;
          // The miniport's return handler frees what it gets: record the ids (Scratch) instead of the objects.
          const indicated: NET_BUFFER_LIST[] = [];
          // (Read from what the binding received: with two bindings NDIS indicates each NBL on its own, unlinked.)
          a.indicate(n);
          indicated.push(...bindings[0]!.received);
          const ids = new Map(indicated.map((x) => [x, x.Scratch]));
          const it = randoms[Symbol.iterator]();
          const pick = (k: number): number => it.next().value! % k;
          // Each binding holds every NBL; returns are made in rounds of a random subset, in a random order.
          const holding = bindings.map((b) => {
            assert.equal(b.holding.length, n);
            b.holding = [];
            return [...indicated];
          });
          const heldBy = new Map(indicated.map((x) => [x, bindingCount]));
          while (holding.some((h) => h.length > 0)) {
            const who = pick(bindingCount);
            const h = holding[who]!;
            if (h.length === 0) continue;
            const count = 1 + pick(h.length);
            const list: NET_BUFFER_LIST[] = [];
            for (let i = 0; i < count; i++) list.push(h.splice(pick(h.length), 1)[0]!);
            const expected: unknown[] = [];
            for (const x of list) {
              const left = heldBy.get(x)! - 1;
              heldBy.set(x, left);
              if (left === 0) expected.push(ids.get(x));
            }
            for (let i = 0; i < list.length; i++) list[i]!.Next = i + 1 < list.length ? list[i + 1]! : null;
            const before = a.returnedIds.length;
            NdisReturnNetBufferLists(bindings[who]!.handle, list[0]!, dispatchFlag(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
            assert.deepEqual(a.returnedIds.slice(before), expected);
          }
          assert.equal(a.returnedIds.length, n);
        },
      ),
      { numRuns: 120 },
    );
  });
});
