import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { drainDeferredWork } from '../../src/kernel/deferred.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { readBytes } from '../../src/kernel/memory.js';
import { OUTSIDE, Wire, type WirePort } from '../../src/stack/wire.js';
import { resetSystem } from './ddi.js';

/** A port that records every frame it receives (a copy of the bytes) and may transmit in reply. */
class Recorder implements WirePort {
  frames: number[][] = [];
  constructor(readonly onFrame: ((bytes: number[]) => void) | null = null) {}
  receiveFrame(address: number, length: number): void {
    const bytes = [...readBytes(address, length)];
    this.frames.push(bytes);
    this.onFrame?.(bytes);
  }
}

/** A frame whose bytes say which it is: a 4-byte sequence number, then a pattern to `length`. */
function makeFrame(seq: number, length: number): Uint8Array {
  const f = new Uint8Array(length);
  for (let i = 0; i < length; i++) f[i] = (seq * 31 + i * 7) & 0xff;
  if (length >= 4) new DataView(f.buffer).setUint32(0, seq);
  return f;
}

describe('the wire', () => {
  beforeEach(() => resetSystem());

  it('every frame reaches every other port, byte for byte and in order, across ring wrap-around and growth (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('send' as const),
              from: fc.nat(2),
              length: fc.integer({ min: 1, max: 9000 }),
            }),
            fc.record({ kind: fc.constant('drain' as const) }),
          ),
          { maxLength: 120 },
        ),
        (ops) => {
          resetSystem();
          const wire = new Wire('w', false);
          const ports = [new Recorder(), new Recorder(), new Recorder()];
          for (const p of ports) wire.attach(p);
          const expected: number[][][] = [[], [], []];
          let seq = 0;
          for (const o of ops) {
            if (o.kind === 'drain') {
              wire.drain();
              continue;
            }
            const f = makeFrame(seq++, o.length);
            assert.equal(wire.transmit(f, o.from), true);
            for (let p = 0; p < 3; p++) if (p !== o.from) expected[p]!.push([...f]);
          }
          wire.drain();
          for (let p = 0; p < 3; p++) assert.deepEqual(ports[p]!.frames, expected[p]);
          assert.equal(wire.pending, 0);
          wire.close();
          assert.deepEqual(collectLeaks(), []);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('frames a port transmits while receiving are queued behind the current one and delivered in the same drain', () => {
    const wire = new Wire('w', false);
    const replies: number[] = [];
    let bId = -1;
    const a = new Recorder();
    const b = new Recorder((bytes) => {
      if (bytes[0] === 0xaa) {
        replies.push(bytes.length);
        // A large reply forces the ring to grow while the frame being delivered is still in use.
        wire.transmit(new Uint8Array(200_000).fill(0xbb), bId);
      }
    });
    wire.attach(a);
    bId = wire.attach(b);
    const c = new Recorder();
    wire.attach(c);
    wire.transmit(new Uint8Array(100).fill(0xaa), 0);
    assert.equal(wire.drain(), 2);
    assert.deepEqual(replies, [100]);
    assert.equal(c.frames.length, 2, 'the third port got the original and the reply, in that order');
    assert.equal(c.frames[0]![0], 0xaa);
    assert.equal(c.frames[0]!.length, 100, 'the frame being delivered survived the ring growing under it');
    assert.equal(c.frames[1]!.length, 200_000);
    assert.equal(a.frames.length, 1, 'the reply reaches the first port too');
    wire.close();
  });

  it('injected frames come from OUTSIDE and reach every port; taps see every frame; detached ports get nothing', () => {
    const wire = new Wire('w', false);
    const a = new Recorder();
    const b = new Recorder();
    wire.attach(a);
    const bId = wire.attach(b);
    const tapped: number[] = [];
    const untap = wire.tap((_f, from) => tapped.push(from));
    wire.inject(makeFrame(1, 60));
    wire.transmit(makeFrame(2, 60), 0);
    wire.drain();
    assert.deepEqual(tapped, [OUTSIDE, 0]);
    assert.equal(a.frames.length, 1);
    assert.equal(b.frames.length, 2);
    untap();
    wire.detach(bId);
    wire.inject(makeFrame(3, 60));
    wire.drain();
    assert.equal(tapped.length, 2);
    assert.equal(b.frames.length, 2);
    assert.equal(a.frames.length, 2);
    wire.close();
  });

  it('every frame reaches exactly the taps present when it is sent, address taps first, each in the order added, through any adding and removing of either kind (property; one address tap alone is called directly)', () => {
    // Steps: add an address tap, add a view tap, remove the k-th tap still present, or send a frame.
    const step = fc.oneof(
      fc.constant({ op: 'address' as const, k: 0 }),
      fc.constant({ op: 'view' as const, k: 0 }),
      fc.record({ op: fc.constant('remove' as const), k: fc.nat(5) }),
      fc.constant({ op: 'send' as const, k: 0 }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const wire = new Wire('taps', false);
        const seen: string[] = [];
        const present: { name: string; kind: 'address' | 'view'; remove: () => void }[] = [];
        let made = 0;
        let seq = 0;
        for (const { op, k } of steps) {
          if (op === 'address' || op === 'view') {
            const name = `${op}${made++}`;
            const remove =
              op === 'address'
                ? wire.tapAddress((_a, length, from) => seen.push(`${name}:${length}:${from}`))
                : wire.tap((f, from) => seen.push(`${name}:${f.length}:${from}`));
            present.push({ name, kind: op, remove });
          } else if (op === 'remove') {
            if (present.length === 0) continue;
            const [t] = present.splice(k % present.length, 1);
            t!.remove();
          } else {
            seen.length = 0;
            const length = 60 + seq++;
            wire.inject(makeFrame(seq, length));
            const want = [
              ...present.filter((t) => t.kind === 'address'),
              ...present.filter((t) => t.kind === 'view'),
            ].map((t) => `${t.name}:${length}:${OUTSIDE}`);
            assert.deepEqual(seen, want);
          }
        }
        wire.close();
      }),
    );
  });

  it('with auto-drain the frames are delivered as kernel deferred work (a DPC)', () => {
    const wire = new Wire('w');
    const a = new Recorder();
    wire.attach(a);
    wire.inject(makeFrame(1, 60));
    assert.equal(a.frames.length, 0);
    drainDeferredWork();
    assert.equal(a.frames.length, 1);
    wire.close();
  });
  it('reachesNoPort (a count of attached ports) answers what a search of the ports answers, through any attach and detach (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -2, max: 8 })), { maxLength: 30 }), (steps) => {
        const wire = new Wire('count', false);
        const live: boolean[] = [];
        for (const [attach, id] of steps) {
          if (attach) live.push(wire.attach(new Recorder()) >= 0);
          else {
            wire.detach(id);
            if (id >= 0 && id < live.length) live[id] = false;
          }
          for (let from = -2; from <= live.length + 1; from++) {
            const searched = live.every((on, p) => p === from || !on);
            assert.equal(wire.reachesNoPort(from), searched, `from ${from}`);
          }
        }
        wire.close();
        assert.equal(wire.reachesNoPort(0), true);
      }),
    );
  });
});
