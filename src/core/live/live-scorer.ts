import { createEarlyActuals, type EarlyActualsFigures } from './early-actuals.js';
import { createForecastMemory, type PlausibleRange, type RememberedPrediction } from './forecast-memory.js';
import { RollingErrors, type ErrorFigures, type IntervalBounds } from './rolling-errors.js';

/** A forecast as served (or forecast in shadow): one row per timestamp, values in original units. */
export interface LiveForecast {
  /** Which series: requests of different identifiers never score each other's forecasts. */
  identifier: string;
  runId: string;
  /** Epoch ms of the last input row. */
  origin: number;
  targets: readonly string[];
  time: ArrayLike<number>;
  /** Per target, one value per row. */
  values: ReadonlyArray<ArrayLike<number>>;
  /** Per target, its interval levels, each with one bound per row. */
  intervals?: ReadonlyArray<ReadonlyArray<{ level: string; lower: ArrayLike<number>; upper: ArrayLike<number> }> | undefined>;
  /**
   * Per target, the values the run was shown, beyond the forecast itself: its training range (from the scaler) and
   * the request's rows. They widen the range an actual must fall in to be scored (see PLAUSIBLE_SPANS).
   */
  seen?: ReadonlyArray<{ min: number; max: number } | undefined>;
}

/** Observed values: timestamps and columns by name (a request's rows, a POST /actuals body, a claimed file). */
export interface LiveActuals {
  identifier: string;
  time: ArrayLike<number>;
  values: Readonly<Record<string, ArrayLike<number>>>;
}

/** What one batch of actuals matched, per run: the error the prediction log records. */
export interface MatchedError {
  run_id: string;
  points: number;
  rmse: number;
  mae: number;
}

export type ErrorFiguresByTarget = Record<string, ErrorFigures>;

export interface LiveMemoryFigures {
  points: number;
  forgotten: number;
  /** See ForecastMemory.waiting: a target whose actuals never come shows here, its other targets scored meanwhile. */
  waiting: Record<string, number>;
}

export interface RunFigures {
  run_id: string;
  /** Every point matched since this process started. */
  matched_total: number;
  /** Per target, over the rolling window. */
  targets: Record<string, ErrorFigures>;
}

/**
 * The candidate and the baseline scored on the same points: forecasts of both runs from the same origin for the
 * same timestamp. Sums (not means) so figures of several replicas add up.
 */
export interface PairedFigures {
  candidate_run_id: string;
  baseline_run_id: string;
  /** Matched (origin, timestamp) pairs. */
  points: number;
  /** Squared-error terms behind each sum (points x targets with an actual). */
  terms: number;
  candidate_sum_sq: number;
  baseline_sum_sq: number;
}

/**
 * An error beyond this is no measurement (a unit mix-up, a hostile actual of 1e308): the point is left unscored
 * like a missing actual. Its square would overflow the sums (Infinity, written as null in a replica report), and
 * a probation whose two sums are both infinite compares them as equal and keeps a worse run. Squares up to 1e300
 * leave room for any count of points.
 */
const MAX_SCORED_ERROR = 1e150;

/** A run's errors matched by one call: their squares summed outright, and as ratios to the largest error. */
interface Tally {
  points: number;
  sq: number;
  abs: number;
  terms: number;
  largest: number;
  scaledSq: number;
}

/** The smallest normal double: a sum of squares under it lost digits, or all of them, to underflow. */
const SMALLEST_NORMAL = 2 ** -1022;

/**
 * A run's RMSE and MAE over the errors matched by one call. The sum of squares is taken outright where it is a normal
 * number (the figures as ever); under that the squares underflowed (an error of 5e-324 read an RMSE of 0 beside an MAE
 * of 5e-324), and the RMSE is taken from the squares scaled by the largest error, as the run's window figures are.
 */
function matchedError(runId: string, entry: Tally): MatchedError {
  const rmse = entry.sq >= SMALLEST_NORMAL ? Math.sqrt(entry.sq / entry.terms) : entry.largest * Math.sqrt(entry.scaledSq / entry.terms);
  return { run_id: runId, points: entry.points, rmse, mae: entry.abs / entry.terms };
}

