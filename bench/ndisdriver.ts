/**
 * The NDIS 6 driver model's hot path: a protocol's send through NDIS to a miniport and the completion back, a
 * miniport's receive indication up to a protocol and the return back, each with no filter and with two
 * pass-through filters; and whole frames from one virtual NIC over the wire to another. Verifier off and
 * standard. Baselines in the same run: the same hand-offs as plain JavaScript calls between the same drivers
 * (what NDIS adds is the difference), the DESIGN.md free-list anchor, and the two memory copies a frame over the
 * wire inherently costs. Heap growth per operation shows whether the steady state allocates.
 */
import { ARENA_BASE, memory } from '../src/kernel/arena.js';
import { drainDeferredWork } from '../src/kernel/deferred.js';
import { DRIVER_OBJECT } from '../src/kernel/driver.js';
import { resetSystem } from '../src/kernel/system.js';
import { poolTag } from '../src/kernel/tags.js';
import { NdisOpenAdapterEx } from '../src/ndis/binding.js';
import { mdlVa } from '../src/ndis/chain.js';
import { NdisAllocateCloneNetBufferList, NdisFreeCloneNetBufferList } from '../src/ndis/derived.js';
import {
  NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
  NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
  NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NdisMedium802_3,
} from '../src/ndis/driver-constants.js';
import { drainNdisPnpWork } from '../src/ndis/driver-lifecycle.js';
import {
  NDIS_FILTER_ATTRIBUTES,
  NDIS_FILTER_DRIVER_CHARACTERISTICS,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OPEN_PARAMETERS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
} from '../src/ndis/driver-structures.js';
import {
  NdisFIndicateReceiveNetBufferLists,
  NdisFRegisterFilterDriver,
  NdisFReturnNetBufferLists,
  NdisFSendNetBufferLists,
  NdisFSendNetBufferListsComplete,
  NdisFSetAttributes,
} from '../src/ndis/filter.js';
import { NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS } from '../src/ndis/macros.js';
import {
  addMiniportAdapter,
  NdisMIndicateReceiveNetBufferLists,
  NdisMRegisterMiniportDriver,
  NdisMSendNetBufferListsComplete,
  NdisMSetMiniportAttributes,
} from '../src/ndis/miniport.js';
import { NdisAllocateNetBufferPool } from '../src/ndis/netBuffer.js';
import { NdisAllocateNetBufferList, NdisAllocateNetBufferListPool } from '../src/ndis/netBufferList.js';
import { NdisRegisterProtocolDriver, NdisReturnNetBufferLists, NdisSendNetBufferLists } from '../src/ndis/protocol.js';
import { NdisAdvanceNetBufferDataStart, NdisRetreatNetBufferDataStart } from '../src/ndis/retreat.js';
import {
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_POOL_PARAMETERS,
} from '../src/ndis/structures.js';
import { VirtualNic } from '../src/stack/nic.js';
import { Wire } from '../src/stack/wire.js';
import { bestOf, heapUsedAfterGc, machine, nsPerOp, row } from './lib.js';

const N = 1_000_000;

function pool(tag: string, dataSize: number) {
  const p = new NET_BUFFER_LIST_POOL_PARAMETERS();
  p.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  p.fAllocateNetBuffer = true;
  p.DataSize = dataSize;
  p.PoolTag = poolTag(tag);
  return NdisAllocateNetBufferListPool(null, p)!;
}

/** A miniport that completes every send at once; the benchmark indicates through its handle. */
function miniport(): { handle: unknown; returned: { n: number } } {
  const returned = { n: 0 };
  const state = { handle: null as unknown };
  const c = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS();
  c.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
    1,
    NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  );
  c.MajorNdisVersion = 6;
  c.InitializeHandlerEx = (h) => {
    state.handle = h;
    const r = new NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES();
    r.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
      1,
      NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
    );
    r.MiniportAdapterContext = state;
    NdisMSetMiniportAttributes(h, r);
    const g = new NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES();
    g.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
      1,
      NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
    );
    g.MediaType = NdisMedium802_3;
    g.MtuSize = 1500;
    NdisMSetMiniportAttributes(h, g);
    return 0;
  };
  c.HaltHandlerEx = () => {};
  c.UnloadHandler = () => {};
  c.PauseHandler = () => 0;
  c.RestartHandler = () => 0;
  c.OidRequestHandler = () => 0;
  c.SendNetBufferListsHandler = (ctx, nbls) => NdisMSendNetBufferListsComplete((ctx as typeof state).handle, nbls, 0);
  c.ReturnNetBufferListsHandler = () => {
    returned.n++;
  };
  c.CancelSendHandler = () => {};
  c.DevicePnPEventNotifyHandler = () => {};
  c.ShutdownHandlerEx = () => {};
  c.CancelOidRequestHandler = () => {};
  const box = { value: null as unknown };
  NdisMRegisterMiniportDriver(new DRIVER_OBJECT('\\Driver\\benchmp'), '', null, c, box);
  addMiniportAdapter(box.value as never, { name: 'bench' });
  return { handle: state.handle, returned };
}

