import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DRIVER_OBJECT,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_OBJECT_HEADER,
  NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
  NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
  NDIS_STATUS_BAD_CHARACTERISTICS,
  NDIS_STATUS_BAD_VERSION,
  NdisMRegisterMiniportDriver,
  NdisRegisterProtocolDriver,
  resetSystem,
} from '../../src/ddi/index.js';

// NdisMRegisterMiniportDriver and NdisRegisterProtocolDriver: the characteristics header (type, size, revision) and
// an NDIS 6 major version are checked before anything else (NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
// NDIS_PROTOCOL_DRIVER_CHARACTERISTICS). The filter's equivalent is in filter.test.ts.
describe('driver characteristics', () => {
  beforeEach(() => resetSystem());

  it('NdisMRegisterMiniportDriver: a bad header is NDIS_STATUS_BAD_CHARACTERISTICS, NDIS 5 is NDIS_STATUS_BAD_VERSION', () => {
    const driver = new DRIVER_OBJECT('\\Driver\\BadMiniport');
    const box = { value: null as unknown };
    const c = new NDIS_MINIPORT_DRIVER_CHARACTERISTICS();
    assert.equal(NdisMRegisterMiniportDriver(driver, '', null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
      NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
      NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 5;
    assert.equal(NdisMRegisterMiniportDriver(driver, '', null, c, box), NDIS_STATUS_BAD_VERSION);
    c.MajorNdisVersion = 6;
    assert.equal(NdisMRegisterMiniportDriver(driver, '', null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS, 'no handlers');
    assert.equal(box.value, null);
  });

  it('NdisRegisterProtocolDriver: a bad header is NDIS_STATUS_BAD_CHARACTERISTICS, NDIS 5 is NDIS_STATUS_BAD_VERSION', () => {
    const box = { value: null as unknown };
    const c = new NDIS_PROTOCOL_DRIVER_CHARACTERISTICS();
    assert.equal(NdisRegisterProtocolDriver(null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS);
    c.Header = new NDIS_OBJECT_HEADER(
      NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
      NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
      NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    );
    c.MajorNdisVersion = 5;
    assert.equal(NdisRegisterProtocolDriver(null, c, box), NDIS_STATUS_BAD_VERSION);
    c.MajorNdisVersion = 6;
    assert.equal(NdisRegisterProtocolDriver(null, c, box), NDIS_STATUS_BAD_CHARACTERISTICS, 'no handlers');
    assert.equal(box.value, null);
  });
});
