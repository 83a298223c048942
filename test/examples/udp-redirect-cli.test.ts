/**
 * udp-redirect configured from the command line: `wdknet run capture --driver examples/udp-redirect.ts
 * --param udp-redirect:Name=value ...` in a child process. The values land in the driver's Parameters registry
 * key before DriverEntry, which reads them with ZwOpenKey / ZwQueryValueKey.
 *
 * The capture (router in the middle, the host at 198.18.0.1): 8.8.8.8 talks to the host's DNS-like sink, so
 * the host learns its MAC; then 10.0.0.9:4000 sends a datagram to the host's port 9, where nobody listens.
 * Configured to redirect 8.8.8.8:53 to 10.0.0.9:4000, the driver takes that datagram as a reply from the real
 * server and rewrites its source to 8.8.8.8:53, so the host's ICMP port unreachable - the frame in the output
 * capture - goes to 8.8.8.8 and quotes 8.8.8.8:53. Without the parameters it goes to 10.0.0.9.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ipv4ChecksumOk } from '../../examples/lib/inet.js';
import { frame } from '../stack/frames.js';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'wdknet-redirect-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const capture = join(tmp, 'redirect.pcap');

const HOST_MAC = 0x02_57_44_4b_00_01;
const GOOGLE_MAC = 0x02_00_00_00_00_08;
const SERVER_MAC = 0x02_00_00_00_00_09;

const REDIRECT = [
  'udp-redirect:FromAddress=8.8.8.8',
  'udp-redirect:FromPort=dword:53',
  'udp-redirect:ToAddress=10.0.0.9',
  'udp-redirect:ToPort=dword:4000',
];

/** A classic pcap (microsecond timestamps, Ethernet) of `frames`. */
function writePcap(path: string, frames: Uint8Array[]): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const parts = [header];
  frames.forEach((f, i) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1_700_000_000 + i, 0);
    record.writeUInt32LE(f.length, 8);
    record.writeUInt32LE(f.length, 12);
    parts.push(record, Buffer.from(f));
  });
  writeFileSync(path, Buffer.concat(parts));
}

function readPcap(path: string): Uint8Array[] {
  const b = new Uint8Array(readFileSync(path));
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const frames: Uint8Array[] = [];
  for (let at = 24; at + 16 <= b.length; ) {
    const length = v.getUint32(at + 8, true);
    frames.push(b.slice(at + 16, at + 16 + length));
    at += 16 + length;
  }
  return frames;
}

