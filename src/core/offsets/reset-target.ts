import { FltsError } from '../errors.js';
import type { OffsetCsvRow } from './offset-csv.js';

/** Where `kafka-consumer-groups --reset-offsets` moves a group: one of its targets, or a plan file. */
export type ResetTarget =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'current' }
  | { kind: 'offset'; offset: number }
  | { kind: 'shift'; by: number }
  /** `timestampMs` is resolved from `--to-datetime`, or from now minus `--by-duration`. */
  | { kind: 'datetime'; timestampMs: number; text: string }
  | { kind: 'duration'; timestampMs: number; text: string }
  | { kind: 'file'; rows: OffsetCsvRow[] };

/** The partition as the broker reports it, with the group's committed position (null: nothing committed). */
export interface PartitionPosition {
  topic: string;
  partition: number;
  committed: number | null;
  logStart: number;
  logEnd: number;
}

export type ClampedTo = 'log-start' | 'log-end' | null;

export interface ResolvedOffset {
  /** What the target asked for, before clamping. */
  requested: number;
  offset: number;
  clamped: ClampedTo;
}

/** Kafka's range check: below the log start becomes the log start, past the log end becomes the log end. */
export function clampOffset(requested: number, logStart: number, logEnd: number): { offset: number; clamped: ClampedTo } {
  if (requested < logStart) return { offset: logStart, clamped: 'log-start' };
  if (requested > logEnd) return { offset: logEnd, clamped: 'log-end' };
  return { offset: requested, clamped: null };
}

/**
 * The new committed offset of one partition. `timestampOffset` is the broker's answer to "first offset at or
 * after the target time" (the log end when no message is that new) for the time-based targets.
 */
export function resolvePartitionOffset(target: ResetTarget, position: PartitionPosition, timestampOffset?: number): ResolvedOffset {
  const requested = requestedOffset(target, position, timestampOffset);
  return { requested, ...clampOffset(requested, position.logStart, position.logEnd) };
}

function requestedOffset(target: ResetTarget, position: PartitionPosition, timestampOffset: number | undefined): number {
  switch (target.kind) {
    case 'earliest':
      return position.logStart;
    case 'latest':
      return position.logEnd;
    // Like Kafka: a partition without a committed offset moves to the log end.
    case 'current':
      return position.committed ?? position.logEnd;
    case 'offset':
      return target.offset;
    case 'shift':
      if (position.committed === null) {
        throw new FltsError('FLTS_OFFSETS_NO_COMMITTED_OFFSET', `Cannot shift ${position.topic}:${position.partition} by ${target.by}: the group has no committed offset there.`, {
          details: { topic: position.topic, partition: position.partition },
        });
      }
      return position.committed + target.by;
    case 'datetime':
    case 'duration':
      if (timestampOffset === undefined) throw new FltsError('FLTS_INTERNAL', `No offset for ${target.text} on ${position.topic}:${position.partition}.`);
      return timestampOffset;
    case 'file': {
      const row = target.rows.find((r) => r.topic === position.topic && r.partition === position.partition);
      if (!row) throw new FltsError('FLTS_INTERNAL', `The plan file has no line for ${position.topic}:${position.partition}.`);
      return row.offset;
    }
  }
}

/** How the target reads in a plan header and the audit log. */
export function describeTarget(target: ResetTarget): string {
  switch (target.kind) {
    case 'offset':
      return `to-offset ${target.offset}`;
    case 'shift':
      return `shift-by ${target.by >= 0 ? '+' : ''}${target.by}`;
    case 'datetime':
      return `to-datetime ${target.text} (${new Date(target.timestampMs).toISOString()})`;
    case 'duration':
      return `by-duration ${target.text} (${new Date(target.timestampMs).toISOString()})`;
    case 'file':
      return `from-file (${target.rows.length} partitions)`;
    default:
      return `to-${target.kind}`;
  }
}
