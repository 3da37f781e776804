import { describe, expect, it, vi } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { prophetArtifactProblem } from './prophet-artifact.js';
import { fitProphetModel, loadProphetModel } from './prophet-model.js';

const STEP_MS = 120_000;
const rows = 1500;
const time = Float64Array.from({ length: rows }, (_, i) => Date.UTC(2018, 1, 1) + i * STEP_MS);
const down = Float64Array.from({ length: rows }, (_, i) => 0.5 + 0.3 * Math.sin((2 * Math.PI * i) / 720));
const window = { targets: ['down'], features: ['down'], inputSeqLen: 10, outputSeqLen: 1 };

describe('core > models > prophet-model', () => {
  const { model } = fitProphetModel({ time, columns: ['down'], values: { down } }, window, defaultSettings().training.prophet, 42);
  const hoursAhead = (hours: number): number => time[rows - 1] + hours * 3_600_000;
  const forecast = async (times: number[]): Promise<number[]> => Array.from(await model.predict({ windows: new Float32Array(times.length * 10), size: times.length, forecastTimes: Float64Array.from(times) }));

  it('gives each row the forecast of its own time, however the rows of a batch are ordered', async () => {
    const [one, two, three] = await forecast([hoursAhead(1), hoursAhead(2), hoursAhead(3)]);
    expect(new Set([one, two, three]).size).toBe(3);
    expect(await forecast([hoursAhead(3), hoursAhead(1), hoursAhead(2), hoursAhead(1)])).toEqual([three, one, two, one]);
  });

  it('refuses, coded, a seed its optimizer cannot take (negative, fractional, past 32 bits), and takes the largest it can', () => {
    const frame = { time, columns: ['down'], values: { down } };
    for (const seed of [-1, 1.5, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(() => fitProphetModel(frame, window, defaultSettings().training.prophet, seed)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { seed } }));
    }
    expect(fitProphetModel(frame, window, defaultSettings().training.prophet, 2 ** 32 - 1).artifact.seed).toBe(2 ** 32 - 1);
  });

  it('forecasts a time with milliseconds as its nearest second', async () => {
    const [whole] = await forecast([hoursAhead(1)]);
    expect(await forecast([hoursAhead(1) + 300])).toEqual([whole]);
  });

  it('loads a model that forecasts what the fitted one did, load after load, once the series takes weekly and daily seasonality', async () => {
    // Three weeks of hours: augurs takes weekly and daily features, laid out in an order each Prophet draws anew.
    const hours = 21 * 24;
    const hourly = Float64Array.from({ length: hours }, (_, i) => Date.UTC(2018, 1, 5) + i * 3_600_000);
    const load = Float64Array.from({ length: hours }, (_, i) => 0.5 + 0.2 * Math.sin((2 * Math.PI * i) / 24) + 0.1 * Math.cos((2 * Math.PI * i) / 168) + 0.05 * Math.sin(i * 0.37));
    const frame = { time: hourly, columns: ['down'], values: { down: load } };
    const fitted = fitProphetModel(frame, window, defaultSettings().training.prophet, 42);
    const ahead = Float64Array.from({ length: 12 }, (_, i) => hourly[hours - 1] + (i + 1) * 3_600_000);
    const forecastOf = async (model: typeof fitted.model): Promise<number[]> => Array.from(await model.predict({ windows: new Float32Array(ahead.length * 10), size: ahead.length, forecastTimes: ahead }));
    const expected = await forecastOf(fitted.model);
    for (let i = 0; i < 4; i++) {
      const loaded = loadProphetModel(JSON.parse(JSON.stringify(fitted.artifact)), window);
      expect(await forecastOf(loaded)).toEqual(expected);
      loaded.dispose();
    }
  });

  it('loads an artifact written without featureKeys to forecast what its fitted model did, load after load', async () => {
    const hours = 21 * 24;
    const hourly = Float64Array.from({ length: hours }, (_, i) => Date.UTC(2018, 1, 5) + i * 3_600_000);
    const load = Float64Array.from({ length: hours }, (_, i) => 0.5 + 0.2 * Math.sin((2 * Math.PI * i) / 24) + 0.1 * Math.cos((2 * Math.PI * i) / 168) + 0.05 * Math.sin(i * 0.37));
    const fitted = fitProphetModel({ time: hourly, columns: ['down'], values: { down: load } }, window, defaultSettings().training.prophet, 7);
    const ahead = Float64Array.from({ length: 12 }, (_, i) => hourly[hours - 1] + (i + 1) * 3_600_000);
    const forecastOf = async (model: typeof fitted.model): Promise<number[]> => Array.from(await model.predict({ windows: new Float32Array(ahead.length * 10), size: ahead.length, forecastTimes: ahead }));
    const expected = await forecastOf(fitted.model);
    const { featureKeys, ...older } = fitted.artifact.series[0];
    expect(featureKeys).toHaveLength(fitted.artifact.series[0].params.beta.length);
    for (let i = 0; i < 4; i++) {
      const loaded = loadProphetModel({ ...fitted.artifact, series: [JSON.parse(JSON.stringify(older))] }, window);
      expect(await forecastOf(loaded)).toEqual(expected);
      loaded.dispose();
    }
  });

  // augurs panics on these inside its WebAssembly, and the Prophet it leaves stays borrowed: freeing it threw
  // "attempted to take ownership of Rust value while it was borrowed" in place of what failed.
  it('fails a fit augurs panics on as FLTS_TRAIN_FAILED saying why, and fits again after it', () => {
    const far = { time: Float64Array.from(time, (ms) => ms * 1e10), columns: ['down'], values: { down } };
    expect(() => fitProphetModel(far, window, defaultSettings().training.prophet, 42)).toThrow(
      expect.objectContaining({ code: 'FLTS_TRAIN_FAILED', message: expect.stringMatching(/^Prophet fit failed: .*expected i64/) }),
    );
    expect(fitProphetModel({ time, columns: ['down'], values: { down } }, window, defaultSettings().training.prophet, 42).artifact.series).toHaveLength(1);
  });

  // A series the optimiser gives up on with changepoints enough failed as FLTS_TRAIN_FAILED, kind internal: exit 1
  // and a hint to read the run.json, for what the series and the settings do.
  it("fails, coded as the settings' and the data's, a fit its optimiser gives up on, with the optimiser's reason, which runs over a line", () => {
    const twoRows = { time: time.slice(0, 2), columns: ['down'], values: { down: down.slice(0, 2) } };
    expect(() => fitProphetModel(twoRows, window, defaultSettings().training.prophet, 42)).toThrow(
      expect.objectContaining({
        code: 'FLTS_TRAIN_OPTIMIZER_FAILED',
        kind: 'usage',
        message: expect.stringMatching(/^Prophet's optimiser found no fit for target "down" over 2 training rows \(.*Optimization terminated with error: Line search failed.*\)\. Train the other model types without PROPHET/),
        details: { modelType: 'PROPHET', target: 'down', rows: 2 },
      }),
    );
  });

  // A few hundred rows with CHANGEPOINT_RANGE 0.001-0.01 failed as FLTS_TRAIN_FAILED, the optimiser's "Line search
  // failed" alone. One changepoint fits 2,000 of these rows, so the settings cannot be refused before the fit.
  it('fails, coded, a fit its optimiser gives up on with fewer than two changepoints, naming the settings and the least range that places two', () => {
    const frame = { time: time.slice(0, 300), columns: ['down'], values: { down: down.slice(0, 300) } };
    const prophet = defaultSettings().training.prophet;
    for (const changepointRange of [0.001, 0.005, 0.0099]) {
      expect(() => fitProphetModel(frame, window, { ...prophet, changepointRange }, 42)).toThrow(
        expect.objectContaining({
          code: 'FLTS_TRAIN_OPTIMIZER_FAILED',
          message: expect.stringMatching(new RegExp(`^Prophet's optimiser found no fit for target "down" \\(.*Line search failed.*\\): CHANGEPOINT_RANGE ${changepointRange} and N_CHANGEPOINTS 25 over 300 training rows leave its trend .*changepoint.* a CHANGEPOINT_RANGE of at least 0\\.01 `)),
          details: expect.objectContaining({ setting: 'training.prophet.changepointRange', leastChangepointRange: 0.01, rows: 300 }),
        }),
      );
    }
    expect(() => fitProphetModel(frame, window, { ...prophet, nChangepoints: 0 }, 42)).toThrow(
      expect.objectContaining({ code: 'FLTS_TRAIN_OPTIMIZER_FAILED', message: expect.stringMatching(/a single changepoint at the first time\. Give it 2 changepoints: N_CHANGEPOINTS of at least 2/), details: expect.objectContaining({ setting: 'training.prophet.nChangepoints' }) }),
    );
    // The least range named fits, and so does one changepoint where the series has a daily season to fit.
    expect(fitProphetModel(frame, window, { ...prophet, changepointRange: 0.01 }, 42).artifact.series[0].params.delta).toHaveLength(2);
    const days = { time: Float64Array.from({ length: 2000 }, (_, i) => Date.UTC(2018, 1, 1) + i * STEP_MS), columns: ['down'], values: { down: Float64Array.from({ length: 2000 }, (_, i) => 0.5 + 0.3 * Math.sin((2 * Math.PI * i) / 720) + (i % 7) * 0.01) } };
    expect(fitProphetModel(days, window, { ...prophet, changepointRange: 0.001 }, 42).artifact.series[0].params.delta).toHaveLength(1);
  });

  // The optimiser wrote "optimization failed: 70" to stderr beside the logger: a stray line before the coded error
  // on a terminal, and a line that is not JSON among JSON-lines logs.
  it('writes nothing to stderr when its optimiser gives up, and leaves stderr as it found it', () => {
    const twoRows = { time: time.slice(0, 2), columns: ['down'], values: { down: down.slice(0, 2) } };
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    });
    try {
      expect(() => fitProphetModel(twoRows, window, defaultSettings().training.prophet, 42)).toThrow(expect.objectContaining({ code: 'FLTS_TRAIN_OPTIMIZER_FAILED' }));
      process.stderr.write('after the fit\n');
    } finally {
      write.mockRestore();
    }
    expect(written).toEqual(['after the fit\n']);
  });

  // Such a model forecast Infinity for every time and was kept, where the fit on a worker was refused at its load.
  it('fails, coded, a fit whose model forecasts what no float32 holds (a series around 1e300)', () => {
    const huge = { time, columns: ['down'], values: { down: down.map((value) => value * 1e300) } };
    expect(() => fitProphetModel(huge, window, defaultSettings().training.prophet, 42)).toThrow(
      expect.objectContaining({ code: 'FLTS_TRAIN_FAILED', message: expect.stringMatching(/^Prophet fit failed: its model forecasts [\d.e+]+ for target "down", which no float32 forecast holds\.$/) }),
    );
  });

  it('fails a fit whose options augurs refuses as it builds the model as FLTS_TRAIN_FAILED', () => {
    const settings = { ...defaultSettings().training.prophet, changepointRange: 0 };
    expect(() => fitProphetModel({ time, columns: ['down'], values: { down } }, window, settings, 42)).toThrow(expect.objectContaining({ code: 'FLTS_TRAIN_FAILED', message: expect.stringMatching(/invalid float provided: 0/) }));
  });

  it('refuses to load a series augurs panics on with the reason, not the borrowed Prophet left behind', () => {
    const { artifact } = fitProphetModel({ time, columns: ['down'], values: { down } }, window, defaultSettings().training.prophet, 42);
    const damaged = structuredClone(artifact);
    damaged.series[0].ds[3] += 0.5;
    expect(() => loadProphetModel(damaged, window)).toThrow(/expected i64 for target "down"/);
  });

  // The prior scales have no upper bound (a large one is a setting taken), and a damaged scale of 1e300 let deltas
  // and betas of any size through the size check.
  it('refuses an artifact whose prior scale is not the one its run recorded for the fit, and takes a large one it recorded', () => {
    const { model, artifact } = fitProphetModel({ time, columns: ['down'], values: { down } }, window, defaultSettings().training.prophet, 42);
    model.dispose();
    const recorded = { model_type: 'PROPHET', n_changepoints: 25, changepoint_range: 0.8, changepoint_prior_scale: 0.05, seasonality_prior_scale: 10, seasonality_mode: 'additive' };
    expect(prophetArtifactProblem(JSON.parse(JSON.stringify(artifact)), window, recorded)).toBeUndefined();
    const looseTrend = JSON.parse(JSON.stringify(artifact));
    looseTrend.options.changepointPriorScale = 1e300;
    looseTrend.series[0].params.delta[3] = 1e6;
    expect(prophetArtifactProblem(looseTrend, window, recorded)).toBe('has options.changepointPriorScale 1e+300, where its run recorded changepoint_prior_scale 0.05 for its fit');
    const looseSeasons = JSON.parse(JSON.stringify(artifact));
    looseSeasons.options.seasonalityPriorScale = 1e300;
    looseSeasons.series[0].params.beta[0] = 1e6;
    expect(prophetArtifactProblem(looseSeasons, window, recorded)).toBe('has options.seasonalityPriorScale 1e+300, where its run recorded seasonality_prior_scale 10 for its fit');
    // A scale the run recorded was the fit's, however large; a record without the option compares nothing.
    expect(prophetArtifactProblem(looseTrend, window, { ...recorded, changepoint_prior_scale: 1e300 })).toBeUndefined();
    expect(prophetArtifactProblem(looseTrend, window, { model_type: 'PROPHET' })).toBeUndefined();
  });

  it('writes artifacts whose fitted sizes its checks take, for series and settings far from the usual', () => {
    const prophet = defaultSettings().training.prophet;
    const n = 200;
    const series = {
      step: (i: number) => (i < n / 2 ? 0 : 1),
      spike: (i: number) => (i === n / 2 ? 1 : 0.001),
      zigzag: (i: number) => (i % 2 ? 1 : -1),
      zeros: () => 0,
      noise: (i: number) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453),
    };
    const settings = [prophet, { ...prophet, changepointPriorScale: 100 }, { ...prophet, seasonalityPriorScale: 1e-4 }, { ...prophet, seasonalityMode: 'multiplicative' as const }];
    for (const [name, value] of Object.entries(series)) {
      for (const setting of settings) {
        const frame = { time: time.slice(0, n), columns: ['down'], values: { down: Float64Array.from({ length: n }, (_, i) => value(i)) } };
        const { model, artifact } = fitProphetModel(frame, window, setting, 42);
        model.dispose();
        expect({ name, setting, problem: prophetArtifactProblem(JSON.parse(JSON.stringify(artifact)), window) }).toEqual({ name, setting, problem: undefined });
      }
    }
  });
});

