import type { LiveRanking } from '../core/live/live-ranking.js';

/**
 * `flts eval --live` as text: a first line naming the scope ranked and where the figures come from (as the other
 * eval boards name their config_hash and source), then one line per run. `probationPoints`: the matched points a
 * run needs not to be ranked after the others.
 */
export function renderLiveRanking(ranking: LiveRanking, probationPoints: number): string[] {
  if (ranking.rows.length === 0) return [`No live figures in scope ${ranking.scope} yet: serve a run and send /predict requests or POST /actuals.`];
  const header = `scope ${ranking.scope} — live error on served traffic (RMSE and MAE over each replica's rolling window of matched points, pooled over targets and replicas; runs under ${probationPoints} points ranked last)`;
  return [
    header,
    ...ranking.rows.map(
      (row) =>
        `${String(row.rank).padStart(3)}  ${row.run_id}  live RMSE ${row.live_rmse.toPrecision(6)}  MAE ${row.live_mae.toPrecision(6)}  ${row.points} ${row.points === 1 ? 'point' : 'points'}${row.few_points ? ' (too few to judge)' : ''}  replicas ${row.replicas.join(',')}`,
    ),
  ];
}
