/**
 * Reassembly through the host: a UDP datagram for the host in two IPv4 fragments (out of order), reassembled and
 * delivered, against the baseline in the same run of the same datagram arriving whole. The ratio is what
 * reassembly costs per datagram. Also the heap after a second pass over the same traffic (no growth: the
 * per-fragment bookkeeping allocates nothing that stays).
 *
 * Run: node --conditions=development --import tsx --expose-gc bench/reassembly.ts [datagrams]
 */
import { resetSystem } from '../src/kernel/system.js';
import { parseIpv4 } from '../src/stack/addr.js';
import { IPPROTO_UDP } from '../src/stack/headers.js';
import { IpLayer } from '../src/stack/ip.js';
import { fragment, frame } from '../test/stack/frames.js';
import { TapAdapter } from '../test/stack/tap.js';
import { bestOf, heapUsedAfterGc, machine, nsPerOp, row } from './lib.js';

const DATAGRAMS = Number(process.argv[2] ?? 200_000);
const MAC = 0x02_00_00_00_01_01;

resetSystem({ verifier: 'off' });
const host = new IpLayer();
const tap = new TapAdapter(1, MAC, host, () => {});
host.addInterface(tap);
host.addAddress4(1, parseIpv4('10.0.1.1'), 24);
host.start();
tap.start();
const sink = host.endpoints.bind(IPPROTO_UDP, 53);

const whole = frame({
  protocol: 'udp',
  src: '10.0.1.10',
  dst: '10.0.1.1',
  dstPort: 53,
  payload: new Uint8Array(64),
  dstMac: MAC,
});
const [first, last] = fragment(whole, [40, 32]) as [Uint8Array, Uint8Array];

/** Sets the identification and fixes the header checksum (each datagram its own). */
function identify(f: Uint8Array, id: number): void {
  f[18] = id >> 8;
  f[19] = id & 0xff;
  f[24] = f[25] = 0;
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  f[24] = (~s >> 8) & 0xff;
  f[25] = ~s & 0xff;
}

const fragments = (i: number) => {
  identify(last, i & 0xffff);
  identify(first, i & 0xffff);
  tap.indicate(last, 0, last.length);
  tap.indicate(first, 0, first.length);
};
const wholes = (i: number) => {
  identify(whole, i & 0xffff);
  tap.indicate(whole, 0, whole.length);
};

console.log(`# reassembly - ${await machine()} - ${new Date().toISOString().slice(0, 10)} - ${DATAGRAMS} datagrams`);
const base = bestOf(3, () => nsPerOp(DATAGRAMS, wholes));
const reassembled = bestOf(3, () => nsPerOp(DATAGRAMS, fragments));
row('baseline: the datagram whole (one frame)', base);
row('two fragments, out of order, reassembled and delivered', reassembled, base);
const before = heapUsedAfterGc();
for (let i = 0; i < DATAGRAMS; i++) fragments(i);
const after = heapUsedAfterGc();
console.log(
  `heap after a pass vs after the pass before it (${DATAGRAMS} datagrams): ${((after - before) / 1024).toFixed(1)} KiB`,
);
if (sink.packets === 0 || host.reassembly.heldCount() !== 0) throw new Error('the datagrams did not all reassemble');
host.stop();
tap.stop();