/**
 * An actual further than this many spans outside every value its forecasts knew (the forecast, the request's rows,
 * the run's training range) is left unscored for every run and counted (`ignored`), its point left waiting for a
 * corrected actual: a unit mix-up or a broken client (1e140 in POST /actuals) whose square, finite or not, would
 * swamp hundreds of real errors and make both runs of a probation look equal. The span is the width of those values or their magnitude, whichever is larger, so only an
 * absurd value is refused: a real drift shows in the request's rows before its actuals arrive.
 */
const PLAUSIBLE_SPANS = 10;

/** Why an actual was left unscored; counted, as flts_live_actuals_ignored_total{reason}. */
export type IgnoredReason = 'out_of_range';

/** The range of actuals scored against one target's forecast values (and what the run was shown). */
export function plausibleRange(values: ArrayLike<number>, seen?: { min: number; max: number }): PlausibleRange {
  let min = seen && Number.isFinite(seen.min) ? seen.min : Infinity;
  let max = seen && Number.isFinite(seen.max) ? seen.max : -Infinity;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { min: -Infinity, max: Infinity };
  // All zeros tell no scale: one unit, rather than refusing every non-zero actual.
  const span = Math.max(max - min, Math.abs(min), Math.abs(max)) || 1;
  return { min: min - PLAUSIBLE_SPANS * span, max: max + PLAUSIBLE_SPANS * span };
}

/** Runs whose figures a scorer keeps by default. */
export const LIVE_SCORER_MAX_RUNS = 16;

export interface LiveScorerOptions {
  windowPoints: number;
  memoryPoints: number;
  /** Runs whose figures are kept; the least recently matched beyond it are dropped. */
  maxRuns?: number;
  /** Actual rows kept, at most, for a forecast remembered after them (0, the default: none is kept). */
  earlyPoints?: number;
  /** How long such a row is kept. */
  earlyMaxAgeMs?: number;
  /** Of `earlyPoints`, the rows one series keeps at most (default all of them). */
  earlySeriesPoints?: number;
  /** The clock early rows are aged by (default the wall clock). */
  now?: () => number;
}

export interface StartScoringOptions {
  /**
   * Keep the rows no remembered forecast waits for as early actuals, for a forecast of their timestamp remembered
   * later (POST /actuals, a claim); a request's own rows are its forecast's inputs, and are not kept.
   */
  keepEarly?: boolean;
  /**
   * When these actuals arrived (epoch ms), which the rows kept are aged from: a claim's publication, so a claim read
   * late (at a replica's join) keeps its rows no longer than it would have read at once. Default: now.
   */
  arrivedAt?: number;
}

/** The scoring of one batch of actuals, a range of rows at a time (across event-loop turns). */
export interface ActualsScoring {
  /** Scores the rows before `to` that earlier calls left. */
  scoreRows(to: number): void;
  /** What the rows scored so far matched, per run (as `score` returns it), and the values they left unscored. */
  /**
   * `unmatched`: rows no remembered forecast of their series waited for (never forecast from request rows, already
   * scored, forgotten, or of another series).
   */
  result(): { runs: MatchedError[]; ignored: number; unmatched: number; kept: number };
}

