/**
 * `--trace file` (issue 5, "The command line and the main job"): each NBL's life - allocated, filtered,
 * classified at each layer, injected, completed, freed - in the Chrome trace-event format Perfetto opens. Run
 * through the CLI with the example drivers loaded, so every stage occurs; also the progress bar of long runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'wdknet-trace-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface TraceEvent {
  name: string;
  ph: string;
  tid: number;
  ts: number;
  args: { how?: string; detail?: string };
}

describe('--trace: every stage of an NBL life', () => {
  it('with the examples loaded: lives begin where the NDIS filter first sees a receive, or at allocation / injection, and end at returned / freed / completed; filter passages both ways, hook, WFP layers (by FWPS_LAYER_ name, DISCARD layers included), absorb, send and drop in between', () => {
    const path = join(tmp, 'examples.json');
    const r = cli(['run', '--no-progress', '--trace', path]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const events = (JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    // One life per track at a time: pair each B with the next E on its track.
    const open = new Map<number, string>();
    const lives = new Map<string, number>();
    const between = new Set<string>();
    const filtered = new Map<string, number>();
    /** Per open life: has the host received it yet? A filter passes a receive up before the host has it. */
    const hostHas = new Map<number, boolean>();
    let clock = 0;
    for (const e of events) {
      if (e.ph === 'M') continue;
      assert.ok(e.ts >= clock, 'timestamps never go back');
      clock = e.ts;
      if (e.ph === 'B') {
        assert.equal(open.has(e.tid), false, `NBL ${e.tid} is not already alive`);
        open.set(e.tid, e.args.how!);
        hostHas.set(e.tid, e.args.how !== 'filtered');
      } else if (e.ph === 'E') {
        const how = open.get(e.tid);
        assert.ok(how !== undefined, `NBL ${e.tid} ends after it began`);
        open.delete(e.tid);
        lives.set(`${how}->${e.args.how}`, (lives.get(`${how}->${e.args.how}`) ?? 0) + 1);
      } else {
        assert.ok(open.has(e.tid), `'${e.name}' happens to a live NBL`);
        between.add(e.name.replace(/:.*$/, ''));
        if (e.name === 'filtered') {
          filtered.set(e.args.detail!, (filtered.get(e.args.detail!) ?? 0) + 1);
          assert.equal(
            hostHas.get(e.tid),
            !e.args.detail!.endsWith(' receive'),
            'receives before the host, sends after',
          );
        }
        if (e.name === 'received') hostHas.set(e.tid, true);
        if (e.name.startsWith('classify ')) assert.match(e.name, /^classify FWPS_LAYER_[A-Z0-9_]+$/);
      }
    }
    assert.equal(open.size, 0, 'every life ended');
    // Frames the NICs indicated (first seen by the counting filter) go back to them; the host's own lists and
    // callout injections are freed / completed; no life is left open.
    assert.deepEqual([...lives.keys()].sort(), ['allocated->freed', 'filtered->returned', 'injected->completed']);
    // The counting filter (an NDIS lightweight filter) sees every frame in and every frame out.
    assert.equal(filtered.get('wdknet counting filter receive'), lives.get('filtered->returned'));
    assert.ok((filtered.get('wdknet counting filter send') ?? 0) > 0);
    for (const stage of ['received', 'firewall-hook', 'absorbed', 'sent', 'send-complete', 'delivered', 'dropped']) {
      assert.ok(between.has(stage), `a '${stage}' event`);
    }
    const layers = new Set(events.filter((e) => e.name.startsWith('classify ')).map((e) => e.name.slice(9)));
    for (const layer of [
      'FWPS_LAYER_INBOUND_IPPACKET_V4',
      'FWPS_LAYER_OUTBOUND_IPPACKET_V4',
      'FWPS_LAYER_IPFORWARD_V4',
      'FWPS_LAYER_IPFORWARD_V6',
      'FWPS_LAYER_INBOUND_TRANSPORT_V6',
      'FWPS_LAYER_DATAGRAM_DATA_V6',
      'FWPS_LAYER_OUTBOUND_ICMP_ERROR_V4',
      'FWPS_LAYER_IPFORWARD_V4_DISCARD',
      'FWPS_LAYER_INBOUND_TRANSPORT_V4_DISCARD',
    ]) {
      assert.ok(layers.has(layer), `classified at ${layer}`);
    }
  });
});

describe('--trace: lives the host ends itself', () => {
  it('a bare host ends every life it begins (received -> returned, allocated -> freed): none is left for the end of the trace', () => {
    const path = join(tmp, 'bare.json');
    const r = cli(['run', '--no-progress', '--no-examples', '--trace', path]);
    assert.equal(r.status, 0, r.stderr);
    const events = (JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    const begins = events.filter((e) => e.ph === 'B');
    const ends = events.filter((e) => e.ph === 'E');
    assert.equal(begins.length, ends.length);
    assert.deepEqual([...new Set(begins.map((e) => e.args.how))].sort(), ['allocated', 'received']);
    assert.deepEqual([...new Set(ends.map((e) => e.args.how))].sort(), ['freed', 'returned']);
  });
});

describe('progress bar', () => {
  it('--progress draws the bar on stderr even when it is not a terminal, up to 100%; --no-progress and --json draw none', () => {
    const bar = cli(['run', '--progress', '--no-examples']);
    assert.equal(bar.status, 0, bar.stderr);
    assert.match(bar.stderr, /playing \[[^\]]*\] 100% \| (\d+)\/\1 bytes/);
    const none = cli(['run', '--no-progress', '--no-examples']);
    assert.equal(none.status, 0, none.stderr);
    assert.doesNotMatch(none.stderr, /playing/);
    const json = cli(['run', '--json', '--no-examples']);
    assert.doesNotMatch(json.stderr, /playing/, 'a pipe without --progress gets no bar');
  });
});
