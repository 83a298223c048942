import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  buildRcvBufChain,
  FirewallHookRegistration,
  firewallHooks,
  flattenRcvBufChain,
  freeRcvBufChain,
  runFirewallHooks,
} from '../../src/api/fwhook.js';
import { poolmon } from '../../src/kernel/pool.js';
import { StatusError } from '../../src/kernel/status.js';
import { resetSystem } from '../../src/kernel/system.js';
import { DEST_LOCAL, DROP, FIREWALL_CONTEXT_T, FORWARD, IP_RECEIVE, STATUS_UNSUCCESSFUL } from './ddi.js';

describe('firewall hook idiomatic API (the same core as wdknet/ddi)', () => {
  beforeEach(() => resetSystem());

  it('registers through IOCTL_IP_SET_FIREWALL_HOOK, refuses a duplicate with StatusError, unregisters once', () => {
    const hook = () => FORWARD;
    const reg = FirewallHookRegistration.register(hook, 3);
    assert.deepEqual(firewallHooks(), [hook]);
    assert.throws(
      () => FirewallHookRegistration.register(hook, 3),
      (e: unknown) => e instanceof StatusError && e.status === STATUS_UNSUCCESSFUL,
    );
    reg.unregister();
    reg.unregister();
    assert.deepEqual(firewallHooks(), []);
  });

  it('runs a dropping hook on packet bytes and leaves the pool empty', () => {
    const reg = FirewallHookRegistration.register((pData) =>
      flattenRcvBufChain(pData.value)[0] === 0x45 ? DROP : FORWARD,
    );
    const ctx = new FIREWALL_CONTEXT_T(IP_RECEIVE);
    assert.equal(runFirewallHooks(new Uint8Array([0x45, 0, 0, 20]), 1, 0, DEST_LOCAL, ctx).action, DROP);
    const v = runFirewallHooks(buildRcvBufChain(new Uint8Array([0x60, 0, 0, 0])), 1, 0, DEST_LOCAL, ctx);
    assert.equal(v.action, FORWARD);
    freeRcvBufChain(v.chain);
    reg.unregister();
    assert.ok(poolmon().every((r) => r.bytes === 0));
  });
});
