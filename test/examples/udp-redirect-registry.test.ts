/**
 * udp-redirect reads its redirection from its service key's Parameters subkey in DriverEntry (ZwOpenKey,
 * ZwQueryValueKey into a KEY_VALUE_PARTIAL_INFORMATION, ZwClose), against the WFP harness: the outbound
 * rewrite follows the registry; absent values keep the configureRedirect setting; a bad value fails DriverEntry
 * with its status and leaves nothing behind (handle closed, buffer freed), under fault injection too.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  REG_DWORD,
  REG_SZ,
  resetSystem,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_TYPE_MISMATCH,
} from 'wdknet/ddi';
import { IPV4_DESTINATION, read16, read32 } from '../../examples/lib/inet.js';
import * as driver from '../../examples/udp-redirect.js';
import { type LoadedDriver, loadDriver, unloadDriver } from '../../src/kernel/driver.js';
import { disableFaultInjection, enableFaultInjection } from '../../src/kernel/faults.js';
import { openHandles } from '../../src/kernel/handles.js';
import { serviceKeyPath, setRegistryValue } from '../../src/kernel/registry.js';
import { assertNoLeaks } from './leaks.js';
import { ip, ipv4Packet } from './packets.js';
import { IpPacketHarness } from './wfp-harness.js';

const PARAMS = `${serviceKeyPath('udp-redirect')}\\Parameters`;
const CLIENT = ip('192.168.1.10');

function configure(from: string, fromPort: number, to: string, toPort: number): void {
  setRegistryValue(PARAMS, 'FromAddress', REG_SZ, from);
  setRegistryValue(PARAMS, 'FromPort', REG_DWORD, fromPort);
  setRegistryValue(PARAMS, 'ToAddress', REG_SZ, to);
  setRegistryValue(PARAMS, 'ToPort', REG_DWORD, toPort);
}

describe('example udp-redirect: configuration from the registry Parameters key', () => {
  let loaded: LoadedDriver | null = null;
  let h: IpPacketHarness | null = null;
  beforeEach(() => {
    resetSystem();
    driver.configureRedirect(0, 0, 0, 0);
  });
  afterEach(async () => {
    if (loaded !== null && loaded.status >= 0) unloadDriver(loaded);
    loaded = null;
    if (h !== null) {
      await h.drain();
      h.release();
      h = null;
    }
    assertNoLeaks();
    driver.configureRedirect(0, 0, 0, 0);
  });

  it('redirects exactly the address and port the registry names, whatever they are (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.ipV4(),
        fc.integer({ min: 1, max: 0xffff }),
        fc.ipV4(),
        fc.integer({ min: 1, max: 0xffff }),
        async (from, fromPort, to, toPort) => {
          resetSystem();
          configure(from, fromPort, to, toPort);
          loaded = loadDriver('udp-redirect', driver);
          assert.equal(loaded.status, 0);
          assert.deepEqual(driver.redirectConfig, {
            fromAddress: ip(from),
            fromPort,
            toAddress: ip(to),
            toPort,
          });
          assert.equal(openHandles().length, 0, 'DriverEntry closed its key handle');
          h = new IpPacketHarness();
          const packet = ipv4Packet({
            protocol: 'udp',
            source: CLIENT,
            destination: ip(from),
            sourcePort: 40000,
            destinationPort: fromPort,
          });
          assert.equal(h.offer(packet, false), 'absorbed');
          await h.drain();
          assert.equal(read32(h.sent[0]!, IPV4_DESTINATION), ip(to));
          assert.equal(read16(h.sent[0]!, 22), toPort);
          unloadDriver(loaded);
          loaded = null;
          await h.drain();
          h.release();
          h = null;
          assertNoLeaks();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('values that are absent keep the configureRedirect setting; no Parameters key at all keeps all of it', () => {
    driver.configureRedirect(ip('8.8.8.8'), 53, ip('10.53.0.1'), 5353);
    loaded = loadDriver('udp-redirect', driver);
    assert.equal(loaded.status, 0);
    assert.equal(driver.redirectConfig.toPort, 5353);
    unloadDriver(loaded);

    resetSystem();
    setRegistryValue(PARAMS, 'ToPort', REG_DWORD, 5454);
    loaded = loadDriver('udp-redirect', driver);
    assert.equal(loaded.status, 0);
    assert.deepEqual(driver.redirectConfig, {
      fromAddress: ip('8.8.8.8'),
      fromPort: 53,
      toAddress: ip('10.53.0.1'),
      toPort: 5454,
    });
  });

  it('a value of the wrong type or out of range fails DriverEntry with that status, changes nothing, leaks nothing', () => {
    const cases: [() => void, number][] = [
      [() => setRegistryValue(PARAMS, 'FromPort', REG_SZ, '53'), STATUS_OBJECT_TYPE_MISMATCH],
      [() => setRegistryValue(PARAMS, 'ToAddress', REG_DWORD, 0x0a000001), STATUS_OBJECT_TYPE_MISMATCH],
      [() => setRegistryValue(PARAMS, 'ToPort', REG_DWORD, 70000), STATUS_INVALID_PARAMETER],
      [() => setRegistryValue(PARAMS, 'ToPort', REG_DWORD, 0), STATUS_INVALID_PARAMETER],
      [() => setRegistryValue(PARAMS, 'FromAddress', REG_SZ, '10.0.0.256'), STATUS_INVALID_PARAMETER],
      [
        () => setRegistryValue(PARAMS, 'FromAddress', REG_SZ, 'a.very.long.name.that.overflows.the.buffer'),
        STATUS_INVALID_PARAMETER,
      ],
    ];
    for (const [write, status] of cases) {
      resetSystem();
      configure('8.8.8.8', 53, '10.53.0.1', 5353);
      write();
      const d = loadDriver('udp-redirect', driver);
      assert.equal(d.status, status);
      assert.deepEqual(driver.redirectConfig, { fromAddress: 0, fromPort: 0, toAddress: 0, toPort: 0 });
      assert.equal(d.object.DeviceObject, null);
      assert.equal(openHandles().length, 0);
      assertNoLeaks();
    }
  });

  it('the value buffer failing to allocate fails DriverEntry with STATUS_INSUFFICIENT_RESOURCES and leaves nothing', () => {
    configure('8.8.8.8', 53, '10.53.0.1', 5353);
    enableFaultInjection({ failCalls: [1] });
    const d = loadDriver('udp-redirect', driver);
    disableFaultInjection();
    assert.equal(d.status, STATUS_INSUFFICIENT_RESOURCES);
    assert.equal(openHandles().length, 0, 'the key handle was closed on the way out');
    assertNoLeaks();
  });
});
