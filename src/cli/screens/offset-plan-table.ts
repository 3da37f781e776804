import type { ReplayOffsetsResult } from '../../core/offsets/index.js';

const show = (value: number | null): string => (value === null ? '-' : String(value));

/** The reset plan as aligned text lines, like kafka-consumer-groups prints it, plus lag before/after. */
export function renderOffsetPlan(result: ReplayOffsetsResult): string[] {
  const header = ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET', 'LAG-BEFORE', 'LAG-AFTER', 'NOTE'];
  const rows = result.partitions.map((p) => [
    p.topic,
    String(p.partition),
    show(p.current_offset),
    String(p.new_offset),
    show(p.lag_before),
    String(p.lag_after),
    p.clamped ? `requested ${p.requested_offset}, clamped to ${p.clamped} (${p.clamped === 'log-start' ? p.log_start_offset : p.log_end_offset})` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [`GROUP ${result.group} (state ${result.group_state}), target ${result.target}`, line(header), ...rows.map(line)];
  if (result.executed) {
    lines.push(`Executed: ${result.partitions.length} partition(s) reset; audit entry ${result.audit_key}.`);
  } else {
    if (result.active_members.length > 0) {
      lines.push(`Warning: the group has ${result.active_members.length} active member(s); --execute will refuse until it is empty (or pass --wait):`);
      for (const m of result.active_members) lines.push(`  member ${m.memberId} (client ${m.clientId}, host ${m.host})`);
    }
    lines.push('Dry run: nothing changed. Add --execute to apply this plan.');
  }
  return lines;
}
