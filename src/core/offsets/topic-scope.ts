import { FltsError } from '../errors.js';
import { clip } from '../clip-text.js';

/** A topic, optionally limited to some partitions (`--topic name:0,2`). */
export interface TopicScope {
  topic: string;
  partitions?: number[];
}

const MAX_PARTITION = 2 ** 31 - 1;
const SYNTAX = 'name or name:<partition>[,<partition>...], e.g. training-data:0,2';

function invalid(text: string, why: string): FltsError {
  return new FltsError('FLTS_USAGE_INVALID_FLAG', `--topic ${JSON.stringify(clip(text))} ${why}.`, { details: { flag: 'topic', value: clip(text) } });
}

/**
 * Which item of a comma list is empty (`0,,2`, a trailing comma), as settings lists say it: most often a value a
 * template or a shell variable left out, so it is refused rather than dropped.
 */
function emptyItem(items: string[]): string | undefined {
  const empty = items.findIndex((item) => item === '');
  return empty < 0 ? undefined : `item ${empty + 1} of ${items.length} is empty`;
}

/** Parses Kafka's `--topic` syntax: `name` or `name:0,2,5`. */
export function parseTopicScope(text: string): TopicScope {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const topic = (colon < 0 ? trimmed : trimmed.slice(0, colon)).trim();
  if (colon < 0 && !topic) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--topic is empty: expected name or name:0,2.', { details: { flag: 'topic' } });
  // No Kafka topic has a comma in its name: `a,b` is a list of topics, which --topic takes one at a time.
  if (topic.includes(',')) {
    const empty = emptyItem(topic.split(',').map((item) => item.trim()));
    throw invalid(text, `names one topic, not a list${empty ? ` (${empty})` : ''}: repeat --topic for each (--topic a --topic b), each ${SYNTAX}`);
  }
  if (colon < 0) return { topic };
  if (!topic) throw invalid(text, `has no topic name before the colon: expected ${SYNTAX}`);
  const list = trimmed.slice(colon + 1).split(',').map((p) => p.trim());
  const empty = emptyItem(list);
  if (empty) throw invalid(text, `has an empty partition (${empty}): expected ${SYNTAX}`);
  if (list.some((p) => !/^\d+$/.test(p))) throw invalid(text, `is not ${SYNTAX}`);
  // Kafka numbers partitions with a 32-bit int: a larger one is no partition, and past 2^53 it read as another number.
  const huge = list.find((p) => Number(p) > MAX_PARTITION);
  if (huge !== undefined) throw invalid(text, `names partition ${clip(huge)}, past ${MAX_PARTITION}, the largest partition number Kafka has`);
  return { topic, partitions: [...new Set(list.map(Number))].sort((a, b) => a - b) };
}
