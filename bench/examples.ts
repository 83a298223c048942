/**
 * What each example driver costs per packet on its layer's path, against the same path with no driver, measured
 * in the same run: the firewall hook's forward path (runFirewallHooks on a chain), a WFP classify at the
 * outbound IP-packet layer (redirect's permit path; inspect-reinject's and divert's whole absorb / DPC / inject /
 * complete cycle), and an NDIS receive indication through the counting filter.
 *
 *   node --conditions=development --import tsx --expose-gc bench/examples.ts [packets]
 */

import * as counting from '../examples/counting-filter.js';
import * as divert from '../examples/divert.js';
import * as inspect from '../examples/inspect-reinject.js';
import * as telnet from '../examples/telnet-firewall-hook.js';
import * as redirect from '../examples/udp-redirect.js';
import { buildRcvBufChain } from '../src/fwhook/chain.js';
import { FORWARD, IOCTL_IP_SET_FIREWALL_HOOK } from '../src/fwhook/constants.js';
import { IPFreeBuff } from '../src/fwhook/iprcvbuf.js';
import { FIREWALL_CONTEXT_T, IP_SET_FIREWALL_HOOK_INFO, ipDeviceObject } from '../src/fwhook/registry.js';
import { runFirewallHooks } from '../src/fwhook/run.js';
import { drainDeferredWork } from '../src/kernel/deferred.js';
import { loadDriver, sendDeviceIoControl, unloadDriver } from '../src/kernel/driver.js';
import { resetSystem } from '../src/kernel/system.js';
import { setVerifierMode } from '../src/kernel/verifier.js';
import { drainNdisPnpWork } from '../src/ndis/driver-lifecycle.js';
import { addMiniportAdapter } from '../src/ndis/miniport.js';
import { TestMiniport, TestProtocol } from '../test/examples/ndis-stack.js';
import { ethernetFrame, ip, ipv4Packet } from '../test/examples/packets.js';
import { IpPacketHarness } from '../test/examples/wfp-harness.js';
import { bestOf, machine, nsPerOp, row } from './lib.js';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = 3;
const udp = ipv4Packet({
  protocol: 'udp',
  source: ip('10.0.0.1'),
  destination: ip('10.0.0.2'),
  destinationPort: 9999,
  payload: new Uint8Array(64),
});
const frame = ethernetFrame(udp);

function fresh(): void {
  resetSystem({ verifier: 'off' });
  setVerifierMode('off');
}

console.log(`example drivers, ${N} packets per measurement, best of ${RUNS}; ${await machine()}`);

// --- firewall hook: the forward path of a packet the hook does not touch ---------------------------------------
{
  fresh();
  const chain = buildRcvBufChain(udp);
  const ctx = new FIREWALL_CONTEXT_T(1);
  // With FORWARD and no replacement the chain comes back to the caller: the same chain runs again.
  const base = bestOf(RUNS, () => nsPerOp(N, () => runFirewallHooks(chain, 1, 2, 0, ctx)));
  row('firewall hook: runFirewallHooks, no hook registered', base);
  // The cost of having a hook at all (the IP layer raises to DISPATCH_LEVEL and calls it): a hook that only forwards.
  const empty = loadDriver('empty', {
    DriverEntry(DriverObject) {
      const info = new IP_SET_FIREWALL_HOOK_INFO(() => FORWARD, 1, true);
      const status = sendDeviceIoControl(ipDeviceObject()!, IOCTL_IP_SET_FIREWALL_HOOK, info, 16);
      DriverObject.DriverUnload = () => {
        info.Add = false;
        sendDeviceIoControl(ipDeviceObject()!, IOCTL_IP_SET_FIREWALL_HOOK, info, 16);
      };
      return status;
    },
  });
  const emptyHook = bestOf(RUNS, () => nsPerOp(N, () => runFirewallHooks(chain, 1, 2, 0, ctx)));
  row('firewall hook: a hook that only returns FORWARD', emptyHook, base);
  unloadDriver(empty);
  const d = loadDriver('telnet', telnet);
  const hooked = bestOf(RUNS, () => nsPerOp(N, () => runFirewallHooks(chain, 1, 2, 0, ctx)));
  row('firewall hook: telnet-firewall-hook forwards a UDP packet', hooked, base);
  console.log(`${''.padEnd(58)} ${''.padStart(9)}        ${(hooked / emptyHook).toFixed(2)}x the empty hook`);
  unloadDriver(d);
  IPFreeBuff(chain);
}

// --- WFP: classify at OUTBOUND_IPPACKET_V4 (build, classify, and give the packet back) -------------------------
function wfpCycle(h: IpPacketHarness): () => void {
  return () => {
    const p = h.build(udp)!;
    h.classify(p, false);
    h.pump();
    drainDeferredWork();
    h.reap();
  };
}
{
  fresh();
  const h = new IpPacketHarness();
  const base = bestOf(RUNS, () => nsPerOp(N / 4, wfpCycle(h)));
  row('WFP: build + classify + free, no filter at the layer', base);
  h.release();
  const cases: [string, { DriverEntry: (d: never, r: string) => number }][] = [
    ['udp-redirect permits a packet it does not redirect', redirect],
    ['inspect-reinject: clone, absorb, DPC, inject, complete', inspect],
    ['divert: copy, absorb, DPC to user code, new NBL, inject', divert],
  ];
  for (const [name, module] of cases) {
    fresh();
    redirect.configureRedirect(ip('8.8.8.8'), 53, ip('10.53.0.1'), 5353);
    const d = loadDriver(name, module as never);
    const hd = new IpPacketHarness();
    const ns = bestOf(RUNS, () => nsPerOp(N / 4, wfpCycle(hd)));
    row(`WFP: ${name}`, ns, base);
    unloadDriver(d);
    drainDeferredWork();
    hd.release();
  }
}

// --- NDIS: a receive indication from a miniport up to a protocol ------------------------------------------------
async function ndisStack(withFilter: boolean): Promise<{ indicate: () => void; close: () => void }> {
  fresh();
  const mp = new TestMiniport();
  const proto = new TestProtocol();
  const m = loadDriver('mp', mp.module);
  addMiniportAdapter(mp.driverHandle as never, { ifIndex: 41 });
  const f = withFilter ? loadDriver('counting', counting) : null;
  const p = loadDriver('proto', proto.module);
  for (let i = 0; i < 5; i++) {
    drainNdisPnpWork();
    await new Promise((r) => setImmediate(r));
  }
  const adapter = mp.adapters[0]!;
  const binding = proto.bindings[0]!;
  return {
    indicate: () => {
      adapter.indicate(frame);
      binding.received.length = 0;
    },
    close: () => {
      unloadDriver(p);
      if (f !== null) unloadDriver(f);
      unloadDriver(m);
      drainNdisPnpWork();
    },
  };
}
{
  const plain = await ndisStack(false);
  const base = bestOf(RUNS, () => nsPerOp(N / 4, plain.indicate));
  row('NDIS: indicate a frame up to a protocol, no filter', base);
  plain.close();
  const filtered = await ndisStack(true);
  const ns = bestOf(RUNS, () => nsPerOp(N / 4, filtered.indicate));
  row('NDIS: the same through counting-filter', ns, base);
  filtered.close();
}
