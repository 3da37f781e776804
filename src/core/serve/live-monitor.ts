import type { Settings } from '../config/settings.js';
import { FltsError, isServiceRefusal, toFltsError } from '../errors.js';
import { rowsInTurns } from '../loop-turns.js';
import type { Logger } from '../logger.js';
import { withTimeout } from '../retry.js';
import type { EarlyActualsFigures } from '../live/early-actuals.js';
import { createLiveReportReader } from '../live/live-report-reader.js';
import { liveReportHeartbeatMs, probationDecisionSummary, promotionRefOf, readLiveReport, readProbationDecision, replicasScoringLive, reportsPairedFor, samePromotion, wellFormedRun, withEarlierRuns, writeLiveReport, type LiveReport, type ProbationDecision, type ProbationDecisionSummary, type PromotionRef } from '../live/live-reports.js';
import { createLiveScorer, LIVE_SCORER_MAX_RUNS, type ActualsScoring, type ErrorFiguresByTarget, type LiveMemoryFigures, type LiveActuals, type LiveForecast, type LiveScorer, type MatchedError, type PairedFigures } from '../live/live-scorer.js';
import { decideProbation, type RollbackAction } from '../live/probation-decider.js';
import { combinePaired, pairedRmse, probationTermsOf, type ProbationRule } from '../live/probation.js';
import { readPromotionPointer } from '../registry/pointers.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ForecastAdmission } from './forecast-admission.js';
import type { ModelHolder } from './model-holder.js';
import type { RowIntervals } from '../forecast/forecast-intervals.js';
import type { ScalerParams } from '../data/scaler.js';
import type { LiveMetricsSource } from './live-metrics.js';
import type { RequestSeries } from './request-frame.js';
import { forecastWith, type PredictionInput, type PredictionResult } from './run-prediction.js';
import type { ServedModel } from './served-model.js';

export interface LiveMonitorOptions {
  settings: Settings;
  holder: ModelHolder;
  /** Loads and warms a run for shadow forecasting (never served). */
  loadShadow: (runId: string) => Promise<ServedModel>;
  /** Where replica reports and probation decisions live; without it only scoring runs. */
  store?: ObjectStore;
  replica: string;
  /** When set, this process decides its own probations and rolls back through this action (embedded serve). */
  rollback?: RollbackAction;
  onRollback?: (decision: ProbationDecision) => void;
  /** A decision this process took whose new run did worse than the margin allows and stays in service. */
  onWorseKept?: (decision: ProbationDecision) => void;
  /** A probation this process ended without a comparison: the previous run could not be loaded. */
  onNoBaseline?: (decision: ProbationDecision) => void;
  /** The serving bound on forecast rows in flight: a shadow forecast runs only where it fits, else it is skipped. */
  admission?: ForecastAdmission;
  logger: Logger;
  /** The time reports are written and read at (default the wall clock). */
  now?: () => Date;
  /** How long stop() waits for a shadow run still loading (SHADOW_LOAD_STOP_WAIT_MS). */
  shadowLoadStopWaitMs?: number;
}

/**
 * The longest a stop waits for a shadow run still loading, so that the process stops with no model loading behind
 * it. Bounded, and well inside serve.shutdownWritesTimeoutMs (which bounds the whole live stop with its last report):
 * a load the store holds up is left to retire itself when it ends, silently, rather than cost the last report.
 */
export const SHADOW_LOAD_STOP_WAIT_MS = 1_000;

export interface LiveRunStatus {
  run_id: string;
  role: 'served' | 'baseline' | 'challenger' | 'earlier';
  matched_total: number;
  targets: ErrorFiguresByTarget;
}

