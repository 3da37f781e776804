import type { BusSettings } from '../config/specs/distributed.js';
import { refuseEmptyFlags } from '../empty-flags.js';
import { FltsError } from '../errors.js';
import { parseIsoDuration, parseResetDateTime } from './iso-duration.js';
import { decodeOffsetCsv } from './offset-csv.js';
import type { ResetScope } from './plan-offset-reset.js';
import type { ResetTarget } from './reset-target.js';
import { resolveRoleGroup, ROLE_SYNTAX } from './role-groups.js';
import { parseTopicScope } from './topic-scope.js';

/** The reset as an operator types it (flag values, unparsed). */
export interface ReplayRequestOptions {
  group?: string;
  role?: string;
  topics?: string[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toCurrent?: boolean;
  toOffset?: number;
  shiftBy?: number;
  toDatetime?: string;
  byDuration?: string;
  /** Contents of the --from-file plan. */
  fromFile?: string;
}

export interface ReplayRequest {
  group: string;
  scope: ResetScope;
  target: ResetTarget;
}

const TARGET_FLAGS = ['--to-earliest', '--to-latest', '--to-current', '--to-offset', '--shift-by', '--to-datetime', '--by-duration', '--from-file'] as const;

function usage(message: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_USAGE_INVALID_FLAG', message, { details });
}

/**
 * An integer flag past what a number holds exactly: the flag parser has rounded it already (99999999999999999999 reads
 * 100000000000000000000, 9007199254740993 reads ...992), so the error says the bound, not a value the user never typed.
 */
function beyondSafe(value: number): boolean {
  return Number.isFinite(value) && Math.abs(value) > Number.MAX_SAFE_INTEGER;
}

function targetOf(options: ReplayRequestOptions, group: string, now: Date): ResetTarget {
  const given = [options.toEarliest, options.toLatest, options.toCurrent, options.toOffset !== undefined, options.shiftBy !== undefined, options.toDatetime !== undefined, options.byDuration !== undefined, options.fromFile !== undefined];
  const chosen = TARGET_FLAGS.filter((_, i) => given[i]);
  if (chosen.length !== 1) throw usage(`Pass exactly one reset target (${TARGET_FLAGS.join(', ')})${chosen.length ? `; got ${chosen.join(', ')}` : ''}.`, { given: chosen });
  if (options.toEarliest) return { kind: 'earliest' };
  if (options.toLatest) return { kind: 'latest' };
  if (options.toCurrent) return { kind: 'current' };
  if (options.toOffset !== undefined) {
    if (beyondSafe(options.toOffset)) throw usage(`--to-offset is larger than ${Number.MAX_SAFE_INTEGER}, the largest offset flts can name.`);
    if (!Number.isSafeInteger(options.toOffset) || options.toOffset < 0) throw usage(`--to-offset ${options.toOffset} is not a non-negative integer.`);
    return { kind: 'offset', offset: options.toOffset };
  }
  if (options.shiftBy !== undefined) {
    if (beyondSafe(options.shiftBy)) throw usage(`--shift-by is beyond ±${Number.MAX_SAFE_INTEGER}, the largest shift flts can name.`);
    if (!Number.isSafeInteger(options.shiftBy)) throw usage(`--shift-by ${options.shiftBy} is not an integer.`);
    return { kind: 'shift', by: options.shiftBy };
  }
  // Every message is newer than 1970, so an instant before it means the log start; a negative one would also read
  // as Kafka's -1 (latest) or -2 (earliest) and could not be printed as a date.
  if (options.toDatetime !== undefined) return { kind: 'datetime', timestampMs: Math.max(0, parseResetDateTime(options.toDatetime)), text: options.toDatetime };
  if (options.byDuration !== undefined) return { kind: 'duration', timestampMs: Math.max(0, now.getTime() - parseIsoDuration(options.byDuration, 'by-duration')), text: options.byDuration };
  const rows = decodeOffsetCsv(options.fromFile!);
  const mine = rows.filter((row) => row.group === undefined || row.group === group);
  if (mine.length === 0) {
    throw new FltsError('FLTS_OFFSETS_PLAN_INVALID', `The plan file has no lines for group ${group}${rows.length ? ` (it names ${[...new Set(rows.map((r) => r.group))].join(', ')})` : ''}.`, { details: { group } });
  }
  return { kind: 'file', rows: mine.map(({ topic, partition, offset }) => ({ topic, partition, offset })) };
}

/** Turns the flags into a group, a scope and one target, refusing ambiguous combinations the way Kafka does. */
export function resolveReplayRequest(options: ReplayRequestOptions, bus: Pick<BusSettings, 'groups' | 'topics'>, now: Date = new Date()): ReplayRequest {
  // Given empty (an unset shell variable), --group "" was told to name a group it had named, as if left out.
  refuseEmptyFlags({ group: options.group, role: options.role });
  if (options.group && options.role) throw usage('Pass --group or --role, not both.');
  const role = options.role ? resolveRoleGroup(options.role, bus) : undefined;
  const group = options.group ?? role?.group;
  if (!group) throw usage(`Name the consumer group with --group <id> or --role ${ROLE_SYNTAX}.`);
  const target = targetOf(options, group, now);
  const topics = options.topics ?? [];
  if (topics.length > 0 && options.allTopics) throw usage('Pass --topic or --all-topics, not both.');
  if (target.kind === 'file') {
    if (topics.length > 0 || options.allTopics) throw usage('--from-file takes its topics and partitions from the file; drop --topic / --all-topics.');
    return { group, scope: { topics: [] }, target };
  }
  if (options.allTopics) return { group, scope: { allTopics: true }, target };
  if (topics.length > 0) return { group, scope: { topics: topics.map(parseTopicScope) }, target };
  if (role?.topics) return { group, scope: { topics: role.topics.map((topic) => ({ topic })) }, target };
  if (role) return { group, scope: { allTopics: true }, target };
  throw usage('Choose the partitions with --topic <name>[:<partitions>] (repeatable) or --all-topics.');
}
