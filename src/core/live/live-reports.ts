import type { EarlyActualsFigures } from './early-actuals.js';
import type { Settings } from '../config/settings.js';
import { isPin, promotionScope, type PromotionRecord } from '../registry/pointers.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PairedFigures, RunFigures } from './live-scorer.js';
import type { ErrorFigures } from './rolling-errors.js';
import type { ProbationVerdict } from './probation.js';
import { orUnlessUnavailable } from '../errors.js';

/** One promotion, as probation knows it: a promotion record's run, previous run and timestamp. */
export interface PromotionRef {
  run_id: string;
  previous_run_id: string;
  timestamp: string;
}

/** What one serving replica knows right now, written to the store so a decider sees every replica. */
export interface LiveReport {
  replica: string;
  /**
   * When the replica last wrote this report: its figures were as here then. A replica rewrites its report when its
   * figures change and, unchanged, at least every heartbeat (liveReportHeartbeatMs), so this is "figures current as
   * of", never "figures last changed": figures unchanged for an hour carry a time within the last heartbeat. Every
   * reader takes it so: a replica scores live while it is within a heartbeat and two report intervals
   * (replicasScoringLive), a replica is gone once it is older than `live.reportRetentionMs` (the report reader, a
   * replica's earlier process), and `flts eval --live` shows the newest as how far its figures lag behind serving.
   * The probation sums take a report of any age within the retention: a replica that stopped paired its points for real.
   * The writer's clock: a reader compares it with its own, never with the store's listing time.
   */
  updated_at: string;
  served_run_id: string | null;
  runs: RunFigures[];
  /**
   * The probation this replica is pairing for, with its figures so far; `baseline_unloadable` when the previous run
   * could not be loaded for good (gone, corrupt), so no point will ever pair: the code it was refused with.
   */
  probation: { promotion: PromotionRef; paired: PairedFigures; baseline_unloadable?: { code: string } } | null;
  /** `waiting` (per target, see LiveMemoryFigures) is absent from reports of an flts before it. */
  memory: { points: number; forgotten: number; waiting?: Record<string, number> };
  /** Actuals kept for forecasts not made yet (see EarlyActualsFigures); absent from reports of an flts before it. */
  early_actuals?: EarlyActualsFigures;
  /** Set on the last report of a replica that stopped: it scores no more (until a process with its id starts again). */
  stopped_at?: string;
  /**
   * How often the replica rewrites its report while its figures change (its live.reportIntervalMs): how far behind
   * serving its figures may be, which a reader's own setting need not match. Absent from reports of an flts before it.
   */
  report_interval_ms?: number;
}

/**
 * The pin that keeps the run under probation in service whatever its live figures (a person promoted again the
 * run the daemon had promoted). The figures are still compared and the decision recorded.
 */
export interface ProbationKeeper {
  action: NonNullable<PromotionRecord['action']>;
  source: PromotionRecord['source'];
  actor: string | null;
  /** The timestamp of the record that made the choice: the pin's own (not the pinned promotion's), or a promotion's made with its pin. */
  timestamp: string;
}

/** The one decision taken on a promotion's probation. */
export interface ProbationDecision {
  promotion: PromotionRef;
  /** 'no-baseline': the previous run could not be loaded, so nothing was compared (and nothing can be rolled back to). */
  verdict: Exclude<ProbationVerdict['verdict'], 'pending'> | 'no-baseline';
  /** Null for 'no-baseline': no paired figures. */
  candidate_rmse: number | null;
  baseline_rmse: number | null;
  points: number;
  replicas: string[];
  reason: string;
  /** 'rolled-back' once the rollback is recorded; 'none' when rollback is off, the run was kept or a person pinned it. */
  action: 'rollback-pending' | 'rolled-back' | 'none';
  /** Set when a person pinned the run: the verdict stands as figures, no rollback follows. */
  kept_by?: ProbationKeeper;
  decided_by: string;
  decided_at: string;
  rollback_timestamp?: string;
}

/** What a probation's decision shows where its figures are read (/healthz live, `eval --live`): the record less its promotion, replicas and rollback time. */
export type ProbationDecisionSummary = Pick<ProbationDecision, 'verdict' | 'action' | 'reason' | 'points' | 'candidate_rmse' | 'baseline_rmse' | 'decided_by' | 'decided_at' | 'kept_by'>;