/** A pass-through filter. */
function filter(name: string): void {
  const c = new NDIS_FILTER_DRIVER_CHARACTERISTICS();
  c.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS,
    1,
    NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1,
  );
  c.MajorNdisVersion = 6;
  c.FriendlyName = name;
  c.AttachHandler = (h) => {
    const a = new NDIS_FILTER_ATTRIBUTES();
    a.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES, 1, NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1);
    return NdisFSetAttributes(h, { h }, a);
  };
  c.DetachHandler = () => {};
  c.RestartHandler = () => 0;
  c.PauseHandler = () => 0;
  c.SendNetBufferListsHandler = (ctx, n, p, f) => NdisFSendNetBufferLists((ctx as { h: unknown }).h, n, p, f);
  c.SendNetBufferListsCompleteHandler = (ctx, n, f) => NdisFSendNetBufferListsComplete((ctx as { h: unknown }).h, n, f);
  c.ReceiveNetBufferListsHandler = (ctx, n, p, k, f) =>
    NdisFIndicateReceiveNetBufferLists((ctx as { h: unknown }).h, n, p, k, f);
  c.ReturnNetBufferListsHandler = (ctx, n, f) => NdisFReturnNetBufferLists((ctx as { h: unknown }).h, n, f);
  NdisFRegisterFilterDriver(new DRIVER_OBJECT(`\\Driver\\${name}`), null, c, { value: null });
  drainNdisPnpWork();
}

/**
 * A protocol's characteristics with what both bench protocols share: the header, and binding that opens every
 * adapter (its binding handle pushed on `bindings`, and kept as the open's context `{ b }`); the caller adds the
 * data-path handlers and registers with `handle`.
 */
function benchProtocolCharacteristics(
  name: string,
  handle: { value: unknown },
  bindings: unknown[],
): NDIS_PROTOCOL_DRIVER_CHARACTERISTICS {
  const c = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS();
  c.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
    1,
    NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  );
  c.MajorNdisVersion = 6;
  c.Name = name;
  c.BindAdapterHandlerEx = (_ctx, bindContext, params) => {
    const o = new NDIS_OPEN_PARAMETERS();
    o.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_OPEN_PARAMETERS, 1, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1);
    o.AdapterName = params.AdapterName;
    o.MediumArray = [NdisMedium802_3];
    o.MediumArraySize = 1;
    const box = { value: null as unknown };
    const ctx = { b: null as unknown };
    const s = NdisOpenAdapterEx(handle.value, ctx, o, bindContext, box);
    ctx.b = box.value;
    bindings.push(box.value);
    return s;
  };
  c.UnbindAdapterHandlerEx = () => 0;
  c.OpenAdapterCompleteHandlerEx = () => {};
  c.CloseAdapterCompleteHandlerEx = () => {};
  c.NetPnPEventHandler = () => 0;
  return c;
}

/** A protocol that returns receives at once and counts completions. */
function protocol(): { bindings: unknown[]; completed: { n: number } } {
  const bindings: unknown[] = [];
  const completed = { n: 0 };
  const handle = { value: null as unknown };
  const c = benchProtocolCharacteristics('BENCH', handle, bindings);
  c.ReceiveNetBufferListsHandler = (ctx, nbls, _p, _n, flags) => {
    if ((flags & 2) === 0) NdisReturnNetBufferLists((ctx as { b: unknown }).b, nbls, flags & 1);
  };
  c.SendNetBufferListsCompleteHandler = () => {
    completed.n++;
  };
  NdisRegisterProtocolDriver(null, c, handle);
  drainNdisPnpWork();
  return { bindings, completed };
}

