import type { LiveRanking } from '../core/live/live-ranking.js';

/** The live setting the ranking's text names beside the ranking's own terms: how often replicas report. */
export interface LiveReportCadence {
  reportIntervalMs: number;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** Where the points a run needs come from: a user whose local setting differs must see that it was not used. */
const termsSource = (terms: LiveRanking['terms']): string =>
  terms.source === 'promotion'
    ? `the probation terms of the promotion of run ${terms.run_id}`
    : terms.source === 'run-promotion'
      ? `the probation terms of the last promotion of run ${terms.run_id}`
      : 'FLTS_LIVE_PROBATION_POINTS (the promotion in service fixed no probation terms)';

/** Terms judged other than the header's: a run served by a replica pinned to it (FLTS_SERVE_RUN) has its own. */
const sameTerms = (a: LiveRanking['terms'], b: LiveRanking['terms']): boolean => a.points === b.points && a.source === b.source && a.run_id === b.run_id;

const judgedBy = (terms: LiveRanking['terms']): string =>
  terms.source === 'settings' ? `${terms.points} points of FLTS_LIVE_PROBATION_POINTS: its promotion fixed no probation terms` : `${terms.points} points of ${termsSource(terms)}`;

/**
 * `flts eval --live` as text: a first line naming the scope ranked, where the figures come from (as the other
 * eval boards name their config_hash and source) and how far behind serving they are, then one line per run.
 * The figures are the replicas' reports, rewritten every `reportIntervalMs` while they change, unchanged at least every minute (the heartbeat of
 * liveReportHeartbeatMs, never shorter than the interval) and when a replica stops; a forecast is scored only once
 * its actual arrives: the newest forecast of each series is never in them yet.
 */
export function renderLiveRanking(ranking: LiveRanking, cadence: LiveReportCadence): string[] {
  const waiting = [...waitingLine(ranking.waiting), ...earlyLine(ranking.early_actuals)];
  const probation = probationLine(ranking.probation);
  if (ranking.rows.length === 0) return [`No live figures in scope ${ranking.scope} yet: serve a run and send /predict requests or POST /actuals (replicas report every ${seconds(cadence.reportIntervalMs)}, FLTS_LIVE_REPORT_INTERVAL_MS).`, ...probation, ...waiting];
  const newest = ranking.rows.reduce((latest, row) => (row.updated_at > latest ? row.updated_at : latest), '');
  // The replicas' own cadence, which this process's setting need not match: the longest, as far behind as figures may be.
  const said = ranking.replicas.map((replica) => replica.report_interval_ms).filter((ms): ms is number => typeof ms === 'number');
  const interval = said.length > 0 ? Math.max(...said) : cadence.reportIntervalMs;
  const header =
    `scope ${ranking.scope} — live error on served traffic (RMSE and MAE over each replica's rolling window of matched points, pooled over targets and replicas; runs under ${ranking.terms.points} points ranked last, ${termsSource(ranking.terms)}; ` +
    `as replicas last reported, every ${seconds(interval)}${interval < 60_000 ? ' while their figures change, unchanged at least every minute,' : ', changed or not,'} and at stop, newest ${newest}; a forecast counts once its actual arrives in a later request, POST /actuals or a claim)`;
  return [
    header,
    ...ranking.rows.map(
      (row) =>
        `${String(row.rank).padStart(3)}  ${row.run_id}  live RMSE ${row.live_rmse.toPrecision(6)}  MAE ${row.live_mae.toPrecision(6)}  ${row.points} ${row.points === 1 ? 'point' : 'points'}${row.few_points ? ' (too few to judge)' : ''}  replicas ${row.replicas.join(',')}` +
        (sameTerms(row.terms, ranking.terms) ? '' : `  (judged by ${judgedBy(row.terms)})`),
    ),
    ...probation,
    ...ranking.replicas
      .filter((replica) => replica.served_run_id !== null && !sameTerms(replica.terms, ranking.terms))
      .map((replica) => `replica ${replica.replica} serves run ${replica.served_run_id}, not the promoted run (pinned with FLTS_SERVE_RUN, or not reloaded yet): the run it serves is judged by ${judgedBy(replica.terms)}`),
    ...stoppedLine(ranking.replicas),
    ...waiting,
  ];
}

const figure = (value: number | null): string => (value === null ? 'none' : value.toPrecision(6));

/**
 * The probation of the promotion in service: its paired figures (the same points for both runs), which the decision
 * is taken on, where the ranked rows are each run's own rolling window; without this line a user told to watch the
 * probation here saw two RMSEs that are not the ones compared, and no decision.
 */
function probationLine(probation: LiveRanking['probation']): string[] {
  if (!probation) return [];
  const about = `probation of run ${probation.run_id} (promoted ${probation.promoted_at}) against the previous run ${probation.previous_run_id}`;
  const decision = probation.decision;
  if (decision) {
    const kept = decision.kept_by ? `, kept in service by ${decision.kept_by.actor ?? 'a pin'}` : '';
    return [`${about}: decided ${decision.verdict} (action ${decision.action}${kept}) by ${decision.decided_by} at ${decision.decided_at} on ${decision.points} paired points: ${decision.reason}`];
  }
  const on = probation.replicas.length > 0 ? ` from replicas ${probation.replicas.join(',')}` : '';
  return [`${about}: running, ${probation.points} of ${probation.needed} paired points${on} (live RMSE ${figure(probation.candidate_rmse)} vs ${figure(probation.baseline_rmse)} on them, as the decision compares them)`];
}

/** Replicas whose figures still count though they stopped: a user told how many replicas serve is not misled. */
function stoppedLine(replicas: LiveRanking['replicas']): string[] {
  const stopped = replicas.filter((replica) => replica.stopped_at);
  if (stopped.length === 0) return [];
  return [`stopped replicas, whose last figures count until their report is FLTS_LIVE_REPORT_RETENTION_MS old: ${stopped.map((replica) => `${replica.replica} (at ${replica.stopped_at})`).join(', ')}`];
}

/** Actual values held for forecasts of their timestamps not made yet. */
function earlyLine(early: LiveRanking['early_actuals'] | undefined): string[] {
  const entries = Object.entries(early ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return [];
  const counts = entries.map(([target, count]) => `${target} ${count} ${count === 1 ? 'value' : 'values'}`).join(', ');
  return [`actuals kept for forecasts not made yet (they came first; held by the running replicas up to FLTS_LIVE_EARLY_ACTUALS_MAX_AGE_MS): ${counts}`];
}

/** Points held for a target's actual that an actual of the same point reached already: a column clients never send. */
function waitingLine(waiting: LiveRanking['waiting']): string[] {
  const entries = Object.entries(waiting).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return [];
  const counts = entries.map(([target, count]) => `${target} ${count} ${count === 1 ? 'point' : 'points'}`).join(', ');
  return [`waiting for one target's actuals (their other targets scored or their value refused; held by the running replicas, forgotten first when their memory is full): ${counts}`];
}
