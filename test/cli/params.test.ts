/** `wdknet run --param <driver>:<Name>=<value>`: parsing, typing, and where the value lands in the registry. */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkParameterDrivers,
  describeParameter,
  ParameterError,
  parametersKeyPath,
  parseParameter,
  writeParameters,
} from '../../src/cli/params.js';
import {
  getRegistryValue,
  REG_BINARY,
  REG_DWORD,
  REG_MULTI_SZ,
  REG_QWORD,
  REG_SZ,
  resetSystem,
} from '../../src/kernel/index.js';

describe('wdknet run --param', () => {
  beforeEach(() => resetSystem());

  it('untyped values are REG_SZ, typed ones take their REG_ type', () => {
    assert.deepEqual(parseParameter('udp-redirect:ToAddress=10.0.0.5'), {
      driver: 'udp-redirect',
      name: 'ToAddress',
      type: REG_SZ,
      data: '10.0.0.5',
    });
    assert.deepEqual(parseParameter('d:Port=dword:53'), { driver: 'd', name: 'Port', type: REG_DWORD, data: 53 });
    assert.deepEqual(parseParameter('d:Port=dword:0x35').data, 53);
    assert.deepEqual(parseParameter('d:Big=qword:18446744073709551615'), {
      driver: 'd',
      name: 'Big',
      type: REG_QWORD,
      data: 0xffffffffffffffffn,
    });
    assert.deepEqual(parseParameter('d:Text=sz:dword:5').data, 'dword:5', 'sz: keeps text that looks typed');
    assert.deepEqual(parseParameter('d:List=multi:a,b').data, ['a', 'b']);
    assert.equal(parseParameter('d:List=multi:a,b').type, REG_MULTI_SZ);
    assert.deepEqual(parseParameter('d:Blob=binary:0aFF').data, new Uint8Array([0x0a, 0xff]));
    assert.equal(parseParameter('d:Blob=binary:').type, REG_BINARY);
    assert.equal(parseParameter('d:Eq=a=b').data, 'a=b', 'the first = separates name and value');
    assert.equal(parseParameter('d:Empty=').data, '');
  });

  it('bad syntax and values a type cannot hold are ParameterErrors that say what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['noColon=1', /expected <driver>:<Name>=<value>/],
      [':Name=1', /expected/],
      ['d:Name', /expected/],
      ['d=x:Name', /expected/],
      ['d:=1', /value name must be non-empty/],
      ['d:a\\b=1', /no backslash/],
      ['d:P=dword:-1', /not a number/],
      ['d:P=dword:4294967296', /does not fit/],
      ['d:P=dword:12abc', /not a number/],
      ['d:P=qword:18446744073709551616', /does not fit/],
      ['d:L=multi:a,,b', /non-empty strings/],
      ['d:B=binary:abc', /pairs of hex digits/],
      ['d:B=binary:zz', /pairs of hex digits/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => parseParameter(spec),
        (e: unknown) => e instanceof ParameterError && message.test(e.message),
        spec,
      );
    }
  });

  it('any REG_DWORD from 0 to 0xFFFFFFFF, in decimal or hex, lands in the Parameters key as that number (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.boolean(), (n, hex) => {
        resetSystem();
        const p = parseParameter(`drv:Value=dword:${hex ? `0x${n.toString(16)}` : n}`);
        writeParameters([p]);
        const stored = getRegistryValue(parametersKeyPath('drv'), 'value')!;
        assert.equal(stored.type, REG_DWORD);
        assert.equal(new DataView(stored.data.buffer).getUint32(0, true), n);
      }),
    );
  });

  it('writes under \\Registry\\Machine\\System\\CurrentControlSet\\Services\\<driver>\\Parameters', () => {
    writeParameters([parseParameter('udp-redirect:ToAddress=10.0.0.5')]);
    const v = getRegistryValue(
      '\\Registry\\Machine\\System\\CurrentControlSet\\Services\\udp-redirect\\Parameters',
      'ToAddress',
    )!;
    assert.equal(v.type, REG_SZ);
    assert.equal(Buffer.from(v.data).toString('utf16le'), '10.0.0.5\0');
  });

  it('a parameter for a driver that is not loaded is an error naming the drivers that are', () => {
    const p = parseParameter('udp-redirekt:ToPort=dword:1');
    assert.throws(
      () => checkParameterDrivers([p], ['udp-redirect', 'divert']),
      /no driver "udp-redirekt" is loaded \(drivers: udp-redirect, divert\)/,
    );
    assert.throws(() => checkParameterDrivers([p], []), /\(drivers: none\)/);
    checkParameterDrivers([p], ['udp-redirekt']);
  });

  it('the report shows each parameter with its type', () => {
    assert.equal(describeParameter(parseParameter('u:ToPort=dword:5353')), 'u\\Parameters\\ToPort = REG_DWORD 5353');
    assert.equal(describeParameter(parseParameter('u:To=10.0.0.5')), 'u\\Parameters\\To = REG_SZ "10.0.0.5"');
    assert.equal(describeParameter(parseParameter('u:L=multi:a,b')), 'u\\Parameters\\L = REG_MULTI_SZ "a", "b"');
    assert.equal(describeParameter(parseParameter('u:B=binary:0a0b')), 'u\\Parameters\\B = REG_BINARY 0a0b');
  });
});
