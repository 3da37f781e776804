import { FltsError } from '../errors.js';

/** One line of a reset plan file: Kafka's `topic,partition,offset` (or `group,topic,partition,offset`). */
export interface OffsetCsvRow {
  group?: string;
  topic: string;
  partition: number;
  offset: number;
}

/**
 * The CSV `kafka-consumer-groups --reset-offsets --export` writes and `--from-file` reads: no header, one
 * partition per line; the group column appears only when the plan spans several groups.
 */
export function encodeOffsetCsv(rows: readonly OffsetCsvRow[]): string {
  const multiGroup = new Set(rows.map((row) => row.group)).size > 1;
  return rows.map((row) => [...(multiGroup ? [row.group ?? ''] : []), row.topic, row.partition, row.offset].join(',')).join('\n') + (rows.length > 0 ? '\n' : '');
}

function bad(line: number, text: string, why: string): FltsError {
  return new FltsError('FLTS_OFFSETS_PLAN_INVALID', `Reset plan line ${line} (${JSON.stringify(text)}) ${why}; expected topic,partition,offset or group,topic,partition,offset.`, { details: { line, text } });
}

function nonNegativeInteger(value: string): number | undefined {
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Parses a plan file; blank lines and `#` comments are skipped, anything else malformed is refused by line. */
export function decodeOffsetCsv(text: string): OffsetCsvRow[] {
  const rows: OffsetCsvRow[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length !== 3 && cells.length !== 4) throw bad(index + 1, line, `has ${cells.length} columns`);
    const [group, topic, partitionText, offsetText] = cells.length === 4 ? cells : [undefined, ...cells];
    if (!topic) throw bad(index + 1, line, 'has no topic');
    const partition = nonNegativeInteger(partitionText!);
    const offset = nonNegativeInteger(offsetText!);
    if (partition === undefined) throw bad(index + 1, line, `has partition ${JSON.stringify(partitionText)}, not a non-negative integer`);
    if (offset === undefined || !Number.isSafeInteger(offset)) throw bad(index + 1, line, `has offset ${JSON.stringify(offsetText)}, not a non-negative integer`);
    const id = `${group ?? ''}\u0000${topic}\u0000${partition}`;
    if (seen.has(id)) throw bad(index + 1, line, `repeats ${topic}:${partition}`);
    seen.add(id);
    rows.push({ ...(group !== undefined ? { group } : {}), topic, partition, offset });
  });
  return rows;
}
