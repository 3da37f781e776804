import * as kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { FltsError, isServiceRefusal } from '../errors.js';
import { isOutage } from './delivery.js';
import { bootstrapUnanswered, connectGivenUp, groupLookupDenied, isGroupLookupDenial, kafkaFailure, topicCreationRefused, topicRefusals } from './kafka-failure.js';

const BROKERS = ['b1:9093', 'b2:9093'];

/** kafkajs' own error classes, built as kafkajs builds them (its type declarations leave out their constructors' arguments). */
function kafkajsError(name: string, ...args: unknown[]): Error {
  const ErrorClass = (kafkajs as unknown as Record<string, new (...parameters: unknown[]) => Error>)[name];
  return new ErrorClass(...args);
}

describe('core > bus > kafka-failure', () => {
  it('makes a refused SASL login FLTS_BUS_AUTH_FAILED, not retriable, also when kafkajs wrapped it in a bail', () => {
    const login = kafkajsError('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials');
    const error = kafkaFailure('admin connect', BROKERS, kafkajsError('KafkaJSNonRetriableError', login, { cause: login }));
    expect(error).toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED', kind: 'usage', retriable: false });
    expect(error.message).toBe('Kafka admin connect failed (brokers b1:9093,b2:9093): the broker refused the SASL login: SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials');
  });

  it('makes a mechanism the listener does not enable FLTS_BUS_AUTH_FAILED naming the mechanism set and the setting', () => {
    // As kafkajs 2.2.4 throws a handshake answered UNSUPPORTED_SASL_MECHANISM (code 33), wrapped by its seed loop.
    const answer = kafkajsError('KafkaJSProtocolError', { type: 'UNSUPPORTED_SASL_MECHANISM', code: 33, retriable: false, message: 'The broker does not support the requested SASL mechanism' });
    const error = kafkaFailure('admin connect', BROKERS, kafkajsError('KafkaJSNonRetriableError', answer, { cause: answer }), { saslMechanism: 'PLAIN' });
    expect(error).toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED', retriable: false, details: { kafkaErrorType: 'UNSUPPORTED_SASL_MECHANISM' } });
    expect(error.message).toBe("Kafka admin connect failed (brokers b1:9093,b2:9093): the broker's listener does not enable the SASL mechanism PLAIN (UNSUPPORTED_SASL_MECHANISM): set FLTS_KAFKA_SASL_MECHANISM to one of its sasl.enabled.mechanisms, or use the listener that enables it");
  });

  it('makes a message the broker refuses as too large FLTS_BUS_MESSAGE_TOO_LARGE, not retriable and no outage, naming its topic and size', () => {
    for (const type of ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']) {
      const refused = kafkajsError('KafkaJSProtocolError', { message: 'The request included a message larger than the max message size the server will accept', type, code: type === 'MESSAGE_TOO_LARGE' ? 10 : 18, retriable: false });
      const error = kafkaFailure('publish to DLQ-claims', BROKERS, kafkajsError('KafkaJSNonRetriableError', refused, { cause: refused }), { sent: { topic: 'DLQ-claims', bytes: 2048 } });
      expect(error).toMatchObject({ code: 'FLTS_BUS_MESSAGE_TOO_LARGE', kind: 'input', retriable: false, details: { kafkaErrorType: type, topic: 'DLQ-claims', messageBytes: 2048 } });
      expect(error.message).toContain(`refused the message of 2048 bytes to DLQ-claims as too large (${type}`);
      expect(error.message).toContain("raise topic DLQ-claims's max.message.bytes");
      expect(isOutage(error)).toBe(false);
    }
  });

  it('makes a denied ACL FLTS_BUS_ACCESS_DENIED, found among the per-topic errors of a create', () => {
    const denied = kafkajsError('KafkaJSProtocolError', { message: 'Not authorized to access topics: [Topic authorization failed]', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false });
    const perTopic = kafkajsError('KafkaJSCreateTopicError', denied, 'claims');
    const error = kafkaFailure('creating topics claims', BROKERS, kafkajsError('KafkaJSAggregateError', 'Topic creation errors', [perTopic]));
    expect(error).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', retriable: false, details: { kafkaErrorType: 'TOPIC_AUTHORIZATION_FAILED' } });
    expect(error.message).toMatch(/the user needs Describe and Create on the topics/);
  });

  it('makes a topic creation refused for what was asked FLTS_BUS_TOPIC_REFUSED naming the topics, the reason and the setting; a refusal of the moment stays retriable', () => {
    const perTopic = (topic: string, type: string, code: number, retriable: boolean, message: string) => kafkajsError('KafkaJSCreateTopicError', kafkajsError('KafkaJSProtocolError', { message, type, code, retriable }), topic);
    const refusal = (...errors: Error[]) => kafkajsError('KafkaJSAggregateError', 'Topic creation errors', errors);
    const replication = 'Replication factor: 3 larger than available brokers: 1.';
    // As ensureTopics throws it: its own sentence, the broker's answer as the cause.
    const tooMany = kafkaFailure('creating topics claims,DLQ-claims', BROKERS, new Error('the broker refused to create claims', { cause: refusal(perTopic('claims', 'INVALID_REPLICATION_FACTOR', 38, false, replication), perTopic('DLQ-claims', 'INVALID_REPLICATION_FACTOR', 38, false, replication)) }));
    expect(tooMany).toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', kind: 'usage', retriable: false, details: { setting: 'bus.replicationFactor', topics: ['claims', 'DLQ-claims'], kafkaErrorType: 'INVALID_REPLICATION_FACTOR' } });
    expect(tooMany.message).toBe(`Kafka creating topics claims,DLQ-claims failed (brokers b1:9093,b2:9093): the broker refused to create claims (INVALID_REPLICATION_FACTOR: ${replication}), DLQ-claims (INVALID_REPLICATION_FACTOR: ${replication}), and will refuse it again: set FLTS_BUS_REPLICATION_FACTOR (setting bus.replicationFactor) to at most the number of brokers, or -1 for the brokers' default.replication.factor`);
    // A handler whose publish meets it keeps its message (retried as an outage, never dead-lettered): the brokers'
    // refusal is not the message's fault.
    expect([isOutage(tooMany), isServiceRefusal(tooMany)]).toEqual([true, true]);
    const policy = kafkaFailure('creating topics claims', BROKERS, refusal(perTopic('claims', 'POLICY_VIOLATION', 44, false, 'Topic replication factor must be 3')));
    expect(policy).toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', retriable: false, details: { kafkaErrorType: 'POLICY_VIOLATION' } });
    expect(policy.message).toMatch(/claims \(POLICY_VIOLATION: Topic replication factor must be 3\).*FLTS_BUS_REPLICATION_FACTOR .*FLTS_BUS_PARTITIONS .*or create the topics beforehand/);
    expect(kafkaFailure('creating topics claims', BROKERS, refusal(perTopic('claims', 'INVALID_PARTITIONS', 37, false, 'Number of partitions must be larger than 0.')))).toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', details: { setting: 'bus.partitions' } });
    expect(kafkaFailure('creating topics claims', BROKERS, refusal(perTopic('claims', 'INVALID_CONFIG', 40, false, 'Invalid value')))).toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', retriable: false });
    // A denial is still the user's permission to fix.
    expect(kafkaFailure('creating topics claims', BROKERS, refusal(perTopic('claims', 'TOPIC_AUTHORIZATION_FAILED', 29, false, 'Not authorized')))).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', retriable: false });
    for (const [type, code] of [['NOT_CONTROLLER', 41], ['REQUEST_TIMED_OUT', 7]] as const) {
      expect(kafkaFailure('creating topics claims', BROKERS, refusal(perTopic('claims', type, code, true, 'not now')))).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true });
    }
  });

  it('asks again for a topic creation refused only for the moment, and never for one refused for what was asked, even beside one of the moment', () => {
    const perTopic = (topic: string, type: string, code: number, retriable: boolean) => kafkajsError('KafkaJSCreateTopicError', kafkajsError('KafkaJSProtocolError', { message: `${type} now`, type, code, retriable }), topic);
    const answer = (...errors: Error[]) => kafkajsError('KafkaJSAggregateError', 'Topic creation errors', errors);
    // As kafkajs builds them from the broker's codes (its table says which are retriable).
    const notController = kafkajsError('KafkaJSCreateTopicError', { type: 'NOT_CONTROLLER', code: 41, retriable: true, message: 'This is not the correct controller for this cluster' }, 'claims');
    expect(topicRefusals(answer(notController))).toEqual([{ topic: 'claims', type: 'NOT_CONTROLLER', reason: 'This is not the correct controller for this cluster', temporary: true }]);
    const ofTheMoment = answer(notController, perTopic('DLQ-claims', 'REQUEST_TIMED_OUT', 7, true));
    const again = topicCreationRefused(topicRefusals(ofTheMoment), ofTheMoment);
    expect(again).toMatchObject({ retriable: true, message: 'the broker refused to create claims (NOT_CONTROLLER: This is not the correct controller for this cluster), DLQ-claims (REQUEST_TIMED_OUT: REQUEST_TIMED_OUT now)' });
    // Still refused once the retries are spent: an outage the daemon's startup waits out, not a setting to change.
    expect(kafkaFailure('creating topics claims', BROKERS, again)).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true });
    const mixed = answer(notController, perTopic('DLQ-claims', 'INVALID_REPLICATION_FACTOR', 38, false));
    const final = topicCreationRefused(topicRefusals(mixed), mixed);
    expect(final.retriable).toBe(false);
    expect(kafkaFailure('creating topics claims,DLQ-claims', BROKERS, final)).toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', retriable: false, details: { topics: ['DLQ-claims'] } });
    // Neither a denial nor a code kafkajs does not know is asked again.
    for (const [type, code] of [['TOPIC_AUTHORIZATION_FAILED', 29], ['KAFKAJS_UNKNOWN_ERROR_CODE', -99]] as const) {
      const refused = answer(perTopic('claims', type, code, false));
      expect(topicCreationRefused(topicRefusals(refused), refused).retriable).toBe(false);
    }
  });

  it('makes the coordinator lookup failure that follows a refused FindCoordinator FLTS_BUS_ACCESS_DENIED naming the group', () => {
    // What kafkajs' connection logs for the answer it then drops, and the crash it reports instead.
    expect(isGroupLookupDenial('Response GroupCoordinator(key: 10, version: 2)', 'Not authorized to access group: Group authorization failed')).toBe(true);
    expect(isGroupLookupDenial('Response GroupCoordinator(key: 10, version: 2)', 'The coordinator is not available')).toBe(false);
    expect(isGroupLookupDenial('Response CreateTopics(key: 19, version: 3)', 'Not authorized to access group: Group authorization failed')).toBe(false);
    const lookup = kafkajsError('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator');
    const error = kafkaFailure('subscribing group g', BROKERS, groupLookupDenied('subscribing group g', BROKERS, 'g', lookup));
    expect(error).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', retriable: false, details: { group: 'g', kafkaErrorType: 'GROUP_AUTHORIZATION_FAILED' } });
    expect(error.message).toMatch(/denied looking up the coordinator of group g .*needs Read on the consumer group/);
    const other = new Error('Closed connection');
    expect(groupLookupDenied('subscribing group g', BROKERS, 'g', other)).toBe(other);
  });

  it('makes an untrusted certificate or a TLS alert FLTS_BUS_TLS_FAILED, after kafkajs gave up retrying it', () => {
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED']) {
      const refused = kafkajsError('KafkaJSConnectionError', `Connection error: ${code}`, { broker: 'b1:9093', code });
      const error = kafkaFailure('admin connect', BROKERS, kafkajsError('KafkaJSNumberOfRetriesExceeded', refused, { retryCount: 8, retryTime: 5000 }));
      expect(error).toMatchObject({ code: 'FLTS_BUS_TLS_FAILED', retriable: false, details: { tlsCode: code } });
    }
  });

  it('names the CAs an untrusted broker certificate was checked against, without Node\'s advice to run it with --use-system-ca', () => {
    const text = 'Connection error: unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca';
    const refused = kafkajsError('KafkaJSConnectionError', text, { broker: 'b1:9093', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const where = 'Kafka admin connect failed (brokers b1:9093,b2:9093): TLS with the broker failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE): Connection error: unable to verify the first certificate';
    expect(kafkaFailure('admin connect', BROKERS, refused, { caFile: '/etc/flts/ca.pem' }).message).toBe(`${where}: the broker's certificate does not chain to the CA certificates of FLTS_KAFKA_SSL_CA_FILE (/etc/flts/ca.pem)`);
    expect(kafkaFailure('admin connect', BROKERS, refused, { caFile: '' }).message).toBe(`${where}: the broker's certificate does not chain to Node's public CAs and NODE_EXTRA_CA_CERTS (FLTS_KAFKA_SSL_CA_FILE is not set)`);
    // A certificate for another host chains well: its text is said as it is.
    const altName = kafkajsError('KafkaJSConnectionError', 'Connection error: Hostname/IP does not match certificate\'s altnames', { broker: 'b1:9093', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(kafkaFailure('admin connect', BROKERS, altName, { caFile: '/etc/flts/ca.pem' }).message).toMatch(/\(ERR_TLS_CERT_ALTNAME_INVALID\): Connection error: Hostname\/IP does not match certificate's altnames$/);
  });

  it('names the advertised addresses nobody answered at with an outage, and leaves them out when there are none', () => {
    const refused = kafkajsError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED kafka-0.kafka-headless:9092', { broker: 'kafka-0.kafka-headless:9092', code: 'ECONNREFUSED' });
    const error = kafkaFailure('listing topics', BROKERS, refused, { advertisedAway: ['kafka-0.kafka-headless:9092'] });
    expect(error).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true, details: { advertised: ['kafka-0.kafka-headless:9092'] } });
    expect(error.message).toBe('Kafka listing topics failed (brokers b1:9093,b2:9093): Connection error: connect ECONNREFUSED kafka-0.kafka-headless:9092; the brokers answered at their bootstrap address, but not at the address they advertise for the cluster (kafka-0.kafka-headless:9092): their advertised.listeners must name addresses this host can reach');
    expect(kafkaFailure('listing topics', BROKERS, refused, { advertisedAway: [] }).details).not.toHaveProperty('advertised');
  });

  it('makes a listener of another protocol FLTS_BUS_PROTOCOL_MISMATCH when certain, and names the suspicion otherwise', () => {
    const closed = kafkajsError('KafkaJSConnectionClosedError', 'Closed connection', { host: 'b1', port: 9093 });
    const tlsListener = { kind: 'tls-listener', definite: true, broker: 'b1:9093', message: 'broker b1:9093 answered with a TLS record' } as const;
    expect(kafkaFailure('admin connect', BROKERS, closed, { listener: tlsListener })).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', kind: 'usage', retriable: false, details: { listener: 'tls-listener', broker: 'b1:9093' } });
    const suspect = { kind: 'closed-at-connect', definite: false, broker: 'b1:9093', message: 'connection closed by broker b1:9093 right after connect (before answering): check the listener\'s protocol (TLS/SASL) matches the settings' } as const;
    const unavailable = kafkaFailure('admin connect', BROKERS, closed, { listener: suspect });
    expect(unavailable).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true });
    expect(unavailable.message).toBe(`Kafka admin connect failed (brokers b1:9093,b2:9093): Closed connection; ${suspect.message}`);
    // A command that stopped waiting for the connect names the suspicion as well.
    const givenUp = kafkaFailure('admin connect', BROKERS, connectGivenUp('not connected within 10000 ms'), { listener: suspect });
    expect(givenUp).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true, message: `Kafka admin connect failed (brokers b1:9093,b2:9093): not connected within 10000 ms; ${suspect.message}` });
    // A broker's coded answer is not about the connection: the suspicion is left out.
    const loading = kafkajsError('KafkaJSProtocolError', { message: 'loading', type: 'COORDINATOR_LOAD_IN_PROGRESS', code: 14, retriable: true });
    expect(kafkaFailure('x', BROKERS, loading, { listener: suspect }).message).not.toContain('right after connect');

    const notTls = kafkajsError('KafkaJSConnectionError', 'Connection error: wrong version number', { broker: 'b1:9093', code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    expect(kafkaFailure('admin connect', BROKERS, notTls)).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', retriable: false, details: { tlsCode: 'ERR_SSL_WRONG_VERSION_NUMBER' } });
    const noSasl = kafkajsError('KafkaJSProtocolError', { message: 'Request is not valid given the current SASL state', type: 'ILLEGAL_SASL_STATE', code: 34, retriable: false });
    expect(kafkaFailure('admin connect', BROKERS, noSasl).message).toMatch(/its listener expects no SASL login \(PLAINTEXT or SSL\)/);
  });

  it('leaves anything else FLTS_BUS_UNAVAILABLE (retriable) and coded errors as they are', () => {
    const refused = kafkajsError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9', { broker: 'b1:9093', code: 'ECONNREFUSED' });
    expect(kafkaFailure('publish to t', BROKERS, refused)).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true, message: 'Kafka publish to t failed (brokers b1:9093,b2:9093): Connection error: connect ECONNREFUSED 127.0.0.1:9' });
    // A broker's error answer carries a numeric code (14: the coordinator is still loading after a restart).
    const loading = kafkajsError('KafkaJSProtocolError', { message: 'The coordinator is loading and hence can\'t process requests for this group', type: 'COORDINATOR_LOAD_IN_PROGRESS', code: 14, retriable: true });
    expect(kafkaFailure('consuming as group g', BROKERS, loading)).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true });
    const coded = new FltsError('FLTS_BUS_TOPIC_REFUSED', 'x');
    expect(kafkaFailure('publish to t', BROKERS, coded)).toBe(coded);
  });

  it('masks a user:password@ written in a bootstrap entry wherever a failure names the brokers', () => {
    const brokers = ['alice:s3cret@b1:9093', 'b2:9093'];
    const refused = kafkajsError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9', { broker: 'b2:9093', code: 'ECONNREFUSED' });
    // Before, the message and details.brokers named the password (the CLI masked its own output; a log line did not).
    expect(kafkaFailure('admin connect', brokers, refused)).toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      message: 'Kafka admin connect failed (brokers ***@b1:9093,b2:9093): Connection error: connect ECONNREFUSED 127.0.0.1:9',
      details: { brokers: ['***@b1:9093', 'b2:9093'] },
    });
    const denied = groupLookupDenied('subscribing group g to t', brokers, 'g', kafkajsError('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator'));
    expect(denied).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', details: { brokers: ['***@b1:9093', 'b2:9093'] } });
    expect((denied as Error).message).not.toContain('s3cret');
  });

  it('words an unanswered wait for the bootstrap brokers once: the wait, the brokers (masked), what to check, the latest error', () => {
    const brokers = ['alice:s3cret@b1:9093', 'b2:9093'];
    const given = bootstrapUnanswered(brokers, 'not connected within 1000 ms', 'Connection error: connect ECONNREFUSED');
    expect(kafkaFailure('admin connect', brokers, given)).toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      retriable: true,
      message: "Kafka admin connect failed (brokers ***@b1:9093,b2:9093): not connected within 1000 ms: the bootstrap brokers (***@b1:9093, b2:9093) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach (a listener's host and port, up, with no firewall between); latest error: Connection error: connect ECONNREFUSED",
    });
  });
});
