/**
 * End to end through the command line: `node --import tsx src/cli/main.ts ...` in a child process, as a user
 * runs it. Conservation, pools at zero, tshark agreeing with wdknet's decode of what the host wrote, on the
 * project's sample and on real captures from the tcpdump test suite (read in place, never copied).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunSummary } from '../../src/cli/run.js';

const root = new URL('../../', import.meta.url).pathname;
const captures = join(root, '..', 'shared', 'captures', 'tcpdump');
const tmp = mkdtempSync(join(tmpdir(), 'wdknet-e2e-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  // The development condition resolves 'wdknet/ddi' (what the example drivers import) to the sources.
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runJson(args: string[]): { status: number | null; summary: RunSummary } {
  const r = cli(['run', '--no-progress', '--json', ...args]);
  assert.ok(r.stdout.trim().startsWith('{'), `JSON report expected, got: ${r.stdout}${r.stderr}`);
  return { status: r.status, summary: JSON.parse(r.stdout) as RunSummary };
}

/** Every frame of the capture is in exactly one place, and every host packet in exactly one bucket. */
function assertConserved(s: RunSummary): void {
  const notAttached = Object.values(s.notAttached).reduce((a, b) => a + b, 0);
  const nicDropped = Object.values(s.nicDropped).reduce((a, b) => a + b, 0);
  assert.equal(s.framesRead, s.received + notAttached + s.cutShort + s.nicFiltered + nicDropped, 'frames');
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  const held = s.held.reduce((a, h) => a + h.count, 0);
  assert.equal(
    s.received + s.injected + s.originated + s.reassembled,
    s.delivered + s.transmitted + dropped + s.absorbed + s.replaced + s.fragmentsMerged + s.fragmented + held,
    'in + injected + originated = delivered + out + dropped + absorbed + replaced + held',
  );
  assert.equal(s.balance, 0);
}

function assertPoolsAtZero(s: RunSummary): void {
  for (const row of s.pool) {
    assert.equal(row.allocs, row.frees, `pool tag '${row.tag}' allocations all freed`);
    assert.equal(row.bytes, 0, `pool tag '${row.tag}' holds no bytes`);
  }
  assert.deepEqual(s.leaks, []);
}

const FIELDS = [
  'frame.cap_len',
  'eth.type',
  'ip.src',
  'ip.dst',
  'ip.ttl',
  'ip.proto',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.hlim',
];
const PORTS = ['tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'icmp.type', 'icmpv6.type'];

/** tshark's reading of each frame: the first (outermost) value of each field. */
function tsharkFields(path: string): Record<string, string>[] {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      path,
      '-o',
      'ip.defragment:FALSE',
      '-o',
      'ipv6.defragment:FALSE',
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-E',
      'occurrence=f',
      ...[...FIELDS, ...PORTS].flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => Object.fromEntries(line.split('\t').map((v, i) => [[...FIELDS, ...PORTS][i]!, v])));
}

/** wdknet's reading of each frame (inspect --json). */
function wdknetFrames(path: string): Record<string, unknown>[] {
  const r = cli(['inspect', '--json', path]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** tshark and wdknet agree on the length, addresses, TTL, protocol and ports of every frame. */
function assertDecodeAgrees(path: string): number {
  const theirs = tsharkFields(path);
  const ours = wdknetFrames(path);
  assert.equal(ours.length, theirs.length, 'same number of frames');
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i]! as Record<string, Record<string, unknown> | undefined> & { length: number };
    const t = theirs[i]!;
    const where = `frame ${i + 1}`;
    assert.equal(String(o.length), t['frame.cap_len'], `${where} captured length`);
    const v4 = o.ipv4;
    const v6 = o.ipv6;
    if (v4 !== undefined) {
      assert.equal(v4.src, t['ip.src'], `${where} source`);
      assert.equal(v4.dst, t['ip.dst'], `${where} destination`);
      assert.equal(String(v4.ttl), t['ip.ttl'], `${where} TTL`);
    } else if (v6 !== undefined) {
      assert.equal(v6.src, t['ipv6.src'], `${where} source`);
      assert.equal(v6.dst, t['ipv6.dst'], `${where} destination`);
      assert.equal(String(v6.hopLimit), t['ipv6.hlim'], `${where} hop limit`);
    }
    if (o.tcp !== undefined) assert.equal(String(o.tcp.srcPort), t['tcp.srcport'], `${where} TCP port`);
    if (o.udp !== undefined) assert.equal(String(o.udp.dstPort), t['udp.dstport'], `${where} UDP port`);
    if (o.icmp !== undefined) assert.equal(String(o.icmp.type), t['icmp.type'], `${where} ICMP type`);
    if (o.icmpv6 !== undefined) assert.equal(String(o.icmpv6.type), t['icmpv6.type'], `${where} ICMPv6 type`);
  }
  return ours.length;
}

