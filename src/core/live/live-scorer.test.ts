import { describe, expect, it } from 'vitest';
import { createForecastMemory, type ForecastMemory, type RememberedPrediction } from './forecast-memory.js';
import { createLiveScorer, type LiveForecast } from './live-scorer.js';
import { probationVerdict } from './probation.js';
import { RollingErrors } from './rolling-errors.js';

const forecast = (runId: string, origin: number, values: number[], extra: Partial<LiveForecast> = {}): LiveForecast => ({
  identifier: 'site',
  runId,
  origin,
  targets: ['down'],
  time: values.map((_, i) => origin + (i + 1) * 60),
  values: [values],
  ...extra,
});

describe('live > rolling errors', () => {
  it('keeps RMSE, MAE and coverage over the last N points only', () => {
    const errors = new RollingErrors(3);
    expect(errors.figures()).toEqual({ points: 0, rmse: null, mae: null, coverage: {} });
    errors.add(10, 0, [{ level: '0.8', lower: -1, upper: 1 }]);
    // Intervals of +-1.5 around each prediction: only the error of 1 keeps the actual (0) inside.
    for (const error of [1, -2, 2]) errors.add(error, 0, [{ level: '0.8', lower: error - 1.5, upper: error + 1.5 }]);
    const figures = errors.figures();
    expect(figures.points).toBe(3);
    expect(figures.rmse).toBeCloseTo(Math.sqrt((1 + 4 + 4) / 3), 12);
    expect(figures.mae).toBeCloseTo(5 / 3, 12);
    expect(figures.coverage['0.8']).toBeCloseTo(1 / 3, 12);
  });

  it('does not drift after many wraps of its window', () => {
    const errors = new RollingErrors(7);
    for (let i = 0; i < 100_000; i++) errors.add(i % 2 === 0 ? 1e6 : 0.001, 0);
    for (let i = 0; i < 7; i++) errors.add(2, 0);
    expect(errors.figures().rmse).toBe(2);
    expect(errors.figures().mae).toBe(2);
  });

  it('gives finite figures for an error near the largest double, where its square would overflow', () => {
    const errors = new RollingErrors(4);
    errors.add(1e308, 0);
    errors.add(5, 0);
    const { rmse, mae } = errors.figures();
    expect(rmse).toBeCloseTo(1e308 / Math.SQRT2, -295);
    expect(mae).toBeCloseTo(5e307, -295);
    expect(Number.isFinite(rmse)).toBe(true);
  });
});

/** The predictions for a timestamp, out of memory as scored (none waits on a refused actual). */
function take(memory: ForecastMemory, identifier: string, time: number): readonly RememberedPrediction[] | undefined {
  const predictions = memory.peek(identifier, time);
  memory.settle(identifier, time, []);
  return predictions;
}

