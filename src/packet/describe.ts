/**
 * Human-readable views of a decoded frame for `wdknet inspect`: a one-line summary in the style of tcpdump, and
 * a JSON tree with one object per layer. Truncated or malformed layers are reported, never thrown.
 */
import { formatIpv4, formatIpv6, formatMac } from './address.js';
import { read32 } from './checksum.js';
import { ipv4ChecksumStatus, transportChecksumStatus } from './checksum-status.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from './constants.js';
import { decodeFrame } from './decode.js';
import { LAYER_NAMES, Layer, PacketInfo, PROBLEM_TEXT, Problem } from './packet-info.js';

const CHECKSUM_TEXT = ['bad', 'good', 'unverified', 'none'] as const;

function ipText(bytes: Uint8Array, info: PacketInfo, which: 'src' | 'dst'): string {
  if (info.ipVersion === 4) return formatIpv4(which === 'src' ? info.ipSrc : info.ipDst);
  return formatIpv6(bytes, which === 'src' ? info.ipSrcOffset : info.ipDstOffset);
}

/** tcpdump's notation for TCP flags: `[S.]`, `[P.]`, `[F.]`, `[R]`, `[.]`. */
export function tcpFlagsText(flags: number): string {
  let s = '';
  if (flags & TCP_FIN) s += 'F';
  if (flags & TCP_SYN) s += 'S';
  if (flags & TCP_RST) s += 'R';
  if (flags & TCP_PSH) s += 'P';
  if (flags & TCP_URG) s += 'U';
  if (flags & TCP_ECE) s += 'E';
  if (flags & TCP_CWR) s += 'W';
  if (flags & TCP_ACK) s += '.';
  return s === '' ? 'none' : s;
}

/**
 * The TCP options of a decoded segment in tcpdump's words, in the order they appear (`mss 1460,sackOK,TS val 1
 * ecr 0,nop,wscale 7`); a malformed option ends the list with `bad opt`.
 */
export function tcpOptionsText(bytes: Uint8Array, info: PacketInfo): string {
  if (!info.has(Layer.Tcp) || info.l4HeaderLength <= 20) return '';
  const out: string[] = [];
  let p = info.l4Offset + 20;
  const end = Math.min(info.l4Offset + info.l4HeaderLength, info.frameEnd);
  while (p < end) {
    const kind = bytes[p]!;
    if (kind === 0) {
      out.push('eol');
      break;
    }
    if (kind === 1) {
      out.push('nop');
      p++;
      continue;
    }
    const len = p + 1 < end ? bytes[p + 1]! : 0;
    if (len < 2 || p + len > end) {
      out.push('bad opt');
      break;
    }
    const v = p + 2;
    if (kind === 2 && len === 4) out.push(`mss ${(bytes[v]! << 8) | bytes[v + 1]!}`);
    else if (kind === 3 && len === 3) out.push(`wscale ${bytes[v]}`);
    else if (kind === 4 && len === 2) out.push('sackOK');
    else if (kind === 5 && (len - 2) % 8 === 0) {
      const blocks: string[] = [];
      for (let b = v; b < p + len; b += 8) blocks.push(`{${read32(bytes, b)}:${read32(bytes, b + 4)}}`);
      out.push(`sack ${(len - 2) / 8} ${blocks.join('')}`);
    } else if (kind === 8 && len === 10) out.push(`TS val ${read32(bytes, v)} ecr ${read32(bytes, v + 4)}`);
    else out.push(`unknown-${kind}`);
    p += len;
  }
  return out.join(',');
}

function problemSuffix(info: PacketInfo): string {
  if (info.problem === Problem.None) return '';
  return ` [${LAYER_NAMES[info.problemLayer]} ${PROBLEM_TEXT[info.problem]}]`;
}

/** One line describing the frame, like tcpdump's default output (without the timestamp). */
export function describeFrame(linkType: number, bytes: Uint8Array, offset: number, length: number): string {
  const info = decodeFrame(linkType, bytes, offset, length, new PacketInfo());
  return describeInfo(bytes, info, length);
}

