import { FltsError } from '../errors.js';
import type { OffsetsAdmin } from './offsets-admin.js';
import { resolvePartitionOffset, type ClampedTo, type ResetTarget } from './reset-target.js';
import type { TopicScope } from './topic-scope.js';

/** Which partitions a reset touches: named topics (optionally some partitions), or every topic the group committed to. */
export type ResetScope = { topics: TopicScope[] } | { allTopics: true };

/** One row of the plan table. */
export interface OffsetResetPlanEntry {
  topic: string;
  partition: number;
  /** The group's committed offset, null when it has none. */
  current_offset: number | null;
  new_offset: number;
  /** What the target asked for, before clamping to the partition's range. */
  requested_offset: number;
  log_start_offset: number;
  log_end_offset: number;
  /** Messages the group has still to read, now (null without a committed offset) and after the reset. */
  lag_before: number | null;
  lag_after: number;
  clamped: ClampedTo;
}

async function scopeTopics(admin: OffsetsAdmin, group: string, scope: ResetScope, target: ResetTarget): Promise<TopicScope[]> {
  if (target.kind === 'file') {
    const byTopic = new Map<string, number[]>();
    for (const row of target.rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row.partition]);
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
  }
  if ('topics' in scope) return scope.topics;
  const committed = await admin.committedOffsets(group);
  // Like Kafka's --all-topics: exactly the partitions the group has committed offsets for.
  const byTopic = new Map<string, number[]>();
  for (const c of committed) if (c.offset !== null) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c.partition]);
  if (byTopic.size === 0) {
    // Reached by --all-topics and by --role serving:<id> without --topic: both take the topics the group committed to.
    throw new FltsError('FLTS_OFFSETS_NO_COMMITTED_OFFSET', `Group ${group} has no committed offsets, so it names no topics to reset (--all-topics, and a serving role without --topic, take the topics a group committed to); name them with --topic.`, { details: { group } });
  }
  return [...byTopic].sort(([a], [b]) => a.localeCompare(b)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

/**
 * The reset plan: for every partition in scope, the group's committed offset, the offset the target resolves
 * to (clamped to the partition's range, like Kafka) and the lag before and after. Reads only; changes nothing.
 */
export async function planOffsetReset(input: { group: string; scope: ResetScope; target: ResetTarget }, admin: OffsetsAdmin): Promise<OffsetResetPlanEntry[]> {
  const { group, target } = input;
  const entries: OffsetResetPlanEntry[] = [];
  for (const scope of await scopeTopics(admin, group, input.scope, target)) {
    const ranges = await admin.topicRanges(scope.topic);
    const unknown = (scope.partitions ?? []).filter((p) => !ranges.some((r) => r.partition === p));
    if (unknown.length > 0) {
      throw new FltsError('FLTS_OFFSETS_TOPIC_NOT_FOUND', `Topic ${scope.topic} has partitions 0-${ranges.length - 1}; partition ${unknown.join(', ')} does not exist.`, {
        details: { topic: scope.topic, partitions: ranges.length, unknown },
      });
    }
    const wanted = scope.partitions ? ranges.filter((r) => scope.partitions!.includes(r.partition)) : ranges;
    const committed = await admin.committedOffsets(group, [scope.topic]);
    const byTime = target.kind === 'datetime' || target.kind === 'duration' ? await admin.offsetsForTimestamp(scope.topic, target.timestampMs) : undefined;
    for (const range of wanted) {
      const current = committed.find((c) => c.topic === scope.topic && c.partition === range.partition)?.offset ?? null;
      const resolved = resolvePartitionOffset(target, { topic: scope.topic, partition: range.partition, committed: current, logStart: range.logStart, logEnd: range.logEnd }, byTime?.get(range.partition));
      entries.push({
        topic: scope.topic,
        partition: range.partition,
        current_offset: current,
        new_offset: resolved.offset,
        requested_offset: resolved.requested,
        log_start_offset: range.logStart,
        log_end_offset: range.logEnd,
        lag_before: current === null ? null : Math.max(0, range.logEnd - current),
        lag_after: range.logEnd - resolved.offset,
        clamped: resolved.clamped,
      });
    }
  }
  return entries;
}