export interface LiveScorer {
  remember(forecast: LiveForecast): void;
  /** Scores every remembered forecast these actuals complete; returns what was matched, per run. */
  score(actuals: LiveActuals): MatchedError[];
  /**
   * `score` in pieces: the rows are scored in order into one tally, so the figures are those `score` gives the
   * same actuals (when nothing else is scored between the pieces).
   */
  startScoring(actuals: LiveActuals, options?: StartScoringOptions): ActualsScoring;
  /**
   * Scores the forecasts remembered since the last call for timestamps whose actuals came first (kept by
   * `startScoring` with `keepEarly`): those whose origin (last input row) is before the actual's timestamp, so the
   * run never saw the value. Called once the forecasts of one request are all remembered (the served run's and its
   * shadows'), so a probation pairs them; what was matched, per run.
   */
  scoreEarly(): MatchedError[];
  /** Early actuals held, per target, and those let go unscored. */
  early(): EarlyActualsFigures;
  /**
   * Of the rows [from, to) of these actuals, those `startScoring` with `keepEarly` would keep for a forecast made later:
   * rows with a finite value that no remembered forecast waits for (0 while none is kept).
   */
  earlyRowsWanted(actuals: LiveActuals, from: number, to: number): number;
  figures(): RunFigures[];
  /**
   * Starts comparing `candidate` with `baseline` on shared points, up to `limit` points; from the sums `from` when
   * given (what this replica paired for the same two runs before a restart).
   */
  startPairing(candidate: string, baseline: string, limit: number, from?: PairedFigures): void;
  stopPairing(): void;
  paired(): PairedFigures | undefined;
  /** Predictions held and forgotten unscored; per target, those an actual reached already that wait for its actual. */
  memory(): LiveMemoryFigures;
  /** Actuals (point x target) left unscored since this process started, by reason. */
  ignored(): Record<IgnoredReason, number>;
}

interface RunState {
  matched: number;
  /** Order of the last match, for evicting the stalest run. */
  lastMatch: number;
  targets: Map<string, RollingErrors>;
}

interface Pairing extends PairedFigures {
  limit: number;
}

const NONE_WAITING: readonly RememberedPrediction[] = [];