export function probationDecisionSummary(decision: ProbationDecision): ProbationDecisionSummary {
  const { verdict, action, reason, points, candidate_rmse, baseline_rmse, decided_by, decided_at, kept_by } = decision;
  return { verdict, action, reason, points, candidate_rmse, baseline_rmse, decided_by, decided_at, ...(kept_by ? { kept_by } : {}) };
}

const safe = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * The promotion on probation while `record` names what is in service: its own, or for a pin the automatic promotion
 * it pins (the run did not change, so neither does its probation); none for a rollback or a first promotion.
 */
export function promotionRefOf(record: PromotionRecord): PromotionRef | undefined {
  const action = record.action ?? 'promote';
  const timestamp = action === 'promote' ? record.timestamp : action === 'pin' ? record.pinned_timestamp : undefined;
  if (!timestamp || !record.previous_run_id || record.previous_run_id === record.run_id) return undefined;
  return { run_id: record.run_id, previous_run_id: record.previous_run_id, timestamp };
}

/**
 * Who keeps the run `record` puts in service against automatic rollback: the person who pinned it (a pin record, or a
 * promotion made with its pin); none for a promotion without one.
 */
export function keeperOf(record: PromotionRecord): ProbationKeeper | undefined {
  if (!isPin(record)) return undefined;
  return { action: 'pin', source: record.source, actor: record.actor ?? null, timestamp: record.timestamp };
}

export function samePromotion(a: PromotionRef | undefined, b: PromotionRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.run_id === b.run_id && a.timestamp === b.timestamp;
}

/**
 * The reports whose paired sums count for the probation of `ref`: the same promotion, paired against its previous run.
 * One filter for the decider's sums and a replica's pooled points, so the points /healthz shows waiting are those decided on.
 */
export function reportsPairedFor(reports: readonly LiveReport[], ref: PromotionRef): LiveReport[] {
  return reports.filter((report) => samePromotion(report.probation?.promotion, ref) && report.probation?.paired.baseline_run_id === ref.previous_run_id);
}

const liveBucket = (settings: Settings): string => settings.store.buckets.runs;
const reportPrefix = (settings: Settings): string => `live/${safe(promotionScope(settings))}/replicas/`;
/** Where the replica reports of this scope live: one object per replica under `prefix`. */
export const liveReportsPlace = (settings: Settings): { bucket: string; prefix: string } => ({ bucket: liveBucket(settings), prefix: reportPrefix(settings) });
const decisionKey = (settings: Settings, ref: PromotionRef): string => `live/${safe(promotionScope(settings))}/decisions/${safe(`${ref.run_id}-${ref.timestamp}`)}.json`;

const reportKey = (settings: Settings, replica: string): string => `${reportPrefix(settings)}${safe(replica)}.json`;

/** The report `replica` last wrote, if any (unreadable: none). */
export async function readLiveReport(store: ObjectStore, settings: Settings, replica: string): Promise<LiveReport | undefined> {
  const raw = await getJsonIfExists<unknown>(store, liveBucket(settings), reportKey(settings, replica)).catch(orUnlessUnavailable(undefined));
  return readableReport(raw);
}

export async function writeLiveReport(store: ObjectStore, settings: Settings, report: LiveReport): Promise<void> {
  await store.ensureBucket(liveBucket(settings));
  await putJson(store, liveBucket(settings), reportKey(settings, report.replica), report);
}

/** A run's figures as a replica writes them; an entry cut or edited into something else is left out of its report. */
export function wellFormedRun(run: unknown): run is RunFigures {
  const figures = run as Partial<RunFigures> | null;
  return typeof figures?.run_id === 'string' && typeof figures.targets === 'object' && figures.targets !== null;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isMeasure = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isRmseOrNone = (value: unknown): boolean => value === null || isMeasure(value);

function wellFormedFigures(figures: unknown): figures is ErrorFigures {
  const candidate = figures as Partial<ErrorFigures> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    isCount(candidate.points) &&
    isRmseOrNone(candidate.rmse) &&
    isRmseOrNone(candidate.mae) &&
    (candidate.coverage === undefined || (typeof candidate.coverage === 'object' && candidate.coverage !== null && Object.values(candidate.coverage).every((share) => isMeasure(share) && share <= 1)))
  );
}

