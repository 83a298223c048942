/**
 * A small NDIS 6 stack for testing filter drivers: a test miniport (each adapter indicates the frames a test
 * gives it and records the frames sent to it, completing them at once) and a test protocol (binds to every
 * adapter, records what it receives and returns it, sends frames from its own pool). Both are written against
 * the faithful face, as drivers; the filter under test sits between them.
 */
import assert from 'node:assert/strict';
import {
  bytesAt,
  type DRIVER_OBJECT,
  ExAllocatePoolWithTag,
  ExFreePoolWithTag,
  IoAllocateMdl,
  IoFreeMdl,
  type MDL,
  MmBuildMdlForNonPagedPool,
  MmGetSystemAddressForMdlSafe,
  type NDIS_BIND_PARAMETERS,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_DEFAULT,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
  NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
  NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_OPEN_PARAMETERS,
  NDIS_OPEN_PARAMETERS_REVISION_1,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NDIS_SEND_FLAGS_DISPATCH_LEVEL,
  NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
  NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_SUCCESS,
  NdisAllocateNetBufferAndNetBufferList,
  NdisAllocateNetBufferListPool,
  NdisCloseAdapterEx,
  NdisDeregisterProtocolDriver,
  NdisFreeNetBufferList,
  NdisFreeNetBufferListPool,
  NdisMDeregisterMiniportDriver,
  NdisMedium802_3,
  NdisMIndicateReceiveNetBufferLists,
  NdisMRegisterMiniportDriver,
  NdisMSendNetBufferListsComplete,
  NdisMSetMiniportAttributes,
  NdisOpenAdapterEx,
  NdisRegisterProtocolDriver,
  NdisReturnNetBufferLists,
  NdisSendNetBufferLists,
  type NET_BUFFER_LIST,
  NET_BUFFER_LIST_POOL_PARAMETERS,
  NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  NonPagedPool,
  NormalPagePriority,
  poolTag,
} from 'wdknet/ddi';

const TAG = poolTag('ktsT');

/** A frame held in a list from a test pool: the list, its MDL and the memory. */
interface Frame {
  nbl: NET_BUFFER_LIST;
  mdl: MDL;
  data: number;
}

function makePool() {
  const params = new NET_BUFFER_LIST_POOL_PARAMETERS();
  params.Header = new NDIS_OBJECT_HEADER(
    NDIS_OBJECT_TYPE_DEFAULT,
    NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
  );
  params.fAllocateNetBuffer = true;
  params.PoolTag = TAG;
  const pool = NdisAllocateNetBufferListPool(null, params);
  assert.ok(pool !== null);
  return pool;
}

function makeFrame(pool: NonNullable<ReturnType<typeof makePool>>, bytes: Uint8Array): Frame {
  const data = ExAllocatePoolWithTag(NonPagedPool, bytes.length, TAG);
  assert.notEqual(data, 0);
  bytesAt(data, bytes.length).set(bytes);
  const mdl = IoAllocateMdl(data, bytes.length, false, false, null)!;
  MmBuildMdlForNonPagedPool(mdl);
  const nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, mdl, 0, bytes.length)!;
  assert.ok(nbl !== null);
  return { nbl, mdl, data };
}

function freeFrame(f: Frame): void {
  NdisFreeNetBufferList(f.nbl);
  IoFreeMdl(f.mdl);
  ExFreePoolWithTag(f.data, TAG);
}

/** The bytes of every NET_BUFFER of a list, concatenated. */
export function nblBytes(nbl: NET_BUFFER_LIST): Uint8Array {
  const parts: number[] = [];
  for (let nb = nbl.FirstNetBuffer; nb !== null; nb = nb.Next) {
    let skip = nb.DataOffset;
    let left = nb.DataLength;
    for (let m = nb.MdlChain; m !== null && left > 0; m = m.Next) {
      if (skip >= m.ByteCount) {
        skip -= m.ByteCount;
        continue;
      }
      const n = Math.min(m.ByteCount - skip, left);
      parts.push(...bytesAt(MmGetSystemAddressForMdlSafe(m, NormalPagePriority) + skip, n));
      left -= n;
      skip = 0;
    }
  }
  return Uint8Array.from(parts);
}