export function createLiveScorer(options: LiveScorerOptions): LiveScorer {
  const memory = createForecastMemory(options.memoryPoints);
  const runs = new Map<string, RunState>();
  const maxRuns = options.maxRuns ?? LIVE_SCORER_MAX_RUNS;
  let pairing: Pairing | undefined;
  const ignored: Record<IgnoredReason, number> = { out_of_range: 0 };
  const early = createEarlyActuals(options.earlyPoints ?? 0, options.earlyMaxAgeMs ?? 0, options.earlySeriesPoints);
  const clock = options.now ?? Date.now;
  /** Timestamps of forecasts remembered since the last scoreEarly whose actuals are held already, by series. */
  const earlyDue = new Map<string, Set<number>>();

  let matchCounter = 0;
  function runState(runId: string): RunState {
    let state = runs.get(runId);
    if (!state) {
      if (runs.size >= maxRuns) {
        // The run matched least recently goes (a Map scan, only when a new run appears beyond the limit).
        let stalest: string | undefined;
        let stalestAt = Infinity;
        for (const [id, candidate] of runs) if (candidate.lastMatch < stalestAt) [stalest, stalestAt] = [id, candidate.lastMatch];
        if (stalest !== undefined) runs.delete(stalest);
      }
      runs.set(runId, (state = { matched: 0, lastMatch: 0, targets: new Map() }));
    }
    state.lastMatch = ++matchCounter;
    return state;
  }

  /** Squared-error sum and term count of one prediction against the actual row; the run's windows are updated. */
  function scoreOne(prediction: RememberedPrediction, actuals: LiveActuals, row: number, refused: Set<string> | undefined, tally: Map<string, Tally>): { sq: number; terms: number } {
    let sq = 0;
    let terms = 0;
    let abs = 0;
    // The squares again, as ratios to the largest error: those of errors under 1e-154 underflow.
    let largest = 0;
    let scaledSq = 0;
    let state: RunState | undefined;
    for (let t = 0; t < prediction.targets.length; t++) {
      const target = prediction.targets[t];
      const column = actuals.values[target];
      if (!column || refused?.has(target) || prediction.settled?.[t]) continue;
      const actual = column[row];
      const predicted = prediction.values[t];
      if (!Number.isFinite(actual) || !Number.isFinite(predicted) || !(Math.abs(predicted - actual) <= MAX_SCORED_ERROR)) continue;
      state ??= runState(prediction.runId);
      let errors = state.targets.get(target);
      if (!errors) state.targets.set(target, (errors = new RollingErrors(options.windowPoints)));
      errors.add(predicted, actual, prediction.intervals?.[t]);
      const error = predicted - actual;
      sq += error * error;
      abs += Math.abs(error);
      terms++;
      const magnitude = Math.abs(error);
      if (magnitude > largest) {
        scaledSq = scaledSq * (largest / magnitude) ** 2 + 1;
        largest = magnitude;
      } else if (magnitude > 0) scaledSq += (magnitude / largest) ** 2;
    }
    if (state && terms > 0) {
      if (!prediction.matched) state.matched++;
      let entry = tally.get(prediction.runId);
      if (!entry) tally.set(prediction.runId, (entry = { points: 0, sq: 0, abs: 0, terms: 0, largest: 0, scaledSq: 0 }));
      entry.points++;
      entry.sq += sq;
      entry.abs += abs;
      entry.terms += terms;
      if (largest > entry.largest) {
        entry.scaledSq = entry.scaledSq * (entry.largest / largest) ** 2 + scaledSq;
        entry.largest = largest;
      } else if (largest > 0) entry.scaledSq += scaledSq * (largest / entry.largest) ** 2;
    }
    return { sq, terms };
  }

  /**
   * Targets whose actual at this row no forecast of it finds plausible. One judgement for every run forecasting the
   * point (the most lenient), so a probation's two runs are always scored on the same points.
   */
  function refusedTargets(predictions: readonly RememberedPrediction[], actuals: LiveActuals, row: number): Set<string> | undefined {
    let refused: Set<string> | undefined;
    for (const prediction of predictions) {
      for (let i = 0; i < prediction.targets.length; i++) {
        const target = prediction.targets[i];
        const actual = actuals.values[target]?.[row];
        if (actual === undefined || !Number.isFinite(actual) || refused?.has(target) || prediction.settled?.[i]) continue;
        const admitted = predictions.some((p) => {
          const t = p.targets.indexOf(target);
          const range = t < 0 ? undefined : p.plausible?.[t];
          return t >= 0 && !p.settled?.[t] && (!range || (actual >= range.min && actual <= range.max));
        });
        if (admitted) continue;
        (refused ??= new Set()).add(target);
        ignored.out_of_range++;
      }
    }
    return refused;
  }

  /**
   * The targets of a point left open by these actuals: those refused, and those they bring no value for (a POST
   * /actuals of one target of a multi-target run, a null: a request's rows before a lagging sensor's value came),
   * whose forecasts wait for a later body rather than leave unscored.
   */
  function openTargets(predictions: readonly RememberedPrediction[], actuals: LiveActuals, row: number, refused: Set<string> | undefined): ReadonlySet<string> | undefined {
    let open = refused;
    for (const prediction of predictions) {
      for (const target of prediction.targets) {
        const column = actuals.values[target];
        if ((column !== undefined && Number.isFinite(column[row])) || open?.has(target)) continue;
        if (open === refused) open = new Set(refused);
        open!.add(target);
      }
    }
    return open;
  }

  /**
   * The predictions of a point left waiting on open targets, remade with what is done: a corrected actual (or the
   * missing column) sent later is scored, on the targets still open; an absurd resend is refused again.
   */
  function waitingOn(refused: ReadonlySet<string>, predictions: readonly RememberedPrediction[], scored: ReadonlyArray<{ terms: number }>): RememberedPrediction[] {
    const waiting: RememberedPrediction[] = [];
    predictions.forEach((prediction, i) => {
      const settled = prediction.targets.map((target, t) => prediction.settled?.[t] === true || !refused.has(target));
      if (settled.every(Boolean)) return;
      waiting.push({ ...prediction, settled, matched: prediction.matched === true || scored[i].terms > 0 });
    });
    return waiting;
  }

  function pairUp(predictions: readonly RememberedPrediction[], scored: Array<{ sq: number; terms: number }>): void {
    const active = pairing;
    if (!active || active.points >= active.limit) return;
    for (let i = 0; i < predictions.length; i++) {
      if (predictions[i].runId !== active.candidate_run_id || scored[i].terms === 0) continue;
      const j = predictions.findIndex((p, k) => p.runId === active.baseline_run_id && p.origin === predictions[i].origin && scored[k].terms === scored[i].terms);
      if (j < 0) continue;
      // The rest of a point that waited on a refused actual adds its terms to the point already counted.
      if (!predictions[i].matched) active.points++;
      active.terms += scored[i].terms;
      active.candidate_sum_sq += scored[i].sq;
      active.baseline_sum_sq += scored[j].sq;
      if (active.points >= active.limit) return;
    }
  }

  /** The finite values of one row, as early actuals keep them. */
  function rowValues(actuals: LiveActuals, row: number): Map<string, number> {
    const values = new Map<string, number>();
    for (const [target, column] of Object.entries(actuals.values)) {
      const value = column[row];
      if (Number.isFinite(value)) values.set(target, value);
    }
    return values;
  }

  function startScoring(actuals: LiveActuals, scoringOptions: StartScoringOptions = {}): ActualsScoring {
    const tally = new Map<string, Tally>();
    let next = 0;
    let ignoredHere = 0;
    let unmatched = 0;
    let kept = 0;
    const keepEarly = scoringOptions.keepEarly === true && (options.earlyPoints ?? 0) > 0;
    /** Keeps a row's values; counted in `kept` when no forecast waited for it (else they join a row kept before). */
    const keep = (row: number, now: number, unmatchedRow = true): void => {
      const values = rowValues(actuals, row);
      if (values.size === 0) return;
      if (early.keep(actuals.identifier, actuals.time[row], values, now, scoringOptions.arrivedAt) && unmatchedRow) kept++;
    };
    return {
      scoreRows(to) {
        const end = Math.min(to, actuals.time.length);
        // Nothing remembered, nothing to match: the rows are not even looked up, only kept when early ones are.
        if (memory.size === 0) {
          if (keepEarly) {
            const at = clock();
            for (let row = next; row < end; row++) keep(row, at);
          }
          unmatched += Math.max(0, end - next);
          next = Math.max(next, end);
          return;
        }
        const ignoredBefore = ignored.out_of_range;
        const at = keepEarly ? clock() : 0;
        for (; next < end; next++) {
          const row = next;
          const time = actuals.time[row];
          const predictions = memory.peek(actuals.identifier, time);
          if (!predictions) {
            unmatched++;
            if (keepEarly) keep(row, at);
            continue;
          }
          // A kept row some forecast was scored on takes this body's values too (the other target of a point, a
          // correction), so the forecasts of its timestamp made later meet them as the waiting ones do.
          if (keepEarly && early.size > 0 && early.get(actuals.identifier, time, at)) keep(row, at, false);
          const refused = refusedTargets(predictions, actuals, row);
          const scored = predictions.map((prediction) => scoreOne(prediction, actuals, row, refused, tally));
          pairUp(predictions, scored);
          const open = openTargets(predictions, actuals, row, refused);
          memory.settle(actuals.identifier, time, open ? waitingOn(open, predictions, scored) : NONE_WAITING);
        }
        ignoredHere += ignored.out_of_range - ignoredBefore;
      },
      result: () => ({
        runs: [...tally].map(([runId, entry]) => matchedError(runId, entry)),
        ignored: ignoredHere,
        unmatched,
        kept,
      }),
    };
  }

  /** Scores the predictions held for one timestamp against its early actual; a value refused is let go. */
  function scoreEarlyAt(identifier: string, time: number, values: ReadonlyMap<string, number>, tally: Map<string, Tally>): void {
    const held = memory.peek(identifier, time);
    if (!held) return;
    // A forecast made from rows up to or past this timestamp saw the value it would be scored on: it stays as it is.
    const eligible = held.filter((prediction) => prediction.origin < time);
    if (eligible.length === 0) return;
    const asSeen = eligible.length === held.length ? [] : held.filter((prediction) => prediction.origin >= time);
    const actuals: LiveActuals = { identifier, time: [time], values: Object.fromEntries([...values].map(([target, value]) => [target, [value]])) };
    const refused = refusedTargets(eligible, actuals, 0);
    const scored = eligible.map((prediction) => scoreOne(prediction, actuals, 0, refused, tally));
    pairUp(eligible, scored);
    const open = openTargets(eligible, actuals, 0, refused);
    const waiting = open ? waitingOn(open, eligible, scored) : [];
    memory.settle(identifier, time, asSeen.length > 0 ? [...waiting, ...asSeen] : waiting);
    if (refused) for (const target of refused) early.drop(identifier, time, target);
  }

  return {
    remember(forecast) {
      const { time, values, intervals, targets } = forecast;
      const plausible = targets.map((_, t) => plausibleRange(values[t], forecast.seen?.[t]));
      for (let row = 0; row < time.length; row++) {
        const rowValues = new Array<number>(values.length);
        for (let t = 0; t < values.length; t++) rowValues[t] = values[t][row];
        const prediction: RememberedPrediction = intervals
          ? { runId: forecast.runId, origin: forecast.origin, targets, values: rowValues, plausible, intervals: intervals.map((levels) => levels?.map(({ level, lower, upper }) => ({ level, lower: lower[row], upper: upper[row] }))) }
          : { runId: forecast.runId, origin: forecast.origin, targets, values: rowValues, plausible };
        memory.remember(forecast.identifier, time[row], prediction);
        if (early.size > 0 && time[row] > forecast.origin && early.get(forecast.identifier, time[row], clock())) {
          let due = earlyDue.get(forecast.identifier);
          if (!due) earlyDue.set(forecast.identifier, (due = new Set()));
          due.add(time[row]);
        }
      }
    },
    scoreEarly() {
      if (earlyDue.size === 0) return [];
      const tally = new Map<string, Tally>();
      const at = clock();
      for (const [identifier, times] of earlyDue) {
        for (const time of times) {
          const values = early.get(identifier, time, at);
          if (values) scoreEarlyAt(identifier, time, values, tally);
        }
      }
      earlyDue.clear();
      return [...tally].map(([runId, entry]) => matchedError(runId, entry));
    },
    early: () => early.figures(clock()),
    earlyRowsWanted(actuals, from, to) {
      if ((options.earlyPoints ?? 0) <= 0) return 0;
      let wanted = 0;
      const columns = Object.values(actuals.values);
      const end = Math.min(to, actuals.time.length);
      for (let row = from; row < end; row++) {
        if (memory.size > 0 && memory.peek(actuals.identifier, actuals.time[row])) continue;
        if (columns.some((column) => Number.isFinite(column[row]))) wanted++;
      }
      return wanted;
    },
    score(actuals) {
      if (memory.size === 0) return [];
      const scoring = startScoring(actuals);
      scoring.scoreRows(actuals.time.length);
      return scoring.result().runs;
    },
    startScoring,
    figures() {
      return [...runs].map(([runId, state]) => ({
        run_id: runId,
        matched_total: state.matched,
        targets: Object.fromEntries([...state.targets].map(([target, errors]) => [target, errors.figures()])),
      }));
    },
    startPairing(candidate, baseline, limit, from) {
      const carried = from && from.candidate_run_id === candidate && from.baseline_run_id === baseline ? from : undefined;
      pairing = { candidate_run_id: candidate, baseline_run_id: baseline, points: 0, terms: 0, candidate_sum_sq: 0, baseline_sum_sq: 0, limit };
      if (carried) Object.assign(pairing, { points: carried.points, terms: carried.terms, candidate_sum_sq: carried.candidate_sum_sq, baseline_sum_sq: carried.baseline_sum_sq });
    },
    stopPairing() {
      pairing = undefined;
    },
    paired() {
      if (!pairing) return undefined;
      const { limit: _limit, ...figures } = pairing;
      return figures;
    },
    memory: () => ({ points: memory.size, forgotten: memory.forgotten, waiting: memory.waiting() }),
    ignored: () => ({ ...ignored }),
  };
}
