import { Counter, Gauge, type Registry } from 'prom-client';
import type { EarlyActualsFigures } from '../live/early-actuals.js';
import type { IgnoredReason, PairedFigures, RunFigures } from '../live/live-scorer.js';
import { pairedRmse } from '../live/probation.js';

export interface LiveMetricsSource {
  figures(): RunFigures[];
  /** The running probation's figures; undefined when none runs (never started, decided, or its promotion is over). */
  paired(): PairedFigures | undefined;
  ignored(): Record<IgnoredReason, number>;
  /** Per target, remembered predictions an actual reached already that wait for this target's actual. */
  waiting(): Record<string, number>;
  /** Remembered predictions dropped unscored, in whole or in part, because the forecast memory was full. */
  forgotten(): number;
  /** Actuals kept for a forecast of their timestamp not made yet, and those let go unscored. */
  early(): EarlyActualsFigures;
  /** Shadow forecasts not made, by reason: for want of room (LiveStatus.shadow_no_room), or `failed`. */
  shadowSkipped(): Record<string, number>;
}

export interface LiveMetrics {
  countRollback(): void;
  /** A probation this process decided whose new run did worse than the margin allows and stayed in service. */
  countWorseKept(): void;
  /** A probation this process ended without a comparison (the previous run could not be loaded). */
  countNoBaseline(): void;
  /** Where the live series are read from at each scrape (none until attached). */
  attach(source: LiveMetricsSource | undefined): void;
}

/**
 * The live figures as Prometheus series, read from the scorer when scraped (nothing is done per request).
 * Registered on the registry given, so the serve API and the daemon each expose what they know.
 */
/** The count of live-accuracy rollbacks, one definition for the serve API's registry and the daemon's. */
export function createLiveRollbacksCounter(registry: Registry): Counter {
  return new Counter({ name: 'flts_live_rollbacks_total', help: 'Promotions rolled back by this process because their live RMSE was worse than the previous run.', registers: [registry] });
}

/**
 * Probations decided worse and left in service (a pin, FLTS_LIVE_ROLLBACK=false, a previous run that can no longer be
 * served): nothing else says so once the decision is taken, and only a person can undo it.
 */
export function createLiveWorseKeptCounter(registry: Registry): Counter {
  return new Counter({
    name: 'flts_live_worse_kept_total',
    help: 'Probations this process decided whose new run had a live RMSE worse than the previous run by more than FLTS_LIVE_ROLLBACK_MARGIN and stayed in service: pinned by a person, FLTS_LIVE_ROLLBACK=false, or the previous run no longer servable.',
    registers: [registry],
  });
}

/** Probations ended with nothing to compare: the new run stays in service unchecked, which only this series shows. */
export function createLiveNoBaselineCounter(registry: Registry): Counter {
  return new Counter({
    name: 'flts_live_no_baseline_total',
    help: 'Probations this process ended without a comparison because the previous run could not be loaded (deleted, corrupt); the new run stays in service, its live accuracy unchecked.',
    registers: [registry],
  });
}

