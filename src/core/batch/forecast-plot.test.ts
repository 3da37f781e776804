import { describe, expect, it } from 'vitest';
import { renderLineChart } from '../charts/svg-chart.js';
import type { BatchForecast } from './batch-forecast.js';
import { forecastPlotFiles, renderForecastPlot } from './forecast-plot.js';

const STEP_MS = 120_000;
const START = Date.UTC(2018, 2, 1, 0, 0);
const LABELS = { runId: 'run-42', modelType: 'GRU', configHash: 'abcdef0123456789', inputRows: 4 };

/** Every window of `rows` rows of data, read `seq` rows at a time, forecast `horizon` steps; bands at three levels. */
function batchForecast(rows: number, seq: number, horizon: number): { forecast: BatchForecast; history: { time: Float64Array; values: Float64Array[] } } {
  const time = Float64Array.from({ length: rows }, (_, i) => START + i * STEP_MS);
  const values = [Float64Array.from({ length: rows }, (_, i) => 100 + (i % 7) * 10)];
  const windows = rows - seq + 1;
  const size = windows * horizon;
  const origin = new Float64Array(size);
  const times = new Float64Array(size);
  const step = new Int32Array(size);
  const predicted = new Float64Array(size);
  for (let w = 0; w < windows; w++) {
    for (let h = 0; h < horizon; h++) {
      const r = w * horizon + h;
      origin[r] = time[w + seq - 1];
      times[r] = origin[r] + (h + 1) * STEP_MS;
      step[r] = h + 1;
      // Each window's forecast tells it apart: a time reached by several windows must show the latest one's.
      predicted[r] = 1000 * w + h;
    }
  }
  const band = (width: number) => ({ lower: predicted.map((value) => value - width), upper: predicted.map((value) => value + width) });
  const forecast: BatchForecast = {
    targets: ['down'],
    horizon,
    windows,
    origin,
    time: times,
    step,
    predicted: [predicted],
    actual: [new Float64Array(size).fill(Number.NaN)],
    intervals: { down: { '0.8': band(5), '0.95': band(9), '0.5': band(2) } },
    forwardPasses: 1,
  };
  return { forecast, history: { time, values } };
}

describe('core > batch > forecast-plot', () => {
  it('plots the data\'s tail, the latest forecast of each time and the last window\'s horizon past the data, with the batch\'s own numbers', () => {
    const [rows, seq, horizon] = [200, 4, 3];
    const { forecast, history } = batchForecast(rows, seq, horizon);
    const svg = renderForecastPlot(forecast, history, 0, LABELS);
    // 120 rows of data (the fewest shown), then the 3 forecast steps past its end.
    const tail = 120;
    const lastWindow = rows - seq;
    const tailTimes = Array.from(history.time.subarray(rows - tail));
    const futureTimes = [1, 2, 3].map((h) => history.time[rows - 1] + h * STEP_MS);
    // Over the data each time's latest forecast is one step ahead, from the window ending the row before it.
    const latest = (index: number): number => (index < rows ? 1000 * (index - seq) : 1000 * lastWindow + (index - rows));
    const forecastValues = [...tailTimes.map((_, i) => latest(rows - tail + i)), ...futureTimes.map((_, h) => latest(rows + h))];
    const bandOf = (width: number) => ({ lower: forecastValues.map((value) => value - width), upper: forecastValues.map((value) => value + width) });
    const expected = renderLineChart({
      title: 'down forecast, run run-42 (GRU, config_hash abcdef012345)',
      xLabel: 'time (UTC)',
      yLabel: 'down (original units)',
      xTimes: [...tailTimes, ...futureTimes],
      xMarker: { at: tail, name: 'end of the data (2018-03-01T06:38:00 UTC)' },
      bands: [
        { name: '95 % interval', ...bandOf(9) },
        { name: '80 % interval', ...bandOf(5) },
        { name: '50 % interval', ...bandOf(2) },
      ],
      series: [
        { name: 'actual', values: [...Array.from(history.values[0].subarray(rows - tail)), Number.NaN, Number.NaN, Number.NaN], color: '#333333' },
        { name: 'forecast', values: forecastValues, color: '#d62728' },
      ],
    });
    expect(svg).toBe(expected);
    expect(new Set([...svg.matchAll(/<polygon class="band" fill="([^"]+)"/g)].map((match) => match[1])).size).toBe(3);
  });

  it('shows more of the data for a long input window or horizon, and all of it when there is less', () => {
    const points = (svg: string): number => [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)][0][1].split(' ').length;
    const long = batchForecast(400, 4, 100);
    expect(points(renderForecastPlot(long.forecast, long.history, 0, LABELS))).toBe(300);
    const wide = batchForecast(400, 200, 2);
    expect(points(renderForecastPlot(wide.forecast, wide.history, 0, { ...LABELS, inputRows: 200 }))).toBe(200);
    const short = batchForecast(30, 4, 2);
    expect(points(renderForecastPlot(short.forecast, short.history, 0, LABELS))).toBe(30);
  });

  it('names a further target\'s plot after it, beside the first', () => {
    expect(forecastPlotFiles('out/forecast.svg', ['down', 'up', 'a b'])).toEqual(['out/forecast.svg', 'out/forecast.up.svg', 'out/forecast.a_b.svg']);
    // Before, `a b` and `a_b` were both forecast.a_b.svg, and the second plot written replaced the first.
    expect(forecastPlotFiles('out/forecast.svg', ['down', 'a b', 'a_b'])).toEqual(['out/forecast.svg', 'out/forecast.a_b-c8687a08.svg', 'out/forecast.a_b.svg']);
  });
});