/** A probation as /healthz shows it: this replica's paired figures, and the decision once it is known. */
export interface ProbationStatus {
  run_id: string;
  previous_run_id: string;
  promoted_at: string;
  /** True while the probation runs: until its decision is known (kept, rolled back, left in place) or its promotion is over. */
  active: boolean;
  /** Points this replica paired since it started (the decision pools every replica's, an earlier process's included). */
  points: number;
  /**
   * While it runs: the paired points of every replica's latest report, this one's and those of a process that ran
   * before a restart included, which the decision waits to reach `needed`; null before the first report is read.
   * A replica that does not decide reads them every R report intervals for R replicas scoring live (at once when
   * its probation starts), so that the replicas between them read about R reports an interval, not R x R.
   */
  pooled_points: number | null;
  needed: number;
  candidate_rmse: number | null;
  baseline_rmse: number | null;
  shadowing: boolean;
  /** With the figures it was taken on: every replica's paired points, pooled. */
  decision: ProbationDecisionSummary | null;
}

/** The `live` block of /healthz. */
export interface LiveStatus {
  enabled: boolean;
  window_points: number;
  /** Predictions held, forgotten unscored, and per target those an actual reached already that wait for its actual. */
  memory: LiveMemoryFigures;
  /** Actuals kept because no forecast of their timestamp was remembered yet: per target, and those let go unscored. */
  early_actuals: EarlyActualsFigures;
  runs: LiveRunStatus[];
  /**
   * The probation of the run in service: running, or decided while its promotion stands (kept, left in place). Null
   * when the run in service has none: restored by a rollback, a first promotion, or a run this replica is pinned to.
   */
  probation: ProbationStatus | null;
  /** The last probation whose promotion is over (rolled back, replaced, pinned away), with its decision: why it ended. */
  previous_probation: ProbationStatus | null;
  /** Shadow forecasts not made: for want of room (those also in `shadow_no_room`), or failed (in `shadow_failed`). */
  shadow_skipped: number;
  /**
   * Of those, the shadow forecasts not started for want of room, by reason: `serving_bound`, the clients' forecast
   * rows in flight left none (serve.maxQueuedRows); `shadow_limit`, as many shadow forecasts as one batch holds were
   * in flight already (serve.batchMaxSize); `shadow_retiring`, the shadow run was being let go (replaced, stopped).
   * A probation that pairs few points under load says why here.
   */
  shadow_no_room: Partial<Record<ShadowNoRoom, number>>;
  /**
   * Of those, the shadow forecasts that failed, by error code: a shadow run that cannot forecast the requests the
   * served run answers (one that needs more rows than clients send) pairs no point, and says why here.
   */
  shadow_failed: Record<string, number>;
}

/** Why a shadow forecast was not started: see LiveStatus.shadow_no_room. */
export type ShadowNoRoom = 'serving_bound' | 'shadow_limit' | 'shadow_retiring';

export interface LiveMonitor {
  readonly scorer: LiveScorer;
  /**
   * When this monitor began remembering forecasts (epoch ms, this host's clock): a claim published since then may bring
   * actuals of forecasts it holds, and its claim follower reads it even when it joined later (followClaimActuals).
   */
  readonly since: number;
  /** What /metrics shows: the scorer's figures, and the paired figures only while a probation runs on this replica. */
  readonly metrics: LiveMetricsSource;
  /** After a /predict answer: scores the actuals its rows bring, remembers its forecast, forecasts it in shadow. */
  observePrediction(identifier: string, input: PredictionInput, result: PredictionResult): Promise<MatchedError[]>;
  /**
   * Scores actuals (POST /actuals, a claimed object's rows) over event-loop turns, for a body of any size: what was matched, per run, and
   * the values this body left unscored as out of range (those of requests scored between its pieces not counted).
   * An aborted `signal` (a claim follower stopping) leaves the rows not yet scored unscored. `arrivedAt`: when the
   * actuals arrived, for the age of the rows kept for forecasts made later (a claim's publication, as claimRowsArrivedAt
   * reads it past a skewed clock; default now).
   */
  observeActualsInTurns(actuals: LiveActuals, signal?: AbortSignal, arrivedAt?: number): Promise<ReturnType<ActualsScoring['result']>>;
  /**
   * Refuses (FLTS_LIVE_EARLY_ACTUALS_TOO_MANY, 413) actuals that would keep more rows for forecasts made later than one
   * series may hold (live.earlyActualsPointsPerSeries), counted over event-loop turns before anything is scored: a
   * POST /actuals that would only push its own series' older rows out, or, sent as it was, every other series' rows.
   */
  assertEarlyWithinShare(actuals: LiveActuals): Promise<void>;
  status(): LiveStatus;
  /** Probation upkeep, the replica report and (embedded) the decision; runs on a timer, callable from tests. */
  tick(): Promise<void>;
  start(): void;
  /** Stops the timer and the shadows, and writes the replica report one last time. */
  stop(): Promise<void>;
}

