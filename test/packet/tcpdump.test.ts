/**
 * describeFrame prints what tcpdump prints (`tcpdump -nn -S -t`) for the frames whose line is the network and
 * transport summary alone: TCP segments (flags, seq or seq range, ack, window, every option in order), UDP
 * datagrams and ICMP echo messages. Lines where tcpdump goes on to decode an application protocol are not compared.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readCapture } from '../../src/capture/index.js';
import { resetSystem } from '../../src/kernel/system.js';
import { decodeFrame, describeInfo, PacketInfo } from '../../src/packet/index.js';

const run = promisify(execFile);
beforeEach(() => resetSystem());

const FILES = [
  'tcp_rst_diag_payload.pcap',
  'ipv4_tcp_http_xml_tso.pcap',
  'dns_tcp.pcap',
  'bgp-4byte-asn.pcap',
  'bgp-bgpsec.pcap',
  'bgp-lu-multiple-labels.pcap',
  'icmp-length-zero.pcapng',
];

describe('describe agrees with tcpdump', () => {
  it('TCP, UDP and ICMP echo summary lines are printed as tcpdump prints them', async () => {
    let compared = 0;
    const wrong: string[] = [];
    const info = new PacketInfo();
    for (const f of FILES) {
      const path = `/work/shared/captures/tcpdump/${f}`;
      const { stdout } = await run('tcpdump', ['-nn', '-S', '-t', '-r', path], { maxBuffer: 1 << 24 });
      const lines = stdout.split('\n').filter((l) => l.length > 0);
      const { packets } = readCapture(path);
      assert.equal(lines.length, packets.length, `${f}: one tcpdump line per packet`);
      packets.forEach((p, i) => {
        const theirs = lines[i]!;
        const tcp = /Flags \[[^\]]*\].* length \d+$/.test(theirs);
        const udp = /: UDP, length \d+$/.test(theirs);
        const echo = /ICMP echo (request|reply), id \d+, seq \d+, length \d+$/.test(theirs);
        if (!tcp && !echo && !udp) return;
        decodeFrame(p.linkType, p.data, 0, p.data.length, info, p.origlen);
        const ours = describeInfo(p.data, info, p.origlen);
        compared++;
        if (ours !== theirs) wrong.push(`${f} frame ${i + 1}:\n  wdknet  ${ours}\n  tcpdump ${theirs}`);
      });
    }
    assert.deepEqual(wrong, []);
    assert.ok(compared >= 20, `only ${compared} lines compared`);
  });
});