describe('live > forecast memory', () => {
  it('forgets the oldest timestamps beyond its capacity and counts them', () => {
    const memory = createForecastMemory(3);
    for (let t = 0; t < 5; t++) memory.remember('a', t, { runId: 'r', origin: -1, targets: ['x'], values: [t] });
    expect(memory.size).toBe(3);
    expect(memory.forgotten).toBe(2);
    expect(take(memory, 'a', 0)).toBeUndefined();
    expect(take(memory, 'a', 4)?.[0].values).toEqual([4]);
    expect(take(memory, 'a', 4)).toBeUndefined();
    expect(memory.size).toBe(2);
  });

  it('replaces a repeated forecast of one run from one origin instead of counting it twice', () => {
    const memory = createForecastMemory(10);
    memory.remember('a', 5, { runId: 'r', origin: 1, targets: ['x'], values: [1] });
    memory.remember('a', 5, { runId: 'r', origin: 1, targets: ['x'], values: [2] });
    memory.remember('a', 5, { runId: 'r', origin: 2, targets: ['x'], values: [3] });
    memory.remember('b', 5, { runId: 'r', origin: 1, targets: ['x'], values: [4] });
    expect(take(memory, 'a', 5)?.map((p) => p.values[0])).toEqual([2, 3]);
    expect(take(memory, 'b', 5)?.map((p) => p.values[0])).toEqual([4]);
  });

  it('ignores a forecast repeated after its point was scored, while that point is among the last scored', () => {
    const memory = createForecastMemory(3);
    const served = { runId: 'r', origin: 1, targets: ['x'], values: [1] };
    memory.remember('a', 5, served);
    expect(take(memory, 'a', 5)).toHaveLength(1);
    // The same forecast again (a retried request): its point was scored, so the next actuals find nothing.
    memory.remember('a', 5, served);
    expect(memory.size).toBe(0);
    expect(take(memory, 'a', 5)).toBeUndefined();
    // Another origin, run or series is another point.
    memory.remember('a', 5, { ...served, origin: 2 });
    memory.remember('a', 5, { ...served, runId: 's' });
    memory.remember('b', 5, served);
    expect(take(memory, 'a', 5)?.map((p) => [p.runId, p.origin])).toEqual([['r', 2], ['s', 1]]);
    expect(take(memory, 'b', 5)).toHaveLength(1);
    // Only the last `capacity` scored points are kept: the first is remembered again once three more were scored.
    memory.remember('a', 5, served);
    expect(memory.size).toBe(1);
  });

  it('keeps nothing for a series once every forecast of it was scored', () => {
    const memory = createForecastMemory(100);
    for (let i = 0; i < 1000; i++) {
      memory.remember(`series-${i}`, 5, { runId: 'r', origin: 1, targets: ['x'], values: [1] });
      take(memory, `series-${i}`, 5);
    }
    expect(memory.size).toBe(0);
    expect(memory.series).toBe(0);
  });
});

