import { describe, expect, it } from 'vitest';
import type { MessageBus } from '../bus/message-bus.js';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { PromotionRecord } from '../registry/pointers.js';
import { publishPromotion } from './announce-promotion.js';

const { settings } = resolveSettings({ env: {} });
const record = { run_id: 'r1', config_hash: 'c'.repeat(64), model_type: 'LSTM', timestamp: '2026-01-01T00:00:00Z' } as unknown as PromotionRecord;

function refusingBus(error: unknown): MessageBus {
  return { publish: async () => Promise.reject(error) } as unknown as MessageBus;
}

describe('core > workflows > announce-promotion', () => {
  it('says a notice the brokers did not take by its code and reason, without the stack, and reports it in the result', async () => {
    // Before, the line carried the whole error with its stack: `flts promote` with the brokers away printed it beside
    // its own warning, and a daemon's promoter once per retry.
    const lines: Array<{ fields: object; msg?: string }> = [];
    const logger = { ...silentLogger, warn: (fields: object, msg?: string) => void lines.push({ fields, msg }) } as Logger;
    const away = new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka admin connect failed (brokers 127.0.0.1:9092): not connected within 10000 ms');
    const published = await publishPromotion(record, settings, { bus: refusingBus(away), logger });
    expect(published).toEqual({ topic: 'model-selected', ok: false, error: away.message });
    expect(lines).toEqual([{ msg: 'promotion_publish_failed', fields: { code: 'FLTS_BUS_UNAVAILABLE', reason: away.message, topic: 'model-selected', run_id: 'r1' } }]);
  });

  it('leaves the log line out when the caller says the failure itself, and still reports it in the result', async () => {
    const lines: unknown[] = [];
    const logger = { ...silentLogger, warn: (fields: object, msg?: string) => void lines.push({ fields, msg }) } as Logger;
    const away = new FltsError('FLTS_BUS_UNAVAILABLE', 'brokers away');
    const published = await publishPromotion(record, settings, { bus: refusingBus(away), logger, saysPublishFailure: true });
    expect(published).toEqual({ topic: 'model-selected', ok: false, error: 'brokers away' });
    expect(lines).toEqual([]);
  });

  it('keeps any other failure whole', async () => {
    const lines: Array<{ fields: object; msg?: string }> = [];
    const logger = { ...silentLogger, warn: (fields: object, msg?: string) => void lines.push({ fields, msg }) } as Logger;
    const bug = new Error('a bug');
    await publishPromotion(record, settings, { bus: refusingBus(bug), logger });
    expect(lines).toEqual([{ msg: 'promotion_publish_failed', fields: { err: bug, topic: 'model-selected', run_id: 'r1' } }]);
  });
});
