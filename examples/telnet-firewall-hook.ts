/**
 * telnet-firewall-hook: a firewall-hook driver (the pre-Vista interface of ipfirewall.h). It registers its hook
 * with \Device\Ip through IOCTL_IP_SET_FIREWALL_HOOK and, for every IPv4 packet the IP layer shows it:
 *
 * - drops TCP to or from port 23 (telnet), in both directions;
 * - rewrites UDP datagrams whose payload starts with the marker "wdknet:ping": the marker becomes
 *   "wdknet:pong", the TTL is set to `hookConfig.ttl`, and the IP and UDP checksums are fixed. The rewritten
 *   packet is a NEW IPRcvBuf chain of two descriptors (headers, then payload), each allocated as the
 *   documentation says - ExAllocatePoolWithTag(NonPagedPool, sizeof(IPRcvBuf), 'fPCT') and IPAllocBuff (FH-1,
 *   FH-2) - chained through ipr_next (FH-4) and handed back through the hook's pRcvBuf out parameter with FORWARD.
 *   When the second descriptor cannot be had, the first one's small buffer is freed with FreeIprBuff (FH-5) and
 *   the descriptor given one buffer for the whole packet. A descriptor whose IPAllocBuff failed is freed with
 *   ExFreePool (FH-3). If memory runs out altogether the packet goes on unchanged (`hookStats.rewriteFailed`);
 * - forwards everything else untouched.
 *
 * Every packet is accounted in `hookStats`. Load with `wdknet run <capture> --driver examples/telnet-firewall-hook.ts`.
 */
import {
  bytesAt,
  DD_IP_DEVICE_NAME,
  type DEVICE_OBJECT,
  type DRIVER_OBJECT,
  DROP,
  ExAllocatePoolWithTag,
  Executive,
  ExFreePool,
  ExFreePoolWithTag,
  type FIREWALL_CONTEXT_T,
  FORWARD,
  FreeIprBuff,
  IO_STATUS_BLOCK,
  IOCTL_IP_SET_FIREWALL_HOOK,
  IoBuildDeviceIoControlRequest,
  IoCallDriver,
  IoGetDeviceObjectPointer,
  IP_SET_FIREWALL_HOOK_INFO,
  IPAllocBuff,
  IPRcvBuf,
  KEVENT,
  KeInitializeEvent,
  KernelMode,
  KeWaitForSingleObject,
  NonPagedPool,
  NotificationEvent,
  NT_SUCCESS,
  poolTag,
  RtlCopyMemory,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_PENDING,
} from 'wdknet/ddi';
import { PacketAccounting } from './lib/accounting.js';
import {
  fixIpv4Checksum,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_PROTOCOL,
  IPV4_TTL,
  ipv4HeaderLength,
  ipv4TotalLength,
  isLaterFragment,
  L4_DESTINATION_PORT,
  L4_SOURCE_PORT,
  read16,
  UDP_CHECKSUM,
  UDP_HEADER,
  updateChecksum,
  write16,
} from './lib/inet.js';

/** The port this firewall refuses. */
export const TELNET_PORT = 23;
/** The marker the rewrite looks for at the start of a UDP payload, and what it becomes. */
export const PING_MARKER = 'wdknet:ping';
/** What the marker becomes. */
export const PONG_MARKER = 'wdknet:pong';
/** Settings (a real driver would read them from its registry key in DriverEntry). */
export const hookConfig = { ttl: 42, priority: 1 };

/** Packets, accounted for: `passed` counts forwards (rewritten or not), drops carry reasons. */
export const hookStats = Object.assign(new PacketAccounting(), { rewritten: 0, rewriteFailed: 0 });

/** The tag the documentation prescribes for hook-allocated IPRcvBuf descriptors ("TCPf" in poolmon). */
const TAG_TCP = poolTag('fPCT');
/** Bytes of a packet the hook looks at: a maximal IPv4 header, a UDP header and the marker. */
const PEEK = 60 + UDP_HEADER + PING_MARKER.length;
const ping = new TextEncoder().encode(PING_MARKER);
const pong = new TextEncoder().encode(PONG_MARKER);
/** The driver's own pool tag ("Tltn" in poolmon), for its scratch buffer. */
const TAG_DRIVER = poolTag('ntlT');
/**
 * Scratch pool memory the first bytes of each packet are gathered into (RtlCopyMemory from the chain), and a view
 * of it made once in DriverEntry, valid while the memory stays allocated: no view is made per packet.
 */
let scratch = 0;
let peek: Uint8Array = new Uint8Array(0);

