import { singleLine } from '../core/clip-text.js';
import { describeChoice, type PromotionRecord } from '../core/registry/pointers.js';
import type { LiveProbationStart, PromotionResult, TargetsChange } from '../core/workflows/promote.js';

const by = (record: PromotionRecord): string => `${record.source}${record.actor ? ` ${record.actor}` : ''}`;

/** What `flts promote` and `flts promote-manual` say when the run asked for was already in service. */
export function alreadyInServiceLine(record: PromotionRecord): string {
  // A record another writer left may hold line breaks or terminal escapes in its actor: one line of text.
  return singleLine(`${record.model_type} run ${record.run_id} is already in service (${describeChoice(record)}); nothing changed.`);
}

/**
 * What a pin holds against, and what it does not (docs/promotion.md, "A chosen run stands" and "A person's choice
 * stands against the newer data it saw"): the one wording of every line that says a run is pinned. Automatic
 * promotion of newer data still replaces a pinned run once a SUCCESS run of that data finishes after the pin
 * (the pin's seen_runs, seen_set do not name it).
 */
export const PIN_SCOPE_LINE =
  "pinned: automatic rollback and automatic promotion of the same data leave it in service, and so does automatic promotion of newer data whose SUCCESS runs had all finished before the pin; a SUCCESS run of newer data that finishes after the pin has that data promoted automatically over it, and a person's promotion or --rollback replaces it.";

/** What they say when that run was in service by automatic promotion, and is now pinned (`record`: the pin). */
export function pinnedLine(record: PromotionRecord): string {
  return singleLine(
    `${record.model_type} run ${record.run_id} is already in service (promoted automatically ${record.pinned_timestamp ?? ''}); now pinned by ${by(record)} — ${record.reason}. Replicas keep serving it without a reload.`,
  );
}

/** What they say when --pin found the run in service and pinned it (`record`: the pin). */
export function pinnedInServiceLine(record: PromotionRecord): string {
  return singleLine(
    `${record.model_type} run ${record.run_id} is already in service, now pinned (${record.timestamp} by ${by(record)} — ${record.reason}). Replicas keep serving it without a reload.`,
  );
}

/** What they say when --pin found the run in service pinned already, so this call wrote nothing (`record`: the pin). */
export function alreadyPinnedLine(record: PromotionRecord): string {
  return singleLine(
    `${record.model_type} run ${record.run_id} is already in service and already pinned (${record.timestamp} by ${by(record)} — ${record.reason}); nothing changed.`,
  );
}

/** A record's score as the scoreboard shows it, six significant digits (the record keeps every digit). */
export function scoreText(score: number | null | undefined): string {
  return typeof score === 'number' && Number.isFinite(score) ? score.toPrecision(6) : '-';
}

/** What they warn when the promoted run forecasts other columns than the run it replaced. */
export function targetsChangedLine(change: TargetsChange): string {
  return singleLine(`warning: targets changed from ${change.from.join(',')} (run ${change.previous_run_id}) to ${change.to.join(',')}: /predict now returns ${change.to.join(',')}.`);
}

/**
 * What they say when the promotion starts a live probation, who runs it (the replicas whose live reports say they
 * score live, not this command's settings), and where to watch it.
 */
export function liveProbationLine(start: LiveProbationStart): string {
  const margin = `${Math.round(start.margin * 1000) / 10}%`;
  // Whether a worse run is rolled back is the deciding process's FLTS_LIVE_ROLLBACK, not this command's: say whose.
  const outcome = start.rollback
    ? `then judged worse if its RMSE exceeds the previous run's by more than ${margin}, and a worse run is rolled back unless the deciding process (the promoter, or an embedded server) has FLTS_LIVE_ROLLBACK off`
    : `then judged worse if its RMSE exceeds the previous run's by more than ${margin}, decided and reported, never rolled back automatically (pinned)`;
  const comparison = `run ${start.run_id} with run ${start.previous_run_id} forecasting in shadow over ${start.points} matched points, ${outcome}; watch it in /healthz live.probation or with \`flts eval --live\`.`;
  const serving = start.serving_replicas;
  if (serving === null) return `live probation started: serving replicas compare ${comparison}`;
  if (serving.length === 0) return `live probation waits for a server: no server reports live scoring yet (a replica serving with FLTS_LIVE_SCORING on reports every FLTS_LIVE_REPORT_INTERVAL_MS); serving replicas will compare ${comparison}`;
  return `live probation starts on ${serving.length} serving ${serving.length === 1 ? 'replica' : 'replicas'}: they compare ${comparison}`;
}

