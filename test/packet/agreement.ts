/** Compares wdknet's decode of each frame of a capture with tshark's dissection of the same frames. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readCapture } from '../../src/capture/index.js';
import {
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  decodeFrame,
  formatIpv4,
  formatIpv6,
  formatMac,
  ipv4ChecksumStatus,
  Layer,
  PacketInfo,
  read16,
  transportChecksumStatus,
} from '../../src/packet/index.js';

const run = promisify(execFile);

/** The tshark fields compared, in column order. */
export const FIELDS = [
  'eth.src',
  'eth.dst',
  'eth.type',
  'ieee8021ad.id',
  'vlan.id',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.ttl',
  'ip.len',
  'ip.checksum.status',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
] as const;

type Field = (typeof FIELDS)[number];

/** tshark's values for each frame (first occurrence of each field; '' when absent). */
export async function tsharkFields(path: string): Promise<Record<Field, string>[]> {
  const args = ['-r', path, '-n', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f'];
  for (const o of ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE']) args.push('-o', o);
  for (const f of FIELDS) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 1 << 26 });
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const cols = line.split('|');
      const row = {} as Record<Field, string>;
      FIELDS.forEach((f, i) => {
        row[f] = cols[i] ?? '';
      });
      return row;
    });
}

/** wdknet's values for the same fields ('' where wdknet did not decode the layer). */
export function ourFields(
  linkType: number,
  data: Uint8Array,
  origlen: number,
  info: PacketInfo,
): Partial<Record<Field, string>> {
  decodeFrame(linkType, data, 0, data.length, info, origlen);
  const out: Partial<Record<Field, string>> = {};
  if (info.ethSrcOffset >= 0) {
    out['eth.src'] = formatMac(data, info.ethSrcOffset);
    out['eth.dst'] = formatMac(data, info.ethDstOffset);
    if (info.ethLength < 0)
      out['eth.type'] = `0x${read16(data, info.ethSrcOffset + 6)
        .toString(16)
        .padStart(4, '0')}`;
  }
  if (info.vlanCount > 0) {
    if (info.vlanTpid0 === 0x88a8) {
      out['ieee8021ad.id'] = String(info.vlanTci0 & 0xfff);
      if (info.vlanCount > 1) out['vlan.id'] = String(info.vlanTci1 & 0xfff);
    } else out['vlan.id'] = String(info.vlanTci0 & 0xfff);
  }
  if (info.ipVersion === 4) {
    out['ip.src'] = formatIpv4(info.ipSrc);
    out['ip.dst'] = formatIpv4(info.ipDst);
    out['ip.proto'] = String(info.ipProtocol);
    out['ip.ttl'] = String(info.ipTtl);
    out['ip.len'] = String(info.ipTotalLength);
    const s = ipv4ChecksumStatus(data, info);
    if (s === CHECKSUM_GOOD || s === CHECKSUM_BAD) out['ip.checksum.status'] = String(s);
  } else if (info.ipVersion === 6) {
    out['ipv6.src'] = formatIpv6(data, info.ipSrcOffset);
    out['ipv6.dst'] = formatIpv6(data, info.ipDstOffset);
    out['ipv6.nxt'] = String(info.ip6NextHeader);
  }
  if (info.has(Layer.Tcp)) {
    out['tcp.srcport'] = String(info.srcPort);
    out['tcp.dstport'] = String(info.dstPort);
    out['tcp.seq_raw'] = String(info.tcpSeq);
    out['tcp.ack_raw'] = String(info.tcpAck);
    out['tcp.flags'] = String(info.tcpFlags);
    const s = transportChecksumStatus(data, info);
    if (s === CHECKSUM_GOOD || s === CHECKSUM_BAD) out['tcp.checksum.status'] = String(s);
  } else if (info.has(Layer.Udp)) {
    out['udp.srcport'] = String(info.srcPort);
    out['udp.dstport'] = String(info.dstPort);
    out['udp.length'] = String(info.udpLength);
  } else if (info.has(Layer.Icmp)) {
    out['icmp.type'] = String(info.icmpType);
    out['icmp.code'] = String(info.icmpCode);
  } else if (info.has(Layer.Icmpv6)) {
    out['icmpv6.type'] = String(info.icmpType);
    out['icmpv6.code'] = String(info.icmpCode);
  }
  return out;
}

function normalise(field: Field, value: string): string {
  if (field === 'tcp.flags') return value === '' ? '' : String(Number(value) & 0x1ff);
  return value;
}

/** Result of comparing one capture. */
export interface Agreement {
  /** Field values compared and equal. */
  agreed: number;
  /** Disagreements, as text. */
  disagreements: string[];
}

/** Compares every frame of `path`. */
export async function compareWithTshark(path: string): Promise<Agreement> {
  const { packets } = readCapture(path);
  const theirs = await tsharkFields(path);
  const info = new PacketInfo();
  const result: Agreement = { agreed: 0, disagreements: [] };
  if (theirs.length !== packets.length) {
    result.disagreements.push(`frame count ${packets.length} vs tshark ${theirs.length}`);
    return result;
  }
  packets.forEach((p, i) => {
    const ours = ourFields(p.linkType, p.data, p.origlen, info);
    const row = theirs[i]!;
    for (const [field, value] of Object.entries(ours) as [Field, string][]) {
      const t = normalise(field, row[field]);
      // tshark leaves a checksum status empty when it does not check it (e.g. TSO frames): nothing to compare.
      if (field.endsWith('checksum.status') && t !== '0' && t !== '1') continue;
      if (t === value) result.agreed++;
      else result.disagreements.push(`frame ${i + 1} ${field}: wdknet ${value}, tshark ${t}`);
    }
  });
  return result;
}
