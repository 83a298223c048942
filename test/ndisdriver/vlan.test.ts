/**
 * The virtual NIC as an adapter with NDIS_MAC_OPTION_8021Q_VLAN (NDIS_NET_BUFFER_LIST_8021Q_INFO, OID_GEN_VLAN_ID):
 * a received 802.1Q tag goes into Ieee8021QNetBufferListInfo and the frame up without it; a frame of another VLAN
 * is dropped by the NIC; on send the list's tag (or the NIC's own VLAN) goes back in after the MAC addresses.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ARENA_BASE, memory } from '../../src/kernel/arena.js';
import { bytesAt } from '../../src/kernel/memory.js';
import { mdlVa } from '../../src/ndis/chain.js';
import {
  NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY,
  NDIS_GET_NET_BUFFER_LIST_VLAN_ID,
  NDIS_SET_NET_BUFFER_LIST_USER_PRIORITY,
  NDIS_SET_NET_BUFFER_LIST_VLAN_ID,
} from '../../src/ndis/macros.js';
import { VirtualNic } from '../../src/stack/nic.js';
import { Wire } from '../../src/stack/wire.js';
import { NDIS_STATUS_SUCCESS, NdisAllocateNetBufferList, NdisSendNetBufferLists, resetSystem } from './ddi.js';
import { type TestBinding, TestProtocol } from './drivers.js';

const MAC_A = [2, 0, 0, 0, 0, 0xa];
const MAC_B = [2, 0, 0, 0, 0, 0xb];

/** An Ethernet frame to B, tagged with `tci` when given, EtherType 0x88b5, then `payload`. */
function frame(tci: number | null, payload: readonly number[]): Uint8Array {
  const tag = tci === null ? [] : [0x81, 0x00, tci >> 8, tci & 0xff];
  return Uint8Array.from([...MAC_B, ...MAC_A, ...tag, 0x88, 0xb5, ...payload]);
}

function setup(vlanB = 0) {
  const wire = new Wire('trunk');
  const nicA = new VirtualNic({ name: 'A', mac: MAC_A });
  const nicB = new VirtualNic({ name: 'B', mac: MAC_B, vlanId: vlanB });
  nicA.connect(wire);
  nicB.connect(wire);
  const protocol = new TestProtocol({ holdReceives: true });
  assert.equal(protocol.register(), NDIS_STATUS_SUCCESS);
  const byName = (n: string) => protocol.bindings.find((b) => b.params!.AdapterName === n)!;
  const seen: number[][] = [];
  wire.tap((bytes) => seen.push([...bytes]));
  return { wire, nicA, nicB, a: byName('A'), b: byName('B'), seen };
}

function send(b: TestBinding, bytes: Uint8Array, vlan = 0, priority = 0): void {
  const nbl = NdisAllocateNetBufferList(b.protocol.pool!, 0, 0)!;
  const nb = nbl.FirstNetBuffer!;
  memory.set(bytes, mdlVa(nb.MdlChain!) - ARENA_BASE);
  nb.DataLength = bytes.length;
  nbl.SourceHandle = b.handle;
  if (vlan !== 0) NDIS_SET_NET_BUFFER_LIST_VLAN_ID(nbl, vlan);
  if (priority !== 0) NDIS_SET_NET_BUFFER_LIST_USER_PRIORITY(nbl, priority);
  NdisSendNetBufferLists(b.handle, nbl, 0, 0);
}

function dataOf(b: TestBinding, i: number): number[] {
  const nb = b.received[i]!.FirstNetBuffer!;
  return [...bytesAt(mdlVa(nb.MdlChain!) + nb.DataOffset, nb.DataLength)];
}

describe('802.1Q on the virtual NIC (Ieee8021QNetBufferListInfo, OID_GEN_VLAN_ID)', () => {
  beforeEach(() => resetSystem());

  it('NDIS_NET_BUFFER_LIST_8021Q_INFO: a priority-tagged frame (VLAN 0) goes up untagged, its priority in the list', () => {
    const { wire, a, b } = setup();
    const tci = (5 << 13) | 0; // priority 5, VLAN 0
    wire.inject(frame(tci, [1, 2, 3]));
    wire.drain();
    assert.equal(b.received.length, 1);
    assert.deepEqual(dataOf(b, 0), [...frame(null, [1, 2, 3])], 'the tag is gone from the frame');
    assert.equal(NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY(b.received[0]!), 5);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(b.received[0]!), 0);
    b.returnHeld();
    a.returnHeld();
  });

  it('OID_GEN_VLAN_ID: a frame of another VLAN is dropped by the NIC; one of its own VLAN goes up with the VLAN in the list', () => {
    const { wire, nicB, a, b } = setup(7);
    wire.inject(frame(9, [1]));
    wire.inject(frame((3 << 13) | 7, [2]));
    wire.inject(frame(null, [3]));
    wire.drain();
    assert.equal(nicB.counters.dropOtherVlan, 1);
    assert.equal(b.received.length, 2);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(b.received[0]!), 7);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_USER_PRIORITY(b.received[0]!), 3);
    assert.deepEqual(dataOf(b, 0), [...frame(null, [2])]);
    assert.equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(b.received[1]!), 0, 'an untagged frame: no 802.1Q information');
    b.returnHeld();
    a.returnHeld();
  });

  it('on send the list tag goes in after the MAC addresses; with none, the NIC tags with its own VLAN; VLAN 0 and no priority sends untagged', () => {
    const { wire, a, b, seen } = setup(12);
    const plain = frame(null, [4, 5]);
    send(a, plain, 100, 6);
    send(a, plain);
    send(b, plain);
    wire.drain();
    assert.deepEqual(seen[0], [...frame((6 << 13) | 100, [4, 5])], "the list's VLAN 100, priority 6");
    assert.deepEqual(seen[1], [...plain], 'NIC A has VLAN 0: untagged');
    assert.deepEqual(seen[2], [...frame(12, [4, 5])], "NIC B's own VLAN 12");
    b.returnHeld();
    a.returnHeld();
  });
});
