import { Box, Text } from 'ink';
import type { PromotionCandidate } from '../../core/runbooks/index.js';

const num = (value: number | null, digits = 5): string => (value === null || value === undefined ? '-' : Number.isFinite(value) ? value.toFixed(digits) : String(value));
const signed = (value: number | null, digits = 5): string => (value === null ? '-' : `${value > 0 ? '+' : ''}${value.toFixed(digits)}`);
const show = (value: unknown): string => (value === null || value === undefined ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

/** The selected run against the promoted one: model type, metric deltas, differing parameters, problems. */
export function CandidateDiff({
  candidate,
  force,
  pinNote,
  maxLines = Number.POSITIVE_INFINITY,
  colors = true,
}: {
  candidate: PromotionCandidate;
  force: boolean;
  /** How selecting the promoted run pins it, when it does. */
  pinNote?: string;
  /** The lines it may take, its blank first line included: a short terminal shows its first lines and how many more. */
  maxLines?: number;
  /** False where NO_COLOR asks for no colours (bold and dim stay: they are no colour). */
  colors?: boolean;
}) {
  const diff = candidate.diff;
  const lines: Array<{ key: string; text: string; color?: string; bold?: boolean }> = [];
  lines.push({ key: 'title', bold: true, text: `${candidate.model_type} run ${candidate.run_id} vs ${diff.current_run_id ? `current ${diff.model_type.current ?? '?'} run ${diff.current_run_id}` : 'no promoted run'}` });
  if (diff.same_run) lines.push({ key: 'same', color: 'yellow', text: `This run is the promoted one${pinNote ? `, ${pinNote}` : ''}.` });
  if (diff.model_type.changed && diff.current_run_id) lines.push({ key: 'model', text: `model type: ${diff.model_type.current} -> ${diff.model_type.selected}` });
  if (diff.config_hash.changed && diff.current_run_id) lines.push({ key: 'hash', text: `config_hash: ${diff.config_hash.current?.slice(0, 12)} -> ${diff.config_hash.selected.slice(0, 12)}` });
  for (const m of diff.metrics) {
    const pct = m.delta_pct === null ? '' : ` (${m.delta_pct > 0 ? '+' : ''}${m.delta_pct.toFixed(1)}%)`;
    lines.push({ key: `metric:${m.name}`, text: `${m.name.padEnd(6)} ${num(m.current).padStart(10)} -> ${num(m.selected).padStart(10)}  delta ${signed(m.delta)}${pct}` });
  }
  if (diff.params.length > 0) lines.push({ key: 'params', text: 'params that differ:' });
  for (const p of diff.params.slice(0, 10)) lines.push({ key: `param:${p.name}`, text: `  ${p.name}: ${show(p.current)} -> ${show(p.selected)}` });
  for (const p of candidate.problems) lines.push({ key: `problem:${p.message}`, color: 'red', text: `cannot promote: ${p.message}` });
  if (force && candidate.problems.length === 0) lines.push({ key: 'force', color: 'yellow', text: '--force: a failed quality gate or missing test data is overridden and recorded.' });
  // Its blank first line is one of maxLines; the problems, which say why a run cannot be chosen, are never the ones cut.
  const room = maxLines - 1;
  if (room < 1) return null;
  let shown = lines;
  if (lines.length > room) {
    const problems = lines.filter((line) => line.key.startsWith('problem:'));
    const others = lines.filter((line) => !line.key.startsWith('problem:'));
    // The title (the run compared with which) first of all, then what fits before the count of the rest.
    const kept = Math.max(1, room - 1 - problems.length);
    shown = room === 1 ? others.slice(0, 1) : [...others.slice(0, kept), { key: 'more', text: `… ${others.length - kept} more lines in a taller terminal` }, ...problems].slice(0, room);
  }
  return (
    <Box flexDirection="column" marginTop={1}>
      {shown.map((line) => (
        <Text key={line.key} color={line.key === 'more' || !colors ? undefined : line.color} bold={line.bold} dimColor={line.key === 'more'} wrap="truncate-end">
          {line.text}
        </Text>
      ))}
    </Box>
  );
}