function wellFormedPaired(paired: unknown): paired is PairedFigures {
  const candidate = paired as Partial<PairedFigures> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.candidate_run_id === 'string' &&
    typeof candidate.baseline_run_id === 'string' &&
    isCount(candidate.points) &&
    isCount(candidate.terms) &&
    isMeasure(candidate.candidate_sum_sq) &&
    isMeasure(candidate.baseline_sum_sq)
  );
}

const wellFormedPromotion = (ref: unknown): ref is PromotionRef =>
  typeof ref === 'object' && ref !== null && ['run_id', 'previous_run_id', 'timestamp'].every((key) => typeof (ref as Record<string, unknown>)[key] === 'string');

/**
 * A report as read from the store, keeping only what a replica could have written: another version's shape, or an
 * object edited by hand, would otherwise reach the sums (a paired sum of null stopped every probation look with a
 * TypeError; a string or Infinity made the decision and `flts eval --live` NaN or Infinity). A run's target whose
 * figures are not counts and finite non-negative measures is left out; a probation whose paired figures are not, with
 * it. Undefined when it is no report at all.
 */
export function readableReport(raw: unknown): LiveReport | undefined {
  const report = raw as Partial<LiveReport> | null;
  if (typeof report !== 'object' || report === null || typeof report.replica !== 'string' || !Array.isArray(report.runs)) return undefined;
  const runs = report.runs.filter(wellFormedRun).map((run) => ({
    ...run,
    matched_total: isCount(run.matched_total) ? run.matched_total : 0,
    targets: Object.fromEntries(Object.entries(run.targets).flatMap(([target, figures]) => (wellFormedFigures(figures) ? [[target, { ...figures, coverage: figures.coverage ?? {} }]] : []))),
  }));
  const probation = report.probation;
  const readable = typeof probation === 'object' && probation !== null && wellFormedPromotion(probation.promotion) && wellFormedPaired(probation.paired);
  const { report_interval_ms: interval, ...rest } = report as LiveReport;
  return { ...rest, runs, probation: readable ? probation : null, ...(isCount(interval) && interval > 0 ? { report_interval_ms: interval } : {}) };
}

/**
 * How long a replica whose figures did not change leaves its report as it is: it is rewritten only when they change
 * (so that readers skip the reports that did not), and at least this often, well within `live.reportRetentionMs`,
 * to show it still serves.
 */
export function liveReportHeartbeatMs(settings: Settings): number {
  return Math.min(Math.max(settings.live.reportIntervalMs, 60_000), Math.floor(settings.live.reportRetentionMs / 4));
}

/**
 * The runs a report names: this process's own figures, then those its replica id's earlier process reported for runs
 * this one has not scored yet (a replica id that outlives its process: FLTS_REPLICA_ID, a StatefulSet pod name), so a
 * restart does not wipe the windows that process filled. At most `maxRuns`, this process's first.
 */
export function withEarlierRuns(own: readonly RunFigures[], earlier: readonly RunFigures[], maxRuns: number): RunFigures[] {
  const scored = new Set(own.map((run) => run.run_id));
  return [...own, ...earlier.filter((run) => !scored.has(run.run_id))].slice(0, Math.max(maxRuns, own.length));
}

/**
 * The replicas that score live now, by their reports: rewritten within a heartbeat and two report intervals (an idle
 * replica rewrites its unchanged report every heartbeat) and not the last report of a replica that stopped. Sorted.
 */
export function replicasScoringLive(reports: readonly LiveReport[], settings: Settings, now: Date): string[] {
  const since = now.getTime() - liveReportHeartbeatMs(settings) - 2 * settings.live.reportIntervalMs;
  return reports.filter((report) => !report.stopped_at && Date.parse(report.updated_at) >= since).map((report) => report.replica).sort();
}

export async function readProbationDecision(store: ObjectStore, settings: Settings, ref: PromotionRef): Promise<ProbationDecision | undefined> {
  return getJsonIfExists<ProbationDecision>(store, liveBucket(settings), decisionKey(settings, ref));
}

export async function writeProbationDecision(store: ObjectStore, settings: Settings, decision: ProbationDecision): Promise<void> {
  await store.ensureBucket(liveBucket(settings));
  await putJson(store, liveBucket(settings), decisionKey(settings, decision.promotion), decision);
}
