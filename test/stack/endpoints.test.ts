/**
 * The endpoint table (port tables as typed-array indexes into the endpoints) against a plain model: for any
 * sequence of binds, unbinds, sends and lookups, the same endpoints come back, a send-only endpoint becomes the
 * bound one when its port is bound (same handle), a bound port cannot be bound again, and list() gives the bound
 * ones in order (UDP by port, then TCP).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import { type Endpoint, EndpointTable, endpointFromHandle } from '../../src/stack/endpoints.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/stack/headers.js';

type Op =
  | { kind: 'bind' | 'unbind' | 'send' | 'lookup'; protocol: number; port: number }
  | { kind: 'list'; protocol: number; port: number };

const op = fc.record({
  kind: fc.constantFrom('bind', 'unbind', 'send', 'lookup', 'list') as fc.Arbitrary<Op['kind']>,
  protocol: fc.constantFrom(IPPROTO_UDP, IPPROTO_TCP),
  // A few ports, so that operations meet on the same one; the ends of the range too.
  port: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constantFrom(65535, 1)),
});

describe('EndpointTable', () => {
  it('agrees with a model over any sequence of binds, unbinds, sends and lookups', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        resetSystem();
        const table = new EndpointTable();
        const bound = new Map<string, Endpoint>();
        const senders = new Map<string, Endpoint>();
        for (const o of ops) {
          const key = `${o.protocol}/${o.port}`;
          if (o.kind === 'bind') {
            if (bound.has(key)) {
              assert.throws(() => table.bind(o.protocol, o.port), /already bound/);
              continue;
            }
            const e = table.bind(o.protocol, o.port);
            const sent = senders.get(key);
            if (sent !== undefined) {
              assert.equal(e, sent, 'the send-only endpoint becomes the bound one');
              senders.delete(key);
            }
            assert.equal(e.receives, true);
            assert.equal(endpointFromHandle(e.handle), e);
            bound.set(key, e);
          } else if (o.kind === 'unbind') {
            const e = bound.get(key);
            table.unbind(o.protocol, o.port);
            if (e !== undefined) assert.equal(endpointFromHandle(e.handle), undefined, 'its handle closes');
            bound.delete(key);
          } else if (o.kind === 'send') {
            const e = table.sender(o.protocol, o.port)!;
            const expected = bound.get(key) ?? senders.get(key);
            if (expected !== undefined) assert.equal(e, expected);
            else {
              assert.equal(e.receives, false);
              senders.set(key, e);
            }
          } else if (o.kind === 'lookup') {
            assert.equal(table.lookup(o.protocol, o.port), bound.get(key));
          } else {
            const order = (p: number) => [...bound].filter(([k]) => k.startsWith(`${p}/`));
            const expected = [...order(IPPROTO_UDP), ...order(IPPROTO_TCP)]
              .sort(([a], [b]) => {
                const [pa, na] = a.split('/').map(Number);
                const [pb, nb] = b.split('/').map(Number);
                return pa === pb ? na! - nb! : pa === IPPROTO_UDP ? -1 : 1;
              })
              .map(([, e]) => e);
            assert.deepEqual(table.list(), expected);
          }
        }
      }),
    );
  });

  it('has no ports for other protocols, and none outside 1..65535 to bind', () => {
    resetSystem();
    const table = new EndpointTable();
    assert.equal(table.lookup(1, 7), undefined);
    assert.equal(table.sender(1, 7), undefined);
    assert.throws(() => table.bind(1, 7), /no ports/);
    assert.throws(() => table.bind(IPPROTO_UDP, 0), /not 1\.\.65535/);
    assert.throws(() => table.bind(IPPROTO_UDP, 65536), /not 1\.\.65535/);
    assert.equal(table.lookup(IPPROTO_UDP, 70000), undefined);
  });
});