/**
 * Moves everything the setup made into the old generation (two full collections; needs --expose-gc). A data path
 * that allocates nothing never triggers a scavenge, so descriptors made during setup would otherwise stay young
 * for the whole measurement, and every store of one into an old object (a pool's free list head, a block) would
 * take V8's write-barrier slow path: under cachegrind that was about a third of the instructions of a forwarded
 * NBL. A long-running host has its descriptors in the old generation, which is what this measures.
 */
function settleHeap(): void {
  heapUsedAfterGc();
}

/** One NBL sent and completed, and one indicated and returned, through `filters` pass-through filters. */
export function stackCase(mode: 'off' | 'standard', filters: number) {
  resetSystem({ verifier: mode });
  for (let i = 0; i < filters; i++) filter(`F${i}`);
  const m = miniport();
  const p = protocol();
  const binding = p.bindings[0];
  const sendPool = pool('dnsB', 64);
  const rxPool = pool('vcrB', 64);
  const tx = NdisAllocateNetBufferList(sendPool, 0, 0)!;
  tx.SourceHandle = binding;
  const rx = NdisAllocateNetBufferList(rxPool, 0, 0)!;
  rx.SourceHandle = m.handle;
  settleHeap();
  const send = bestOf(3, () => nsPerOp(N, () => NdisSendNetBufferLists(binding, tx, 0, 0)));
  const receive = bestOf(3, () => nsPerOp(N, () => NdisMIndicateReceiveNetBufferLists(m.handle, rx, 0, 1, 0)));
  const h0 = heapUsedAfterGc();
  for (let i = 0; i < N; i++) {
    NdisSendNetBufferLists(binding, tx, 0, 0);
    NdisMIndicateReceiveNetBufferLists(m.handle, rx, 0, 1, 0);
  }
  const grow = (heapUsedAfterGc() - h0) / N;
  if (p.completed.n < N || m.returned.n < N) throw new Error('benchmark lost NBLs');
  return { send, receive, grow };
}

/**
 * A protocol that forwards what it receives, the way the host's IP layer does: each received NBL is cloned
 * (sharing its MDLs) from the protocol's own pools and the clones are sent back down the same binding as one
 * list; when the sends complete, each clone is freed and its original returned (the originals as one list).
 */
function forwardingProtocol(): { bindings: unknown[]; forwarded: { n: number } } {
  const bindings: unknown[] = [];
  const forwarded = { n: 0 };
  const handle = { value: null as unknown };
  const nblPool = pool('lcwB', 0);
  const nbParams = new NET_BUFFER_POOL_PARAMETERS();
  nbParams.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    1,
    NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1,
  );
  nbParams.PoolTag = poolTag('bcwB');
  const nbPool = NdisAllocateNetBufferPool(null, nbParams)!;
  const c = benchProtocolCharacteristics('FORWARD', handle, bindings);
  c.ReceiveNetBufferListsHandler = (ctx, nbls) => {
    const binding = (ctx as { b: unknown }).b;
    let head: NET_BUFFER_LIST | null = null;
    let tail: NET_BUFFER_LIST | null = null;
    for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
      // As the host's IP layer does: the Ethernet header comes off the received frame, the clone gets a new one
      // in front (room in the shared MDL, so nothing is allocated).
      NdisAdvanceNetBufferDataStart(x.FirstNetBuffer!, 14, false, null);
      const clone = NdisAllocateCloneNetBufferList(x, nblPool, nbPool, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS)!;
      NdisRetreatNetBufferDataStart(clone.FirstNetBuffer!, 14, 0, null);
      clone.SourceHandle = binding;
      clone.ProtocolReserved[0] = x;
      if (tail === null) head = clone;
      else tail.Next = clone;
      tail = clone;
    }
    NdisSendNetBufferLists(binding, head!, 0, 0);
  };
  c.SendNetBufferListsCompleteHandler = (ctx, nbls) => {
    let head: NET_BUFFER_LIST | null = null;
    let tail: NET_BUFFER_LIST | null = null;
    let x: NET_BUFFER_LIST | null = nbls;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      const original = x.ProtocolReserved[0] as NET_BUFFER_LIST;
      x.ProtocolReserved[0] = null;
      NdisFreeCloneNetBufferList(x, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
      // The original goes back as it was indicated (the host's restoreOffset).
      NdisRetreatNetBufferDataStart(original.FirstNetBuffer!, 14, 0, null);
      original.Next = null;
      if (tail === null) head = original;
      else tail.Next = original;
      tail = original;
      forwarded.n++;
      x = next;
    }
    NdisReturnNetBufferLists((ctx as { b: unknown }).b, head!, 0);
  };
  NdisRegisterProtocolDriver(null, c, handle);
  drainNdisPnpWork();
  return { bindings, forwarded };
}

