import { describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { createConsumerRecovery } from './consumer-recovery.js';

/** kafkajs' crash of a join while no broker answered for the coordinator: non-retriable, so it restarts nothing. */
const COORDINATOR_NOT_FOUND = Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSNonRetriableError', retriable: false, cause: Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound', retriable: false }) });
const REFUSED_LOGIN = Object.assign(new Error('SASL SCRAM SHA256 authentication failed'), { name: 'KafkaJSSASLAuthenticationError', retriable: false });
const RETRIES_EXCEEDED = Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false });

function recording(): { logger: Logger; lines: Array<[string, string, Record<string, unknown>]> } {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const at = (level: string) => (fields: object, msg?: string) => void lines.push([level, msg ?? '', fields as Record<string, unknown>]);
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return { logger, lines };
}

describe('core > bus > consumer-recovery', () => {
  it('leaves a crash kafkajs restarts itself to kafkajs, logging an episode of them once, without a stack, then every 5 min with a count, and its end', () => {
    let now = 1_000;
    const { logger, lines } = recording();
    const recovery = createConsumerRecovery({ group: 'g', topics: ['t'], brokers: ['b:9092'], logger, restartDelayMs: 300, now: () => now });
    const shown = () => lines.filter(([level]) => level !== 'debug');
    // A broker away for 6 min: the consumer's retries run out about every 25 s, and kafkajs restarts it each time.
    const crashes = [];
    for (let crash = 0; crash < 15; crash += 1) {
      crashes.push(recovery.crashed({ error: Object.assign(new Error(RETRIES_EXCEEDED.message), RETRIES_EXCEEDED, { retryTime: 1_000 }), restart: true }, true));
      now += 25_000;
    }
    expect(crashes.every((delay) => delay === undefined)).toBe(true);
    expect(shown().map(([level, msg]) => [level, msg])).toEqual([['warn', 'bus_consumer_crashed'], ['warn', 'bus_consumer_still_crashing']]);
    expect(shown()[0][2]).toEqual({ group: 'g', topics: ['t'], code: 'FLTS_BUS_UNAVAILABLE', reason: expect.stringContaining('ECONNREFUSED'), restart: true, retry_in_ms: 1_000 });
    // 300 s after the first line: the 13th crash, with the 12 since it.
    expect(shown()[1][2]).toMatchObject({ group: 'g', code: 'FLTS_BUS_UNAVAILABLE', crashes: 12, since_ms: 300_000 });
    // Every crash's error is still there at debug level.
    expect(lines.filter(([level, msg, fields]) => level === 'debug' && msg === 'bus_consumer_crash' && fields.err instanceof Error)).toHaveLength(15);
    expect(shown().some(([, , fields]) => 'err' in fields)).toBe(false);

    recovery.joined();
    recovery.joined();
    expect(shown().slice(2)).toEqual([['info', 'bus_consumer_recovered', { group: 'g', topics: ['t'], crashes: 15, not_logged: 13, attempts: 0, after_ms: 375_000 }]]);
    // The next crash starts a new episode, logged at once; one with another code is logged at once too.
    recovery.crashed({ error: RETRIES_EXCEEDED, restart: true }, true);
    recovery.crashed({ error: REFUSED_LOGIN, restart: true }, true);
    expect(shown().slice(3).map(([level, msg, fields]) => [level, msg, fields.code, fields.retry_in_ms])).toEqual([['warn', 'bus_consumer_crashed', 'FLTS_BUS_UNAVAILABLE', 300], ['error', 'bus_consumer_crashed', 'FLTS_BUS_AUTH_FAILED', 300]]);
  });

  it('runs a fresh consumer after a crash kafkajs gives up on, backing off while it keeps failing, logging the episode once', () => {
    let now = 1_000;
    const { logger, lines } = recording();
    const recovery = createConsumerRecovery({ group: 'g', brokers: ['b:9092'], logger, random: () => 1, now: () => now });
    const delays = [1, 2, 3, 4, 5, 6, 7].map(() => recovery.crashed({ error: COORDINATOR_NOT_FOUND, restart: false }, true));
    // UNTIL_AVAILABLE: 1 s doubling to 30 s, for as long as the subscription is open.
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    now = 93_000;
    recovery.joined();
    recovery.joined();
    const logged = lines.filter(([level]) => level !== 'debug');
    expect(logged.map(([level, msg]) => [level, msg])).toEqual([['warn', 'bus_consumer_crashed_recovering'], ['info', 'bus_consumer_recovered']]);
    expect(logged[0][2]).toMatchObject({ group: 'g', code: 'FLTS_BUS_UNAVAILABLE', reason: expect.stringContaining('Failed to find group coordinator'), restart: false, retry_in_ms: 1_000 });
    expect(logged[1][2]).toEqual({ group: 'g', crashes: 7, not_logged: 6, attempts: 7, after_ms: 92_000 });

    // A new episode starts from the first delay again, and is logged again.
    expect(recovery.crashed({ error: COORDINATOR_NOT_FOUND, restart: false }, true)).toBe(1_000);
    expect(lines.at(-1)?.slice(0, 2)).toEqual(['warn', 'bus_consumer_crashed_recovering']);
  });

  it('recovers from a refused login too, logged as the error it is (a settings change fixes it, no wait does)', () => {
    const { logger, lines } = recording();
    const recovery = createConsumerRecovery({ group: 'g', brokers: ['b:9092'], logger, random: () => 1 });
    expect(recovery.crashed({ error: REFUSED_LOGIN, restart: false }, true)).toBe(1_000);
    expect(lines.filter(([level]) => level !== 'debug').map(([level, msg, fields]) => [level, msg, fields.code])).toEqual([['error', 'bus_consumer_crashed_recovering', 'FLTS_BUS_AUTH_FAILED']]);
  });

  it('recovers nothing once the subscription or the bus is closing: the crash is that of its own ending', () => {
    const { logger, lines } = recording();
    const recovery = createConsumerRecovery({ group: 'g', brokers: ['b:9092'], logger });
    expect(recovery.crashed({ error: COORDINATOR_NOT_FOUND, restart: false }, false)).toBeUndefined();
    expect(lines.map(([level, msg]) => [level, msg])).toEqual([['debug', 'bus_consumer_crashed_while_stopping']]);
  });

  it('counts each crash by code and marks the group crashing from the first crash of an episode until it rejoins, whether or not it was logged', () => {
    const calls: string[] = [];
    const metrics = { consumerCrashed: (group: string, code: string) => void calls.push(`crash ${group} ${code}`), crashing: (group: string, active: boolean) => void calls.push(`crashing ${group} ${active}`) };
    const recovery = createConsumerRecovery({ group: 'g', brokers: ['b:9092'], logger: recording().logger, metrics, random: () => 1 });
    recovery.crashed({ error: RETRIES_EXCEEDED, restart: true }, true);
    recovery.crashed({ error: RETRIES_EXCEEDED, restart: true }, true);
    recovery.crashed({ error: REFUSED_LOGIN, restart: false }, true);
    // A consumer crashing as its subscription stops is no crash of a running one.
    recovery.crashed({ error: RETRIES_EXCEEDED, restart: false }, false);
    recovery.joined();
    recovery.joined();
    expect(calls).toEqual(['crash g FLTS_BUS_UNAVAILABLE', 'crashing g true', 'crash g FLTS_BUS_UNAVAILABLE', 'crash g FLTS_BUS_AUTH_FAILED', 'crashing g false']);
  });
});
