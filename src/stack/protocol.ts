/**
 * The host's IP layer as an NDIS 6 protocol driver, as tcpip.sys is: it registers with NdisRegisterProtocolDriver,
 * binds to adapters in ProtocolBindAdapterEx (NdisOpenAdapterEx), sends with NdisSendNetBufferLists, takes
 * receives in ProtocolReceiveNetBufferLists and gives them back with NdisReturnNetBufferLists. Each binding is an
 * {@link IpInterface} of the host.
 *
 * Receives indicated with NDIS_RECEIVE_FLAGS_RESOURCES must not be kept past the handler: the binding copies such
 * a frame into a list of its own first (as tcpip does) and frees that copy when the host is done with it.
 *
 * Like tcpip, the protocol batches: while NDIS is inside one of its handlers (a receive indication, a send
 * completion), what the host sends is queued and what it gives back is collected, and when the outermost handler
 * is done the sends go down as NBL chains (one NdisSendNetBufferLists per run of sends on the same binding, in the
 * order the host made them) and the returns as one NdisReturnNetBufferLists chain per binding. Outside a handler
 * (a send from a timer or an application) nothing waits.
 */
import { DISPATCH_LEVEL, KeGetCurrentIrql } from '../kernel/irql.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS } from '../kernel/status.js';
import { NdisCloseAdapterEx, NdisOpenAdapterEx } from '../ndis/binding.js';
import { copyOut } from '../ndis/chain.js';
import {
  NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
  NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NdisMedium802_3,
} from '../ndis/driver-constants.js';
import { drainNdisPnpWork } from '../ndis/driver-lifecycle.js';
import {
  type NDIS_BIND_PARAMETERS,
  type NDIS_HANDLE,
  NDIS_OPEN_PARAMETERS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
} from '../ndis/driver-structures.js';
import {
  NdisDeregisterProtocolDriver,
  NdisRegisterProtocolDriver,
  NdisReturnNetBufferLists,
  NdisSendNetBufferLists,
} from '../ndis/protocol.js';
import { NDIS_OBJECT_HEADER, type NET_BUFFER, type NET_BUFFER_LIST } from '../ndis/structures.js';
import type { IpInterface, IpLayer } from './ip.js';
import { contiguous } from './nbl-view.js';

/** One binding of the IP protocol to an adapter: an interface of the host. */
export class IpBinding implements IpInterface {
  /** NdisBindingHandle from NdisOpenAdapterEx. */
  handle: NDIS_HANDLE = null;
  readonly ifIndex: number;
  readonly mac: number;
  mtu: number;
  promiscuous = false;
  /** The adapter's name (NDIS_BIND_PARAMETERS.AdapterName). */
  readonly adapterName: string;
  /** Frames indicated with RESOURCES that were copied. */
  copiedReceives = 0;
  /** Frames with RESOURCES that could not be copied (no memory): dropped and counted by the binding. */
  copyFailures = 0;

  constructor(
    readonly protocol: IpProtocol,
    params: NDIS_BIND_PARAMETERS,
  ) {
    this.ifIndex = params.BoundIfIndex;
    let mac = 0;
    for (let i = 0; i < 6; i++) mac = mac * 256 + params.CurrentMacAddress[i]!;
    this.mac = mac;
    this.mtu = params.MtuSize; // NDIS reports the MTU without the link header: the largest IP packet
    this.adapterName = params.AdapterName;
  }

  /**
   * See {@link IpInterface.transmit}: NdisSendNetBufferLists, completed through the protocol's handler; queued
   * while the protocol is inside an NDIS handler.
   */
  transmit(nbl: NET_BUFFER_LIST): void {
    nbl.SourceHandle = this.handle;
    nbl.Next = null;
    if (this.protocol.batching()) {
      this.protocol.queueSend(nbl);
      return;
    }
    NdisSendNetBufferLists(this.handle, nbl, 0, sendFlags());
  }