/** One line for an already-decoded frame. */
export function describeInfo(bytes: Uint8Array, info: PacketInfo, length: number): string {
  const vlan =
    info.vlanCount > 0 ? `vlan ${info.vlanTci0 & 0xfff}${info.vlanCount > 1 ? `/${info.vlanTci1 & 0xfff}` : ''}, ` : '';
  let line: string;
  if (info.has(Layer.Arp)) {
    const ipv4 = info.arpProtocolLength === 4 && info.arpSpaOffset >= 0;
    const spa = ipv4 ? formatIpv4(read32(bytes, info.arpSpaOffset)) : '?';
    const tpa = ipv4 ? formatIpv4(read32(bytes, info.arpTpaOffset)) : '?';
    if (info.arpOp === 1) line = `ARP, Request who-has ${tpa} tell ${spa}, length ${length}`;
    else if (info.arpOp === 2) {
      const sha = info.arpHardwareLength === 6 ? formatMac(bytes, info.arpShaOffset) : '?';
      line = `ARP, Reply ${spa} is-at ${sha}, length ${length}`;
    } else line = `ARP, op ${info.arpOp}, length ${length}`;
  } else if (info.ipVersion !== 0) {
    const proto = info.ipVersion === 4 ? 'IP' : 'IP6';
    const src = ipText(bytes, info, 'src');
    const dst = ipText(bytes, info, 'dst');
    const l4len = info.payloadLength;
    if (info.has(Layer.Tcp)) {
      let s = `${proto} ${src}.${info.srcPort} > ${dst}.${info.dstPort}: Flags [${tcpFlagsText(info.tcpFlags)}]`;
      if (l4len > 0) s += `, seq ${info.tcpSeq}:${(info.tcpSeq + l4len) >>> 0}`;
      else if (info.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST)) s += `, seq ${info.tcpSeq}`;
      if (info.tcpFlags & TCP_ACK) s += `, ack ${info.tcpAck}`;
      s += `, win ${info.tcpWindow}`;
      const opts = tcpOptionsText(bytes, info);
      if (opts !== '') s += `, options [${opts}]`;
      line = `${s}, length ${l4len}`;
    } else if (info.has(Layer.Udp)) {
      line = `${proto} ${src}.${info.srcPort} > ${dst}.${info.dstPort}: UDP, length ${l4len}`;
    } else if (info.has(Layer.Icmp) || info.has(Layer.Icmpv6)) {
      const kind = info.has(Layer.Icmp) ? 'ICMP' : 'ICMP6';
      const echo =
        info.icmpType === 8 || info.icmpType === 128
          ? 'echo request'
          : info.icmpType === 0 || info.icmpType === 129
            ? 'echo reply'
            : `type ${info.icmpType}, code ${info.icmpCode}`;
      const ids = info.icmpId >= 0 ? `, id ${info.icmpId}, seq ${info.icmpSeq}` : '';
      line = `${proto} ${src} > ${dst}: ${kind} ${echo}${ids}, length ${info.payloadLength + info.l4HeaderLength}`;
    } else {
      const frag = info.ipIsFragment ? ` (frag ${info.ipId}:${info.ipFragmentOffset})` : '';
      line = `${proto} ${src} > ${dst}: ip-proto-${info.ipProtocol}${frag}, length ${info.ipTotalLength - info.ipHeaderLength}`;
    }
  } else if (info.has(Layer.Llc)) {
    line = `802.3, LLC dsap 0x${info.llcDsap.toString(16)} ssap 0x${info.llcSsap.toString(16)}, length ${length}`;
  } else if (info.has(Layer.Link) && info.ethSrcOffset >= 0) {
    line = `ethertype 0x${info.etherType.toString(16).padStart(4, '0')}, length ${length}`;
  } else {
    line = `link type ${info.linkType}, length ${length}`;
  }
  return `${vlan}${line}${problemSuffix(info)}`;
}