let ipDevice: DEVICE_OBJECT | null = null;
let registered = false;

/** One descriptor view, re-pointed at each descriptor the hook reads: no object per packet. */
let view: IPRcvBuf | null = null;
function descriptor(address: number): IPRcvBuf {
  if (view === null) view = new IPRcvBuf(address);
  return view.at(address);
}

/** Copies up to PEEK bytes from the start of the chain at `head` into the scratch buffer; returns how many. */
function gather(head: number): number {
  let got = 0;
  for (let rcv = head; rcv !== 0 && got < PEEK; ) {
    const d = descriptor(rcv);
    const n = Math.min(d.ipr_size, PEEK - got);
    if (n > 0) RtlCopyMemory(scratch + got, d.ipr_buffer, n);
    got += n;
    rcv = d.ipr_next;
  }
  return got;
}

/**
 * The firewall hook (IPPacketFirewallPtr). `pData.value` is the packet: the head of its IPRcvBuf chain, starting
 * at the IP header. To replace the packet, put a new chain in `pRcvBuf.value` and return FORWARD.
 */
function TelnetFirewallHook(
  pData: { value: number },
  _RecvInterfaceIndex: number,
  _pSendInterfaceIndex: { value: number },
  _pDestinationType: { value: number },
  _pContext: FIREWALL_CONTEXT_T,
  _ContextLength: number,
  pRcvBuf: { value: number },
): number {
  hookStats.seen++;
  const head = pData.value;
  const got = head === 0 ? 0 : gather(head);
  if (got < 20 || peek[0]! >>> 4 !== 4) return forward();
  const ihl = ipv4HeaderLength(peek);
  const protocol = peek[IPV4_PROTOCOL];
  if (isLaterFragment(peek) || ihl + 4 > got) return forward();
  if (protocol === IPPROTO_TCP) {
    if (read16(peek, ihl + L4_SOURCE_PORT) === TELNET_PORT || read16(peek, ihl + L4_DESTINATION_PORT) === TELNET_PORT) {
      hookStats.drop('telnet');
      return DROP;
    }
    return forward();
  }
  if (protocol === IPPROTO_UDP && got >= ihl + UDP_HEADER + ping.length && startsWithPing(ihl + UDP_HEADER)) {
    const replacement = rewrite(head, ihl);
    if (replacement === 0) {
      hookStats.rewriteFailed++;
      return forward();
    }
    pRcvBuf.value = replacement;
    hookStats.rewritten++;
  }
  return forward();
}

function forward(): number {
  hookStats.passed++;
  return FORWARD;
}

function startsWithPing(at: number): boolean {
  for (let i = 0; i < ping.length; i++) if (peek[at + i] !== ping[i]) return false;
  return true;
}

/**
 * Builds the rewritten packet as a new chain: two descriptors (headers and marker, then the rest of the payload),
 * or, when the second cannot be had, one descriptor whose small header buffer is given back with FreeIprBuff
 * (the descriptor stays ours) and replaced by one buffer for the whole packet. Returns the head, or 0 (with
 * nothing left allocated) if memory ran out.
 */
function rewrite(original: number, ihl: number): number {
  const total = ipv4TotalLength(peek);
  const headLength = ihl + UDP_HEADER + ping.length;
  const restLength = total - headLength;

  const first = newDescriptor(headLength);
  if (first === 0) return 0;
  let firstSize = headLength;
  let second = 0;
  if (restLength > 0) {
    second = newDescriptor(restLength);
    if (second !== 0) {
      descriptor(first).ipr_next = second;
    } else {
      FreeIprBuff(first); // only the buffer goes (FH-5): the descriptor is reused for the whole packet
      if (IPAllocBuff(first, total) !== 1) {
        ExFreePool(first); // its buffer is already freed; IPAllocBuff failed, so the descriptor is ours (FH-3)
        return 0;
      }
      firstSize = total;
    }
  }

  // The bytes, in order, from the original chain; then the headers and marker changed in the first buffer.
  const firstBuffer = descriptor(first).ipr_buffer;
  copyFromChain(original, 0, firstBuffer, firstSize);
  if (second !== 0) copyFromChain(original, headLength, descriptor(second).ipr_buffer, restLength);
  const h = bytesAt(firstBuffer, headLength);
  let udpChecksum = read16(h, ihl + UDP_CHECKSUM);
  const markerAt = ihl + UDP_HEADER;
  for (let i = 0; i < pong.length; i += 2) {
    const oldWord = (h[markerAt + i]! << 8) | (i + 1 < pong.length ? h[markerAt + i + 1]! : 0);
    const newWord = (pong[i]! << 8) | (i + 1 < pong.length ? pong[i + 1]! : 0);
    udpChecksum = updateChecksum(udpChecksum, oldWord, newWord);
  }
  h.set(pong, markerAt);
  if (read16(h, ihl + UDP_CHECKSUM) !== 0) write16(h, ihl + UDP_CHECKSUM, udpChecksum === 0 ? 0xffff : udpChecksum);
  h[IPV4_TTL] = hookConfig.ttl;
  fixIpv4Checksum(h);
  return first;
}

