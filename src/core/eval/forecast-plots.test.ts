import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { runKey, runsBucket } from '../registry/run-store.js';
import { putJson } from '../storage/json-objects.js';
import { createFsStore } from '../storage/fs-store.js';
import { RUN_FILES } from '../registry/run-record.js';
import type { PredictionsArtifact } from '../train/predictions-artifact.js';
import { PLOT_FILES, writeForecastPlots } from './forecast-plots.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-plots-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const START = Date.UTC(2018, 1, 28, 2, 34);
const STEP_MS = 120_000;

/** One-step test predictions every 2 minutes over `days`, with an 80 % band. */
function predictions(days: number): PredictionsArtifact {
  const size = Math.round((days * 86_400_000) / STEP_MS);
  const times = Array.from({ length: size }, (_, i) => START + i * STEP_MS);
  const actual = times.map((_, i) => 100 + 50 * Math.sin(i / 40));
  const predicted = actual.map((value) => value + 5);
  return {
    horizon: 1,
    targets: ['down'],
    times,
    actual: { down: actual },
    predicted: { down: predicted },
    intervals: { down: { '0.8': { lower: predicted.map((value) => value - 10), upper: predicted.map((value) => value + 10) } } },
  };
}

async function plotsOf(runId: string, days: number, artifact = predictions(days)): Promise<Map<string, string>> {
  await putJson(store, runsBucket(settings), runKey(runId, RUN_FILES.predictions), artifact);
  const keys = await writeForecastPlots(store, settings, runId, runId);
  const plots = new Map<string, string>();
  for (const key of keys) plots.set(key.slice(runId.length + 1), (await store.get(runsBucket(settings), key)).toString('utf8'));
  return plots;
}

const xTicks = (svg: string): string[] => [...svg.matchAll(/class="x-tick"[^>]*>([^<]+)</g)].map((match) => match[1]);

