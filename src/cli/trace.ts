/**
 * `--trace file`: each NET_BUFFER_LIST's life in the Chrome trace-event JSON format (which Perfetto and
 * chrome://tracing open). A packet's life is a duration event ("B" at receive / allocation / injection, "E" when
 * the host gives it back) on its own track, with instant events for what happened in between: each NDIS filter
 * module it passed ("filtered", receives before the host sees them, so such a life begins there), each layer it
 * was classified at, held, sent, dropped (with the reason), absorbed. Timestamps are the packet sequence, in
 * microseconds, so the picture is deterministic run after run. A life still open when the trace closes (a list
 * a filter passed up that the host then copied, for instance) ends there, marked "end of trace".
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { NdisFilterModule } from '../ndis/driver-blocks.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';
import { DROP_REASON_NAMES } from '../stack/counters.js';
import { Origin } from '../stack/ip.js';
import * as F from '../wfp/fields.js';

/**
 * Every run-time layer id by its WDK name (FWPS_LAYER_...), the DISCARD layers included: the host classifies a
 * packet it drops at the discard layer of where processing stopped.
 */
const LAYER_NAMES = new Map<number, string>(
  Object.entries(F)
    .filter(([name, id]) => name.startsWith('FWPS_LAYER_') && typeof id === 'number')
    .map(([name, id]) => [id as number, name]),
);

const STARTS = new Set(['received', 'allocated', 'injected']);
const ENDS = new Set(['returned', 'freed', 'completed']);

/** Writes trace events to a file as they happen. */
export class TraceWriter {
  private readonly fd: number;
  private first = true;
  private clock = 0;
  private nextId = 1;
  /** Open lives by list; a list only while its life is open. */
  private readonly ids = new Map<NET_BUFFER_LIST, number>();
  /** Lives a filter passage opened, which the host's receive continues rather than begins. */
  private readonly openedByFilter = new Set<number>();
  /** Events written. */
  events = 0;

  /** Creates (or truncates) `path` and starts the JSON document. */
  constructor(path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, '{"displayTimeUnit":"ns","traceEvents":[\n');
    this.write({ name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'wdknet host' } });
  }

  /** Records one event of a list's life (the host's onEvent). */
  event(kind: string, nbl: NET_BUFFER_LIST, detail: string): void {
    this.clock++;
    let id = this.ids.get(nbl);
    if (kind === 'received' && id !== undefined && this.openedByFilter.delete(id)) {
      this.write({ name: kind, ph: 'i', s: 't', ts: this.clock, pid: 1, tid: id, args: { detail } });
      return;
    }
    if (STARTS.has(kind) || id === undefined) {
      id = this.nextId++;
      this.ids.set(nbl, id);
      this.write({ name: `NBL ${id}`, ph: 'B', ts: this.clock, pid: 1, tid: id, args: { how: kind, detail } });
      if (STARTS.has(kind)) return;
    }
    let name = kind;
    if (kind === 'classify') name = `classify ${LAYER_NAMES.get(Number(detail)) ?? detail}`;
    if (kind === 'dropped') name = `dropped: ${DROP_REASON_NAMES[Number(detail)] ?? detail}`;
    if (ENDS.has(kind)) {
      this.write({ name: `NBL ${id}`, ph: 'E', ts: this.clock, pid: 1, tid: id, args: { how: kind, detail } });
      this.ids.delete(nbl);
      this.openedByFilter.delete(id);
      return;
    }
    this.write({ name, ph: 'i', s: 't', ts: this.clock, pid: 1, tid: id, args: { detail } });
  }

  /**
   * Records a list passing an NDIS filter module (the data path's filter observer). A forwarded packet goes down
   * as the host's clone of the received list: its passage belongs to the original's life.
   */
  filtered(nbl: NET_BUFFER_LIST, module: NdisFilterModule, receive: boolean): void {
    if (!this.ids.has(nbl) && nbl.ProtocolReserved[0] === Origin.ForwardClone) {
      nbl = nbl.ProtocolReserved[1] as NET_BUFFER_LIST;
    }
    const name = module.driver.chars.FriendlyName || module.driver.DriverObject.DriverName;
    const opens = !this.ids.has(nbl);
    this.event('filtered', nbl, `${name} ${receive ? 'receive' : 'send'}`);
    if (opens) this.openedByFilter.add(this.ids.get(nbl)!);
  }

  private write(event: object): void {
    writeSync(this.fd, `${this.first ? '' : ',\n'}${JSON.stringify(event)}`);
    this.first = false;
    this.events++;
  }

  /** Ends every life still open, then the JSON document, and closes the file. */
  close(): void {
    for (const id of this.ids.values()) {
      this.clock++;
      this.write({ name: `NBL ${id}`, ph: 'E', ts: this.clock, pid: 1, tid: id, args: { how: 'end of trace' } });
    }
    this.ids.clear();
    writeSync(this.fd, '\n]}\n');
    closeSync(this.fd);
  }
}
