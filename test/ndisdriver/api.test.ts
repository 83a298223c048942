import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  drainNdisPnpWork,
  ndisStacks,
  registerFilterDriver,
  registerMiniportDriver,
  registerProtocolDriver,
  startAdapter,
  stopAdapter,
  VirtualNic,
  Wire,
} from '../../src/api/ndisdriver.js';
import { collectLeaks } from '../../src/kernel/leaks.js';
import { StatusError } from '../../src/kernel/status.js';
import {
  DRIVER_OBJECT,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_STATUS_BAD_CHARACTERISTICS,
  NdisFreeNetBufferListPool,
  resetSystem,
} from './ddi.js';
import { makePool, TestFilter, TestMiniport, TestProtocol } from './drivers.js';

describe('the idiomatic NDIS driver-model API', () => {
  beforeEach(() => resetSystem());

  it('registration failures are StatusErrors carrying the DDI’s status', () => {
    assert.throws(
      () => registerMiniportDriver(new DRIVER_OBJECT('x'), new NDIS_MINIPORT_DRIVER_CHARACTERISTICS()),
      (e: unknown) => e instanceof StatusError && e.status === NDIS_STATUS_BAD_CHARACTERISTICS,
    );
  });

  it('registers drivers, starts an adapter and shows the stack NDIS built, bottom to top, then tears it all down', () => {
    const m = new TestMiniport();
    const miniport = registerMiniportDriver(m.driverObject, m.chars, m);
    m.handle = miniport.handle;
    const f1 = new TestFilter({ name: 'Lower', log: [] });
    const f2 = new TestFilter({ name: 'Upper', log: [] });
    const r1 = registerFilterDriver(f1.driverObject, f1.chars, f1);
    f1.handle = r1.handle;
    const r2 = registerFilterDriver(f2.driverObject, f2.chars, f2);
    f2.handle = r2.handle;
    const adapter = startAdapter(miniport.handle, { name: 'Api Adapter', ifIndex: 33 });
    const p = new TestProtocol({ name: 'APIPROTO' });
    p.pool = makePool('tspT');
    const protocol = registerProtocolDriver(p.chars, p);
    p.handle = protocol.handle;
    assert.equal(p.bindings.length, 0, 'binding is Plug and Play work done after registration returns');
    drainNdisPnpWork();
    assert.equal(p.bindings.length, 1);
    p.bindings[0]!.send(2);
    const [stack] = ndisStacks();
    assert.equal(stack!.name, 'Api Adapter');
    assert.equal(stack!.ifIndex, 33);
    assert.equal(stack!.state, 'Running');
    assert.deepEqual(
      stack!.filters.map((f) => f.name),
      ['Lower', 'Upper'],
    );
    assert.deepEqual(
      stack!.bindings.map((b) => b.protocol),
      ['APIPROTO'],
    );
    assert.equal(stack!.sent, 2);
    assert.equal(stack!.completed, 2);
    stopAdapter(adapter);
    assert.deepEqual(ndisStacks(), []);
    r1.deregister();
    r2.deregister();
    miniport.deregister();
    protocol.deregister();
    NdisFreeNetBufferListPool(p.pool);
    assert.deepEqual(collectLeaks(), []);
  });

  it('VirtualNic and Wire are available from the API', () => {
    const wire = new Wire('api');
    const nic = new VirtualNic({ name: 'api0' });
    nic.connect(wire);
    assert.equal(ndisStacks()[0]!.name, 'api0');
    nic.remove();
    wire.close();
  });
});