interface Shadow {
  role: 'baseline' | 'challenger';
  runId: string;
  model?: ServedModel;
  loading?: Promise<void>;
}

interface Probation {
  ref: PromotionRef;
  /** Its promotion's terms: this replica pairs up to their points, as many as the decider waits for. */
  terms: ProbationRule;
  decision: ProbationDecision | null;
  /** Paired points of every replica's report for it, as last read. */
  pooledPoints?: number;
  /** Its paired figures when its promotion ended: the scorer pairs the next probation's from then on. */
  final?: PairedFigures;
  /** The code the previous run's shadow load was refused with for good: it will never pair a point. */
  baselineUnloadable?: string;
}

/** Rows of actuals scored between two looks at the event loop's turn (`turnSpent`). */
const SCORE_ROWS_PER_LOOK = 2048;

/** The probation of the run in service runs from its start until it is decided; an ended one (its promotion over) never runs. */
const isRunning = (probation: Probation | undefined): probation is Probation => probation !== undefined && probation.decision === null;

/** Serving's side of live accuracy: feeds the scorer from requests, keeps shadow runs loaded, reports figures. */
export function createLiveMonitor(options: LiveMonitorOptions): LiveMonitor {
  const { settings, holder } = options;
  const live = settings.live;
  const logger = options.logger.child({ component: 'live' });
  const now = options.now ?? (() => new Date());
  const scorer = createLiveScorer({ windowPoints: live.windowPoints, memoryPoints: live.memoryPoints, earlyPoints: live.earlyActualsPoints, earlySeriesPoints: live.earlyActualsPointsPerSeries, earlyMaxAgeMs: live.earlyActualsMaxAgeMs, now: () => now().getTime() });
  const since = Date.now();
  const maxShadowInFlight = Math.max(1, settings.serve.batchMaxSize);
  const shadows = new Map<'baseline' | 'challenger', Shadow>();
  /** Runs whose shadow load was refused for good (gone, unservable): tried again only when a new probation starts. */
  const unloadable = new Set<string>();
  /** The probation of the promotion in service on this replica, if any. */
  let probation: Probation | undefined;
  /** The last probation whose promotion is over, kept for /healthz (why it ended) and the replica report. */
  let previous: Probation | undefined;
  let shadowInFlight = 0;
  const shadowNoRoom = new Map<ShadowNoRoom, number>();
  const shadowFailed = new Map<string, number>();
  /** The shadow runs and codes whose first failure was logged: a failing shadow logs once per code, not per request. */
  const shadowFailureLogged = new Set<string>();
  let shadowWork: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = false;
  /** Kept across ticks, so that each look reads only the replica reports that changed since the last. */
  const reportReader = options.store && createLiveReportReader(options.store, settings);
  /** This replica's report as last written, without its time, and when: an unchanged one is not rewritten every tick. */
  let written: { figures: string; at: number } | undefined;
  /**
   * The report this replica id had before this process first wrote its own (once read): a replica id that outlives
   * its process finds its earlier process's, whose probation points and per-run windows it carries on.
   */
  let earlier: { report: LiveReport | undefined } | undefined;
  /** Ticks before this replica, when it does not decide, reads the reports again for its pooled points. */
  let pooledReadIn = 0;
  /**
   * The run served when stop() was called: its service stops the model holder beside this monitor, which lets the
   * model go before the last report is written, and that report would name no run where every earlier one named it.
   */
  let servedAtStop: string | undefined;

  /** Shadow forecasts not made, by reason: each reason of want of room, and `failed` (their sum is shadow_skipped). */
  function shadowSkippedByReason(): Record<string, number> {
    let failed = 0;
    for (const count of shadowFailed.values()) failed += count;
    return { ...Object.fromEntries(shadowNoRoom), ...(failed > 0 ? { failed } : {}) };
  }

  function rememberForecast(identifier: string, result: PredictionResult, scaler: ScalerParams | undefined): void {
    const series = result.series;
    if (!series) return;
    scorer.remember({
      identifier,
      runId: result.run.runId,
      origin: series.frame.time[series.frame.time.length - 1],
      targets: result.targets,
      time: result.forecast.time,
      values: result.forecast.values,
      intervals: intervalsByTarget(result.targets, result.intervals),
      seen: seenRanges(result.targets, series, scaler),
    });
  }

  function setShadow(role: Shadow['role'], runId: string | undefined): void {
    const current = shadows.get(role);
    if (current?.runId === runId) return;
    if (current) {
      shadows.delete(role);
      void current.loading?.then(() => current.model?.retire());
      current.model?.retire();
    }
    if (!runId || unloadable.has(runId)) return;
    const shadow: Shadow = { role, runId };
    shadow.loading = options
      .loadShadow(runId)
      .then((model) => {
        // A shadow dropped while it loaded (replaced, or the monitor stopped) is retired unused, and not said loaded.
        if (shadows.get(role) !== shadow) return model.retire();
        shadow.model = model;
        // Not `role`: the daemon's serving role binds that key already, and pino would write it twice.
        logger.info({ shadow: role, run_id: runId }, 'live_shadow_loaded');
      })
      .catch((error: unknown) => {
        // A load that failed after its shadow was dropped (the monitor stopped) concerns no one.
        if (stopped && shadows.get(role) !== shadow) return;
        const flts = toFltsError(error);
        logger.warn({ shadow: role, run_id: runId, code: flts.code, err: flts.message }, 'live_shadow_load_failed');
        // A run that is gone stays gone: retried each tick it only filled the log (every 5 s, for good). A store that
        // refuses the credentials says nothing about the run.
        if (!flts.retriable && flts.kind !== 'unavailable' && flts.kind !== 'internal' && !isServiceRefusal(flts)) {
          unloadable.add(runId);
          // Reported, so that a decider ends the probation with a reason rather than waiting for points that never come.
          if (role === 'baseline' && probation && probation.ref.previous_run_id === runId) probation.baselineUnloadable = flts.code;
        }
        if (shadows.get(role) === shadow) shadows.delete(role);
      });
    shadows.set(role, shadow);
  }

  function shadowForecast(shadow: ServedModel, identifier: string, input: PredictionInput, result: PredictionResult): void {
    const rows = result.forecast.time.length;
    // Clients come first: a shadow forecast takes room under the serving bound only where there is some to spare.
    const admit = (): (() => void) | undefined => (options.admission ? options.admission.tryAdmit(rows) : () => {});
    const noRoom: ShadowNoRoom | undefined = shadow.disposed ? 'shadow_retiring' : shadowInFlight >= maxShadowInFlight ? 'shadow_limit' : undefined;
    const admitted = noRoom ? undefined : admit();
    if (!admitted) {
      const reason = noRoom ?? 'serving_bound';
      const count = (shadowNoRoom.get(reason) ?? 0) + 1;
      shadowNoRoom.set(reason, count);
      // The first of each reason, as for a failure: under steady load it repeats on every request.
      if (count === 1) logger.info({ reason, shadow_run_id: shadow.run.runId, run_id: result.run.runId, rows, shadow_in_flight: shadowInFlight, max_shadow_in_flight: maxShadowInFlight }, 'live_shadow_skipped');
      return;
    }
    shadowInFlight++;
    const release = shadow.acquire();
    const task = forecastWith(shadow, { ...input, inferenceLength: rows }, 0)
      .then((shadowResult) => rememberForecast(identifier, shadowResult, shadow.scaler))
      .catch((error: unknown) => {
        const flts = toFltsError(error);
        shadowFailed.set(flts.code, (shadowFailed.get(flts.code) ?? 0) + 1);
        const seen = `${shadow.run.runId}\u0000${flts.code}`;
        if (shadowFailureLogged.has(seen)) return;
        shadowFailureLogged.add(seen);
        logger.warn({ shadow_run_id: shadow.run.runId, run_id: result.run.runId, code: flts.code, err: flts.message }, 'live_shadow_forecast_failed');
      })
      .finally(() => {
        release();
        admitted();
        shadowInFlight--;
      });
    // Resolved to nothing, so a long chain of shadow forecasts never keeps earlier results alive.
    shadowWork = Promise.all([shadowWork, task]).then(() => undefined);
  }

  /** Reads the decision until it is final (a rollback recorded as pending is completed by the decider shortly). */
  async function refreshDecision(target: Probation): Promise<void> {
    if (!options.store || (target.decision && target.decision.action !== 'rollback-pending')) return;
    target.decision = (await readProbationDecision(options.store, settings, target.ref)) ?? target.decision;
  }

  async function upkeepProbation(): Promise<void> {
    const served = holder.current()?.run.runId;
    const pinned = holder.status().pinnedRunId !== undefined;
    let ref: PromotionRef | undefined;
    let terms: ProbationRule | undefined;
    if (options.store && served && !pinned) {
      const pointer = await readPromotionPointer(options.store, settings);
      const candidate = pointer && promotionRefOf(pointer);
      if (candidate && candidate.run_id === served) [ref, terms] = [candidate, probationTermsOf(pointer, settings)];
    }
    if (probation && !samePromotion(probation.ref, ref)) {
      // The promotion is over (rolled back, replaced, pinned): its figures and decision move to previous_probation.
      await refreshDecision(probation);
      endProbation();
    } else if (previous?.decision?.action === 'rollback-pending') await refreshDecision(previous);
    if (!ref || !terms) {
      setShadow('baseline', undefined);
      return;
    }
    if (!probation && previous && samePromotion(previous.ref, ref) && previous.decision?.action !== 'rolled-back') {
      // The same promotion back in service (the served run was briefly another): its probation goes on where it was.
      [probation, previous] = [{ ref: previous.ref, terms: previous.terms, decision: previous.decision, baselineUnloadable: previous.baselineUnloadable }, undefined];
    } else if (!probation) {
      const started: Probation = { ref, terms, decision: null };
      // A replica id that outlives its process (FLTS_REPLICA_ID, a container restarted in place) finds its earlier
      // process's report, which its own next report replaces: the points that process paired carry on, not lost.
      const before = earlier?.report;
      const carried = before?.probation && samePromotion(before.probation.promotion, ref) ? before.probation.paired : undefined;
      probation = started;
      unloadable.clear();
      scorer.startPairing(ref.run_id, ref.previous_run_id, terms.points, carried);
      logger.info({ run_id: ref.run_id, previous_run_id: ref.previous_run_id, points: terms.points, carried_points: carried?.points ?? 0 }, 'live_probation_started');
    }
    await refreshDecision(probation);
    if (probation.decision?.action === 'rolled-back') {
      endProbation();
      setShadow('baseline', undefined);
      return;
    }
    const complete = (scorer.paired()?.points ?? 0) >= probation.terms.points;
    setShadow('baseline', probation.decision || complete ? undefined : ref.previous_run_id);
  }

  /** The paired figures of `target`: the scorer's while it is the probation in service, its final ones once it ended. */
  function pairedOf(target: Probation): PairedFigures | undefined {
    if (target !== probation) return target.final;
    const paired = scorer.paired();
    return paired && paired.candidate_run_id === target.ref.run_id && paired.baseline_run_id === target.ref.previous_run_id ? paired : undefined;
  }

  function endProbation(): void {
    if (!probation) return;
    probation.final = pairedOf(probation);
    previous = probation;
    probation = undefined;
  }

  /** Reads the report this replica id had, once, before this process writes its own over it. */
  async function readEarlier(store: ObjectStore): Promise<void> {
    if (earlier) return;
    const report = await readLiveReport(store, settings, options.replica);
    // A report the retention already gave up on names a replica gone long ago: nothing of it is carried.
    const current = report && Array.isArray(report.runs) && !(Date.parse(report.updated_at) < now().getTime() - live.reportRetentionMs);
    earlier = { report: current ? report : undefined };
  }

  function report(at: Date, last: boolean): LiveReport {
    // The figures of an ended probation stay in the report, as they were when it ended: a decider may still sum them.
    const reported = probation ?? previous;
    const paired = reported && pairedOf(reported);
    return {
      replica: options.replica,
      updated_at: at.toISOString(),
      served_run_id: holder.current()?.run.runId ?? (last ? (servedAtStop ?? null) : null),
      runs: withEarlierRuns(scorer.figures(), earlier?.report?.runs.filter(wellFormedRun) ?? [], LIVE_SCORER_MAX_RUNS),
      probation: reported && paired ? { promotion: reported.ref, paired, ...(reported.baselineUnloadable ? { baseline_unloadable: { code: reported.baselineUnloadable } } : {}) } : null,
      memory: scorer.memory(),
      early_actuals: scorer.early(),
      report_interval_ms: live.reportIntervalMs,
      ...(last ? { stopped_at: at.toISOString() } : {}),
    };
  }

  /**
   * Writes this replica's report when its figures changed since the last write, or the heartbeat is due; `last`, at
   * stop, always, saying it stopped (a start after it writes again at its first tick).
   */
  async function writeReport(store: ObjectStore, last = false): Promise<void> {
    const at = now();
    const current = report(at, last);
    const { updated_at: _time, stopped_at: _stopped, ...rest } = current;
    const figures = JSON.stringify(rest);
    if (!last && written && written.figures === figures && at.getTime() - written.at < liveReportHeartbeatMs(settings)) return;
    await writeLiveReport(store, settings, current);
    written = last ? undefined : { figures, at: at.getTime() };
  }

  async function tickOnce(): Promise<void> {
    setShadow('challenger', live.shadowRunId || undefined);
    if (!options.store || !reportReader) return;
    await readEarlier(options.store);
    await upkeepProbation();
    await writeReport(options.store);
    // One read of the reports a tick, for the pooled points and the decision alike.
    const lookAt = now();
    let reading: Promise<LiveReport[]> | undefined;
    const readReports = (): Promise<LiveReport[]> => (reading ??= reportReader.read(lookAt));
    if (isRunning(probation) && (options.rollback || probation.pooledPoints === undefined || --pooledReadIn <= 0)) {
      const running = probation;
      const all = await readReports();
      pooledReadIn = replicasScoringLive(all, settings, lookAt).length;
      running.pooledPoints = combinePaired(reportsPairedFor(all, running.ref).map((entry) => entry.probation!.paired))?.points ?? 0;
    }
    // A rollback left pending (its rollback failed on an outage) is finished by a later look, as the decider promises.
    if (options.rollback && probation && (!probation.decision || probation.decision.action === 'rollback-pending')) {
      const decision = await decideProbation({ store: options.store, settings, rollback: options.rollback, logger, decidedBy: options.replica, readReports, onRollback: options.onRollback, onWorseKept: options.onWorseKept, onNoBaseline: options.onNoBaseline });
      if (decision && probation && samePromotion(decision.promotion, probation.ref)) probation.decision = decision;
      // Rolled back: the run restored is in service, and a rollback starts no probation.
      if (probation?.decision?.action === 'rolled-back') endProbation();
    }
  }

  function tick(): Promise<void> {
    // Serialized: a tick asked for while one runs (a model swap, the timer) runs after it, on the new state.
    const next = (ticking ?? Promise.resolve())
      .then(tickOnce)
      .catch((error: unknown) => {
        // Coded as the server's other failure lines are: an alert or a reader tells a store outage from a bug by it.
        const failure = toFltsError(error);
        logger.warn({ code: failure.code, err: failure.message }, 'live_tick_failed');
      });
    ticking = next;
    void next.finally(() => {
      if (ticking === next) ticking = undefined;
    });
    return next;
  }

  function runningProbation(): ReturnType<LiveScorer['paired']> {
    return isRunning(probation) ? pairedOf(probation) : undefined;
  }

  function probationStatus(target: Probation): ProbationStatus {
    const paired = pairedOf(target);
    const rmse = paired && paired.points > 0 ? pairedRmse(paired) : undefined;
    const decision = target.decision;
    return {
      run_id: target.ref.run_id,
      previous_run_id: target.ref.previous_run_id,
      promoted_at: target.ref.timestamp,
      active: target === probation && isRunning(target),
      points: paired?.points ?? 0,
      pooled_points: target === probation && isRunning(target) ? (target.pooledPoints ?? null) : null,
      needed: target.terms.points,
      candidate_rmse: rmse?.candidate ?? null,
      baseline_rmse: rmse?.baseline ?? null,
      shadowing: target === probation && shadows.get('baseline')?.model !== undefined,
      decision: decision ? probationDecisionSummary(decision) : null,
    };
  }

  return {
    scorer,
    since,
    metrics: { figures: () => scorer.figures(), paired: runningProbation, ignored: () => scorer.ignored(), waiting: () => scorer.memory().waiting, forgotten: () => scorer.memory().forgotten, early: () => scorer.early(), shadowSkipped: shadowSkippedByReason },
    async observePrediction(identifier, input, result) {
      // A shadow forecast is remembered before later actuals are scored, so both runs meet the same points.
      if (shadowInFlight > 0) await shadowWork;
      const matched = result.series ? scorer.score({ identifier, time: result.series.frame.time, values: result.series.frame.values }) : [];
      const served = holder.current();
      rememberForecast(identifier, result, served?.run.runId === result.run.runId ? served.scaler : undefined);
      if (result.series) {
        for (const shadow of shadows.values()) {
          if (shadow.model && shadow.runId !== result.run.runId) shadowForecast(shadow.model, identifier, input, result);
        }
      }
      // Points whose actuals came first are scored once the shadow forecasts in flight (this request's, or an
      // earlier one's) are remembered too: a probation pairs the two runs on them as on any other point.
      if (shadowInFlight > 0) shadowWork = shadowWork.then(() => void scorer.scoreEarly());
      else scorer.scoreEarly();
      return matched;
    },
    async observeActualsInTurns(actuals, signal, arrivedAt) {
      // As for a request's rows: a POST /actuals sent right after its /predict answer would otherwise find the served
      // run's point alone, score it unpaired, and leave the shadow's, remembered just after, waiting for good. Twice at
      // most: a request whose observation waited on the same shadows starts its own shadow forecast just before this
      // resumes, and a third wait would be on requests that came after these actuals (never ending under load).
      for (let wait = 0; wait < 2 && shadowInFlight > 0; wait++) await shadowWork;
      const scoring = scorer.startScoring(actuals, { keepEarly: true, arrivedAt });
      await rowsInTurns(actuals.time.length, SCORE_ROWS_PER_LOOK, (to) => scoring.scoreRows(to), signal);
      return scoring.result();
    },
    async assertEarlyWithinShare(actuals) {
      const share = live.earlyActualsPointsPerSeries;
      if (live.earlyActualsPoints <= 0 || actuals.time.length <= share) return;
      let wanted = 0;
      let from = 0;
      await rowsInTurns(actuals.time.length, SCORE_ROWS_PER_LOOK, (to) => {
        wanted += scorer.earlyRowsWanted(actuals, from, to);
        from = to;
      });
      if (wanted <= share) return;
      throw new FltsError(
        'FLTS_LIVE_EARLY_ACTUALS_TOO_MANY',
        `These actuals would keep ${wanted} rows that no forecast waits for yet, for forecasts made later; one series keeps at most ${share} (FLTS_LIVE_EARLY_ACTUALS_POINTS_PER_SERIES). Nothing was scored or kept: send the rows of timestamps forecast already, or at most ${share} rows ahead of their forecasts.`,
        { details: { rows: actuals.time.length, early_rows: wanted, limit: share } },
      );
    },
    status() {
      const served = holder.current()?.run.runId;
      const roleOf = (runId: string): LiveRunStatus['role'] => {
        if (runId === served) return 'served';
        for (const shadow of shadows.values()) if (shadow.runId === runId) return shadow.role;
        return 'earlier';
      };
      return {
        enabled: true,
        window_points: live.windowPoints,
        memory: scorer.memory(),
        early_actuals: scorer.early(),
        runs: scorer.figures().map((run) => ({ run_id: run.run_id, role: roleOf(run.run_id), matched_total: run.matched_total, targets: run.targets })),
        probation: probation ? probationStatus(probation) : null,
        previous_probation: previous ? probationStatus(previous) : null,
        shadow_skipped: Object.values(shadowSkippedByReason()).reduce((sum, count) => sum + count, 0),
        shadow_no_room: Object.fromEntries(shadowNoRoom),
        shadow_failed: Object.fromEntries(shadowFailed),
      };
    },
    tick,
    start() {
      stopped = false;
      const loop = (): void => {
        if (stopped) return;
        timer = setTimeout(() => void tick().finally(loop), live.reportIntervalMs);
        timer.unref();
      };
      void tick();
      loop();
    },
    async stop() {
      stopped = true;
      // Only the last report names it: without a store none is written.
      if (options.store) servedAtStop = holder.current()?.run.runId;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await ticking;
      await shadowWork;
      // Loads under way are waited for, up to a bound (each retires its model, the shadow being dropped): a server
      // that says it stopped has no model still loading behind it, unless the store holds a load up.
      const loading = [...shadows.values()].map((shadow) => shadow.loading);
      for (const role of [...shadows.keys()]) setShadow(role, undefined);
      await withTimeout(Promise.allSettled(loading), options.shadowLoadStopWaitMs ?? SHADOW_LOAD_STOP_WAIT_MS).catch(() => {});
      // The points scored since the last tick: without this last report, `flts eval --live` and a decider never see
      // them (up to live.reportIntervalMs of figures, all of them for a process stopped before its first tick).
      // A process stopped before its first tick has not read its replica id's earlier report yet: it does now, or the
      // windows that report carries would be written over.
      if (options.store) await readEarlier(options.store).then(() => writeReport(options.store!, true)).catch((error: unknown) => logger.warn({ err: toFltsError(error).message }, 'live_last_report_failed'));
    },
  };
}

