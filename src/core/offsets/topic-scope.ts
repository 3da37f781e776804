import { FltsError } from '../errors.js';
import { clip } from '../clip-text.js';

/** A topic, optionally limited to some partitions (`--topic name:0,2`). */
export interface TopicScope {
  topic: string;
  partitions?: number[];
}

/** Parses Kafka's `--topic` syntax: `name` or `name:0,2,5`. */
export function parseTopicScope(text: string): TopicScope {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  if (colon < 0) {
    if (!trimmed) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--topic is empty: expected name or name:0,2.');
    return { topic: trimmed };
  }
  const topic = trimmed.slice(0, colon);
  const list = trimmed.slice(colon + 1).split(',').map((p) => p.trim());
  if (!topic || list.some((p) => !/^\d+$/.test(p))) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--topic ${JSON.stringify(clip(text))} is not name or name:<partition>[,<partition>...], e.g. training-data:0,2.`, { details: { value: clip(text) } });
  }
  return { topic, partitions: [...new Set(list.map(Number))].sort((a, b) => a - b) };
}
