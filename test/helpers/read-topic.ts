import { randomUUID } from 'node:crypto';
import type { MessageBus, ReceivedMessage } from '../../src/core/bus/message-bus.js';
import { waitUntil } from './wait-until.js';

/** Every message on `topics` so far, read from the beginning by a consumer group of its own. */
export async function readTopics(bus: MessageBus, topics: string[], atLeast: number, timeoutMs = 30_000): Promise<ReceivedMessage[]> {
  const seen: ReceivedMessage[] = [];
  const subscription = await bus.subscribe({ group: `reader-${randomUUID().slice(0, 8)}`, topics }, async (message) => {
    seen.push(message);
  });
  try {
    await waitUntil(async () => seen.length >= atLeast, `${atLeast} message(s) on ${topics.join(', ')}`, timeoutMs, 50);
    return [...seen];
  } finally {
    await subscription.stop();
  }
}
