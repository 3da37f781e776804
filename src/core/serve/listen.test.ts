import { describe, expect, it } from 'vitest';
import { assertDistinctPorts, type PortSetting } from './listen.js';
import { addressesBeside, hostsOverlap, type HostLookup } from './listen-addresses.js';

const health = (port: number | null, host = '127.0.0.1'): PortSetting => ({ setting: 'daemon.port', named: '--port (daemon.port)', port, host });
const api = (port: number | null, host = '127.0.0.1'): PortSetting => ({ setting: 'serve.port', named: 'serve.port', port, host });

/** A resolver that knows a few names, as /etc/hosts or a DNS server would answer them. */
const NAMES: Record<string, { address: string; family: number }[]> = {
  localhost: [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }],
  'ip6-localhost': [{ address: '::1', family: 6 }],
  'api.internal': [{ address: '10.1.2.3', family: 4 }],
};
const knownNames: HostLookup = async (host) => {
  const addresses = NAMES[host.toLowerCase()];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addresses;
};

const refusal = async (moved: PortSetting, kept: PortSetting, lookupHost: HostLookup = knownNames): Promise<unknown> => {
  try {
    await assertDistinctPorts(moved, kept, 'they cannot share a port', 'give one of them another port', lookupHost);
    return undefined;
  } catch (error) {
    return error;
  }
};

describe('core > serve > listen > assertDistinctPorts', () => {
  it('refuses one port on one host, naming both settings, and the port on every address beside any host', async () => {
    expect(await refusal(health(9100), api(9100))).toMatchObject({
      code: 'FLTS_CONFIG_INVALID_VALUE',
      message: '--port (daemon.port) and serve.port are both 9100: they cannot share a port; give one of them another port (0 = any free port).',
      details: { setting: 'daemon.port', port: 9100, sameAs: 'serve.port' },
    });
    expect(await refusal(health(9100, '0.0.0.0'), api(9100))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100), api(9100, '::'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, 'LocalHost'), api(9100, 'localhost'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
  });

  it('refuses hosts written differently that share an address, naming both hosts', async () => {
    expect(await refusal(health(9100, 'localhost'), api(9100, '127.0.0.1'))).toMatchObject({
      code: 'FLTS_CONFIG_INVALID_VALUE',
      message: '--port (daemon.port) and serve.port are both 9100 on hosts that share an address (localhost, 127.0.0.1): they cannot share a port; give one of them another port (0 = any free port).',
      details: { setting: 'daemon.port', port: 9100, sameAs: 'serve.port' },
    });
    expect(await refusal(health(9100, 'ip6-localhost'), api(9100, '0:0:0:0:0:0:0:1'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, '::ffff:127.0.0.1'), api(9100, '127.0.0.1'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    // `::` takes both families (Node listens dual-stack); `0.0.0.0` every IPv4 address, and `::` too.
    expect(await refusal(health(9100, '::'), api(9100, 'api.internal'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, '0.0.0.0'), api(9100, 'localhost'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, '0.0.0.0'), api(9100, '::'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, '0:0::0'), api(9100, '10.9.8.7'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, ''), api(9100, '127.0.0.1'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
  });

  it('lets through any free port (0), a listener that is off, different ports, and hosts with no address in common', async () => {
    expect(await refusal(health(0), api(0))).toBeUndefined();
    expect(await refusal(health(null), api(null))).toBeUndefined();
    expect(await refusal(health(9100), api(8000))).toBeUndefined();
    expect(await refusal(health(9100, '127.0.0.1'), api(9100, '10.1.2.3'))).toBeUndefined();
    expect(await refusal(health(9100, '127.0.0.1'), api(9100, 'api.internal'))).toBeUndefined();
    expect(await refusal(health(9100, 'ip6-localhost'), api(9100, '127.0.0.1'))).toBeUndefined();
    // Linux lets `::1` listen beside `0.0.0.0` on one port: they share no address.
    expect(await refusal(health(9100, '0.0.0.0'), api(9100, 'ip6-localhost'))).toBeUndefined();
  });

  it('compares a name that does not resolve as written: it clashes with itself and with every address only', async () => {
    expect(await refusal(health(9100, 'nowhere.invalid'), api(9100, '127.0.0.1'))).toBeUndefined();
    expect(await refusal(health(9100, 'nowhere.invalid'), api(9100, '0.0.0.0'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(await refusal(health(9100, 'nowhere.invalid'), api(9100, 'NOWHERE.invalid'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
  });

  it('gives a resolver that does not answer its timeout, then compares the names as written', async () => {
    const never: HostLookup = () => new Promise(() => {});
    expect(await hostsOverlap('localhost', '127.0.0.1', never, 1)).toBe(false);
    expect(await hostsOverlap('localhost', '::', never, 1)).toBe(true);
  });
});

describe('core > serve > listen > addressesBeside', () => {
  it('gives the other addresses of localhost, as fastify binds them beside the one Node took, and none for any other host', async () => {
    expect(await addressesBeside('localhost', '127.0.0.1', knownNames)).toEqual(['::1']);
    expect(await addressesBeside('localhost', '::1', knownNames)).toEqual(['127.0.0.1']);
    // fastify binds a second address for `localhost` as written only.
    expect(await addressesBeside('api.internal', '10.1.2.3', knownNames)).toEqual([]);
    expect(await addressesBeside('ip6-localhost', '::1', knownNames)).toEqual([]);
    expect(await addressesBeside('LOCALHOST', '::1', knownNames)).toEqual([]);
  });

  it('gives none when localhost does not resolve in time: the address Node took stands alone, as fastify\'s does', async () => {
    expect(await addressesBeside('localhost', '127.0.0.1', () => new Promise(() => {}), 1)).toEqual([]);
    expect(await addressesBeside('localhost', '127.0.0.1', async () => Promise.reject(new Error('EAI_AGAIN')))).toEqual([]);
  });
});