/**
 * One received frame forwarded: NdisMIndicateReceiveNetBufferLists, a clone, NdisSendNetBufferLists,
 * NdisMSendNetBufferListsComplete, NdisFreeCloneNetBufferList, NdisReturnNetBufferLists, MiniportReturn. With
 * `chain` > 1 the miniport indicates that many NBLs as one list and the figure is per NBL.
 */
export function forwardCase(mode: 'off' | 'standard', chain: number) {
  const { forward, p, m } = forwardSetup(mode, chain);
  const ns = bestOf(3, () => nsPerOp(N / chain, forward));
  const h0 = heapUsedAfterGc();
  for (let i = 0; i < N / chain; i++) forward();
  const grow = (heapUsedAfterGc() - h0) / N;
  if (p.forwarded.n < N || m.returned.n < N / chain) throw new Error('benchmark lost NBLs');
  return { ns: ns / chain, grow };
}

/**
 * The forwarding machine of {@link forwardCase}, warmed once and with its heap settled: `forward()` indicates one
 * chain of `chain` NBLs (exported for instruction counting under cachegrind, which runs it a given number of
 * times without timing).
 */
export function forwardSetup(mode: 'off' | 'standard', chain: number) {
  resetSystem({ verifier: mode });
  const m = miniport();
  const p = forwardingProtocol();
  const rxPool = pool('vcrB', 64);
  const rx: NET_BUFFER_LIST[] = [];
  for (let i = 0; i < chain; i++) {
    const nbl = NdisAllocateNetBufferList(rxPool, 0, 0)!;
    nbl.SourceHandle = m.handle;
    rx.push(nbl);
  }
  const relink = (): NET_BUFFER_LIST => {
    for (let i = 0; i < chain; i++) rx[i]!.Next = i + 1 < chain ? rx[i + 1]! : null;
    return rx[0]!;
  };
  const forward = (): void => NdisMIndicateReceiveNetBufferLists(m.handle, relink(), 0, chain, 0);
  // Once around first, so the clones and their NET_BUFFERs exist before the heap is settled.
  forward();
  settleHeap();
  return { forward, p, m };
}

/**
 * `node ... bench/ndisdriver.ts forward` runs only the forwarding rows (for profiling). With
 * WDKNET_BENCH_LIBRARY=1 nothing runs: another script imports stackCase / forwardCase (to interleave two
 * checkouts in one process, where both see the same machine load).
 */
const only = process.argv[2];
if (process.env.WDKNET_BENCH_LIBRARY !== '1') await main();

