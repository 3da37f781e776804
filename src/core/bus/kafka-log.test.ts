import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { createKafkaLog } from './kafka-log.js';

/** A kafka log on a clock the test moves, with every line it writes as [level, message, fields]. */
function recorded(onConnectionFailed?: (broker: string) => void, reportedElsewhere?: (broker: string) => boolean, advertised?: (broker: string) => boolean) {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const record = (level: string) => (fields: object, msg?: string) => void lines.push([level, msg ?? '', fields as Record<string, unknown>]);
  const logger: Logger = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
  let clock = 1_000_000;
  const kafkaLog = createKafkaLog(logger, { now: () => clock, onConnectionFailed, reportedElsewhere, advertised });
  const log = kafkaLog.logCreator(logLevel.INFO);
  const at = (namespace: string, message: string, fields: Record<string, unknown> = {}) => log({ namespace, level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message, ...fields } });
  const shown = () => lines.filter(([level]) => level !== 'debug');
  return { lines, shown, at, answered: kafkaLog.answered, advance: (ms: number) => (clock += ms) };
}

const REFUSED = 'Connection error: connect ECONNREFUSED 127.0.0.1:9092';
const B1 = { broker: '127.0.0.1:9092', clientId: 'flts' };

describe('core > bus > kafka-log', () => {
  it('tells a broker away once, reminds at most every 5 min with how many attempts failed, and once when it answers again; kafkajs\' seed loop line at debug', () => {
    const log = recorded();
    const seed = `Failed to connect to seed broker, trying another broker from the list: ${REFUSED}`;
    // About once a second, as kafkajs retries with its wait capped at 1 s, each attempt logged by the connection and
    // again by kafkajs' seed loop: 720 attempts over 12 min.
    for (let second = 0; second < 720; second += 1) {
      log.at('Connection', REFUSED, B1);
      log.at('BrokerPool', seed, { retryCount: second % 26, retryTime: 1000 });
      log.advance(1_000);
    }
    log.answered('127.0.0.1:9093');
    log.answered(B1.broker);
    log.answered(B1.broker);
    expect(log.shown()).toEqual([
      ['error', 'bus_kafka_connection_lost', { kafka: 'Connection', timestamp: '', logger: 'kafkajs', broker: B1.broker, client_id: B1.clientId, error: REFUSED }],
      ['error', 'bus_kafka_connection_still_failing', expect.objectContaining({ broker: B1.broker, error: REFUSED, failures: 300, since_ms: 300_000 })],
      ['error', 'bus_kafka_connection_still_failing', expect.objectContaining({ broker: B1.broker, failures: 300, since_ms: 600_000 })],
      ['info', 'bus_kafka_connection_restored', { kafka: 'Connection', broker: B1.broker, failures: 720, outage_ms: 720_000, errors: [REFUSED] }],
    ]);
    // Every attempt still has its line at debug, the seed loop's too.
    expect(log.lines.filter(([level, message]) => level === 'debug' && message === seed)).toHaveLength(720);
    expect(log.lines.filter(([level, message]) => level === 'debug' && message === REFUSED)).toHaveLength(719);
    // A new outage is told at once again.
    log.at('Connection', REFUSED, B1);
    expect(log.shown().at(-1)).toEqual(['error', 'bus_kafka_connection_lost', expect.objectContaining({ broker: B1.broker, client_id: B1.clientId, error: REFUSED })]);
  });

  it('tells brokers apart, folds a broker\'s other errors into its outage, logs any other error each time, and counts every failed connection of a named broker once', () => {
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
    expect(log.shown().map(([, message, fields]) => [message, fields.broker, fields.error])).toEqual([
      ['bus_kafka_connection_lost', B1.broker, REFUSED],
      ['bus_kafka_connection_lost', '127.0.0.1:9093', 'Connection error: connect ECONNREFUSED 127.0.0.1:9093'],
      ['Caught error when disconnecting the consumer: Connection error', undefined, undefined],
      ['Caught error when disconnecting the consumer: Connection error', undefined, undefined],
      ['Caught error when disconnecting the consumer: Connection error', undefined, undefined],
    ]);
    expect(failedTo).toEqual([B1.broker, B1.broker, '127.0.0.1:9093', B1.broker, B1.broker, '127.0.0.1:9093', B1.broker, B1.broker, '127.0.0.1:9093']);
    log.answered(B1.broker);
    expect(log.shown().at(-1)).toEqual(['info', 'bus_kafka_connection_restored', expect.objectContaining({ broker: B1.broker, failures: 6, outage_ms: 1_500, errors: [REFUSED, 'Connection timeout'] })]);
    log.answered('127.0.0.1:9093');
    expect(log.shown().at(-1)).toEqual(['info', 'bus_kafka_connection_restored', expect.objectContaining({ broker: '127.0.0.1:9093', failures: 3 })]);
  });

  it('opens an outage of the seed broker on kafkajs\' seed loop line when no connection named the broker, which any broker\'s answer ends', () => {
    const log = recorded();
    const seed = 'Failed to connect to seed broker, trying another broker from the list: SASL handshake in the wrong state';
    for (let i = 0; i < 4; i += 1) {
      log.at('BrokerPool', seed, { retryCount: i, retryTime: 1000 });
      log.advance(1_000);
    }
    log.answered(B1.broker);
    expect(log.shown().map(([level, message, fields]) => [level, message, fields.error ?? fields.failures])).toEqual([
      ['error', 'bus_kafka_connection_lost', seed],
      ['info', 'bus_kafka_connection_restored', 4],
    ]);
  });

  it('leaves a broker\'s error answer that kafkajs retries (a fresh cluster\'s coordinator) and one to a topic creation (the bus judges it per topic) to debug, and warns of any other', () => {
    const log = recorded();
    const answer = (request: string, error: string) => log.at('Connection', `Response ${request}`, { ...B1, error, correlationId: 6, size: 55 });
    answer('GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available');
    answer('Metadata(key: 3, version: 6)', 'There is no leader for this topic-partition as we are in the middle of a leadership election');
    // What kafkajs logs of any refused creation, a topic another process created first as much as a real refusal.
    answer('CreateTopics(key: 19, version: 3)', 'Topic creation errors');
    answer('GroupCoordinator(key: 10, version: 2)', 'Not authorized to access group: Group authorization failed');
    expect(log.shown().map(([level, message, fields]) => [level, message, fields.error])).toEqual([
      ['warn', 'Response GroupCoordinator(key: 10, version: 2)', 'Not authorized to access group: Group authorization failed'],
    ]);
    expect(log.lines.filter(([level]) => level === 'debug').map(([, , fields]) => fields.error)).toEqual([
      'The group coordinator is not available',
      'There is no leader for this topic-partition as we are in the middle of a leadership election',
      'Topic creation errors',
    ]);
  });

  it('leaves the lines of a group that rebalances (a replica joining or leaving) to debug: kafkajs rejoins by itself', () => {
    // Before, each member logged two warnings per group at every rebalance, named by kafkajs' sentences, not events.
    const log = recorded();
    const rebalancing = 'The group is rebalancing, so a rejoin is needed';
    log.at('Connection', 'Response Heartbeat(key: 12, version: 3)', { ...B1, error: rebalancing, correlationId: 22, size: 10 });
    log.at('Connection', 'Response SyncGroup(key: 14, version: 3)', { ...B1, error: rebalancing, correlationId: 6, size: 14 });
    log.at('Runner', 'The group is rebalancing, re-joining', { groupId: 'train-lstm', memberId: 'flts-c443', error: rebalancing });
    // A member the coordinator dropped (its session expired) is no routine rebalance: still said.
    log.at('Runner', 'The coordinator is not aware of this member, re-joining the group', { groupId: 'train-lstm', memberId: 'flts-c443', error: 'The coordinator is not aware of this member' });
    expect(log.shown().map(([level, message]) => [level, message])).toEqual([['error', 'The coordinator is not aware of this member, re-joining the group']]);
    expect(log.lines.filter(([level]) => level === 'debug')).toHaveLength(3);
  });

  it('leaves kafkajs\' three lines of a refused SASL login to debug, flts reporting it coded, and keeps an outage told', () => {
    const log = recorded();
    const refusal = 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256';
    const failure = `SASL SCRAM SHA256 authentication failed: ${refusal}`;
    // What one wrong password logs, as read from kafkajs 2.2.4 against a SCRAM listener.
    log.at('Connection', 'Response SaslAuthenticate(key: 36, version: 1)', { ...B1, error: refusal, correlationId: 3, size: 124 });
    log.at('SaslAuthenticator-SCRAM-SHA-256', failure, { broker: B1.broker });
    log.at('BrokerPool', failure, { retryCount: 0, retryTime: 329 });
    log.at('Connection', 'Response SaslHandshake(key: 17, version: 1)', { ...B1, error: 'The broker does not support the requested SASL mechanism' });
    expect(log.shown()).toEqual([]);
    expect(log.lines.map(([level, message]) => [level, message])).toEqual([
      ['debug', 'Response SaslAuthenticate(key: 36, version: 1)'],
      ['debug', failure],
      ['debug', failure],
      ['debug', 'Response SaslHandshake(key: 17, version: 1)'],
    ]);
    // A mechanism the listener does not enable: its seed loop's line is kafkajs' text of UNSUPPORTED_SASL_MECHANISM alone.
    log.at('BrokerPool', 'The broker does not support the requested SASL mechanism', { retryCount: 0, retryTime: 330 });
    expect(log.shown()).toEqual([]);
    // Any other line of the seed loop is still an outage, told at error.
    log.at('BrokerPool', `Failed to connect to seed broker, trying another broker from the list: ${REFUSED}`, { retryCount: 0, retryTime: 300 });
    expect(log.shown().map(([level, message]) => [level, message])).toEqual([['error', 'bus_kafka_connection_lost']]);
  });

  it('tells the failure of an address the bus set aside at debug, its seed loop repeat too, and any other broker\'s as an outage', () => {
    const aside = '127.0.0.1:9093';
    const log = recorded(undefined, (broker) => broker === aside);
    const refusal = 'Connection error: unable to verify the first certificate';
    log.at('Connection', refusal, { broker: aside, clientId: 'flts' });
    log.at('BrokerPool', `Failed to connect to seed broker, trying another broker from the list: ${refusal}`, { retryCount: 0, retryTime: 300 });
    // Before, a raw line at error beside the coded FLTS_BUS_TLS_FAILED (or the warning bus_kafka_broker_set_aside).
    expect(log.shown()).toEqual([]);
    expect(log.lines.map(([level, message]) => [level, message])).toEqual([['debug', 'bus_kafka_connection_lost'], ['debug', expect.stringContaining('Failed to connect to seed broker')]]);
    log.at('Connection', REFUSED, B1);
    expect(log.shown().map(([level, message, fields]) => [level, message, fields.broker])).toEqual([['error', 'bus_kafka_connection_lost', B1.broker]]);
  });

  it('marks the outage of an address the brokers advertise, none of the bootstrap list, as advertised', () => {
    const elsewhere = '127.0.0.2:9092';
    const log = recorded(undefined, undefined, (broker) => broker === elsewhere);
    log.at('Connection', 'Connection error: connect ECONNREFUSED 127.0.0.2:9092', { broker: elsewhere, clientId: 'flts' });
    log.at('Connection', REFUSED, B1);
    expect(log.shown().map(([level, message, fields]) => [level, message, fields.broker, fields.advertised])).toEqual([
      ['error', 'bus_kafka_connection_lost', elsewhere, true],
      ['error', 'bus_kafka_connection_lost', B1.broker, undefined],
    ]);
  });

  it('leaves kafkajs\' two lines of a message refused as too large to debug: the publish throws it, coded FLTS_BUS_MESSAGE_TOO_LARGE', () => {
    const log = recorded();
    const tooLarge = 'The request included a message larger than the max message size the server will accept';
    log.at('Connection', 'Response Produce(key: 0, version: 7)', { ...B1, error: tooLarge, correlationId: 4, size: 80 });
    log.at('Producer', tooLarge, { retryCount: 0, retryTime: 300 });
    log.at('Producer', 'Failed to send messages: some other failure', { retryCount: 0, retryTime: 300 });
    expect(log.shown().map(([level, message]) => [level, message])).toEqual([['error', 'Failed to send messages: some other failure']]);
    expect(log.lines.filter(([level]) => level === 'debug')).toHaveLength(2);
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
    expect(log.lines[0]).toEqual(['debug', `Crash: KafkaJSNumberOfRetriesExceeded: ${REFUSED}`, expect.objectContaining({ kafka: 'Consumer', group_id: 'flts-trainer', retry_count: 26 })]);
    expect(log.lines.some(([, , fields]) => 'stack' in fields)).toBe(false);
  });
});
