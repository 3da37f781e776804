import type { Settings } from '../config/settings.js';
import { isPin, promotionScope, type PromotionRecord } from '../registry/pointers.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PairedFigures, RunFigures } from './live-scorer.js';
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
  updated_at: string;
  served_run_id: string | null;
  runs: RunFigures[];
  /**
   * The probation this replica is pairing for, with its figures so far; `baseline_unloadable` when the previous run
   * could not be loaded for good (gone, corrupt), so no point will ever pair: the code it was refused with.
   */
  probation: { promotion: PromotionRef; paired: PairedFigures; baseline_unloadable?: { code: string } } | null;
  memory: { points: number; forgotten: number };
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

const liveBucket = (settings: Settings): string => settings.store.buckets.runs;
const reportPrefix = (settings: Settings): string => `live/${safe(promotionScope(settings))}/replicas/`;
const decisionKey = (settings: Settings, ref: PromotionRef): string => `live/${safe(promotionScope(settings))}/decisions/${safe(`${ref.run_id}-${ref.timestamp}`)}.json`;

const reportKey = (settings: Settings, replica: string): string => `${reportPrefix(settings)}${safe(replica)}.json`;

/** The report `replica` last wrote, if any (unreadable: none). */
export async function readLiveReport(store: ObjectStore, settings: Settings, replica: string): Promise<LiveReport | undefined> {
  return getJsonIfExists<LiveReport>(store, liveBucket(settings), reportKey(settings, replica)).catch(orUnlessUnavailable(undefined));
}

export async function writeLiveReport(store: ObjectStore, settings: Settings, report: LiveReport): Promise<void> {
  await store.ensureBucket(liveBucket(settings));
  await putJson(store, liveBucket(settings), reportKey(settings, report.replica), report);
}

/** A run's figures as a replica writes them; an entry cut or edited into something else is left out of its report. */
function wellFormedRun(run: unknown): run is RunFigures {
  const figures = run as Partial<RunFigures> | null;
  return typeof figures?.run_id === 'string' && typeof figures.targets === 'object' && figures.targets !== null;
}

/**
 * Every replica's latest report in this scope (unreadable ones are skipped: a report is replaced, never appended).
 * A report not rewritten within `live.reportRetentionMs` is a replica that is gone (a replica id names a host
 * and a process, so every restart adds one): it is left out, and deleted so the scope does not grow for good.
 */
export async function listLiveReports(store: ObjectStore, settings: Settings, now: Date = new Date()): Promise<LiveReport[]> {
  const keys = (await store.list(liveBucket(settings), reportPrefix(settings))).map((info) => info.key).filter((key) => key.endsWith('.json'));
  const reports = await Promise.all(keys.map((key) => getJsonIfExists<LiveReport>(store, liveBucket(settings), key).catch(orUnlessUnavailable(undefined))));
  const oldest = now.getTime() - settings.live.reportRetentionMs;
  const current: LiveReport[] = [];
  const stale: string[] = [];
  reports.forEach((report, index) => {
    if (report === undefined || typeof report.replica !== 'string' || !Array.isArray(report.runs)) return;
    // An unreadable time is no proof of age: such a report is kept.
    if (Date.parse(report.updated_at) < oldest) stale.push(keys[index]);
    else current.push({ ...report, runs: report.runs.filter(wellFormedRun) });
  });
  // Best effort: a report left behind is deleted by the next listing.
  await Promise.all(stale.map((key) => store.delete(liveBucket(settings), key).catch(() => undefined)));
  return current;
}

export async function readProbationDecision(store: ObjectStore, settings: Settings, ref: PromotionRef): Promise<ProbationDecision | undefined> {
  return getJsonIfExists<ProbationDecision>(store, liveBucket(settings), decisionKey(settings, ref));
}

export async function writeProbationDecision(store: ObjectStore, settings: Settings, decision: ProbationDecision): Promise<void> {
  await store.ensureBucket(liveBucket(settings));
  await putJson(store, liveBucket(settings), decisionKey(settings, decision.promotion), decision);
}
