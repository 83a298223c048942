import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { resetSystem } from '../../src/kernel/system.js';
import {
  decodeChecksumReceive,
  decodeChecksumTransmit,
  encodeChecksumReceive,
  encodeChecksumTransmit,
  NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED,
  NDIS_CSUM_RX_TCP_CHECKSUM_FAILED,
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO,
} from '../../src/packet/index.js';

beforeEach(() => resetSystem());

// learn.microsoft.com: NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO structure (ndis/nblchecksum.h)
describe('NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO', () => {
  it('Transmit bit fields sit from bit 0 in declaration order; TcpHeaderOffset is bits 16..25', () => {
    const v = encodeChecksumTransmit({ IsIPv4: 1, TcpChecksum: 1, IpHeaderChecksum: 1, TcpHeaderOffset: 34 });
    assert.equal(v, 0x00220015);
    assert.equal(encodeChecksumTransmit({ IsIPv6: 1, UdpChecksum: 1 }), 0b1010);
    assert.deepEqual(decodeChecksumTransmit(v), {
      IsIPv4: 1,
      IsIPv6: 0,
      TcpChecksum: 1,
      UdpChecksum: 0,
      IpHeaderChecksum: 1,
      Reserved: 0,
      TcpHeaderOffset: 34,
    });
  });

  it('Receive bit fields: Failed bits 0..2, Succeeded bits 3..5, Loopback 6, ValueInvalid 7..8', () => {
    assert.equal(encodeChecksumReceive({ TcpChecksumFailed: 1 }), NDIS_CSUM_RX_TCP_CHECKSUM_FAILED);
    assert.equal(encodeChecksumReceive({ IpChecksumSucceeded: 1 }), NDIS_CSUM_RX_IP_CHECKSUM_SUCCEEDED);
    assert.equal(encodeChecksumReceive({ Loopback: 1, IpChecksumValueInvalid: 1 }), 0x140);
    assert.equal(decodeChecksumReceive(0x18).UdpChecksumSucceeded, 1);
    assert.equal(decodeChecksumReceive(0x18).TcpChecksumSucceeded, 1);
  });

  it('encode and decode are inverse for every value of the fields', () => {
    fc.assert(
      fc.property(fc.nat(0x3ffffff), (value) => {
        assert.equal(encodeChecksumTransmit(decodeChecksumTransmit(value)), value);
        const rx = value & 0x1ff;
        assert.equal(encodeChecksumReceive(decodeChecksumReceive(rx)), rx);
      }),
    );
  });

  it('the structure shares one Value between Transmit and Receive, as the C union does', () => {
    const info = new NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO();
    info.Transmit.IsIPv4 = 1;
    info.Transmit.TcpHeaderOffset = 0x3ff + 1; // a 10-bit field keeps the low 10 bits, as in C
    assert.equal(info.Value, 1);
    info.Transmit.TcpHeaderOffset = 54;
    assert.equal(info.Value, (54 << 16) | 1);
    assert.equal(info.Receive.TcpChecksumFailed, 1); // same bit 0
    info.Receive.IpChecksumSucceeded = 1;
    assert.equal(info.Transmit.Reserved, 1); // bit 5 is inside Transmit.Reserved
  });
});
