/**
 * `--param <driver>:<Name>=<value>`: a value written under a driver's service key Parameters subkey
 * (\Registry\Machine\System\CurrentControlSet\Services\<driver>\Parameters) before its DriverEntry runs, where a
 * Windows driver reads its configuration.
 *
 * The value is a REG_SZ unless it starts with a type: `dword:5` or `dword:0x35` (REG_DWORD), `qword:N`
 * (REG_QWORD), `sz:text` (REG_SZ, for text that itself looks typed), `multi:a,b,c` (REG_MULTI_SZ),
 * `binary:0a0b0c` (REG_BINARY, hex). `<driver>` is the name a `--driver` module loads as: its file name without
 * the extension (examples/udp-redirect.ts is `udp-redirect`).
 */
import {
  encodeRegistryData,
  REG_BINARY,
  REG_DWORD,
  REG_MULTI_SZ,
  REG_QWORD,
  REG_SZ,
  type RegistryData,
  serviceKeyPath,
  setRegistryValue,
} from '../kernel/registry.js';

/** One parsed `--param`. */
export interface DriverParameter {
  readonly driver: string;
  readonly name: string;
  readonly type: number;
  readonly data: RegistryData;
}

/** A `--param` that cannot be used: bad syntax, a value its type cannot hold, or a driver not being loaded. */
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

const TYPE_NAMES: Record<number, string> = {
  [REG_SZ]: 'REG_SZ',
  [REG_DWORD]: 'REG_DWORD',
  [REG_QWORD]: 'REG_QWORD',
  [REG_MULTI_SZ]: 'REG_MULTI_SZ',
  [REG_BINARY]: 'REG_BINARY',
};

const SYNTAX = '<driver>:<Name>=<value>, e.g. udp-redirect:ToPort=dword:5353 or udp-redirect:ToAddress=10.0.0.5';

function integer(spec: string, text: string, max: bigint): bigint {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) throw new ParameterError(`--param ${spec}: "${text}" is not a number`);
  const n = BigInt(text);
  if (n > max) throw new ParameterError(`--param ${spec}: ${text} does not fit (at most 0x${max.toString(16)})`);
  return n;
}

/** Parses one `--param` spec. */
export function parseParameter(spec: string): DriverParameter {
  const colon = spec.indexOf(':');
  const equals = spec.indexOf('=');
  if (colon <= 0 || equals < 0 || equals < colon) throw new ParameterError(`--param ${spec}: expected ${SYNTAX}`);
  const driver = spec.slice(0, colon);
  const name = spec.slice(colon + 1, equals);
  const text = spec.slice(equals + 1);
  if (name === '' || name.includes('\\')) {
    throw new ParameterError(`--param ${spec}: the value name must be non-empty and contain no backslash`);
  }
  const typed = /^(dword|qword|sz|multi|binary):(.*)$/s.exec(text);
  let type = REG_SZ;
  let data: RegistryData = text;
  if (typed !== null) {
    const body = typed[2]!;
    switch (typed[1]) {
      case 'dword':
        type = REG_DWORD;
        data = Number(integer(spec, body, 0xffffffffn));
        break;
      case 'qword':
        type = REG_QWORD;
        data = integer(spec, body, 0xffffffffffffffffn);
        break;
      case 'sz':
        data = body;
        break;
      case 'multi':
        type = REG_MULTI_SZ;
        data = body.split(',');
        if ((data as string[]).some((s) => s === '')) {
          throw new ParameterError(`--param ${spec}: a multi value is non-empty strings separated by commas`);
        }
        break;
      default:
        type = REG_BINARY;
        if (!/^([0-9a-f]{2})*$/i.test(body)) throw new ParameterError(`--param ${spec}: binary is pairs of hex digits`);
        data = Uint8Array.from(body.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    }
  }
  encodeRegistryData(type, data); // throws on a value its type cannot hold (checked above; kept as the last word)
  return { driver, name, type, data };
}

/** Checks that every parameter names a driver being loaded (`drivers`: their names). */
export function checkParameterDrivers(params: readonly DriverParameter[], drivers: readonly string[]): void {
  for (const p of params) {
    if (!drivers.includes(p.driver)) {
      throw new ParameterError(
        `--param ${p.driver}:${p.name}: no driver "${p.driver}" is loaded (drivers: ${drivers.join(', ') || 'none'})`,
      );
    }
  }
}

/** The key a driver's parameters are written under. */
export function parametersKeyPath(driver: string): string {
  return `${serviceKeyPath(driver)}\\Parameters`;
}

/** Writes the parameters into the registry (after resetSystem, before the drivers load). */
export function writeParameters(params: readonly DriverParameter[]): void {
  for (const p of params) setRegistryValue(parametersKeyPath(p.driver), p.name, p.type, p.data);
}

/** A parameter as the report shows it: `udp-redirect\Parameters\ToPort = REG_DWORD 5353`. */
export function describeParameter(p: DriverParameter): string {
  const shown =
    p.data instanceof Uint8Array
      ? Buffer.from(p.data).toString('hex')
      : Array.isArray(p.data)
        ? (p.data as string[]).map((s) => JSON.stringify(s)).join(', ')
        : typeof p.data === 'string'
          ? JSON.stringify(p.data)
          : String(p.data);
  return `${p.driver}\\Parameters\\${p.name} = ${TYPE_NAMES[p.type]} ${shown}`;
}
