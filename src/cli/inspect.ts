/**
 * `wdknet inspect`: decodes each packet of a capture with the packet layer's decoder, one line each (as tcpdump
 * prints them), as a tree (`-v`), or as one JSON object per packet (`--json`).
 */
import { openCapture } from '../capture/reader.js';
import { decodeFrame } from '../packet/decode.js';
import { decodeToJson, describeInfo } from '../packet/describe.js';
import { PacketInfo } from '../packet/packet-info.js';

/** Options of {@link inspectCapture}. */
export interface InspectOptions {
  verbose?: boolean;
  json?: boolean;
  count?: number;
}

function time(seconds: number, nanoseconds: number): string {
  const hms = new Date(seconds * 1000).toISOString().slice(11, 19);
  return `${hms}.${String(Math.floor(nanoseconds / 1000)).padStart(6, '0')}`;
}

/** The decoded layers as an indented tree of `name: value` lines. */
function tree(value: unknown, indent: string, out: string[]): void {
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out.push(`${indent}${key}:`);
      tree(v, `${indent}  `, out);
    } else out.push(`${indent}${key}: ${Array.isArray(v) ? JSON.stringify(v) : String(v)}`);
  }
}

/**
 * Prints every packet of `path` through `print`. Returns the exit status (0). A malformed capture throws
 * CaptureFormatError after the packets before it were printed.
 */
export function inspectCapture(path: string, options: InspectOptions, print: (line: string) => void): number {
  const reader = openCapture(path);
  const info = new PacketInfo();
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      if (options.count !== undefined && r.number > options.count) break;
      if (options.json || options.verbose) {
        const decoded = decodeToJson(r.linkType, r.data, r.offset, r.caplen);
        if (options.json) {
          print(JSON.stringify({ number: r.number, seconds: r.seconds, nanoseconds: r.nanoseconds, ...decoded }));
        } else {
          const lines = [`#${r.number} ${time(r.seconds, r.nanoseconds)}`];
          tree(decoded, '  ', lines);
          print(lines.join('\n'));
        }
        continue;
      }
      decodeFrame(r.linkType, r.data, r.offset, r.caplen, info, r.origlen);
      print(`${time(r.seconds, r.nanoseconds)} ${describeInfo(r.data, info, r.caplen)}`);
    }
  } finally {
    reader.close();
  }
  return 0;
}
