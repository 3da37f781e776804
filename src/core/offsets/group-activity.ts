import { FltsError } from '../errors.js';
import type { GroupDescription, OffsetsAdmin } from './offsets-admin.js';
import { sleepOrThrow } from '../retry.js';

export interface WaitForEmptyGroup {
  timeoutMs: number;
  /** Between two looks at the group; default 1 s. */
  pollMs?: number;
}

function describeMembers(description: GroupDescription): string {
  return description.members.map((m) => `member ${m.memberId} (client ${m.clientId}, host ${m.host})`).join('; ');
}

/** After a wait ran out, the advice is no longer to wait: --wait was given, and the members stayed. */
const WAITED_HINT = 'Stop the group members (each flts daemon or flts serve consuming as the group), then run the reset again, or give --wait a longer --wait-timeout.';

function activeError(description: GroupDescription, waitedMs?: number): FltsError {
  const n = description.members.length;
  const waited = waitedMs === undefined ? '' : ` after waiting ${Math.round(waitedMs / 1000)}s`;
  const advice = waitedMs === undefined ? 'stop these consumers, or pass --wait to wait until the group is empty' : 'stop these consumers, or wait longer (--wait-timeout)';
  return new FltsError(
    'FLTS_OFFSETS_GROUP_ACTIVE',
    `Group ${description.group} still has ${n} active member${n === 1 ? '' : 's'}${waited} (state ${description.state}): ${describeMembers(description)}. Kafka only resets the offsets of an empty group: ${advice}.`,
    { details: { group: description.group, state: description.state, members: description.members }, ...(waitedMs === undefined ? {} : { hint: WAITED_HINT }) },
  );
}

/**
 * Resolves with the group's description once it has no members. Without `wait` an active group is refused at
 * once; with it the group is looked at again every `pollMs` until it empties or `timeoutMs` passes. `onWaiting` hears
 * the members found the first time the group is active, once: the wait may be minutes, said as it begins. A stop
 * (`signal`) that came while the broker was asked ends it as well, not only one during the sleep between looks.
 */
export async function assertGroupInactive(admin: OffsetsAdmin, group: string, options: { wait?: WaitForEmptyGroup; signal?: AbortSignal; now?: () => number; onWaiting?: (description: GroupDescription) => void } = {}): Promise<GroupDescription> {
  const now = options.now ?? Date.now;
  const started = now();
  let said = false;
  for (;;) {
    const description = await admin.describeGroup(group);
    options.signal?.throwIfAborted();
    if (description.members.length === 0) return description;
    const waited = now() - started;
    if (!options.wait || waited >= options.wait.timeoutMs) throw activeError(description, options.wait ? waited : undefined);
    if (!said) options.onWaiting?.(description);
    said = true;
    await sleepOrThrow(Math.min(options.wait.pollMs ?? 1_000, Math.max(1, options.wait.timeoutMs - waited)), options.signal);
  }
}