export function createLiveMetrics(registry: Registry): LiveMetrics {
  const rollbacks = createLiveRollbacksCounter(registry);
  const worseKept = createLiveWorseKeptCounter(registry);
  const noBaseline = createLiveNoBaselineCounter(registry);
  let attached: LiveMetricsSource | undefined;
  const empty: LiveMetricsSource = { figures: () => [], paired: () => undefined, ignored: () => ({ out_of_range: 0 }), waiting: () => ({}), forgotten: () => 0, early: () => ({ points: 0, targets: {}, expired: 0, forgotten: 0 }), shadowSkipped: () => ({}) };
  // Read at each scrape: the source attached then, or none.
  const source = (): LiveMetricsSource => attached ?? empty;
  new Gauge({
    name: 'flts_live_rmse',
    help: 'RMSE of served (and shadow) forecasts against the actuals, over the last FLTS_LIVE_WINDOW_POINTS matched points.',
    labelNames: ['run_id', 'target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const run of source().figures()) for (const [target, f] of Object.entries(run.targets)) if (f.rmse !== null) this.set({ run_id: run.run_id, target }, f.rmse);
    },
  });
  new Gauge({
    name: 'flts_live_mae',
    help: 'MAE of served (and shadow) forecasts against the actuals, over the last FLTS_LIVE_WINDOW_POINTS matched points.',
    labelNames: ['run_id', 'target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const run of source().figures()) for (const [target, f] of Object.entries(run.targets)) if (f.mae !== null) this.set({ run_id: run.run_id, target }, f.mae);
    },
  });
  new Gauge({
    name: 'flts_live_coverage',
    help: 'Share of actuals inside the forecast prediction interval of each level, over the rolling window.',
    labelNames: ['run_id', 'target', 'level'],
    registers: [registry],
    collect() {
      this.reset();
      for (const run of source().figures()) for (const [target, f] of Object.entries(run.targets)) for (const [level, share] of Object.entries(f.coverage)) this.set({ run_id: run.run_id, target, level }, share);
    },
  });
  new Counter({
    name: 'flts_live_matched_total',
    help: 'Forecast points matched with their actual values, per run.',
    labelNames: ['run_id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const run of source().figures()) this.inc({ run_id: run.run_id }, run.matched_total);
    },
  });
  new Counter({
    name: 'flts_live_actuals_ignored_total',
    help: 'Actual values (point x target) left unscored for every run, by reason: out_of_range is more than ten spans outside what the forecast, the request rows and the training range showed.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(source().ignored())) this.inc({ reason }, count);
    },
  });
  new Gauge({
    name: 'flts_live_waiting_points',
    help: 'Remembered forecast points (of every run) that an actual reached already, their other targets scored or their value refused as out of range, and that wait for this target\'s actual: a column clients never send keeps them until the forecast memory is full, when they are the first forgotten.',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, count] of Object.entries(source().waiting())) this.set({ target }, count);
    },
  });
  new Counter({
    name: 'flts_live_forgotten_points_total',
    help: 'Remembered forecast points dropped unscored, in whole or in part, because the forecast memory was full (FLTS_LIVE_MEMORY_POINTS): the points waiting for one target\'s actual first, then the oldest.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source().forgotten());
    },
  });
  new Gauge({
    name: 'flts_live_early_actuals',
    help: 'Actual values (per target) of timestamps no remembered forecast waited for when they came (POST /actuals, a claim), kept for a forecast of them made later from rows that end before them (FLTS_LIVE_EARLY_ACTUALS_POINTS, FLTS_LIVE_EARLY_ACTUALS_MAX_AGE_MS).',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, count] of Object.entries(source().early().targets)) this.set({ target }, count);
    },
  });
  new Counter({
    name: 'flts_live_early_actuals_dropped_total',
    help: 'Actual rows kept for a forecast made later and let go before one came: expired (older than FLTS_LIVE_EARLY_ACTUALS_MAX_AGE_MS) or full (the oldest, past FLTS_LIVE_EARLY_ACTUALS_POINTS).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const early = source().early();
      this.inc({ reason: 'expired' }, early.expired);
      this.inc({ reason: 'full' }, early.forgotten);
    },
  });
  new Counter({
    name: 'flts_live_shadow_skipped_total',
    help: 'Shadow forecasts (a probation\'s previous run, FLTS_SERVE_SHADOW_RUN) not made, by reason: serving_bound (no room under FLTS_SERVE_MAX_QUEUED_ROWS beside the clients\' rows), shadow_limit (FLTS_SERVE_BATCH_MAX_SIZE shadow forecasts in flight already), shadow_retiring (the shadow run being let go), failed (its forecast failed; by code on /healthz live.shadow_failed).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(source().shadowSkipped())) this.inc({ reason }, count);
    },
  });
  new Gauge({
    name: 'flts_live_probation_rmse',
    help: 'While a probation runs (until its decision, or until its promotion is rolled back or replaced): live RMSE of the new run (candidate) and the previous run in shadow (baseline) on the same points.',
    labelNames: ['run_id', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      const paired = source().paired();
      if (!paired || paired.points === 0) return;
      const rmse = pairedRmse(paired);
      this.set({ run_id: paired.candidate_run_id, role: 'candidate' }, rmse.candidate);
      this.set({ run_id: paired.baseline_run_id, role: 'baseline' }, rmse.baseline);
    },
  });
  new Gauge({
    name: 'flts_live_probation_points',
    help: 'While a probation runs: matched points of the new run (run_id) paired with the previous run so far, on this replica; absent when none runs.',
    labelNames: ['run_id'],
    registers: [registry],
    collect() {
      this.reset();
      const paired = source().paired();
      if (paired) this.set({ run_id: paired.candidate_run_id }, paired.points);
    },
  });
  return {
    countRollback: () => rollbacks.inc(),
    countWorseKept: () => worseKept.inc(),
    countNoBaseline: () => noBaseline.inc(),
    attach(next) {
      attached = next;
    },
  };
}