describe('live > scorer', () => {
  it('scores each remembered forecast once, per series, when its actuals arrive', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.remember(forecast('run-a', 0, [10, 20]));
    scorer.remember({ ...forecast('run-a', 0, [99, 99]), identifier: 'other' });
    const matched = scorer.score({ identifier: 'site', time: [60, 120, 180], values: { down: [13, 16, 0] } });
    expect(matched).toEqual([{ run_id: 'run-a', points: 2, rmse: Math.sqrt((9 + 16) / 2), mae: 3.5 }]);
    expect(scorer.score({ identifier: 'site', time: [60, 120], values: { down: [13, 16] } })).toEqual([]);
    const [figures] = scorer.figures();
    expect(figures).toMatchObject({ run_id: 'run-a', matched_total: 2, targets: { down: { points: 2, rmse: Math.sqrt(12.5), mae: 3.5, coverage: {} } } });
    expect(scorer.memory()).toEqual({ points: 2, forgotten: 0, waiting: {} });
  });

  it('gives the RMSE of errors whose squares underflow, as the window figures do, not 0 beside a non-zero MAE', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.remember(forecast('run-a', 0, [5e-324]));
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [0] } })).toEqual([{ run_id: 'run-a', points: 1, rmse: 5e-324, mae: 5e-324 }]);
    expect(scorer.figures()[0].targets.down).toMatchObject({ rmse: 5e-324, mae: 5e-324 });

    const other = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    other.remember(forecast('run-a', 0, [3e-170, -4e-170]));
    const [matched] = other.score({ identifier: 'site', time: [60, 120], values: { down: [0, 0] } });
    expect(matched.rmse / (Math.sqrt(12.5) * 1e-170)).toBeCloseTo(1, 12);
    expect(matched.rmse).toBe(other.figures()[0].targets.down.rmse);
  });

  it('never scores one point twice, however often its forecast and its actuals are seen', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    const actuals = { identifier: 'site', time: [60, 120], values: { down: [13, 16] } };
    scorer.remember(forecast('run-a', 0, [10, 20]));
    expect(scorer.score(actuals)).toEqual([{ run_id: 'run-a', points: 2, rmse: Math.sqrt((9 + 16) / 2), mae: 3.5 }]);
    // The same actuals again (a claim redelivered, its rows also in a request), after the forecast was served again.
    scorer.remember(forecast('run-a', 0, [10, 20]));
    expect(scorer.score(actuals)).toEqual([]);
    expect(scorer.score({ ...actuals, time: [60, 60, 120], values: { down: [13, 13, 16] } })).toEqual([]);
    expect(scorer.figures()[0]).toMatchObject({ matched_total: 2, targets: { down: { points: 2 } } });
  });

  it('skips missing actuals and reports interval coverage when the forecast has intervals', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.remember(forecast('run-a', 0, [10, 20, 30], { intervals: [[{ level: '0.9', lower: [9, 19, 29], upper: [11, 21, 31] }]] }));
    scorer.score({ identifier: 'site', time: [60, 120, 180], values: { down: [10.5, Number.NaN, 35] } });
    const down = scorer.figures()[0].targets.down;
    expect(down.points).toBe(2);
    expect(down.coverage).toEqual({ '0.9': 0.5 });
  });

  it('pairs a candidate with its baseline only on points both forecast from the same origin', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.startPairing('new', 'old', 2);
    scorer.remember(forecast('new', 0, [12]));
    scorer.remember(forecast('old', 0, [11]));
    scorer.remember(forecast('new', 60, [5]));
    scorer.remember(forecast('old', 30, [5]));
    scorer.remember(forecast('new', 120, [14]));
    scorer.remember(forecast('old', 120, [10]));
    scorer.remember(forecast('new', 180, [0]));
    scorer.remember(forecast('old', 180, [0]));
    scorer.score({ identifier: 'site', time: [60, 120, 180, 240], values: { down: [10, 10, 10, 10] } });
    expect(scorer.paired()).toEqual({ candidate_run_id: 'new', baseline_run_id: 'old', points: 2, terms: 2, candidate_sum_sq: 4 + 16, baseline_sum_sq: 1 + 0 });
    scorer.stopPairing();
    expect(scorer.paired()).toBeUndefined();
  });

  it('leaves out an actual so far off that its squared error would overflow the sums', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.startPairing('new', 'old', 3);
    for (const origin of [0, 60, 120, 180]) {
      scorer.remember(forecast('new', origin, [20]));
      scorer.remember(forecast('old', origin, [11]));
    }
    const hostile = scorer.score({ identifier: 'site', time: [60, 120], values: { down: [10, 1e200] } });
    expect(hostile).toEqual([
      { run_id: 'new', points: 1, rmse: 10, mae: 10 },
      { run_id: 'old', points: 1, rmse: 1, mae: 1 },
    ]);
    scorer.score({ identifier: 'site', time: [180, 240], values: { down: [10, 10] } });
    const paired = scorer.paired()!;
    // Infinite sums would be written as null in a replica report and compare equal: a worse run kept.
    expect(paired).toEqual({ candidate_run_id: 'new', baseline_run_id: 'old', points: 3, terms: 3, candidate_sum_sq: 300, baseline_sum_sq: 3 });
    expect(probationVerdict(JSON.parse(JSON.stringify(paired)), { points: 3, margin: 0.1 }).verdict).toBe('rollback');
    expect(scorer.figures().find((run) => run.run_id === 'new')?.targets.down.rmse).toBe(10);
  });

  it('leaves one absurd but finite actual out of every run, so it cannot make a worse run look equal in a probation', () => {
    const scorer = createLiveScorer({ windowPoints: 1000, memoryPoints: 1000 });
    scorer.startPairing('new', 'old', 400);
    // 400 points: the new run is off by 2, the previous one by 1; the new run is twice as bad.
    for (let origin = 0; origin < 400 * 60; origin += 60) {
      scorer.remember(forecast('new', origin, [12], { seen: [{ min: 0, max: 40 }] }));
      scorer.remember(forecast('old', origin, [11]));
    }
    const actuals = Array.from({ length: 400 }, () => 10);
    // A broken client's value: finite, and its square (1e280) too, so the older guard on overflowing squares let it in.
    actuals[200] = 1e140;
    const matched = scorer.score({ identifier: 'site', time: actuals.map((_, i) => (i + 1) * 60), values: { down: actuals } });
    expect(matched).toEqual([
      { run_id: 'new', points: 399, rmse: 2, mae: 2 },
      { run_id: 'old', points: 399, rmse: 1, mae: 1 },
    ]);
    const paired = scorer.paired()!;
    expect(paired).toMatchObject({ points: 399, terms: 399, candidate_sum_sq: 4 * 399, baseline_sum_sq: 399 });
    expect(probationVerdict(JSON.parse(JSON.stringify(paired)), { points: 399, margin: 0.1 })).toMatchObject({ verdict: 'rollback', candidateRmse: 2, baselineRmse: 1 });
    expect(scorer.figures().map((run) => [run.run_id, run.targets.down.rmse])).toEqual([['new', 2], ['old', 1]]);
    expect(scorer.ignored()).toEqual({ out_of_range: 1 });
  });

  it('leaves the point of a refused actual waiting: a corrected resend is scored once, an absurd one never', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.startPairing('new', 'old', 10);
    scorer.remember(forecast('new', 0, [12, 12]));
    scorer.remember(forecast('old', 0, [11, 11]));
    const absurd = { identifier: 'site', time: [60], values: { down: [1e140] } };
    expect(scorer.score(absurd)).toEqual([]);
    expect(scorer.score(absurd)).toEqual([]);
    expect(scorer.ignored()).toEqual({ out_of_range: 2 });
    expect(scorer.memory().points).toBe(4);
    // The client corrects its unit mix-up: both runs are scored on the point, and paired on it.
    const corrected = { identifier: 'site', time: [60], values: { down: [10] } };
    expect(scorer.score(corrected)).toEqual([
      { run_id: 'new', points: 1, rmse: 2, mae: 2 },
      { run_id: 'old', points: 1, rmse: 1, mae: 1 },
    ]);
    expect(scorer.paired()).toMatchObject({ points: 1, terms: 1, candidate_sum_sq: 4, baseline_sum_sq: 1 });
    // Scored once: neither the corrected value again nor the same forecast served again scores it a second time.
    expect(scorer.score(corrected)).toEqual([]);
    scorer.remember(forecast('new', 0, [12, 12]));
    expect(scorer.score(corrected)).toEqual([]);
    expect(scorer.score(absurd)).toEqual([]);
    expect(scorer.figures().map((run) => [run.run_id, run.matched_total, run.targets.down.points])).toEqual([['new', 1, 1], ['old', 1, 1]]);
    expect(scorer.ignored()).toEqual({ out_of_range: 2 });
  });

  it('scores the plausible targets of a point at once and the refused one when it is corrected, each once', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.startPairing('new', 'old', 10);
    const twoTargets = (runId: string, down: number, up: number): LiveForecast => ({ identifier: 'site', runId, origin: 0, targets: ['down', 'up'], time: [60], values: [[down], [up]] });
    scorer.remember(twoTargets('new', 12, 3));
    scorer.remember(twoTargets('old', 11, 2));
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10], up: [1e140] } })).toEqual([
      { run_id: 'new', points: 1, rmse: 2, mae: 2 },
      { run_id: 'old', points: 1, rmse: 1, mae: 1 },
    ]);
    // The same forecast served again is the same point: it neither replaces the waiting one nor scores `down` twice.
    scorer.remember(twoTargets('new', 12, 3));
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10], up: [1e140] } })).toEqual([]);
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10], up: [2] } })).toEqual([
      { run_id: 'new', points: 1, rmse: 1, mae: 1 },
      { run_id: 'old', points: 1, rmse: 0, mae: 0 },
    ]);
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10], up: [2] } })).toEqual([]);
    // One point, two terms: as if both actuals had come together.
    expect(scorer.paired()).toMatchObject({ points: 1, terms: 2, candidate_sum_sq: 4 + 1, baseline_sum_sq: 1 + 0 });
    expect(scorer.figures().map((run) => [run.run_id, run.matched_total, run.targets.down.points, run.targets.up.points])).toEqual([['new', 1, 1, 1], ['old', 1, 1, 1]]);
    expect(scorer.memory().points).toBe(0);
    expect(scorer.ignored()).toEqual({ out_of_range: 2 });
  });

  it('keeps the targets whose column the actuals lack waiting, so actuals sent one target a body score every target once', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.startPairing('new', 'old', 10);
    const twoTargets = (runId: string, down: number, up: number): LiveForecast => ({ identifier: 'site', runId, origin: 0, targets: ['down', 'up'], time: [60], values: [[down], [up]] });
    scorer.remember(twoTargets('new', 12, 3));
    scorer.remember(twoTargets('old', 11, 2));
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10] } })).toEqual([
      { run_id: 'new', points: 1, rmse: 2, mae: 2 },
      { run_id: 'old', points: 1, rmse: 1, mae: 1 },
    ]);
    expect(scorer.memory().points).toBe(2);
    // `down` sent again scores nothing more; `up`, in a body of its own, scores the rest of the same point.
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10] } })).toEqual([]);
    expect(scorer.score({ identifier: 'site', time: [60], values: { up: [2] } })).toEqual([
      { run_id: 'new', points: 1, rmse: 1, mae: 1 },
      { run_id: 'old', points: 1, rmse: 0, mae: 0 },
    ]);
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [10], up: [2] } })).toEqual([]);
    expect(scorer.paired()).toMatchObject({ points: 1, terms: 2, candidate_sum_sq: 4 + 1, baseline_sum_sq: 1 + 0 });
    expect(scorer.figures().map((run) => [run.run_id, run.matched_total, run.targets.down.points, run.targets.up.points])).toEqual([['new', 1, 1, 1], ['old', 1, 1, 1]]);
    expect(scorer.memory().points).toBe(0);
  });

  it('scores an actual outside the forecast but within what the run was shown, and judges a point once for every run', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    // 500 is 49 spans of the forecast (10..20) away, but within ten spans of the training range 0..400 one run knows.
    scorer.remember(forecast('new', 0, [10, 20], { seen: [{ min: 0, max: 400 }] }));
    scorer.remember(forecast('old', 0, [10, 20]));
    expect(scorer.score({ identifier: 'site', time: [60], values: { down: [500] } }).map((run) => run.points)).toEqual([1, 1]);
    // 1e6 is beyond both: neither run is scored on it.
    expect(scorer.score({ identifier: 'site', time: [120], values: { down: [1e6] } })).toEqual([]);
    expect(scorer.ignored()).toEqual({ out_of_range: 1 });
  });
});