/** What they add, after their own lines, for a run promoted and pinned by one request. */
export const PROMOTED_AND_PINNED_LINE = `${PIN_SCOPE_LINE} Its live probation is still decided and reported.`;

/**
 * The lines both commands print for a promotion that left the run in service where it was: nothing changed, or
 * pinned where it is (`record` a pin record); undefined for a promotion (pinned with it or not), which each command
 * words its own way. `pinAsked`: the request had --pin.
 */
export function runKeptLines(result: { changed: boolean; pinned: boolean; record: PromotionRecord; history_key: string; pointers: string[] }, pinAsked = false): string[] | undefined {
  const where = `history ${result.history_key}; pointers ${result.pointers.join(', ')}`;
  if (!result.changed) return [pinAsked && result.pinned ? alreadyPinnedLine(result.record) : alreadyInServiceLine(result.record), ...(result.pinned ? [PIN_SCOPE_LINE] : [])];
  if (result.record.action !== 'pin') return undefined;
  return [pinAsked ? pinnedInServiceLine(result.record) : pinnedLine(result.record), where, PIN_SCOPE_LINE];
}

/**
 * Everything `flts promote` (--run, --best, --rollback) and `flts promote-manual` (with its screen or not) print for a
 * promotion's result: one result reads the same from either command. `pinAsked`: the request had --pin.
 */
export function promotionResultLines(result: PromotionResult, pinAsked = false): string[] {
  const r = result.record;
  const lines = (result.corrupt_runs ?? []).map((run) => `left out: ${run.message}`);
  const kept = runKeptLines(result, pinAsked);
  if (kept) lines.push(...kept);
  else {
    const forced = r.forced ? `, forced over: ${(r.forced_over ?? []).join('; ')}` : '';
    // Records other writers left may hold line breaks or terminal escapes: each prints as one line of text.
    lines.push(singleLine(`promoted ${r.model_type} run ${r.run_id} (config_hash ${r.config_hash.slice(0, 12)}, score ${scoreText(r.score)}, ${r.source}${forced}) — ${r.reason}`));
    lines.push(`previous run: ${r.previous_run_id ?? 'none'}; history ${result.history_key}; pointers ${result.pointers.join(', ')}`);
    if (result.pinned) lines.push(PROMOTED_AND_PINNED_LINE);
    if (result.targets_changed) lines.push(targetsChangedLine(result.targets_changed));
  }
  return [...lines, ...promotionNoticeLines(result)];
}

/** What followed the write of a promotion (its live probation, the `model-selected` notice, the MLflow mark): the tail of `promotionResultLines`. */
export function promotionNoticeLines(result: PromotionResult): string[] {
  const lines: string[] = [];
  if (result.live_probation) lines.push(liveProbationLine(result.live_probation));
  if (result.published?.ok) lines.push(`published ${result.published.topic}: replicas following the bus reload now`);
  if (result.published && !result.published.ok) lines.push(`warning: ${result.published.topic} not published (${result.published.error}); replicas still follow the pointers by polling.`);
  const marker = result.tracking.marker;
  if (marker?.marker === 'alias') lines.push(`mlflow: ${marker.registeredModel} version ${marker.version} is now '${marker.alias}'`);
  if (marker?.marker === 'tag') lines.push(singleLine(`mlflow: run ${marker.mlflowRunId} tagged '${marker.tag}' (${marker.reason})`));
  // The mark is not lost: the next sync writes it from the pointers (markPromotionLeftOut).
  if (result.tracking.status === 'unavailable') {
    const credentials = result.tracking.hint ? ` ${result.tracking.hint}` : '';
    // The message may quote what the server sent: line breaks and terminal sequences print as spaces.
    lines.push(singleLine(`mlflow: promotion not marked (${result.tracking.message ?? ''}); the next sync (flts train, the daemon) marks it once MLflow takes it.${credentials}`));
  }
  return lines;
}
