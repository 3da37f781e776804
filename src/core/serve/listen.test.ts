import { describe, expect, it } from 'vitest';
import { assertDistinctPorts, type PortSetting } from './listen.js';

const health = (port: number | null, host = '127.0.0.1'): PortSetting => ({ setting: 'daemon.port', named: '--port (daemon.port)', port, host });
const api = (port: number | null, host = '127.0.0.1'): PortSetting => ({ setting: 'serve.port', named: 'serve.port', port, host });
const refusal = (moved: PortSetting, kept: PortSetting): unknown => {
  try {
    assertDistinctPorts(moved, kept, 'they cannot share a port', 'give one of them another port');
    return undefined;
  } catch (error) {
    return error;
  }
};

describe('core > serve > listen > assertDistinctPorts', () => {
  it('refuses one port on one host, naming both settings, and the port on every address beside any host', () => {
    expect(refusal(health(9100), api(9100))).toMatchObject({
      code: 'FLTS_CONFIG_INVALID_VALUE',
      message: '--port (daemon.port) and serve.port are both 9100: they cannot share a port; give one of them another port (0 = any free port).',
      details: { setting: 'daemon.port', port: 9100, sameAs: 'serve.port' },
    });
    expect(refusal(health(9100, '0.0.0.0'), api(9100))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(refusal(health(9100), api(9100, '::'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    expect(refusal(health(9100, 'LocalHost'), api(9100, 'localhost'))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
  });

  it('lets through any free port (0), a listener that is off, different ports, and two different addresses', () => {
    expect(refusal(health(0), api(0))).toBeUndefined();
    expect(refusal(health(null), api(null))).toBeUndefined();
    expect(refusal(health(9100), api(8000))).toBeUndefined();
    expect(refusal(health(9100, '127.0.0.1'), api(9100, '10.1.2.3'))).toBeUndefined();
  });
});