describe('core > eval > forecast-plots', () => {
  it('adds the last day of a test of several days as its own plot, its axis in hours of that day', async () => {
    const plots = await plotsOf('several-days', 3);
    expect([...plots.keys()]).toEqual([PLOT_FILES.forecast, PLOT_FILES.lastDay, PLOT_FILES.residuals]);
    const lastDay = plots.get(PLOT_FILES.lastDay)!;
    expect(lastDay).toContain('last day of the test');
    expect(lastDay).toContain('80 % interval');
    // The test ends on 03-03 at 02:32: the last day's ticks fall between 03-02 02:32 and then, hours apart.
    const ticks = xTicks(lastDay);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const tick of ticks) expect(tick).toMatch(/^03-0[23] \d\d:00$/);
    expect(xTicks(plots.get(PLOT_FILES.forecast)!)).toContain('03-01 00:00');
  });

  it('shades on the plot of the whole test the stretch the last-day plot shows in detail, and names that plot', async () => {
    const whole = (await plotsOf('span', 3)).get(PLOT_FILES.forecast)!;
    const span = /<rect class="x-span" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(whole)!;
    // 3 days over the 700 px plot from x 80: the last day starts two thirds of the way across and runs to the edge.
    expect(Number(span[1])).toBeCloseTo(80 + (700 * 2) / 3, 0);
    expect(Number(span[1]) + Number(span[2])).toBeCloseTo(780, 0);
    expect(whole).toContain('last day, in detail in forecast-vs-actual-last-day.svg');
    // Drawn first, under the bands and lines.
    expect(whole.indexOf('class="x-span"')).toBeLessThan(whole.indexOf('<polygon'));
    const single = await plotsOf('span-one-day', 1.2);
    expect(single.get(PLOT_FILES.forecast)!).not.toContain('x-span');
  });

  it('draws a test of thousands of forecasts pale, under bold means over an hour and bands of the bounds\' means', async () => {
    // Five days of 2-minute rows (3,600 forecasts, five a pixel), noisy from row to row, one spike a day: drawn as
    // they were, the forecast over the actual hid it, and both hid the bands.
    const artifact = predictions(5);
    const noisy = artifact.actual.down.map((value, i) => value + (i % 2 === 0 ? 30 : -30) + (i % 720 === 360 ? 400 : 0));
    const predicted = noisy.map((value, i) => (i === 0 ? value : noisy[i - 1]));
    const plots = await plotsOf('dense', 5, {
      ...artifact,
      actual: { down: noisy },
      predicted: { down: predicted },
      intervals: { down: { '0.8': { lower: predicted.map((value) => value - 40), upper: predicted.map((value) => value + 40) } } },
    });
    const whole = plots.get(PLOT_FILES.forecast)!;
    expect(whole).toContain('pale: each forecast and actual, bold and bands: means over 1 h around it');
    const linesOf = (color: string, faint: boolean): number[][] =>
      [...whole.matchAll(new RegExp(`<polyline fill="none" stroke="${color}" ([^>]*?)points="([^"]+)"`, 'g'))]
        .filter((match) => /stroke-opacity/.test(match[1]) === faint)
        .map((match) => match[2].split(' ').map((pair) => Number(pair.split(',')[1])));
    const variation = (ys: number[]): number => ys.slice(1).reduce((sum, y, i) => sum + Math.abs(y - ys[i]), 0);
    for (const color of ['#333333', '#d62728']) {
      const [pale] = linesOf(color, true);
      const [bold] = linesOf(color, false);
      expect(pale, color).toBeDefined();
      expect(bold, color).toBeDefined();
      // The bold mean follows the level, not the row-to-row noise; the pale line keeps every spike above it.
      expect(variation(bold), color).toBeLessThan(variation(pale) / 5);
      expect(Math.min(...pale), color).toBeLessThan(Math.min(...bold) - 50);
    }
    // The band's edges follow the bounds' means as smoothly: a band of the raw bounds zigzagged with the noise.
    const [band] = [...whole.matchAll(/<polygon class="band"[^>]*points="([^"]+)"/g)].map((match) => match[1].split(' ').map((pair) => Number(pair.split(',')[1])));
    const upperEdge = band.slice(0, band.length / 2);
    expect(variation(upperEdge)).toBeLessThan(variation(linesOf('#333333', true)[0]) / 5);
    // The last day, a few hundred forecasts, is drawn as it is.
    expect(plots.get(PLOT_FILES.lastDay)!).not.toContain('stroke-opacity');
  });

  it('plots a test of a day or so whole, without a last-day plot', async () => {
    const plots = await plotsOf('one-day', 1.2);
    expect([...plots.keys()]).toEqual([PLOT_FILES.forecast, PLOT_FILES.residuals]);
  });

  it('draws no last-day plot of a test whose last day holds too few rows to look at alone (daily rows)', async () => {
    const daily = predictions(3);
    const days = 200;
    daily.times = Array.from({ length: days }, (_, i) => START + i * 86_400_000);
    for (const key of ['actual', 'predicted'] as const) daily[key].down = daily[key].down.slice(0, days);
    const band = daily.intervals!.down['0.8'];
    daily.intervals!.down['0.8'] = { lower: band.lower.slice(0, days), upper: band.upper.slice(0, days) };
    expect([...(await plotsOf('daily', 0, daily)).keys()]).toEqual([PLOT_FILES.forecast, PLOT_FILES.residuals]);
    // Hourly rows fill their last day with 25 forecasts: its plot stays.
    const hourly = predictions(3);
    hourly.times = hourly.times.slice(0, 24 * 5).map((_, i) => START + i * 3_600_000);
    for (const key of ['actual', 'predicted'] as const) hourly[key].down = hourly[key].down.slice(0, 24 * 5);
    hourly.intervals!.down['0.8'] = { lower: band.lower.slice(0, 24 * 5), upper: band.upper.slice(0, 24 * 5) };
    expect([...(await plotsOf('hourly', 0, hourly)).keys()]).toEqual([PLOT_FILES.forecast, PLOT_FILES.lastDay, PLOT_FILES.residuals]);
  });

  it('leaves a step whose forecast is not a number out of the residuals, not plotted as the actual itself', async () => {
    const artifact = predictions(1);
    // As predictions.json stores a NaN forecast: null. Actuals run 50..150, residuals of the rest are -5.
    artifact.predicted.down = artifact.predicted.down.map((value, i) => (i % 2 === 0 ? (null as unknown as number) : value));
    const residuals = (await plotsOf('nan-forecasts', 1, artifact)).get(PLOT_FILES.residuals)!;
    const circles = [...residuals.matchAll(/<circle cx="[^"]+" cy="([^"]+)"/g)].map((match) => match[1]);
    expect(circles).toHaveLength(artifact.times.length / 2);
    expect(new Set(circles).size).toBe(1);
    expect(residuals).not.toMatch(/NaN|Infinity/);
  });

  it('names a level that has no band (too few calibration windows) in the legend instead of drawing nothing under its name', async () => {
    const artifact = predictions(1);
    artifact.intervals!.down['0.9999'] = { lower: artifact.times.map(() => null as unknown as number), upper: artifact.times.map(() => null as unknown as number) };
    const forecast = (await plotsOf('uncalibrated', 1, artifact)).get(PLOT_FILES.forecast)!;
    // 0.9999 is 99.99 %, not a rounded 100 %.
    expect(forecast).toContain('>99.99 % interval (uncalibrated: no band)<');
    expect(forecast).toContain('>80 % interval<');
    expect(forecast.match(/<polygon/g)).toHaveLength(1);
    expect(forecast).not.toMatch(/NaN|Infinity/);
  });

  it('shades each of three interval levels apart, widest palest, each named in the legend', async () => {
    const artifact = predictions(1);
    const predicted = artifact.predicted.down;
    artifact.intervals!.down['0.95'] = { lower: predicted.map((value) => value - 20), upper: predicted.map((value) => value + 20) };
    artifact.intervals!.down['0.9'] = { lower: predicted.map((value) => value - 15), upper: predicted.map((value) => value + 15) };
    const forecast = (await plotsOf('three-levels', 1, artifact)).get(PLOT_FILES.forecast)!;
    const fills = [...forecast.matchAll(/<polygon[^>]* fill="([^"]+)"/g)].map((match) => match[1]);
    expect(fills).toHaveLength(3);
    expect(new Set(fills).size).toBe(3);
    expect([...forecast.matchAll(/<text class="legend"[^>]*>([^<]*)</g)].map((match) => match[1]).slice(0, 3)).toEqual(['95 % interval', '90 % interval', '80 % interval']);
  });

  it('plots every target a run forecasts, the first in plots/ and each further one in plots/<target>/', async () => {
    const artifact = predictions(1);
    artifact.targets = ['down', 'up'];
    artifact.actual.up = artifact.actual.down.map((value) => value / 10);
    artifact.predicted.up = artifact.predicted.down.map((value) => value / 10);
    const plots = await plotsOf('two-targets', 1, artifact);
    expect([...plots.keys()]).toEqual([PLOT_FILES.forecast, PLOT_FILES.residuals, 'plots/up/forecast-vs-actual.svg', 'plots/up/residuals.svg']);
    expect(plots.get(PLOT_FILES.forecast)).toContain('down forecast vs actual');
    expect(plots.get('plots/up/forecast-vs-actual.svg')).toContain('up forecast vs actual');
    expect(plots.get('plots/up/forecast-vs-actual.svg')).toContain('up (original units)');
    expect(plots.get('plots/up/forecast-vs-actual.svg')).not.toContain('80 % interval');
  });

  // Before, `a b` and `a_b` were both plots/a_b/: a run's plots of `a b` were replaced by those of `a_b`.
  it('gives further targets whose names come out as one folder name a folder each', async () => {
    const artifact = predictions(1);
    artifact.targets = ['down', 'a b', 'a_b'];
    for (const [target, scale] of [['a b', 10], ['a_b', 100]] as const) {
      artifact.actual[target] = artifact.actual.down.map((value) => value / scale);
      artifact.predicted[target] = artifact.predicted.down.map((value) => value / scale);
    }
    const plots = await plotsOf('twin-folders', 1, artifact);
    expect([...plots.keys()]).toEqual([
      PLOT_FILES.forecast,
      PLOT_FILES.residuals,
      'plots/a_b-c8687a08/forecast-vs-actual.svg',
      'plots/a_b-c8687a08/residuals.svg',
      'plots/a_b/forecast-vs-actual.svg',
      'plots/a_b/residuals.svg',
    ]);
    expect(plots.get('plots/a_b-c8687a08/forecast-vs-actual.svg')).toContain('a b forecast vs actual');
    expect(plots.get('plots/a_b/forecast-vs-actual.svg')).toContain('a_b forecast vs actual');
  });

  it('refuses a damaged predictions.json as the run corrupt, naming the run and the file, and writes no plot', async () => {
    const whole = predictions(1);
    const damaged: Array<[string, unknown, string]> = [
      ['forecast-rows', [{ time: '2018-02-28T02:34:00Z', down: 1 }], 'it is not a JSON object'],
      ['no-targets', { horizon: 1, times: whole.times }, 'its targets are not a list of column names'],
      ['short-series', { ...whole, predicted: { down: whole.predicted.down.slice(1) } }, 'not one number for each of its 720 times'],
      ['text-values', { ...whole, actual: { down: whole.actual.down.map(String) } }, 'its actual or predicted values of down'],
      ['bad-band', { ...whole, intervals: { down: { '0.8': { lower: [] } } } }, 'its intervals of down'],
    ];
    for (const [runId, artifact, why] of damaged) {
      // Before, drawing from these threw a TypeError (FLTS_INTERNAL), or plotted nothing without a word.
      await expect(plotsOf(runId, 1, artifact as PredictionsArtifact), runId).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining(why), details: { run_id: runId, key: runKey(runId, RUN_FILES.predictions) } });
      expect(await store.exists(runsBucket(settings), runKey(runId, PLOT_FILES.forecast)), runId).toBe(false);
    }
    await store.put(runsBucket(settings), runKey('not-json', RUN_FILES.predictions), '{"horizon": 1, "targets": ["do');
    await expect(writeForecastPlots(store, settings, 'not-json', 'x')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('it is not valid JSON') });
  });
});
