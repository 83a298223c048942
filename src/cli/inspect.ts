/** `wdknet inspect`: decodes each packet of a capture, one line each, as a tree, or as JSON. */
import { LINKTYPE_ETHERNET } from '../capture/linktype.js';
import { openCapture } from '../capture/reader.js';
import { decodeEthernet, decodeLink, describeLine, describeTree } from './decode.js';

/** Options of {@link inspectCapture}. */
export interface InspectOptions {
  verbose?: boolean;
  json?: boolean;
  count?: number;
}

function time(seconds: number, nanoseconds: number): string {
  const d = new Date(seconds * 1000);
  const hms = d.toISOString().slice(11, 19);
  return `${hms}.${String(Math.floor(nanoseconds / 1000)).padStart(6, '0')}`;
}

/**
 * Prints every packet of `path` through `print`. Returns the exit status (0). A malformed capture throws
 * CaptureFormatError after the packets before it were printed.
 */
export function inspectCapture(path: string, options: InspectOptions, print: (line: string) => void): number {
  const reader = openCapture(path);
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      if (options.count !== undefined && r.number > options.count) break;
      const bytes = r.data.subarray(r.offset, r.offset + r.caplen);
      const s = r.linkType === LINKTYPE_ETHERNET ? decodeEthernet(bytes) : decodeLink(r.linkType, bytes);
      if (options.json)
        print(JSON.stringify({ number: r.number, seconds: r.seconds, nanoseconds: r.nanoseconds, ...s }));
      else if (options.verbose) print(`#${r.number} ${time(r.seconds, r.nanoseconds)}\n${describeTree(s)}`);
      else print(`${time(r.seconds, r.nanoseconds)} ${describeLine(s)}`);
    }
  } finally {
    reader.close();
  }
  return 0;
}
