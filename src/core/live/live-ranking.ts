import type { Settings } from '../config/settings.js';
import { promotionScope, readPromotionPointer, type PromotionRecord } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listLiveReports } from './live-report-reader.js';
import { probationDecisionSummary, promotionRefOf, readProbationDecision, reportsPairedFor, type ProbationDecision, type ProbationDecisionSummary } from './live-reports.js';
import { combinePaired, pairedRmse, probationTermsFrom, recordedProbationTerms } from './probation.js';

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
  /** Fewer points than a probation of this run needs to decide (`terms.points`): ranked after the runs that have them. */
  few_points: boolean;
  /**
   * The terms the run is judged by: its own where a replica serves it (the promotion in service's for the promoted
   * run; for a run a replica is pinned to, FLTS_SERVE_RUN, the last promotion of that run, else the settings), else
   * those of the runs served beside it by the replicas that forecast it in shadow (the most points of them).
   */
  terms: LiveRankingTerms;
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
  /**
   * `promotion`: the record of the promotion in service; `run-promotion`: the last promotion record of a run that is
   * not the one in service (a replica pinned to it with FLTS_SERVE_RUN); `settings`: this process's.
   */
  source: 'promotion' | 'run-promotion' | 'settings';
  /** The run whose promotion record fixed the terms; null when they are the settings. */
  run_id: string | null;
}

/** A replica whose report is ranked: the run it served and the terms that run, and the runs it reports, are judged by. */
export interface LiveRankingReplica {
  replica: string;
  served_run_id: string | null;
  terms: LiveRankingTerms;
  /** When its report was last rewritten. */
  updated_at: string;
  /**
   * When it stopped (its last report), null while it runs: the figures of a replica that stopped still count, until
   * its report is FLTS_LIVE_REPORT_RETENTION_MS old, but nothing of it waits or is kept any more.
   */
  stopped_at: string | null;
  /** How often it rewrites its report while its figures change (its FLTS_LIVE_REPORT_INTERVAL_MS); null from an flts before it said. */
  report_interval_ms: number | null;
}

/**
 * The probation of the promotion in service, as the decider sees it: the paired points of every replica's latest
 * report, pooled, against those it waits for, and the decision once taken. The rows' live RMSE is each run's rolling
 * window, not these paired figures: a probation is judged on these.
 */
export interface LiveRankingProbation {
  run_id: string;
  previous_run_id: string;
  promoted_at: string;
  /** Paired points pooled over the replicas' reports (those of stopped replicas, within the retention, included). */
  points: number;
  /** The points the decision waits for (the promotion's terms). */
  needed: number;
  candidate_rmse: number | null;
  baseline_rmse: number | null;
  /** The replicas whose reports paired points for it. */
  replicas: string[];
  decision: ProbationDecisionSummary | null;
}

export interface LiveRanking {
  scope: string;
  /**
   * The probation of the promotion in service; null when it has none (a first promotion, a rollback). Absent only
   * from a ranking built without it.
   */
  probation?: LiveRankingProbation | null;
  /** Those of the promotion in service (the settings when its record has none or no run is promoted). */
  terms: LiveRankingTerms;
  rows: LiveRankingRow[];
  /** Per replica reporting figures, the terms of the run it served; each row says which it was judged by. */
  replicas: LiveRankingReplica[];
  /**
   * Per target, forecast points the running replicas hold that an actual reached already and that wait for this
   * target's actual (their other targets scored, or its value refused): a column clients never send shows here.
   */
  waiting: Record<string, number>;
  /**
   * Per target, actual values the running replicas keep for forecasts of their timestamps not made yet (they came
   * first): a client or claim ahead of the requests that forecast them.
   */
  early_actuals: Record<string, number>;
}

const isFigure = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Runs ranked by their live error, from the figures every serving replica last reported: the served runs,
 * shadows and challengers (`FLTS_SERVE_SHADOW_RUN`) alike. Runs never scored on live traffic are absent. A run
 * with fewer matched points than a probation decides on ranks after those with enough: two lucky points must not
 * put a run above one measured on thousands.
 */
