import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { createKafkaLog } from './kafka-log.js';

/** A kafka log on a clock the test moves, with every line it writes as [level, message, fields]. */
function recorded(onConnectionFailed?: (broker: string) => void) {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const record = (level: string) => (fields: object, msg?: string) => void lines.push([level, msg ?? '', fields as Record<string, unknown>]);
  const logger: Logger = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
  let clock = 1_000_000;
  const kafkaLog = createKafkaLog(logger, { now: () => clock, onConnectionFailed });
  const log = kafkaLog.logCreator(logLevel.INFO);
  const at = (namespace: string, message: string, fields: Record<string, unknown> = {}) => log({ namespace, level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message, ...fields } });
  const shown = () => lines.filter(([level]) => level !== 'debug');
  return { lines, shown, at, answered: kafkaLog.answered, advance: (ms: number) => (clock += ms) };
}

const REFUSED = 'Connection error: connect ECONNREFUSED 127.0.0.1:9092';
const B1 = { broker: '127.0.0.1:9092', clientId: 'flts' };

describe('core > bus > kafka-log', () => {
  it('logs a broker\'s connection error at once, then once per 30 s with how often it came, and a line when the broker answers again', () => {
    const log = recorded();
    // About once a second, as kafkajs retries with its wait capped at 1 s: 95 failures over 94 s.
    for (let second = 0; second < 95; second += 1) {
      log.at('Connection', REFUSED, B1);
      log.advance(1_000);
    }
    expect(log.shown().map(([level, message]) => [level, message])).toEqual([
      ['error', REFUSED],
      ['error', `${REFUSED} (repeated 30 times in 30 s)`],
      ['error', `${REFUSED} (repeated 30 times in 30 s)`],
      ['error', `${REFUSED} (repeated 30 times in 30 s)`],
    ]);
    expect(log.shown()[1][2]).toMatchObject({ kafka: 'Connection', broker: B1.broker, repeated: 30 });
    // The others still go to debug, one line each.
    expect(log.lines).toHaveLength(95);

    log.answered('127.0.0.1:9093');
    expect(log.shown()).toHaveLength(4);
    log.answered(B1.broker);
    log.answered(B1.broker);
    expect(log.shown().slice(4)).toEqual([['info', 'bus_kafka_connection_restored', { kafka: 'Connection', broker: B1.broker, failures: 95, outageMs: 95_000, errors: [REFUSED] }]]);
    // A new outage is logged at once again.
    log.at('Connection', REFUSED, B1);
    expect(log.shown().at(-1)).toEqual(['error', REFUSED, expect.objectContaining(B1)]);
  });

  it('tells brokers and errors apart, summarises kafkajs\' seed broker line, logs any other error each time, and counts every failed connection of a named broker once', () => {
    const failedTo: string[] = [];
    const log = recorded((broker) => void failedTo.push(broker));
    const seed = `Failed to connect to seed broker, trying another broker from the list: ${REFUSED}`;
    for (let i = 0; i < 3; i += 1) {
      log.at('Connection', REFUSED, B1);
      log.at('Connection', 'Connection timeout', B1);
      log.at('Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9093', { broker: '127.0.0.1:9093' });
      log.at('BrokerPool', seed, { retryCount: i, retryTime: 1000 });
      log.at('Consumer', 'Caught error when disconnecting the consumer: Connection error', { groupId: 'g' });
      log.advance(500);
    }
    expect(log.shown().map(([, message]) => message)).toEqual([
      REFUSED,
      'Connection timeout',
      'Connection error: connect ECONNREFUSED 127.0.0.1:9093',
      seed,
      'Caught error when disconnecting the consumer: Connection error',
      'Caught error when disconnecting the consumer: Connection error',
      'Caught error when disconnecting the consumer: Connection error',
    ]);
    expect(failedTo).toEqual([B1.broker, B1.broker, '127.0.0.1:9093', B1.broker, B1.broker, '127.0.0.1:9093', B1.broker, B1.broker, '127.0.0.1:9093']);
    // The seed broker's line names no broker: any broker answering ends it, counting that broker's own failures.
    log.answered(B1.broker);
    expect(log.shown().at(-1)).toEqual(['info', 'bus_kafka_connection_restored', expect.objectContaining({ broker: B1.broker, failures: 6, outageMs: 1_500 })]);
    log.answered('127.0.0.1:9093');
    expect(log.shown().at(-1)).toEqual(['info', 'bus_kafka_connection_restored', expect.objectContaining({ broker: '127.0.0.1:9093', failures: 3 })]);
  });

  it('leaves a consumer\'s crash and restart lines, stack and all, to debug: the bus logs each crash itself, once per episode', () => {
    const log = recorded();
    // A broker away for a minute: each of two consumers crashes every ~25 s (its retries run out) and is restarted.
    for (let crash = 0; crash < 3; crash += 1) {
      for (const groupId of ['flts-trainer', 'flts-promoter']) {
        log.at('Consumer', `Crash: KafkaJSNumberOfRetriesExceeded: ${REFUSED}`, { groupId, retryCount: 26, stack: `KafkaJSNumberOfRetriesExceeded: ${REFUSED}\n    at /app/node_modules/kafkajs/src/retry/index.js:48:18` });
        log.at('Consumer', 'Restarting the consumer in 1000ms', { groupId, retryCount: 26, retryTime: 1000 });
      }
      log.advance(25_000);
    }
    expect(log.shown()).toEqual([]);
    expect(log.lines).toHaveLength(12);
    expect(log.lines[0]).toEqual(['debug', `Crash: KafkaJSNumberOfRetriesExceeded: ${REFUSED}`, expect.objectContaining({ kafka: 'Consumer', groupId: 'flts-trainer', retryCount: 26 })]);
    expect(log.lines.some(([, , fields]) => 'stack' in fields)).toBe(false);
  });
});