/** One adapter of the test miniport. */
export class TestAdapter {
  handle: unknown = null;
  readonly pool = makePool();
  /** Frames the stack sent to the wire through this adapter. */
  readonly wire: Uint8Array[] = [];
  /** Indicated frames not yet returned by the stack. */
  readonly outstanding = new Map<NET_BUFFER_LIST, Frame>();
  returned = 0;

  /** Indicates one received frame up the stack (`resources`: NDIS_RECEIVE_FLAGS_RESOURCES, the miniport keeps it). */
  indicate(bytes: Uint8Array, resources = false): void {
    const frame = makeFrame(this.pool!, bytes);
    if (!resources) this.outstanding.set(frame.nbl, frame);
    NdisMIndicateReceiveNetBufferLists(this.handle, frame.nbl, 0, 1, resources ? NDIS_RECEIVE_FLAGS_RESOURCES : 0);
    if (resources) freeFrame(frame);
  }

  release(): void {
    assert.equal(this.outstanding.size, 0, 'every indicated frame came back');
    NdisFreeNetBufferListPool(this.pool!);
  }
}

/** The test miniport driver: a module with DriverEntry. */
export class TestMiniport {
  driverHandle: unknown = null;
  readonly adapters: TestAdapter[] = [];

  readonly module = {
    DriverEntry: (DriverObject: DRIVER_OBJECT, RegistryPath: string): number => {
      const c = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS();
      c.Header = new NDIS_OBJECT_HEADER(
        NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
        NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
      );
      c.MajorNdisVersion = 6;
      c.InitializeHandlerEx = (handle) => {
        const adapter = new TestAdapter();
        adapter.handle = handle;
        const reg = new NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES();
        reg.Header = new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
          NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
          NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
        );
        reg.MiniportAdapterContext = adapter;
        let status = NdisMSetMiniportAttributes(handle, reg);
        if (status !== NDIS_STATUS_SUCCESS) return status;
        const gen = new NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES();
        gen.Header = new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
          NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
          NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
        );
        gen.MediaType = NdisMedium802_3;
        gen.MtuSize = 1500;
        gen.MacAddressLength = 6;
        status = NdisMSetMiniportAttributes(handle, gen);
        if (status !== NDIS_STATUS_SUCCESS) return status;
        this.adapters.push(adapter);
        return NDIS_STATUS_SUCCESS;
      };
      c.HaltHandlerEx = (context) => {
        const adapter = context as TestAdapter;
        adapter.release();
        this.adapters.splice(this.adapters.indexOf(adapter), 1);
      };
      c.UnloadHandler = () => {};
      c.PauseHandler = () => NDIS_STATUS_SUCCESS;
      c.RestartHandler = () => NDIS_STATUS_SUCCESS;
      c.OidRequestHandler = () => NDIS_STATUS_SUCCESS;
      c.SendNetBufferListsHandler = (context, nbls, _port, flags) => {
        const adapter = context as TestAdapter;
        for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) {
          adapter.wire.push(nblBytes(x));
          x.Status = NDIS_STATUS_SUCCESS;
        }
        const completeFlags =
          (flags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
        NdisMSendNetBufferListsComplete(adapter.handle, nbls, completeFlags);
      };
      c.ReturnNetBufferListsHandler = (context, nbls) => {
        const adapter = context as TestAdapter;
        for (let x: NET_BUFFER_LIST | null = nbls; x !== null; ) {
          const next: NET_BUFFER_LIST | null = x.Next;
          x.Next = null;
          const frame = adapter.outstanding.get(x);
          assert.ok(frame, 'NDIS returned a list this miniport indicated');
          adapter.outstanding.delete(x);
          adapter.returned++;
          freeFrame(frame);
          x = next;
        }
      };
      c.CancelSendHandler = () => {};
      c.DevicePnPEventNotifyHandler = () => {};
      c.ShutdownHandlerEx = () => {};
      c.CancelOidRequestHandler = () => {};
      const box = { value: null as unknown };
      const status = NdisMRegisterMiniportDriver(DriverObject, RegistryPath, this, c, box);
      if (status !== NDIS_STATUS_SUCCESS) return status;
      this.driverHandle = box.value;
      DriverObject.DriverUnload = () => NdisMDeregisterMiniportDriver(this.driverHandle);
      return NDIS_STATUS_SUCCESS;
    },
  };
}