export async function rankRunsByLiveError(store: ObjectStore, settings: Settings): Promise<LiveRanking> {
  const pointer = await readPromotionPointer(store, settings);
  const reports = await listLiveReports(store, settings);
  const termsOfRun = await runTerms(store, settings, pointer, reports);
  const terms = termsOfRun(pointer?.run_id ?? null);
  const servedBy = new Map(reports.map((report) => [report.replica, typeof report.served_run_id === 'string' ? report.served_run_id : null]));
  const byRun = new Map<string, { windows: Window[]; windowPoints: number; points: number; replicas: Set<string>; updated: string }>();
  const waiting: Record<string, number> = {};
  const early: Record<string, number> = {};
  for (const report of reports) {
    // A replica that stopped took its forecast memory with it: nothing of it waits any more.
    const held = report.stopped_at === undefined && typeof report.memory?.waiting === 'object' && report.memory.waiting !== null ? report.memory.waiting : {};
    for (const [target, count] of Object.entries(held)) if (isFigure(count) && count > 0) waiting[target] = (waiting[target] ?? 0) + count;
    const kept = report.stopped_at === undefined && typeof report.early_actuals?.targets === 'object' && report.early_actuals.targets !== null ? report.early_actuals.targets : {};
    for (const [target, count] of Object.entries(kept)) if (isFigure(count) && count > 0) early[target] = (early[target] ?? 0) + count;
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
  /** A run a replica serves is judged by its own terms; one only shadowed, by those of the runs served beside it. */
  const rowTerms = (runId: string, replicas: readonly string[]): LiveRankingTerms => {
    if (replicas.some((replica) => servedBy.get(replica) === runId)) return termsOfRun(runId);
    const beside = replicas.map((replica) => termsOfRun(servedBy.get(replica) ?? null));
    return beside.reduce((most, next) => (next.points > most.points ? next : most), beside[0] ?? terms);
  };
  const rows = [...byRun]
    .filter(([, entry]) => entry.points > 0)
    .map(([runId, entry]) => {
      const replicas = [...entry.replicas].sort();
      const judged = rowTerms(runId, replicas);
      return { run_id: runId, ...pooled(entry.windows, entry.windowPoints), points: entry.points, few_points: entry.points < judged.points, terms: judged, replicas, updated_at: entry.updated };
    })
    .sort((a, b) => Number(a.few_points) - Number(b.few_points) || a.live_rmse - b.live_rmse)
    .map((row, index) => ({ rank: index + 1, ...row }));
  const replicas = reports
    .filter((report) => report.runs.length > 0)
    .map((report) => ({
      replica: report.replica,
      served_run_id: servedBy.get(report.replica) ?? null,
      terms: termsOfRun(servedBy.get(report.replica) ?? null),
      updated_at: report.updated_at,
      stopped_at: typeof report.stopped_at === 'string' ? report.stopped_at : null,
      report_interval_ms: report.report_interval_ms ?? null,
    }))
    .sort((a, b) => a.replica.localeCompare(b.replica));
  const probation = await probationOf(store, settings, pointer, reports, terms.points);
  return { scope: promotionScope(settings), terms, probation, rows, replicas, waiting, early_actuals: early };
}

/** The probation of the promotion in service, pooled from `reports` as the decider pools them, with its decision. */
async function probationOf(store: ObjectStore, settings: Settings, pointer: PromotionRecord | undefined, reports: Parameters<typeof reportsPairedFor>[0], needed: number): Promise<LiveRankingProbation | null> {
  const ref = pointer && promotionRefOf(pointer);
  if (!ref) return null;
  const pairing = reportsPairedFor(reports, ref);
  const paired = combinePaired(pairing.map((report) => report.probation!.paired));
  const rmse = paired && paired.points > 0 ? pairedRmse(paired) : undefined;
  const decision = await readProbationDecision(store, settings, ref);
  return {
    run_id: ref.run_id,
    previous_run_id: ref.previous_run_id,
    promoted_at: ref.timestamp,
    points: paired?.points ?? 0,
    needed,
    candidate_rmse: rmse?.candidate ?? null,
    baseline_rmse: rmse?.baseline ?? null,
    replicas: pairing.map((report) => report.replica).sort(),
    decision: decision ? probationDecisionSummary(decision) : null,
  };
}

/**
 * The terms each served run is judged by: the promotion in service's for its run; for another run (a replica pinned
 * to it with FLTS_SERVE_RUN, which runs no probation of the promotion in service), the terms its own last promotion
 * record fixed; the settings for a run whose record fixed none (a rollback, a first promotion) or that was never
 * promoted. The history is read only when a replica serves a run other than the promoted one.
 */
async function runTerms(store: ObjectStore, settings: Settings, pointer: PromotionRecord | undefined, reports: ReadonlyArray<{ served_run_id: string | null }>): Promise<(runId: string | null) => LiveRankingTerms> {
  const fromSettings: LiveRankingTerms = { ...probationTermsFrom(settings), source: 'settings', run_id: null };
  const termsOf = (record: PromotionRecord | undefined, source: LiveRankingTerms['source']): LiveRankingTerms => {
    const recorded = record && recordedProbationTerms(record);
    return recorded ? { ...recorded, source, run_id: record.run_id } : fromSettings;
  };
  const inService = termsOf(pointer, 'promotion');
  const others = new Set(reports.map((report) => report.served_run_id).filter((runId): runId is string => typeof runId === 'string' && runId !== pointer?.run_id));
  const lastPromotion = new Map<string, PromotionRecord>();
  if (others.size > 0) {
    // Oldest first: the last record of each run is the one that stands.
    for (const record of await listPromotionHistory(store, settings, promotionScope(settings))) if (others.has(record.run_id)) lastPromotion.set(record.run_id, record);
  }
  return (runId) => (runId === null ? (pointer ? inService : fromSettings) : runId === pointer?.run_id ? inService : termsOf(lastPromotion.get(runId), 'run-promotion'));
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
