import type { Kafka } from 'kafkajs';
import { FltsError } from '../errors.js';

const JOIN_TIMEOUT_MS = 30_000;

/**
 * Commits offsets for an empty group by joining it briefly as its only member (kafkajs has no admin
 * OffsetCommit). Unlike kafkajs' admin.setOffsets, which waits out a full fetch (5 s) per topic, this commits
 * as soon as the join completes, and it refuses when another member shares the generation it joined.
 */
export async function commitAsSoleMember(kafka: Kafka, group: string, topic: string, offsets: ReadonlyArray<{ partition: number; offset: number }>, describeMembers: () => Promise<number>): Promise<void> {
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1_000, allowAutoTopicCreation: false, retry: { retries: 2 } });
  let timer: NodeJS.Timeout | undefined;
  const joined = new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
    timer = setTimeout(() => reject(new FltsError('FLTS_BUS_UNAVAILABLE', `Joining group ${group} to commit its offsets took over ${JOIN_TIMEOUT_MS / 1000}s.`, { details: { group } })), JOIN_TIMEOUT_MS);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // Nothing is processed and, with autoCommit off, nothing but the explicit commit below is written.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
    consumer.pause([{ topic }]);
    await joined;
    const members = await describeMembers();
    if (members > 1) {
      throw new FltsError('FLTS_OFFSETS_GROUP_ACTIVE', `Group ${group} gained ${members - 1} other member(s) while its offsets were being written to ${topic}; nothing was committed there.`, { details: { group, topic } });
    }
    await consumer.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })));
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
}