/** A JSON-ready tree of the decoded layers of a frame. */
export function decodeToJson(
  linkType: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
): Record<string, unknown> {
  const info = decodeFrame(linkType, bytes, offset, length, new PacketInfo());
  const tree: Record<string, unknown> = { linkType, length };
  if (info.ethSrcOffset >= 0) {
    tree['ethernet'] = {
      dst: formatMac(bytes, info.ethDstOffset),
      src: formatMac(bytes, info.ethSrcOffset),
      ...(info.ethLength >= 0 ? { length: info.ethLength } : { type: info.etherType }),
    };
  }
  if (info.sllPacketType >= 0) tree['cooked'] = { packetType: info.sllPacketType, protocol: info.etherType };
  if (info.loopbackFamily >= 0) tree['loopback'] = { family: info.loopbackFamily };
  if (info.vlanCount > 0) {
    const tags = [info.vlanTci0, info.vlanTci1].slice(0, Math.min(2, info.vlanCount));
    tree['vlan'] = tags.map((tci) => ({ id: tci & 0xfff, priority: tci >>> 13, dei: (tci >>> 12) & 1 }));
  }
  if (info.has(Layer.Llc)) {
    tree['llc'] = {
      dsap: info.llcDsap,
      ssap: info.llcSsap,
      control: info.llcControl,
      ...(info.snapOui >= 0 ? { snapOui: info.snapOui, snapPid: info.etherType } : {}),
    };
  }
  if (info.has(Layer.Arp)) {
    tree['arp'] = {
      op: info.arpOp,
      hardwareType: info.arpHardwareType,
      protocolType: info.arpProtocolType,
      ...(info.arpSpaOffset >= 0 && info.arpProtocolLength === 4 && info.arpHardwareLength === 6
        ? {
            senderMac: formatMac(bytes, info.arpShaOffset),
            senderIp: formatIpv4(read32(bytes, info.arpSpaOffset)),
            targetMac: formatMac(bytes, info.arpThaOffset),
            targetIp: formatIpv4(read32(bytes, info.arpTpaOffset)),
          }
        : {}),
    };
  }
  if (info.ipVersion === 4) {
    tree['ipv4'] = {
      src: formatIpv4(info.ipSrc),
      dst: formatIpv4(info.ipDst),
      headerLength: info.ipHeaderLength,
      totalLength: info.ipTotalLength,
      tos: info.ipTos,
      id: info.ipId,
      flags: info.ipFlags,
      fragmentOffset: info.ipFragmentOffset,
      ttl: info.ipTtl,
      protocol: info.ipProtocol,
      checksum: info.ipChecksum,
      checksumStatus: CHECKSUM_TEXT[ipv4ChecksumStatus(bytes, info)],
      options: info.ipOptionCount,
    };
  } else if (info.ipVersion === 6) {
    tree['ipv6'] = {
      src: formatIpv6(bytes, info.ipSrcOffset),
      dst: formatIpv6(bytes, info.ipDstOffset),
      trafficClass: info.ipTos,
      flowLabel: info.ip6FlowLabel,
      payloadLength: info.ipTotalLength - 40,
      nextHeader: info.ip6NextHeader,
      hopLimit: info.ipTtl,
      extensionHeaders: info.ip6ExtensionCount,
      protocol: info.ipProtocol,
      ...(info.ipIsFragment ? { fragmentOffset: info.ipFragmentOffset, fragmentId: info.ipId } : {}),
      ...(info.ip6RoutingType >= 0 ? { routingType: info.ip6RoutingType, segmentsLeft: info.ip6SegmentsLeft } : {}),
    };
  }
  const l4Status = CHECKSUM_TEXT[transportChecksumStatus(bytes, info)];
  if (info.has(Layer.Tcp)) {
    tree['tcp'] = {
      srcPort: info.srcPort,
      dstPort: info.dstPort,
      seq: info.tcpSeq,
      ack: info.tcpAck,
      headerLength: info.l4HeaderLength,
      flags: tcpFlagsText(info.tcpFlags),
      window: info.tcpWindow,
      checksum: info.l4Checksum,
      checksumStatus: l4Status,
      urgent: info.tcpUrgent,
      options: {
        ...(info.tcpMss >= 0 ? { mss: info.tcpMss } : {}),
        ...(info.tcpWindowScale >= 0 ? { windowScale: info.tcpWindowScale } : {}),
        ...(info.tcpSackPermitted ? { sackPermitted: true } : {}),
        ...(info.tcpSackBlocks > 0 ? { sackBlocks: info.tcpSackBlocks } : {}),
        ...(info.tcpHasTimestamp ? { tsVal: info.tcpTsVal, tsEcr: info.tcpTsEcr } : {}),
      },
    };
  } else if (info.has(Layer.Udp)) {
    tree['udp'] = {
      srcPort: info.srcPort,
      dstPort: info.dstPort,
      length: info.udpLength,
      checksum: info.l4Checksum,
      checksumStatus: l4Status,
    };
  } else if (info.has(Layer.Icmp) || info.has(Layer.Icmpv6)) {
    tree[info.has(Layer.Icmp) ? 'icmp' : 'icmpv6'] = {
      type: info.icmpType,
      code: info.icmpCode,
      checksum: info.l4Checksum,
      checksumStatus: l4Status,
      ...(info.icmpId >= 0 ? { id: info.icmpId, seq: info.icmpSeq } : {}),
    };
  }
  if (info.payloadOffset >= 0) tree['payloadLength'] = info.payloadLength;
  if (info.problem !== Problem.None) {
    tree['problem'] = { layer: LAYER_NAMES[info.problemLayer], problem: PROBLEM_TEXT[info.problem] };
  }
  return tree;
}