  /** See {@link IpInterface.returnReceived}: NdisReturnNetBufferLists (collected into a chain), or the copy freed. */
  returnReceived(nbl: NET_BUFFER_LIST): void {
    // A copy the binding made of a RESOURCES indication is a list of the host's own pools (NdisPoolHandle, which any
    // driver may read); the miniport's reserved area of the lists it indicates is not the protocol's to read.
    if (this.protocol.host.ownsList(nbl)) {
      this.protocol.host.releaseOwn(nbl);
      return;
    }
    if (this.protocol.batching()) {
      nbl.Next = null;
      if (this.returnTail === null) this.returnHead = nbl;
      else this.returnTail.Next = nbl;
      this.returnTail = nbl;
      return;
    }
    NdisReturnNetBufferLists(this.handle, nbl, returnFlags());
  }

  /** Receives collected for NdisReturnNetBufferLists, as a chain. */
  private returnHead: NET_BUFFER_LIST | null = null;
  private returnTail: NET_BUFFER_LIST | null = null;

  /** Gives back the collected receives in one call. Returns false when there were none. */
  returnCollected(): boolean {
    const head = this.returnHead;
    if (head === null) return false;
    this.returnHead = this.returnTail = null;
    NdisReturnNetBufferLists(this.handle, head, returnFlags());
    return true;
  }

  /** ProtocolReceiveNetBufferLists for this binding. */
  receive(nbls: NET_BUFFER_LIST, flags: number): void {
    const host = this.protocol.host;
    const resources = (flags & NDIS_RECEIVE_FLAGS_RESOURCES) !== 0;
    let x: NET_BUFFER_LIST | null = nbls;
    while (x !== null) {
      const next: NET_BUFFER_LIST | null = x.Next;
      if (!resources) {
        x.Next = null;
        host.receive(this, x);
      } else {
        // The list must be back when this handler returns: work on a copy, one per NET_BUFFER (each a frame).
        for (let nb: NET_BUFFER | null = x.FirstNetBuffer; nb !== null; nb = nb.Next) {
          const length = nb.DataLength;
          const copy = host.newPacket(length);
          if (copy === null) this.copyFailures++;
          else {
            // The frame may lie across the miniport's MDLs: copyOut walks them.
            copyOut(nb, 0, contiguous(copy.FirstNetBuffer!, length), length);
            this.copiedReceives++;
            host.receive(this, copy);
          }
        }
      }
      x = next;
    }
  }
}

function sendFlags(): number {
  return KeGetCurrentIrql() === DISPATCH_LEVEL ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : 0;
}

function returnFlags(): number {
  return KeGetCurrentIrql() === DISPATCH_LEVEL ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
}

/** The IP protocol driver of one host. */
export class IpProtocol {
  /** NdisProtocolHandle. */
  handle: NDIS_HANDLE = null;
  readonly bindings: IpBinding[] = [];
  private readonly chars = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS();
  /** NDIS handlers of this protocol in progress (nested: a send completes inside a receive indication). */
  private handlerDepth = 0;
  /** Sends queued while in a handler, in order, linked through NET_BUFFER_LIST.Next. */
  private sendHead: NET_BUFFER_LIST | null = null;
  private sendTail: NET_BUFFER_LIST | null = null;
  /** Send batches handed to NDIS and the lists in them (how well the batching works, for tests and tuning). */
  sendCalls = 0;
  sendsBatched = 0;

  /**
   * `accept` decides which adapters this host binds to (by adapter name and interface index): one protocol per
   * simulated host, each binding its own adapters, as each machine's tcpip binds its own NICs.
   */
  constructor(
    readonly host: IpLayer,
    name: string,
    private readonly accept: (adapterName: string, ifIndex: number) => boolean = () => true,
    private readonly onBind: (binding: IpBinding) => void = () => {},
  ) {
    const c = this.chars;
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
      NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
      NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 6;
    c.MinorNdisVersion = 0;
    c.Name = name;
    c.BindAdapterHandlerEx = (_ctx, bindContext, params) => this.bind(bindContext, params);
    c.UnbindAdapterHandlerEx = (_unbindContext, ctx) => this.unbind(ctx as IpBinding);
    c.OpenAdapterCompleteHandlerEx = () => {};
    c.CloseAdapterCompleteHandlerEx = () => {};
    c.NetPnPEventHandler = () => NDIS_STATUS_SUCCESS;
    c.ReceiveNetBufferListsHandler = (ctx, nbls, _port, _count, flags) => {
      this.handlerDepth++;
      try {
        (ctx as IpBinding).receive(nbls, flags);
      } finally {
        this.leaveHandler();
      }
    };
    c.SendNetBufferListsCompleteHandler = (_ctx, nbls) => {
      this.handlerDepth++;
      try {
        let x: NET_BUFFER_LIST | null = nbls;
        while (x !== null) {
          const next: NET_BUFFER_LIST | null = x.Next;
          x.Next = null;
          this.host.sendComplete(x, x.Status);
          x = next;
        }
      } finally {
        this.leaveHandler();
      }
    };
  }

