import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { createMessageBus } from './index.js';

describe('core > bus > kafka-bus', () => {
  it('refuses to start without bootstrap servers, naming the variable', () => {
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka' } });
    expect(() => createMessageBus(settings)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('KAFKA_BOOTSTRAP_SERVERS') }));
  });

  it('builds no bus when bus.kind is none, and the file bus under <home>/bus for fs', () => {
    expect(createMessageBus(resolveSettings({ env: {} }).settings)).toBeUndefined();
    expect(createMessageBus(resolveSettings({ env: { FLTS_BUS: 'fs', FLTS_HOME: '/tmp/flts-home-x' } }).settings)?.kind).toBe('fs');
  });
});