describe('live > a target whose actuals never come', () => {
  const twoTargets = (identifier: string, origin: number, steps: number): LiveForecast => ({
    identifier,
    runId: 'r',
    origin,
    targets: ['down', 'up'],
    time: Array.from({ length: steps }, (_, i) => origin + (i + 1) * 60),
    values: [Array.from({ length: steps }, () => 11), Array.from({ length: steps }, () => 21)],
  });

  it('scores the other targets at once, says how many points wait for which target, and lets them go before the forecasts of other series', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 10 });
    // Series "x" sends both targets; it is the longest known.
    scorer.remember(twoTargets('x', 0, 2));
    // Series "y" sends actuals of "down" only: each of its points is scored on "down" and waits for "up".
    for (let i = 0; i < 12; i++) {
      const origin = 1000 * 60 + i * 60;
      scorer.remember(twoTargets('y', origin, 1));
      expect(scorer.score({ identifier: 'y', time: [origin + 60], values: { down: [10] } })).toEqual([{ run_id: 'r', points: 1, rmse: 1, mae: 1 }]);
    }
    const memory = scorer.memory();
    expect(memory.waiting).toEqual({ up: 8 });
    expect(memory.points).toBe(10);
    // The waiting points went first when the memory was full: x's forecasts, whose actuals had not come yet, are all scored.
    expect(scorer.score({ identifier: 'x', time: [60, 120], values: { down: [10, 10], up: [20, 20] } })).toEqual([{ run_id: 'r', points: 2, rmse: 1, mae: 1 }]);
    expect(scorer.figures()[0]).toMatchObject({ run_id: 'r', matched_total: 14, targets: { down: { points: 14 }, up: { points: 2 } } });
    // A late "up" scores the point still waiting for it, and it waits no more.
    expect(scorer.score({ identifier: 'y', time: [1011 * 60 + 60], values: { up: [20] } })).toEqual([{ run_id: 'r', points: 1, rmse: 1, mae: 1 }]);
    expect(scorer.memory().waiting).toEqual({ up: 7 });
    expect(scorer.figures()[0].matched_total).toBe(14);
  });

  it('keeps a point whose actual came as null (a missing value) waiting for it, as for a column the actuals lack: a later value scores it once', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.remember(twoTargets('x', 0, 2));
    // A request's rows where "up" is not measured yet at 120 (null, NaN once parsed).
    expect(scorer.score({ identifier: 'x', time: [60, 120], values: { down: [10, 10], up: [20, Number.NaN] } })).toEqual([{ run_id: 'r', points: 2, rmse: 1, mae: 1 }]);
    expect(scorer.memory().waiting).toEqual({ up: 1 });
    // The next request's rows carry it: scored on "up" alone, the point counted once.
    expect(scorer.score({ identifier: 'x', time: [60, 120], values: { down: [10, 10], up: [20, 20] } })).toEqual([{ run_id: 'r', points: 1, rmse: 1, mae: 1 }]);
    expect(scorer.figures()[0]).toMatchObject({ matched_total: 2, targets: { down: { points: 2 }, up: { points: 2 } } });
    expect(scorer.memory()).toEqual({ points: 0, forgotten: 0, waiting: {} });
  });
});

