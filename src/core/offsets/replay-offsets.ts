import { FltsError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { appendOffsetAudit, type OffsetAuditEntry } from './audit-log.js';
import { assertGroupInactive, type WaitForEmptyGroup } from './group-activity.js';
import type { GroupDescription, GroupMember, OffsetsAdmin } from './offsets-admin.js';
import { planOffsetReset, type OffsetResetPlanEntry, type ResetScope } from './plan-offset-reset.js';
import { describeTarget, type ResetTarget } from './reset-target.js';

export interface ReplayOffsetsInput {
  group: string;
  scope: ResetScope;
  target: ResetTarget;
  /** false (the default) plans only. */
  execute?: boolean;
  /** Wait for an active group to empty instead of refusing at once. */
  wait?: WaitForEmptyGroup;
  /** Who runs the reset, for the audit log. */
  operator: string;
  reason?: string;
}

export interface ReplayOffsetsDeps {
  admin: OffsetsAdmin;
  /** Where executed resets are audited; required to execute. */
  audit?: { store: ObjectStore; bucket: string };
  now?: () => Date;
  /** A stop: heard until the first offset is committed (the commits, once begun, are short and end first). */
  signal?: AbortSignal;
  /** Told once, with the group's members, when `wait` begins to wait for an active group to empty. */
  onWaiting?: (description: GroupDescription) => void;
}

export interface ReplayOffsetsResult {
  group: string;
  target: string;
  executed: boolean;
  group_state: string;
  /** Members at planning time (a dry run plans even for an active group; executing refuses it). */
  active_members: GroupMember[];
  partitions: OffsetResetPlanEntry[];
  /** Committed offsets read back from Kafka after executing. */
  committed_after?: Array<{ topic: string; partition: number; offset: number | null }>;
  audit_key?: string;
}

function byTopic(entries: readonly OffsetResetPlanEntry[]): Map<string, OffsetResetPlanEntry[]> {
  const map = new Map<string, OffsetResetPlanEntry[]>();
  for (const entry of entries) map.set(entry.topic, [...(map.get(entry.topic) ?? []), entry]);
  return map;
}

/**
 * `kafka-consumer-groups --reset-offsets` as a library call: plans, and with `execute` commits the planned
 * offsets (real offsets through setOffsets), reads them back and appends an audit entry. An active group is
 * refused before anything is written.
 */
export async function replayOffsets(input: ReplayOffsetsInput, deps: ReplayOffsetsDeps): Promise<ReplayOffsetsResult> {
  const { admin, group } = { admin: deps.admin, group: input.group };
  const target = describeTarget(input.target);
  if (!input.execute) {
    const partitions = await planOffsetReset(input, admin);
    const description = await admin.describeGroup(group);
    return { group, target, executed: false, group_state: description.state, active_members: description.members, partitions };
  }
  if (!deps.audit) throw new FltsError('FLTS_INTERNAL', 'Executing an offset reset needs an audit store.');
  // Waiting first, then planning: relative targets (--shift-by, --to-current) must see the offsets the
  // departing members committed last.
  const description = await assertGroupInactive(admin, group, { wait: input.wait, signal: deps.signal, onWaiting: deps.onWaiting });
  const partitions = await planOffsetReset(input, admin);
  await deps.audit.store.ensureBucket(deps.audit.bucket);
  // A stop while the plan was made (broker round trips that can take seconds) comes before any offset is changed.
  deps.signal?.throwIfAborted();
  for (const [topic, entries] of byTopic(partitions)) {
    await admin.commitOffsets(group, topic, entries.map((e) => ({ partition: e.partition, offset: e.new_offset })));
  }
  const readBack = await admin.committedOffsets(group, [...byTopic(partitions).keys()]);
  const committedAfter = partitions.map((e) => ({ topic: e.topic, partition: e.partition, offset: readBack.find((c) => c.topic === e.topic && c.partition === e.partition)?.offset ?? null }));
  const entry: OffsetAuditEntry = {
    who: input.operator,
    when: (deps.now ?? (() => new Date()))().toISOString(),
    group,
    target,
    reason: input.reason ?? null,
    partitions: partitions.map((e, i) => ({ topic: e.topic, partition: e.partition, before: e.current_offset, after: committedAfter[i].offset, requested: e.requested_offset })),
  };
  const auditKey = await appendOffsetAudit(deps.audit.store, deps.audit.bucket, entry);
  const mismatched = partitions.filter((e, i) => committedAfter[i].offset !== e.new_offset);
  if (mismatched.length > 0) {
    throw new FltsError('FLTS_BUS_UNAVAILABLE', `Kafka did not keep the new offsets of ${mismatched.map((e) => `${e.topic}:${e.partition}`).join(', ')} (audited at ${auditKey}); check the group and retry.`, {
      details: { group, auditKey, mismatched: mismatched.map((e) => ({ topic: e.topic, partition: e.partition, expected: e.new_offset })) },
    });
  }
  return { group, target, executed: true, group_state: description.state, active_members: [], partitions, committed_after: committedAfter, audit_key: auditKey };
}