/**
 * Per target, the values the run was shown: the request's rows and its training range, as the scaler keeps it
 * (offset +- scale: min..max, mean +- std, median +- IQR, +-max abs). They keep a real actual beyond the forecast scored.
 */
function seenRanges(targets: readonly string[], series: RequestSeries, scaler: ScalerParams | undefined): LiveForecast['seen'] {
  return targets.map((target) => {
    let min = Infinity;
    let max = -Infinity;
    const column = series.frame.values[target];
    if (column) {
      for (const value of column) {
        if (!Number.isFinite(value)) continue;
        if (value < min) min = value;
        if (value > max) max = value;
      }
    }
    const index = scaler ? scaler.columns.indexOf(target) : -1;
    if (scaler && index >= 0) {
      min = Math.min(min, scaler.offset[index] - scaler.scale[index]);
      max = Math.max(max, scaler.offset[index] + scaler.scale[index]);
    }
    return min <= max ? { min, max } : undefined;
  });
}

/**
 * The served rows' intervals ({target: {level: [lo, hi]}} per row) as the scorer keeps them: per target and
 * level, one bound per row. Rows past the calibrated steps have none; their NaN bounds are left out of coverage.
 */
export function intervalsByTarget(targets: readonly string[], rows: readonly RowIntervals[] | undefined): LiveForecast['intervals'] {
  const levels = Object.keys(rows?.find((row) => row !== null)?.[targets[0]] ?? {});
  if (!rows || levels.length === 0) return undefined;
  return targets.map((target) =>
    levels.map((level) => ({
      level,
      lower: rows.map((row) => row?.[target]?.[level]?.[0] ?? Number.NaN),
      upper: rows.map((row) => row?.[target]?.[level]?.[1] ?? Number.NaN),
    })),
  );
}