  /** True while sends and returns are being collected (inside an NDIS handler of this protocol). */
  batching(): boolean {
    return this.handlerDepth > 0;
  }

  /** Queues a send made inside a handler (its SourceHandle names the binding). */
  queueSend(nbl: NET_BUFFER_LIST): void {
    if (this.sendTail === null) this.sendHead = nbl;
    else this.sendTail.Next = nbl;
    this.sendTail = nbl;
  }

  /**
   * The outermost handler is done: send what was queued and give back what was collected, until nothing is left
   * (the completions of these sends, if the miniport completes at once, collect more returns). The handler depth
   * stays raised meanwhile, so what those completions produce is batched too.
   */
  private leaveHandler(): void {
    if (this.handlerDepth > 1) {
      this.handlerDepth--;
      return;
    }
    try {
      for (;;) {
        let sent = false;
        let x = this.sendHead;
        this.sendHead = this.sendTail = null;
        while (x !== null) {
          // One NdisSendNetBufferLists per run of lists bound for the same adapter.
          const head: NET_BUFFER_LIST = x;
          const handle = head.SourceHandle;
          let last: NET_BUFFER_LIST = head;
          let n = 1;
          while (last.Next !== null && last.Next.SourceHandle === handle) {
            last = last.Next;
            n++;
          }
          x = last.Next;
          last.Next = null;
          this.sendCalls++;
          this.sendsBatched += n;
          NdisSendNetBufferLists(handle, head, 0, sendFlags());
          sent = true;
        }
        let returned = false;
        const bindings = this.bindings;
        for (let i = 0; i < bindings.length; i++) if (bindings[i]!.returnCollected()) returned = true;
        if (!sent && !returned && this.sendHead === null) break;
      }
    } finally {
      this.handlerDepth--;
    }
  }

  private bind(bindContext: NDIS_HANDLE, params: NDIS_BIND_PARAMETERS): number {
    if (!this.accept(params.AdapterName, params.BoundIfIndex)) return NDIS_STATUS_FAILURE;
    const binding = new IpBinding(this, params);
    const open = new NDIS_OPEN_PARAMETERS();
    open.Header = new NDIS_OBJECT_HEADER(NDIS_OBJECT_TYPE_OPEN_PARAMETERS, 1, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1);
    open.AdapterName = params.AdapterName;
    open.MediumArray = [NdisMedium802_3];
    open.MediumArraySize = 1;
    // IPv4, ARP and IPv6: the EtherTypes tcpip opens for.
    open.FrameTypeArray = [0x0800, 0x0806, 0x86dd];
    open.FrameTypeArraySize = 3;
    const box = { value: null as NDIS_HANDLE };
    const status = NdisOpenAdapterEx(this.handle, binding, open, bindContext, box);
    if (status !== NDIS_STATUS_SUCCESS) return status;
    binding.handle = box.value;
    this.bindings.push(binding);
    this.host.addInterface(binding);
    this.onBind(binding);
    return NDIS_STATUS_SUCCESS;
  }

  private unbind(binding: IpBinding): number {
    this.host.removeInterface(binding.ifIndex);
    const status = NdisCloseAdapterEx(binding.handle);
    this.bindings.splice(this.bindings.indexOf(binding), 1);
    return status === NDIS_STATUS_PENDING ? NDIS_STATUS_SUCCESS : status;
  }

  /** DriverEntry's part: registers with NDIS, which binds the protocol to the adapters it accepts. */
  register(): number {
    const box = { value: null as NDIS_HANDLE };
    const status = NdisRegisterProtocolDriver(this, this.chars, box);
    this.handle = box.value;
    drainNdisPnpWork();
    return status;
  }

  /** DriverUnload's part: NDIS unbinds every binding, then the registration goes. */
  deregister(): void {
    if (this.handle === null) return;
    NdisDeregisterProtocolDriver(this.handle);
    drainNdisPnpWork();
    this.handle = null;
  }
}