describe('wdknet run (end to end)', () => {
  it('plays the sample: every packet accounted for, pools at zero, exit 0; the forwarded, answered and dropped are as scripted', () => {
    const out = join(tmp, 'sample-out.pcapng');
    const { status, summary } = runJson(['-o', out, '--no-examples']);
    assert.equal(status, 0);
    assertConserved(summary);
    assertPoolsAtZero(summary);
    assert.ok(summary.forwarded > 0 && summary.delivered > 0 && summary.originated > 0);
    assert.equal(summary.dropped['TTL / hop limit expired'], 5);
    assert.equal(summary.dropped['no route to destination'], 5);
    assert.equal(summary.dropped['port unreachable'], 10);
    assert.equal(summary.framesWritten, summary.transmitted);
    assert.equal(assertDecodeAgrees(out), summary.transmitted);
  });

  it('npm start: the sample with the example drivers loaded; callouts absorb and reinject, the firewall hook drops telnet, all accounted, nothing leaked', () => {
    const { status, summary } = runJson([]);
    assert.equal(status, 0);
    assert.ok(summary.drivers.length >= 4, `drivers loaded: ${summary.drivers.map((d) => d.name).join(', ')}`);
    assertConserved(summary);
    assert.deepEqual(summary.leaks, []);
    assert.ok(
      summary.absorbed > 0 && summary.injected === summary.absorbed,
      'every absorbed packet came back injected',
    );
    assert.ok((summary.dropped['firewall hook DROP'] ?? 0) > 0, 'telnet dropped by the hook');
    assert.equal(summary.held.length, 0);
  });

  it('the human report shows the conservation line, poolmon columns and no leaks', () => {
    const r = cli(['run', '--no-progress', '--no-examples']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /conservation: in \+ injected \+ originated \(\+ reassembled\) = delivered/);
    assert.match(r.stdout, / Tag {2}Type {6}Allocs {7}Frees {6}Diff {8}Bytes {3}Per Alloc/);
    assert.match(r.stdout, /Leaks: none/);
  });

  for (const name of [
    'tftp',
    'whois',
    'geneve',
    'dns_tcp',
    'icmpv6',
    'bgp-4byte-asn',
    'ipv6-routing-header',
    'dhcp-rfc3004',
    'dns_udp_2',
  ]) {
    it(`real capture ${name}.pcap: conserved, no leaks, and tshark agrees with wdknet on every frame written`, () => {
      const out = join(tmp, `${name}-out.pcap`);
      const { status, summary } = runJson([join(captures, `${name}.pcap`), '-o', out]);
      assert.equal(status, 0);
      assertConserved(summary);
      assertPoolsAtZero(summary);
      assert.equal(assertDecodeAgrees(out), summary.framesWritten);
      // The input too: wdknet reads the real capture as tshark does.
      assertDecodeAgrees(join(captures, `${name}.pcap`));
    });
  }

  it('--hosts 3: the two busiest destinations become peers that answer as those endpoints (here with resets: no TCP 53 sink), all conserved', () => {
    const out = join(tmp, 'hosts-out.pcap');
    const { status, summary } = runJson([join(captures, 'dns_tcp.pcap'), '-o', out, '--hosts', '3']);
    assert.equal(status, 0);
    assert.equal(summary.hosts, 3);
    assertConserved(summary);
    assertPoolsAtZero(summary);
    assert.equal(summary.received, summary.framesRead, 'every frame went to a host');
    assert.equal(summary.dropped['port unreachable'], summary.framesRead);
    assert.equal(assertDecodeAgrees(out), summary.framesWritten);
    const flags = tsharkFields(out);
    assert.equal(flags.length, summary.framesRead, 'one reset per segment, none for a reset');
  });

  it('under fault injection every failure is counted and nothing leaks', () => {
    const { status, summary } = runJson(['--no-examples', '--faults', 'probability=0.2,seed=7']);
    assert.equal(status, 0);
    assertConserved(summary);
    assertPoolsAtZero(summary);
    const failed =
      Object.values(summary.nicDropped).reduce((a, b) => a + b, 0) + (summary.dropped['out of resources'] ?? 0);
    assert.ok(failed > 0, 'some allocations failed');
  });

  it('runs under the full verifier', () => {
    const { status, summary } = runJson(['--no-examples', '--verifier', 'full']);
    assert.equal(status, 0);
    assertConserved(summary);
  });

  it('--trace writes Chrome trace events: every NBL life begins and ends', () => {
    const trace = join(tmp, 'trace.json');
    const r = cli(['run', '--no-progress', '--no-examples', '--trace', trace]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { ph: string; tid: number; name: string }[] };
    const open = new Map<number, number>();
    for (const e of doc.traceEvents) {
      if (e.ph === 'B') open.set(e.tid, (open.get(e.tid) ?? 0) + 1);
      if (e.ph === 'E') open.set(e.tid, (open.get(e.tid) ?? 0) - 1);
    }
    assert.ok(open.size > 600);
    for (const [tid, n] of open) assert.equal(n, 0, `NBL ${tid} begins and ends once`);
    assert.ok(doc.traceEvents.some((e) => e.name.startsWith('dropped: TTL')));
  });

  it('a driver that bug-checks mid-run: the bug check is printed with its code and parameters, exit 2', () => {
    const r = cli(['run', '--no-progress', '--no-examples', '--driver', join(root, 'test/e2e/fixtures/bad-hook.ts')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /BUG CHECK BAD_POOL_CALLER \(0xC2; 0x46, 0x10000008, 0x0, 0x0\)/);
  });

  it('a driver that leaks pool: the leak is listed with its tag, exit 1', () => {
    const r = cli(['run', '--no-progress', '--no-examples', '--driver', join(root, 'test/e2e/fixtures/leaky.ts')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /Leaks: 1 outstanding:\n +pool +'Leak' +100 B/);
    assert.match(r.stdout, / Leak Nonp +1 +0 +1 +100 +100/, 'poolmon shows it too');
  });

  it('a bad capture is a clear error naming the offset and field, exit 3', () => {
    const bad = join(tmp, 'bad.pcap');
    writeFileSync(bad, Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 4, 0, ...new Array(16).fill(0)]));
    const r = cli(['run', '--no-progress', bad]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /bad capture: version_major = 9 at file offset 4/);
    const inv = cli(['inspect', join(captures, '..', 'libpcap', 'pcap-invalid-version-1.pcap')]);
    assert.equal(inv.status, 3);
    assert.match(inv.stderr, /bad capture: .* at file offset \d+/);
  });

  it('inspect prints one line per packet, like tcpdump', () => {
    const r = cli(['inspect', join(root, 'samples', 'router.pcapng'), '-c', '5']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /ARP, Request who-has 10\.0\.1\.1 tell 10\.0\.1\.10, length 42/);
    assert.match(lines[4]!, /IP 10\.0\.1\.10\.40000 > 10\.0\.2\.20\.53: UDP, length 33/);
    const tree = cli(['inspect', '-v', '-c', '1', join(root, 'samples', 'router.pcapng')]);
    assert.match(tree.stdout, /arp:\n +op: 1/);
  });

  for (const name of [
    'LINKTYPE_IPV4',
    'LINKTYPE_RAW_ipv6',
    'babel',
    'RADIUS-RFC5580',
    'icmpv6-RFC2894-RR',
    'babel_rtt',
  ]) {
    it(`inspect decodes ${name}.pcap (raw IP, Linux cooked or loopback) as tshark does`, () => {
      assert.ok(assertDecodeAgrees(join(captures, `${name}.pcap`)) > 0);
    });
  }

  it('--help everywhere', () => {
    for (const args of [['--help'], ['run', '--help'], ['inspect', '--help'], ['poolmon', '--help']]) {
      const r = cli(args);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /Usage: wdknet/);
    }
  });
});