describe('live > actuals that come before their forecast', () => {
  const actualsAt = (times: number[], down: number[]) => ({ identifier: 'site', time: times, values: { down } });
  const keepEarly = (scorer: ReturnType<typeof createLiveScorer>, times: number[], down: number[]) => {
    const scoring = scorer.startScoring(actualsAt(times, down), { keepEarly: true });
    scoring.scoreRows(times.length);
    return scoring.result();
  };

  it('keeps them and scores each forecast of their timestamp remembered later, from any origin, once', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100, earlyPoints: 10, earlyMaxAgeMs: 60_000, now: () => 0 });
    expect(keepEarly(scorer, [60, 120], [7, 8])).toEqual({ runs: [], ignored: 0, unmatched: 2, kept: 2 });
    expect(scorer.early()).toEqual({ points: 2, targets: { down: 2 }, expired: 0, forgotten: 0 });
    // Forecasts of 60 and 120 from origin 0, made after their actuals came.
    scorer.remember(forecast('run-a', 0, [10, 10]));
    expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 2, rmse: Math.sqrt((9 + 4) / 2), mae: 2.5 }]);
    expect(scorer.memory().points).toBe(0);
    // A forecast of 120 from a later origin (60) is scored on the same actual; a repeat of the first is not scored again.
    scorer.remember(forecast('run-a', 60, [9]));
    scorer.remember(forecast('run-a', 0, [10, 10]));
    expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 1, rmse: 1, mae: 1 }]);
    expect(scorer.figures()[0].matched_total).toBe(3);
    // Nothing is scored twice by the next call.
    expect(scorer.scoreEarly()).toEqual([]);
  });

  it('does not score a forecast whose rows reach the actual\'s timestamp: it was made from the value', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100, earlyPoints: 10, earlyMaxAgeMs: 60_000, now: () => 0 });
    keepEarly(scorer, [120], [8]);
    // A forecast dated at its own origin (as no served forecast is, but a library caller may remember one).
    scorer.remember({ identifier: 'site', runId: 'run-a', origin: 120, targets: ['down'], time: [120], values: [[8]] });
    scorer.remember({ identifier: 'site', runId: 'run-b', origin: 60, targets: ['down'], time: [120], values: [[10]] });
    expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-b', points: 1, rmse: 2, mae: 2 }]);
    // The forecast made from the value stays remembered, unscored.
    expect(scorer.memory().points).toBe(1);
    expect(scorer.figures().map((run) => run.run_id)).toEqual(['run-b']);
  });

  it('keeps at most earlyPoints rows, the oldest arrivals let go first, and none older than earlyMaxAgeMs', () => {
    let clock = 0;
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100, earlyPoints: 2, earlyMaxAgeMs: 1_000, now: () => clock });
    keepEarly(scorer, [60, 120, 180], [1, 2, 3]);
    expect(scorer.early()).toMatchObject({ points: 2, forgotten: 1, expired: 0 });
    scorer.remember(forecast('run-a', 0, [0, 0, 0]));
    // 60 was let go for room: only 120 and 180 are scored.
    expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 2, rmse: Math.sqrt((4 + 9) / 2), mae: 2.5 }]);
    clock = 500;
    keepEarly(scorer, [240], [4]);
    expect(scorer.early()).toMatchObject({ points: 2, forgotten: 2, expired: 0 });
    // 180 came at 0 and is too old now; 240 came at 500 and is not.
    clock = 1_001;
    scorer.remember(forecast('run-a', 120, [0, 0]));
    expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 1, rmse: 4, mae: 4 }]);
    expect(scorer.early()).toEqual({ points: 1, targets: { down: 1 }, expired: 1, forgotten: 2 });
  });

  it('adds the values of a later body to a kept row, for the forecasts of its timestamp made after them', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100, earlyPoints: 10, earlyMaxAgeMs: 60_000, now: () => 0 });
    const twoTargets = (runId: string, origin: number, values: [number, number]): LiveForecast => ({ identifier: 'site', runId, origin, targets: ['down', 'up'], time: [60], values: [[values[0]], [values[1]]] });
    keepEarly(scorer, [60], [7]);
    // The first forecast is scored on "down" and waits for "up", which a later body brings.
    scorer.remember(twoTargets('run-a', 0, [10, 10]));
    scorer.scoreEarly();
    const later = scorer.startScoring({ identifier: 'site', time: [60], values: { up: [4] } }, { keepEarly: true });
    later.scoreRows(1);
    expect(later.result()).toMatchObject({ unmatched: 0, kept: 0 });
    expect(scorer.early().targets).toEqual({ down: 1, up: 1 });
    // A forecast of the same timestamp from another origin is scored on both.
    scorer.remember(twoTargets('run-b', -60, [8, 6]));
    expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-b', points: 1, rmse: Math.sqrt((1 + 4) / 2), mae: 1.5 }]);
    expect(scorer.memory().waiting).toEqual({});
  });

  it('keeps none by default, nor the rows scoring was not told to keep', () => {
    const off = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    expect(keepEarly(off, [60], [7])).toMatchObject({ unmatched: 1, kept: 0 });
    const on = createLiveScorer({ windowPoints: 100, memoryPoints: 100, earlyPoints: 10, earlyMaxAgeMs: 60_000 });
    on.score(actualsAt([60], [7]));
    on.remember(forecast('run-a', 0, [10]));
    expect(on.scoreEarly()).toEqual([]);
    expect(on.early().points).toBe(0);
  });

  it('lets an absurd early value go after refusing it once, leaving the point waiting for a corrected one', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100, earlyPoints: 10, earlyMaxAgeMs: 60_000, now: () => 0 });
    keepEarly(scorer, [60], [1e140]);
    scorer.remember(forecast('run-a', 0, [10]));
    expect(scorer.scoreEarly()).toEqual([]);
    expect(scorer.ignored().out_of_range).toBe(1);
    expect(scorer.early().points).toBe(0);
    // Another forecast of the same timestamp meets no early value to refuse again; the corrected actual scores both.
    scorer.remember(forecast('run-a', -60, [12, 12]));
    scorer.scoreEarly();
    expect(scorer.ignored().out_of_range).toBe(1);
    expect(scorer.score(actualsAt([60], [11]))).toEqual([{ run_id: 'run-a', points: 2, rmse: 1, mae: 1 }]);
  });
});
