import type { Settings } from '../config/settings.js';
import { promotionScope, readPromotionPointer } from '../registry/pointers.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listLiveReports } from './live-report-reader.js';
import { probationTermsFrom, recordedProbationTerms } from './probation.js';

export interface LiveRankingRow {
  rank: number;
  run_id: string;
  /** Pooled over targets and replicas (squared errors weighted by matched points). */
  live_rmse: number;
  live_mae: number;
  /**
   * Matched points behind the figures (each replica's rolling window), summed over replicas; a point scored on
   * several targets counts once (the target with the most, so a target whose actuals lag counts no less).
   */
  points: number;
  /** Fewer points than a probation needs to decide (`terms.points`): ranked after the runs that have them. */
  few_points: boolean;
  replicas: string[];
  /**
   * The newest `updated_at` of the reports behind the figures: they were current then (a report is rewritten at
   * least every heartbeat while unchanged), not necessarily changed then.
   */
  updated_at: string;
}

/**
 * The probation terms a run is judged by: those the promotion in service fixed (`promotion`, naming its run), as its
 * replicas and decider use them, or this process's settings (`settings`) when its record carries none (a rollback, a
 * first promotion, a record of an older flts) or no run is promoted.
 */
export interface LiveRankingTerms {
  points: number;
  margin: number;
  source: 'promotion' | 'settings';
  /** The run whose promotion record fixed the terms; null when they are the settings. */
  run_id: string | null;
}

export interface LiveRanking {
  scope: string;
  terms: LiveRankingTerms;
  rows: LiveRankingRow[];
  /**
   * Per target, forecast points the running replicas hold that an actual reached already and that wait for this
   * target's actual (their other targets scored, or its value refused): a column clients never send shows here.
   */
  waiting: Record<string, number>;
}

const isFigure = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Runs ranked by their live error, from the figures every serving replica last reported: the served runs,
 * shadows and challengers (`FLTS_SERVE_SHADOW_RUN`) alike. Runs never scored on live traffic are absent. A run
 * with fewer matched points than a probation decides on ranks after those with enough: two lucky points must not
 * put a run above one measured on thousands.
 */
export async function rankRunsByLiveError(store: ObjectStore, settings: Settings): Promise<LiveRanking> {
  const terms = await rankingTerms(store, settings);
  const byRun = new Map<string, { windows: Window[]; windowPoints: number; points: number; replicas: Set<string>; updated: string }>();
  const waiting: Record<string, number> = {};
  for (const report of await listLiveReports(store, settings)) {
    // A replica that stopped took its forecast memory with it: nothing of it waits any more.
    const held = report.stopped_at === undefined && typeof report.memory?.waiting === 'object' && report.memory.waiting !== null ? report.memory.waiting : {};
    for (const [target, count] of Object.entries(held)) if (isFigure(count) && count > 0) waiting[target] = (waiting[target] ?? 0) + count;
    for (const run of report.runs) {
      let entry = byRun.get(run.run_id);
      if (!entry) byRun.set(run.run_id, (entry = { windows: [], windowPoints: 0, points: 0, replicas: new Set(), updated: '' }));
      // A point scored on several targets is one point, as a probation counts it: the fullest target's window, not their sum.
      let points = 0;
      for (const figures of Object.values(run.targets)) {
        if (!isFigure(figures?.rmse) || !isFigure(figures.mae) || !isFigure(figures.points) || figures.points <= 0) continue;
        entry.windows.push({ rmse: figures.rmse, mae: figures.mae, points: figures.points });
        entry.windowPoints += figures.points;
        points = Math.max(points, figures.points);
        entry.replicas.add(report.replica);
        if (report.updated_at > entry.updated) entry.updated = report.updated_at;
      }
      entry.points += points;
    }
  }
  const rows = [...byRun]
    .filter(([, entry]) => entry.points > 0)
    .map(([runId, entry]) => ({
      run_id: runId,
      ...pooled(entry.windows, entry.windowPoints),
      points: entry.points,
      few_points: entry.points < terms.points,
      replicas: [...entry.replicas].sort(),
      updated_at: entry.updated,
    }))
    .sort((a, b) => Number(a.few_points) - Number(b.few_points) || a.live_rmse - b.live_rmse)
    .map((row, index) => ({ rank: index + 1, ...row }));
  return { scope: promotionScope(settings), terms, rows, waiting };
}

async function rankingTerms(store: ObjectStore, settings: Settings): Promise<LiveRankingTerms> {
  const pointer = await readPromotionPointer(store, settings);
  const recorded = pointer && recordedProbationTerms(pointer);
  return recorded ? { ...recorded, source: 'promotion', run_id: pointer.run_id } : { ...probationTermsFrom(settings), source: 'settings', run_id: null };
}

interface Window {
  rmse: number;
  mae: number;
  points: number;
}

/**
 * RMSE and MAE of windows pooled by their points, each figure scaled by the largest first: rmse² x points summed
 * outright passes the largest double for errors near 1e150 over many windows, and the ranking read Infinity.
 */
function pooled(windows: readonly Window[], points: number): { live_rmse: number; live_mae: number } {
  const rmseScale = Math.max(...windows.map((window) => window.rmse)) || 1;
  const maeScale = Math.max(...windows.map((window) => window.mae)) || 1;
  let sq = 0;
  let abs = 0;
  for (const window of windows) {
    const share = window.points / points;
    sq += (window.rmse / rmseScale) ** 2 * share;
    abs += (window.mae / maeScale) * share;
  }
  return { live_rmse: rmseScale * Math.sqrt(sq), live_mae: maeScale * abs };
}
