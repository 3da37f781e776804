import { describe, expect, it } from 'vitest';
import { createKafkaOffsetsAdmin } from './offsets-admin.js';
import { freePort } from '../free-port.fixture.js';

describe('core > offsets > offsets-admin', () => {
  it('says a bootstrap broker that refuses every connection as the bus does once kafkajs gives up: coded, naming it and what to check', async () => {
    const broker = `127.0.0.1:${await freePort()}`;
    const admin = createKafkaOffsetsAdmin({ brokers: [broker], clientId: 'flts-test-replay-offsets', retries: 1 });
    try {
      const error = await admin.describeGroup('flts-promoter').then(() => undefined, (caught: unknown) => caught);
      // Before: "Kafka admin connect failed (brokers 127.0.0.1:<port>): Connection error: connect ECONNREFUSED ...",
      // kafkajs' own words, where every other command named the bootstrap broker and KAFKA_BOOTSTRAP_SERVERS.
      expect(error).toMatchObject({
        code: 'FLTS_BUS_UNAVAILABLE',
        retriable: true,
        message: expect.stringMatching(new RegExp(`^Kafka admin connect failed \\(brokers ${broker}\\): not connected after \\d+ ms, kafkajs' retries given up: the bootstrap broker \\(${broker}\\) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach \\(a listener's host and port, up, with no firewall between\\); latest error: Connection error: connect ECONNREFUSED ${broker}$`)),
        details: { brokers: [broker], waitedMs: expect.any(Number) },
      });
    } finally {
      await admin.close();
    }
  }, 30_000);
});