/** One descriptor with a buffer of `size` bytes, as the documentation says; 0 if either allocation fails. */
function newDescriptor(size: number): number {
  const rcv = ExAllocatePoolWithTag(NonPagedPool, IPRcvBuf.sizeof, TAG_TCP);
  if (rcv === 0) return 0;
  const d = descriptor(rcv);
  d.ipr_next = 0; // pool memory is not zeroed: a stale ipr_next would chain garbage
  d.ipr_flags = 0;
  if (IPAllocBuff(rcv, size) !== 1) {
    ExFreePool(rcv); // IPAllocBuff failed: the descriptor is still ours to free (FH-3)
    return 0;
  }
  return rcv;
}

/** Copies `length` bytes starting `skip` bytes into the chain at `head` to simulated memory at `to`. */
function copyFromChain(head: number, skip: number, to: number, length: number): void {
  for (let rcv = head; rcv !== 0 && length > 0; ) {
    const d = descriptor(rcv);
    const size = d.ipr_size;
    if (skip >= size) skip -= size;
    else {
      const n = Math.min(size - skip, length);
      RtlCopyMemory(to, d.ipr_buffer + skip, n);
      to += n;
      length -= n;
      skip = 0;
    }
    rcv = d.ipr_next;
  }
}

/** Adds or removes the hook: IOCTL_IP_SET_FIREWALL_HOOK to \Device\Ip, waiting for the request to complete. */
function setHook(add: boolean): number {
  if (ipDevice === null) return STATUS_OBJECT_NAME_NOT_FOUND;
  const info = new IP_SET_FIREWALL_HOOK_INFO();
  info.FirewallPtr = TelnetFirewallHook;
  info.Priority = hookConfig.priority;
  info.Add = add;
  const event = new KEVENT();
  KeInitializeEvent(event, NotificationEvent, false);
  const ioStatus = new IO_STATUS_BLOCK();
  const irp = IoBuildDeviceIoControlRequest(
    IOCTL_IP_SET_FIREWALL_HOOK,
    ipDevice,
    info,
    IP_SET_FIREWALL_HOOK_INFO.sizeof,
    null,
    0,
    false,
    event,
    ioStatus,
  );
  if (irp === null) return STATUS_INSUFFICIENT_RESOURCES;
  let status = IoCallDriver(ipDevice, irp);
  if (status === STATUS_PENDING) {
    KeWaitForSingleObject(event, Executive, KernelMode, false, null);
    status = ioStatus.Status;
  }
  return status;
}

/** DriverEntry: finds \Device\Ip and registers the hook. */
export function DriverEntry(DriverObject: DRIVER_OBJECT, _RegistryPath: string): number {
  hookStats.reset();
  hookStats.rewritten = hookStats.rewriteFailed = 0;
  const device = { value: null as DEVICE_OBJECT | null };
  let status = IoGetDeviceObjectPointer(DD_IP_DEVICE_NAME, device);
  if (!NT_SUCCESS(status)) return status;
  scratch = ExAllocatePoolWithTag(NonPagedPool, PEEK, TAG_DRIVER);
  if (scratch === 0) return STATUS_INSUFFICIENT_RESOURCES;
  peek = bytesAt(scratch, PEEK);
  ipDevice = device.value;
  status = setHook(true);
  if (!NT_SUCCESS(status)) {
    ipDevice = null;
    releaseScratch();
    return status;
  }
  registered = true;
  DriverObject.DriverUnload = DriverUnload;
  return status;
}

/** DriverUnload: removes the hook and frees the scratch buffer. */
function DriverUnload(_DriverObject: DRIVER_OBJECT): void {
  if (registered) setHook(false);
  registered = false;
  ipDevice = null;
  releaseScratch();
}

function releaseScratch(): void {
  peek = new Uint8Array(0);
  if (scratch !== 0) ExFreePoolWithTag(scratch, TAG_DRIVER);
  scratch = 0;
}
