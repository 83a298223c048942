/**
 * Injection handles and the mark an injection leaves on a NET_BUFFER_LIST. As on Windows, the mark lives in the
 * list's WfpNetBufferListInfo slot: the handle that injected it and the driver's injection context, from the
 * injection call until its completion. FwpsQueryPacketInjectionState0 reads it (and the parent chain, for
 * clones of an injected list).
 */
import { onSystemReset } from '../kernel/system.js';
import { WfpNetBufferListInfo } from '../ndis/info.js';
import type { NET_BUFFER_LIST } from '../ndis/structures.js';

/** What FwpsInjectionHandleCreate0 returns (HANDLE). */
export class FwpsInjectionHandle {
  /** AF_INET, AF_INET6 or AF_UNSPEC. */
  readonly addressFamily: number;
  /** FWPS_INJECTION_TYPE_* flags. */
  readonly injectionType: number;
  live = true;
  /** Injections accepted and not yet completed. */
  pending = 0;
  constructor(addressFamily: number, injectionType: number) {
    this.addressFamily = addressFamily;
    this.injectionType = injectionType;
    liveHandles.add(this);
  }
}

/** Handles created and not destroyed (for leak reports). */
export const liveHandles = new Set<FwpsInjectionHandle>();

/** FWPS_INJECT_COMPLETE0: (context, netBufferList, dispatchLevel). */
export type FWPS_INJECT_COMPLETE0 = (context: unknown, netBufferList: NET_BUFFER_LIST, dispatchLevel: boolean) => void;

/** The mark of one injection in progress. Records are recycled, so an injection allocates nothing. */
export class InjectionRecord {
  handle: FwpsInjectionHandle | null = null;
  context: unknown = null;
  completionFn: FWPS_INJECT_COMPLETE0 | null = null;
  completionContext: unknown = null;
  nbl: NET_BUFFER_LIST | null = null;
  /** The host reported completion; the completion function is queued. */
  completing = false;
  status = 0;
  /** Intrusive list of records in use (so listing them allocates nothing on the hot path). */
  prev: InjectionRecord | null = null;
  next: InjectionRecord | null = null;
}

/** The first record in use. */
let active: InjectionRecord | null = null;

const spare: InjectionRecord[] = [];

/** A clean record (from the free list when possible). */
export function takeRecord(): InjectionRecord {
  const r = spare.pop() ?? new InjectionRecord();
  r.prev = null;
  r.next = active;
  if (active !== null) active.prev = r;
  active = r;
  return r;
}

/** Returns a record to the free list. */
export function releaseRecord(r: InjectionRecord): void {
  if (r.prev !== null) r.prev.next = r.next;
  else active = r.next;
  if (r.next !== null) r.next.prev = r.prev;
  r.prev = null;
  r.next = null;
  r.handle = null;
  r.context = null;
  r.completionFn = null;
  r.completionContext = null;
  r.nbl = null;
  r.completing = false;
  r.status = 0;
  spare.push(r);
}

/** The injection in progress on `nbl`, or null. */
export function injectionOf(nbl: NET_BUFFER_LIST): InjectionRecord | null {
  const mark = nbl.NetBufferListInfo[WfpNetBufferListInfo];
  return mark instanceof InjectionRecord ? mark : null;
}

/** Marks or unmarks `nbl`. */
export function setInjection(nbl: NET_BUFFER_LIST, record: InjectionRecord | null): void {
  nbl.NetBufferListInfo[WfpNetBufferListInfo] = record;
}

/** An injection accepted and not yet completed, for leak reports. */
export interface OutstandingInjection {
  readonly handle: FwpsInjectionHandle;
  readonly netBufferList: NET_BUFFER_LIST;
  readonly injectionContext: unknown;
  /** The host reported completion; the driver's completion function has not run yet. */
  readonly completing: boolean;
}

/** Every injection not yet completed (the verifier's leak report: none should remain at the end of a run). */
export function outstandingInjections(): OutstandingInjection[] {
  const out: OutstandingInjection[] = [];
  for (let r = active; r !== null; r = r.next) {
    out.push({ handle: r.handle!, netBufferList: r.nbl!, injectionContext: r.context, completing: r.completing });
  }
  return out;
}

/** Injection handles not destroyed (FwpsInjectionHandleDestroy0 not called). */
export function outstandingInjectionHandles(): FwpsInjectionHandle[] {
  return [...liveHandles];
}

onSystemReset(() => {
  spare.length = 0;
  active = null;
  liveHandles.clear();
});
