import { Box, Text } from 'ink';
import type { PromotionCandidate } from '../../core/runbooks/index.js';

const num = (value: number | null, digits = 5): string => (value === null || value === undefined ? '-' : Number.isFinite(value) ? value.toFixed(digits) : String(value));
const signed = (value: number | null, digits = 5): string => (value === null ? '-' : `${value > 0 ? '+' : ''}${value.toFixed(digits)}`);
const show = (value: unknown): string => (value === null || value === undefined ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

/** The selected run against the promoted one: model type, metric deltas, differing parameters, problems. */
export function CandidateDiff({ candidate, force, pinNote }: { candidate: PromotionCandidate; force: boolean; /** How selecting the promoted run pins it, when it does. */ pinNote?: string }) {
  const diff = candidate.diff;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>
        {candidate.model_type} run {candidate.run_id} vs {diff.current_run_id ? `current ${diff.model_type.current ?? '?'} run ${diff.current_run_id}` : 'no promoted run'}
      </Text>
      {diff.same_run ? <Text color="yellow">This run is the promoted one{pinNote ? `, ${pinNote}` : ''}.</Text> : null}
      {diff.model_type.changed && diff.current_run_id ? <Text>model type: {diff.model_type.current} -&gt; {diff.model_type.selected}</Text> : null}
      {diff.config_hash.changed && diff.current_run_id ? <Text>config_hash: {diff.config_hash.current?.slice(0, 12)} -&gt; {diff.config_hash.selected.slice(0, 12)}</Text> : null}
      {diff.metrics.map((m) => (
        <Text key={m.name}>
          {m.name.padEnd(6)} {num(m.current).padStart(10)} -&gt; {num(m.selected).padStart(10)}  delta {signed(m.delta)}
          {m.delta_pct === null ? '' : ` (${m.delta_pct > 0 ? '+' : ''}${m.delta_pct.toFixed(1)}%)`}
        </Text>
      ))}
      {diff.params.length > 0 ? <Text>params that differ:</Text> : null}
      {diff.params.slice(0, 10).map((p) => (
        <Text key={p.name}>
          {'  '}
          {p.name}: {show(p.current)} -&gt; {show(p.selected)}
        </Text>
      ))}
      {candidate.problems.map((p) => (
        <Text key={p.message} color="red">
          cannot promote: {p.message}
        </Text>
      ))}
      {force && candidate.problems.length === 0 ? <Text color="yellow">--force: a failed quality gate or missing test data is overridden and recorded.</Text> : null}
    </Box>
  );
}