function wdknet(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function run(name: string, params: string[]) {
  const out = join(tmp, `${name}.pcap`);
  const args = ['run', capture, '--no-progress', '--driver', 'examples/udp-redirect.ts', '--out', out];
  for (const p of params) args.push('--param', p);
  const r = wdknet([...args, '--json']);
  assert.ok(r.stdout.trim().startsWith('{'), `JSON report expected, got: ${r.stdout}${r.stderr}`);
  return { ...r, summary: JSON.parse(r.stdout), frames: readPcap(out) };
}

const dotted = (f: Uint8Array, at: number) => [...f.subarray(at, at + 4)].join('.');
const port = (f: Uint8Array, at: number) => (f[at]! << 8) | f[at + 1]!;
const mac = (f: Uint8Array) => Buffer.from(f.subarray(0, 6)).toString('hex');

/** The ICMP error's addressee and the datagram it quotes (Ethernet 14 + IP 20 + ICMP 8, then the quoted IP). */
function icmpError(f: Uint8Array) {
  const quoted = 14 + 20 + 8;
  return {
    protocol: f[14 + 9],
    type: f[34],
    code: f[35],
    to: dotted(f, 30),
    toMac: mac(f),
    quotedSource: dotted(f, quoted + 12),
    quotedSourcePort: port(f, quoted + 20),
    quotedDestinationPort: port(f, quoted + 22),
    ipChecksumOk: ipv4ChecksumOk(f.subarray(14)),
  };
}

describe('example udp-redirect configured with wdknet run --param (registry Parameters key)', () => {
  before(() => {
    const payload = new TextEncoder().encode('answer');
    writePcap(capture, [
      frame({
        protocol: 'udp',
        src: '8.8.8.8',
        dst: '198.18.0.1',
        srcMac: GOOGLE_MAC,
        dstMac: HOST_MAC,
        srcPort: 53,
        dstPort: 53,
        payload,
      }),
      frame({
        protocol: 'udp',
        src: '10.0.0.9',
        dst: '198.18.0.1',
        srcMac: SERVER_MAC,
        dstMac: HOST_MAC,
        srcPort: 4000,
        dstPort: 9,
        payload,
      }),
    ]);
  });

  it('without parameters nothing is redirected: the port unreachable goes back to 10.0.0.9', () => {
    const r = run('baseline', []);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.summary.absorbed, 0);
    assert.equal(r.frames.length, 1);
    const e = icmpError(r.frames[0]!);
    assert.deepEqual([e.protocol, e.type, e.code], [1, 3, 3], 'ICMP port unreachable');
    assert.equal(e.to, '10.0.0.9');
    assert.equal(e.quotedSource, '10.0.0.9');
    assert.equal(e.quotedSourcePort, 4000);
  });

  it('with FromAddress/FromPort/ToAddress/ToPort the reply from 10.0.0.9:4000 is rewritten to come from 8.8.8.8:53', () => {
    const r = run('redirected', REDIRECT);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.summary.bugCheck, null);
    assert.deepEqual(r.summary.leaks, []);
    assert.equal(r.summary.absorbed, 1, 'the driver took the datagram');
    assert.equal(r.summary.injected, 1, 'and put its rewritten clone back');
    assert.equal(r.summary.balance, 0);
    assert.equal(r.frames.length, 1);
    const e = icmpError(r.frames[0]!);
    assert.deepEqual([e.protocol, e.type, e.code], [1, 3, 3]);
    assert.equal(e.to, '8.8.8.8', 'the host answered the source the driver wrote');
    assert.equal(e.toMac, GOOGLE_MAC.toString(16).padStart(12, '0'));
    assert.equal(e.quotedSource, '8.8.8.8');
    assert.equal(e.quotedSourcePort, 53);
    assert.equal(e.quotedDestinationPort, 9);
    assert.ok(e.ipChecksumOk);
  });

  it('the text report lists the parameters with their registry types', () => {
    const r = wdknet(['run', capture, '--no-progress', '--driver', 'examples/udp-redirect.ts', '-p', REDIRECT[1]!]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /parameter udp-redirect\\Parameters\\FromPort = REG_DWORD 53/);
  });

  it('a value of the wrong type fails DriverEntry with the status the driver returned (exit 3)', () => {
    const r = wdknet([
      'run',
      capture,
      '--no-progress',
      '--driver',
      'examples/udp-redirect.ts',
      '--param',
      'udp-redirect:FromPort=53',
    ]);
    assert.equal(r.status, 3);
    assert.match(
      r.stderr,
      /DriverEntry of examples\/udp-redirect\.ts failed with STATUS_OBJECT_TYPE_MISMATCH \(0xC0000024\)/,
    );
  });

  it('a parameter for a driver that is not loaded, or with bad syntax, is a clear error', () => {
    const unknown = wdknet([
      'run',
      capture,
      '--no-progress',
      '--driver',
      'examples/udp-redirect.ts',
      '--param',
      'redirect:ToPort=dword:1',
    ]);
    assert.equal(unknown.status, 3);
    assert.match(unknown.stderr, /no driver "redirect" is loaded \(drivers: udp-redirect\)/);
    const syntax = wdknet(['run', capture, '--no-progress', '--param', 'udp-redirect:ToPort=dword:x']);
    assert.notEqual(syntax.status, 0);
    assert.match(syntax.stderr, /--param .*"x" is not a number/s);
  });
});
