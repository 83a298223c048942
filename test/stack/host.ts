/**
 * A two-interface host for the IP layer tests: 10.0.1.1/24 and fd00:1::1/64 on interface 1, 10.0.2.1/24 and
 * fd00:2::1/64 on interface 2, test-double adapters underneath, neighbours 10.0.1.10 / fd00:1::10 (A) and
 * 10.0.2.20 / fd00:2::20 (B) known unless told otherwise. `finish` stops it and checks the conservation identity
 * and that nothing leaked.
 */
import assert from 'node:assert/strict';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { parseIpv4, parseIpv6 } from '../../src/stack/addr.js';
import { IpLayer } from '../../src/stack/ip.js';
import { TapAdapter } from './tap.js';

export const MAC1 = 0x02_00_00_00_01_01;
export const MAC2 = 0x02_00_00_00_02_01;
export const A_MAC = 0x02_00_00_00_00_0a;
export const B_MAC = 0x02_00_00_00_00_0b;

/** Builds the host; `forwarding` defaults to true. */
export function testHost(options: { neighbours?: boolean; forwarding?: boolean; maxTcpConnections?: number } = {}) {
  const host = new IpLayer({
    forwarding: options.forwarding ?? true,
    ...(options.maxTcpConnections === undefined ? {} : { maxTcpConnections: options.maxTcpConnections }),
  });
  const out: { ifIndex: number; bytes: Uint8Array }[] = [];
  const sink = (ifIndex: number, bytes: Uint8Array, offset: number, length: number) =>
    out.push({ ifIndex, bytes: bytes.slice(offset, offset + length) });
  const if1 = new TapAdapter(1, MAC1, host, sink);
  const if2 = new TapAdapter(2, MAC2, host, sink);
  if1.promiscuous = if2.promiscuous = false;
  host.addInterface(if1);
  host.addInterface(if2);
  host.addAddress4(1, parseIpv4('10.0.1.1'), 24);
  host.addAddress4(2, parseIpv4('10.0.2.1'), 24);
  host.addAddress6(1, parseIpv6('fd00:1::1'), 64);
  host.addAddress6(2, parseIpv6('fd00:2::1'), 64);
  host.start();
  if1.start();
  if2.start();
  if (options.neighbours !== false) {
    host.neighbors.learn4(1, parseIpv4('10.0.1.10'), A_MAC, true);
    host.neighbors.learn4(2, parseIpv4('10.0.2.20'), B_MAC, true);
    host.neighbors.learn6(1, parseIpv6('fd00:1::10'), 0, A_MAC, true);
    host.neighbors.learn6(2, parseIpv6('fd00:2::20'), 0, B_MAC, true);
  }
  const finish = () => {
    host.stop();
    if1.stop();
    if2.stop();
    assert.equal(host.counters.balance(0), 0, 'every packet accounted for');
    assert.deepEqual(collectLeaks(), [], 'nothing leaked');
  };
  return { host, if1, if2, out, finish };
}