async function main(): Promise<void> {
  // Baseline: the same hand-offs with no NDIS in between: the protocol calls the miniport's send handler through
  // a handler table, the miniport records the owner and calls the protocol's completion handler through another.
  interface Handlers {
    send: (ctx: unknown, nbl: BaselineNbl) => void;
    complete: (ctx: unknown, nbl: BaselineNbl) => void;
  }
  interface BaselineNbl {
    Next: BaselineNbl | null;
    Status: number;
    owner: unknown;
  }
  const baselineNbls: BaselineNbl[] = Array.from({ length: 8 }, () => ({ Next: null, Status: 0, owner: null }));
  let baselineCompleted = 0;
  const protocolSide: Handlers = {
    send: () => {},
    complete: (_ctx, nbl) => {
      nbl.owner = protocolSide;
      baselineCompleted++;
    },
  };
  const miniportSide: Handlers = {
    send: (ctx, nbl) => {
      nbl.owner = miniportSide;
      nbl.Status = 0;
      protocolSide.complete(ctx, nbl);
    },
    complete: () => {},
  };
  const tables: Handlers[] = [miniportSide, protocolSide];
  const directNs = bestOf(3, () =>
    nsPerOp(N * 5, (i) => {
      const nbl = baselineNbls[i & 7]!;
      nbl.owner = tables[1];
      tables[i & 0].send(null, nbl);
    }),
  );
  if (baselineCompleted === 0) throw new Error('baseline did nothing');

  // Anchor: a preallocated free list pop + push (DESIGN.md: about 8 ns).
  const free: { v: number }[] = Array.from({ length: 64 }, () => ({ v: 0 }));
  const freeListNs = bestOf(3, () =>
    nsPerOp(N * 5, (i) => {
      const s = free.pop()!;
      s.v = i;
      free.push(s);
    }),
  );

  function wireCase(mode: 'off' | 'standard', frameBytes: number, burst = 1) {
    resetSystem({ verifier: mode });
    const wire = new Wire('bench', false);
    const a = new VirtualNic({ name: 'A', mac: [2, 0, 0, 0, 0, 1] });
    const b = new VirtualNic({ name: 'B', mac: [2, 0, 0, 0, 0, 2], receiveBatch: burst, receiveBuffers: 64 + burst });
    a.connect(wire);
    b.connect(wire);
    const p = protocol();
    const txPool = pool('xtwB', 2048);
    const tx = NdisAllocateNetBufferList(txPool, 0, 0)!;
    const bindingA = p.bindings[0];
    tx.SourceHandle = bindingA;
    const nb = tx.FirstNetBuffer!;
    nb.DataLength = frameBytes;
    const va = mdlVa(nb.MdlChain!) - ARENA_BASE;
    memory.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5], va);
    settleHeap();
    const ns = bestOf(3, () =>
      nsPerOp(N / 4 / burst, () => {
        for (let k = 0; k < burst; k++) NdisSendNetBufferLists(bindingA, tx, 0, 0);
        wire.drain();
      }),
    );
    if (b.counters.framesIn < N / 4) throw new Error('frames lost');
    drainDeferredWork();
    return ns / burst;
  }

  // Baseline for frames: the two copies a frame over the wire costs (onto the wire, into the receive buffer).
  function copiesNs(frameBytes: number): number {
    const src = 0x100000;
    const mid = 0x200000;
    const dst = 0x300000;
    return bestOf(3, () =>
      nsPerOp(N, () => {
        memory.copyWithin(mid, src, src + frameBytes);
        memory.copyWithin(dst, mid, mid + frameBytes);
      }),
    );
  }

  console.log(`NDIS 6 driver model — ${await machine()}`);
  row('baseline: handler-table calls protocol->miniport->complete', directNs);
  row('anchor: preallocated free list pop+push', freeListNs);
  for (const mode of only === undefined ? (['off', 'standard'] as const) : []) {
    for (const filters of [0, 2]) {
      const r = stackCase(mode, filters);
      row(`send+complete, ${filters} filters, verifier ${mode}`, r.send, directNs);
      row(`indicate+return, ${filters} filters, verifier ${mode}`, r.receive, directNs);
      console.log(`${''.padEnd(58)} heap growth ${r.grow.toFixed(3)} B/op (send+receive)`);
    }
  }
  for (const mode of ['off', 'standard'] as const) {
    for (const chain of [1, 32]) {
      const r = forwardCase(mode, chain);
      const what = chain === 1 ? 'one NBL per indication' : `${chain} NBLs per indication, per NBL`;
      row(`forward (indicate, clone, send, complete, free, return), ${what}, verifier ${mode}`, r.ns, directNs);
      console.log(`${''.padEnd(58)} heap growth ${r.grow.toFixed(3)} B/op`);
    }
  }
  for (const bytes of only === undefined ? [64, 1514] : []) {
    const base = copiesNs(bytes);
    row(`baseline: two ${bytes}-byte copies`, base);
    for (const mode of ['off', 'standard'] as const) {
      row(`NIC A -> wire -> NIC B -> protocol, ${bytes} B, verifier ${mode}`, wireCase(mode, bytes), base);
      row(`  same, 32 frames per drain, receiveBatch 32, per frame`, wireCase(mode, bytes, 32), base);
    }
  }
}
