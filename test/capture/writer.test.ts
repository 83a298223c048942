import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { CaptureWriter, LINKTYPE_RAW, openCapture, PcapngReader, PcapReader, readCapture } from '../../src/index.js';
import { resetSystem } from '../../src/kernel/system.js';
import { tsharkFrames } from './tshark.js';

beforeEach(() => resetSystem());

describe('CaptureWriter (idiomatic API)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wdknet-writer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['pcap', 'pcapng'] as const) {
    for (const nanoseconds of [false, true]) {
      it(`${format} ${nanoseconds ? 'ns' : 'us'}: frames written are read back by wdknet and by tshark`, async () => {
        const path = join(dir, `out-${format}-${nanoseconds}.${format}`);
        const w = CaptureWriter.create(path, { format, nanoseconds, linkType: LINKTYPE_RAW, interfaceName: 'wan0' });
        const frames = [Uint8Array.of(0x45, 0, 0, 20), new Uint8Array(1500).fill(7), new Uint8Array(0)];
        frames.forEach((f, i) => {
          w.write(f, { seconds: 1_700_000_000 + i, nanoseconds: 123_456_789, origlen: f.length + i });
        });
        assert.equal(w.packetsWritten, 3);
        w.close();
        const reader = openCapture(path);
        assert.ok(format === 'pcap' ? reader instanceof PcapReader : reader instanceof PcapngReader);
        reader.close();
        const { packets, error } = readCapture(path);
        assert.equal(error, null);
        assert.deepEqual(
          packets.map((p) => [p.data, p.origlen, p.seconds, p.nanoseconds, p.linkType]),
          frames.map((f, i) => [f, f.length + i, 1_700_000_000 + i, nanoseconds ? 123_456_789 : 123_456_000, 101]),
        );
        const theirs = await tsharkFrames(path);
        assert.deepEqual(
          theirs.map((t) => [t.capLen, t.len, t.timeEpoch]),
          frames.map((f, i) => [
            f.length,
            f.length + i,
            `${1_700_000_000 + i}.${nanoseconds ? '123456789' : '123456000'}`,
          ]),
        );
      });
    }
  }
});