/** One binding of the test protocol. */
export class TestBinding {
  handle: unknown = null;
  readonly received: Uint8Array[] = [];
  /** Send completions by status. */
  readonly completed: number[] = [];
  readonly sending = new Map<NET_BUFFER_LIST, Frame>();
  constructor(readonly protocol: TestProtocol) {}

  /** Sends one frame down from the protocol's pool. */
  send(bytes: Uint8Array): void {
    const frame = makeFrame(this.protocol.pool!, bytes);
    frame.nbl.SourceHandle = this.handle;
    this.sending.set(frame.nbl, frame);
    NdisSendNetBufferLists(this.handle, frame.nbl, 0, 0);
  }
}

/** The test protocol driver. */
export class TestProtocol {
  handle: unknown = null;
  readonly pool = makePool();
  readonly bindings: TestBinding[] = [];

  readonly module = {
    DriverEntry: (DriverObject: DRIVER_OBJECT): number => {
      const c = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS();
      c.Header = new NDIS_OBJECT_HEADER(
        NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
        NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
      );
      c.MajorNdisVersion = 6;
      c.Name = 'TESTPROTO';
      c.BindAdapterHandlerEx = (_ctx, BindContext, _params: NDIS_BIND_PARAMETERS) => {
        const binding = new TestBinding(this);
        const open = new NDIS_OPEN_PARAMETERS();
        open.Header = new NDIS_OBJECT_HEADER(
          NDIS_OBJECT_TYPE_OPEN_PARAMETERS,
          NDIS_OPEN_PARAMETERS_REVISION_1,
          NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
        );
        open.MediumArray = [NdisMedium802_3];
        open.MediumArraySize = 1;
        const box = { value: null as unknown };
        const status = NdisOpenAdapterEx(this.handle, binding, open, BindContext, box);
        if (status !== NDIS_STATUS_SUCCESS) return status;
        binding.handle = box.value;
        this.bindings.push(binding);
        return NDIS_STATUS_SUCCESS;
      };
      c.UnbindAdapterHandlerEx = (_unbindContext, bindingContext) => {
        const binding = bindingContext as TestBinding;
        const status = NdisCloseAdapterEx(binding.handle);
        this.bindings.splice(this.bindings.indexOf(binding), 1);
        return status === NDIS_STATUS_PENDING ? NDIS_STATUS_PENDING : NDIS_STATUS_SUCCESS;
      };
      c.OpenAdapterCompleteHandlerEx = () => {};
      c.CloseAdapterCompleteHandlerEx = () => {};
      c.NetPnPEventHandler = () => NDIS_STATUS_SUCCESS;
      c.ReceiveNetBufferListsHandler = (bindingContext, nbls, _port, _n, flags) => {
        const binding = bindingContext as TestBinding;
        for (let x: NET_BUFFER_LIST | null = nbls; x !== null; x = x.Next) binding.received.push(nblBytes(x));
        if ((flags & NDIS_RECEIVE_FLAGS_RESOURCES) === 0) {
          const returnFlags = (flags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
          NdisReturnNetBufferLists(binding.handle, nbls, returnFlags);
        }
      };
      c.SendNetBufferListsCompleteHandler = (bindingContext, nbls) => {
        const binding = bindingContext as TestBinding;
        for (let x: NET_BUFFER_LIST | null = nbls; x !== null; ) {
          const next: NET_BUFFER_LIST | null = x.Next;
          x.Next = null;
          binding.completed.push(x.Status);
          const frame = binding.sending.get(x);
          assert.ok(frame, 'a list this protocol sent');
          binding.sending.delete(x);
          freeFrame(frame);
          x = next;
        }
      };
      const box = { value: null as unknown };
      const status = NdisRegisterProtocolDriver(this, c, box);
      if (status !== NDIS_STATUS_SUCCESS) return status;
      this.handle = box.value;
      DriverObject.DriverUnload = () => {
        NdisDeregisterProtocolDriver(this.handle);
        NdisFreeNetBufferListPool(this.pool!);
      };
      return NDIS_STATUS_SUCCESS;
    },
  };
}
