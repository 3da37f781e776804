import { describe, expect, it } from 'vitest';
import { bandShades, formatTick, formatTicks, gapsAfter, logTicks, niceAxis, niceTicks, renderLineChart, timeTicks, wrapTitle } from './svg-chart.js';

const HOUR_MS = 3_600_000;

/** The y-axis labels of a chart with their heights (larger = lower on the page). */
function yLabels(svg: string): { label: string; y: number }[] {
  return [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" text-anchor="end">([^<]*)<\/text>/g)].map((match) => ({ y: Number(match[1]), label: match[2] }));
}

/** The x-axis labels of a chart, in order, with their positions and anchors. */
function xLabels(svg: string): { label: string; anchor: string; x: number }[] {
  return [...svg.matchAll(/<text class="x-tick" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">([^<]*)<\/text>/g)].map((match) => ({ x: Number(match[1]), anchor: match[2], label: match[3] }));
}

/** The polylines drawn in a colour, each as its points. */
function linesOf(svg: string, color: string): { x: number; y: number }[][] {
  return [...svg.matchAll(new RegExp(`<polyline fill="none" stroke="${color}"[^>]*points="([^"]+)"`, 'g'))].map((match) =>
    match[1].split(' ').map((pair) => ({ x: Number(pair.split(',')[0]), y: Number(pair.split(',')[1]) })),
  );
}

/** The band polygons, each as its points. */
function bandPolygons(svg: string): { x: number; y: number }[][] {
  return [...svg.matchAll(/<polygon class="band"[^>]*points="([^"]+)"/g)].map((match) => match[1].split(' ').map((pair) => ({ x: Number(pair.split(',')[0]), y: Number(pair.split(',')[1]) })));
}

/** The y of the x axis's line (the plot's bottom edge). */
const axisY = (svg: string): number => Number(/<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="\1" stroke="#333"\/>/.exec(svg)![1]);

/** The legend's entries, in order, with where their text starts. */
function legendEntries(svg: string): { label: string; x: number; y: number }[] {
  return [...svg.matchAll(/<text class="legend" x="([\d.]+)" y="([\d.]+)">([^<]*)<\/text>/g)].map((match) => ({ x: Number(match[1]), y: Number(match[2]), label: match[3] }));
}

describe('core > charts > svg-chart', () => {
  it('puts axis ticks on round values and writes them short', () => {
    expect(niceTicks(0.008733, 0.01296)).toEqual([0.009, 0.01, 0.011, 0.012]);
    expect(niceTicks(0, 3.1e8)).toEqual([0, 1e8, 2e8, 3e8]);
    expect(niceTicks(0, 3.1e8).map(formatTick)).toEqual(['0', '100M', '200M', '300M']);
    // A residual axis off zero: the round step giving nearest five ticks, not the first one wide enough (0 and 500M).
    expect(niceTicks(-3.5e8, 8.5e8).map(formatTick)).toEqual(['-200M', '0', '200M', '400M', '600M', '800M']);
    expect(niceTicks(0, 1.25e9).map(formatTick)).toEqual(['0', '200M', '400M', '600M', '800M', '1G', '1.2G']);
    expect(formatTick(0.015)).toBe('0.015');
    expect(formatTick(-2500)).toBe('-2.5k');
    expect(formatTick(1.2e15)).toBe('1.2P');
  });

  it('puts time ticks on round times, not on whichever rows fall at even spacing', () => {
    const start = Date.UTC(2024, 0, 8, 0, 0);
    const end = start + 2 * 24 * HOUR_MS - 2 * 60_000;
    const { ticks, stepMs } = timeTicks(start, end);
    expect(stepMs).toBe(12 * HOUR_MS);
    expect(ticks.map((tick) => new Date(tick).toISOString())).toEqual(['2024-01-08T00:00:00.000Z', '2024-01-08T12:00:00.000Z', '2024-01-09T00:00:00.000Z', '2024-01-09T12:00:00.000Z']);
    const offGrid = timeTicks(Date.UTC(2024, 0, 8, 3, 7), Date.UTC(2024, 0, 8, 3, 55));
    expect(offGrid.ticks.every((tick) => tick % offGrid.stepMs === 0)).toBe(true);
    expect(timeTicks(start, start + 400 * 24 * HOUR_MS).ticks.length).toBeLessThanOrEqual(5);
    // 2.8 days from 02:34: every 12 hours (five ticks), not every day (two).
    const uneven = timeTicks(Date.UTC(2018, 1, 28, 2, 34), Date.UTC(2018, 1, 28, 2, 34) + 2.8 * 24 * HOUR_MS);
    expect(uneven.stepMs).toBe(12 * HOUR_MS);
    expect(uneven.ticks).toHaveLength(5);
  });

  it('labels a time axis at round times, kept inside the chart', () => {
    // Two days at a 2-minute step, midnight to midnight: labels sit at 00:00 and 12:00, 12 hours apart.
    const times = Array.from({ length: 1441 }, (_, i) => Date.UTC(2024, 0, 8, 0, 2 * i));
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', xTimes: times, series: [{ name: 'forecast', values: times.map((_, i) => i % 7) }] });
    const labels = xLabels(svg);
    expect(labels.map((l) => l.label)).toEqual(['01-08 00:00', '01-08 12:00', '01-09 00:00', '01-09 12:00', '01-10 00:00']);
    expect(labels.map((l) => l.anchor)).toEqual(['middle', 'middle', 'middle', 'middle', 'end']);
    const xs = labels.map((l) => l.x);
    expect(xs[2] - xs[1]).toBeCloseTo(xs[3] - xs[2], 0);
  });

  it('labels an index axis with round integers and marks a chosen x', () => {
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'loss', values: Array.from({ length: 28 }, (_, i) => 1 / (i + 1)) }], xMarker: { at: 17, name: 'kept epoch' } });
    expect(xLabels(svg).map((l) => l.label)).toEqual(['5', '10', '15', '20', '25']);
    expect(svg).toContain('kept epoch');
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2);
    const single = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'loss', values: [0.5] }] });
    expect(xLabels(single).map((l) => l.label)).toEqual(['1']);
  });

  it('draws interval bands and date ticks', () => {
    const times = Array.from({ length: 10 }, (_, i) => Date.UTC(2018, 1, 28, 3, 2 * i));
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      xTimes: times,
      bands: [{ name: '80 % interval', lower: times.map(() => 0), upper: times.map(() => 2) }],
      series: [{ name: 'forecast', values: times.map(() => 1) }],
    });
    expect(svg).toContain('<polygon');
    expect(svg).toContain('02-28 03:00');
    expect(svg).toContain('80 % interval');
  });

  it('spaces a log axis by decades and keeps a loss curve\'s later epochs apart', () => {
    expect(logTicks(6.9e-4, 0.0129)).toEqual([0.001, 0.002, 0.005, 0.01]);
    expect(logTicks(6.8e-4, 1.7e-3)).toEqual([8e-4, 0.001, 0.0012, 0.0014, 0.0016]);
    expect(logTicks(1e-6, 10)).toEqual([1e-6, 1e-5, 1e-4, 0.001, 0.01, 0.1, 1, 10]);
    // An epoch-1 loss twenty times the rest: on a linear axis the later epochs share a few pixels.
    const loss = [0.0138, ...Array.from({ length: 20 }, (_, i) => 7.4e-4 - i * 2e-6)];
    const spread = (svg: string): number => {
      const ys = [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)][0][1].split(' ').slice(1).map((pair) => Number(pair.split(',')[1]));
      return Math.max(...ys) - Math.min(...ys);
    };
    const linear = renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'loss', values: loss }] });
    const log = renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'loss', values: loss }], yLog: true });
    expect(spread(log)).toBeGreaterThan(3 * spread(linear));
    const labels = yLabels(log);
    expect(labels.map((l) => l.label)).toEqual(['0.0005', '0.001', '0.002', '0.005', '0.01', '0.02']);
    // Equal ratios sit at equal distances: 0.001 -> 0.01 is one decade, 0.002 -> 0.005 a bit under half of one.
    expect((labels[1].y - labels[4].y) * Math.log10(2.5)).toBeCloseTo(labels[2].y - labels[3].y, 0);
    const withZero = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'r', values: [0, 1, 2] }], yLog: true });
    expect(yLabels(withZero).map((l) => l.label)).toEqual(niceTicks(0, 2).map(formatTick));
  });

  it('labels both sides of a residual axis, not 0, 500M and 1G alone', () => {
    // The GRU's residuals on PobleSec's test file: -474M to 1.06G.
    expect(niceTicks(-4.74e8, 1.055e9).map(formatTick)).toEqual(['-400M', '-200M', '0', '200M', '400M', '600M', '800M', '1G']);
  });

  it('gives every series of a six-model backtest its own colour and a legend entry inside the chart', () => {
    const models = ['NAIVE', 'LSTM', 'GRU', 'PROPHET', 'SNAIVE', 'MSTL'];
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: models.map((name, i) => ({ name, values: [i, i + 1, i + 2] })) });
    const strokes = [...svg.matchAll(/<polyline fill="none" stroke="([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(strokes).size).toBe(6);
    const entries = legendEntries(svg);
    expect(entries.map((entry) => entry.label)).toEqual(models);
    for (const entry of entries) expect(entry.x + entry.label.length * 7).toBeLessThanOrEqual(800);
  });

  it('wraps a legend too wide for one row and moves the plot down below it', () => {
    const series = Array.from({ length: 6 }, (_, i) => ({ name: `forecast of model number ${i + 1}`, values: [i, i + 1] }));
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series });
    const entries = legendEntries(svg);
    expect(entries).toHaveLength(6);
    for (const entry of entries) expect(entry.x + entry.label.length * 7).toBeLessThanOrEqual(800);
    const rows = [...new Set(entries.map((entry) => entry.y))].sort((a, b) => a - b);
    expect(rows.length).toBeGreaterThan(1);
    const top = Math.min(...yLabels(svg).map((label) => label.y - 4));
    expect(top).toBeGreaterThan(rows.at(-1)! + 4);
  });

  it('turns the y-axis title with translate and a plain rotate, which every SVG renderer reads', () => {
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'down (original units)', series: [{ name: 'a', values: [1, 2] }] });
    expect(svg).toMatch(/<text[^>]*transform="translate\(16 [\d.]+\) rotate\(-90\)"[^>]*>down \(original units\)<\/text>/);
    expect(svg).not.toMatch(/rotate\(-90 /);
  });

  it('says so when there is nothing to plot, with no NaN and no empty shapes in the SVG', () => {
    for (const values of [[], [Number.NaN, Number.NaN], [Number.POSITIVE_INFINITY]]) {
      const svg = renderLineChart({
        title: 't',
        xLabel: 'x',
        yLabel: 'y',
        xTimes: values.map((_, i) => Date.UTC(2018, 2, 1, 0, 2 * i)),
        bands: [{ name: '80 % interval', lower: values, upper: values }],
        series: [{ name: 'forecast', values }],
      });
      expect(svg).toContain('no finite values to plot');
      expect(yLabels(svg)).toEqual([]);
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
      expect(svg).not.toContain('points=""');
    }
    const constant = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values: [5, 5, 5] }] });
    expect(constant).not.toMatch(/NaN|Infinity/);
    expect(constant).not.toContain('no finite values');
  });

  // Prophet on a constant series of 5e7 forecast it off by 1e-8, with bands as narrow: eval --plot wrote
  // y="Infinity" for every point, as it did for a constant series of 1e300.
  it('draws values whose range is below twelve digits of their size flat, at finite coordinates', () => {
    const yCoordinates = (svg: string): number[] => [...svg.matchAll(/points="([^"]*)"/g)].flatMap((m) => m[1].split(' ').map((pair) => Number(pair.split(',')[1])));
    for (const level of [5e7, 1e300, -3e15]) {
      const actual = [level, level, level];
      const forecast = actual.map((v, i) => v + i * Math.abs(level) * 1e-16);
      const svg = renderLineChart({
        title: 't',
        xLabel: 'x',
        yLabel: 'y',
        bands: [{ name: '80 % interval', lower: forecast.map((v) => v - Math.abs(level) * 1e-16), upper: forecast.map((v) => v + Math.abs(level) * 1e-16) }],
        series: [{ name: 'actual', values: actual }, { name: 'forecast', values: forecast }],
      });
      expect(svg).not.toMatch(/NaN|Infinity/);
      expect(yCoordinates(svg).length).toBeGreaterThan(0);
      expect(yCoordinates(svg).every(Number.isFinite)).toBe(true);
      expect(yLabels(svg).length).toBeGreaterThan(1);
    }
  });

  it('gives each of three or more nested interval bands its own shade, palest outside, named in the legend in that shade', () => {
    const levels = [['99 % interval', 40], ['95 % interval', 28], ['90 % interval', 22], ['80 % interval', 16]] as const;
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      bands: levels.map(([name, width]) => ({ name, lower: [100 - width, 90 - width], upper: [100 + width, 90 + width] })),
      series: [{ name: 'forecast', values: [100, 90] }],
    });
    const fills = [...svg.matchAll(/<polygon class="band" fill="(#[0-9a-f]{6})"/g)].map((match) => match[1]);
    expect(fills).toHaveLength(4);
    expect(new Set(fills).size).toBe(4);
    // Opaque, so that every level shows the shade its legend swatch has, not a blend of the bands under it.
    expect(svg).not.toContain('fill-opacity');
    const lightness = (hex: string): number => [1, 3, 5].reduce((sum, at) => sum + Number.parseInt(hex.slice(at, at + 2), 16), 0);
    for (let i = 1; i < fills.length; i++) expect(lightness(fills[i])).toBeLessThan(lightness(fills[i - 1]) - 30);
    const swatches = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="10" height="10" fill="([^"]+)"\/>\n<text class="legend"[^>]*>([^<]*)</g)].map((match) => [match[2], match[1]]);
    expect(swatches.slice(0, 4)).toEqual(levels.map(([name], i) => [name, fills[i]]));
    // A colour given to a band is kept.
    expect(renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', bands: [{ name: 'b', lower: [0, 0], upper: [1, 1], color: '#123456' }], series: [] })).toContain('fill="#123456"');
  });

  it('spreads band shades over the whole ramp for any number of levels', () => {
    expect(bandShades(0)).toEqual([]);
    expect(bandShades(1)).toHaveLength(1);
    expect(bandShades(2)).toEqual(['#c6dbef', '#4292c6']);
    const many = bandShades(12);
    expect(new Set(many).size).toBe(12);
    for (const shade of many) expect(shade).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('draws interval bands behind the lines, the grid, the axes and a marker, which an opaque band would hide', () => {
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', bands: [{ name: '80 % interval', lower: [0, 0, 0], upper: [2, 2, 2] }], series: [{ name: 'forecast', values: [1, 1, 1] }], xMarker: { at: 2, name: 'end of the data' } });
    expect(svg.indexOf('<polygon')).toBeGreaterThan(0);
    expect(svg.indexOf('<polygon')).toBeLessThan(svg.indexOf('<polyline'));
    for (const drawn of ['stroke="#eee"', 'stroke="#333"', 'stroke-dasharray']) expect(svg.indexOf('<polygon'), drawn).toBeLessThan(svg.indexOf(drawn));
  });

  it('ends a linear axis on labelled round values, so no line runs past the last label', () => {
    // A forecast peaking at 1.75G: the axis used to stop there, its top label 1.5G well below the peak.
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'actual', values: [3e6, 1.75e9, 2e8] }] });
    const labels = yLabels(svg);
    expect(labels.map((l) => l.label)).toEqual(['0', '500M', '1G', '1.5G', '2G']);
    // 2G sits 6 px below the plot's top edge (y 46) and 0 as far above its bottom edge (y 360): text baselines are 4 px lower.
    expect(labels.at(-1)!.y - 4).toBeCloseTo(46 + 6, 5);
    expect(labels[0].y - 4).toBeCloseTo(360 - 6, 5);
    const peak = Math.min(...[...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)][0][1].split(' ').map((pair) => Number(pair.split(',')[1])));
    expect(peak).toBeGreaterThanOrEqual(46);
    expect(peak).toBeGreaterThan(labels.at(-2)!.y - 4 - 80);
  });

  it('ticks a test of weeks weekly and one of months with its year', () => {
    // 35.5 days: weekly ticks, not two labels a fortnight apart.
    const start = Date.UTC(2018, 1, 28, 2, 34);
    const weeks = timeTicks(start, start + 35.5 * 24 * HOUR_MS);
    expect(weeks.stepMs).toBe(7 * 24 * HOUR_MS);
    expect(weeks.ticks.length).toBeGreaterThanOrEqual(5);
    expect(weeks.ticks.map((tick) => new Date(tick).toISOString().slice(0, 10))).toEqual(['2018-03-05', '2018-03-12', '2018-03-19', '2018-03-26', '2018-04-02']);
    for (const tick of weeks.ticks) expect(new Date(tick).getUTCDay()).toBe(1);
    // Over a new year, MM-DD alone would not say which 01-04 is meant.
    const times = Array.from({ length: 400 }, (_, i) => Date.UTC(2017, 9, 1) + i * 24 * HOUR_MS);
    const labels = xLabels(renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', xTimes: times, series: [{ name: 'a', values: times.map((_, i) => i) }] })).map((l) => l.label);
    expect(labels.length).toBeGreaterThanOrEqual(2);
    for (const label of labels) expect(label).toMatch(/^20(17|18)-\d\d-\d\d$/);
  });

  it('keeps the extremes of a log axis off the plot\'s edges', () => {
    const svg = renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'loss', yLog: true, series: [{ name: 'loss', values: [0.0013, 0.00105, 0.00101, 0.001] }] });
    const ys = [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)][0][1].split(' ').map((pair) => Number(pair.split(',')[1]));
    // The plot spans y 46 (top) to 360 (bottom).
    expect(Math.min(...ys)).toBeGreaterThan(46 + 5);
    expect(Math.max(...ys)).toBeLessThan(360 - 5);
  });

  it('wraps a title too long for the chart onto lines within its width, and moves the plot down below them', () => {
    const series = [{ name: 'forecast', values: [1, 2, 3] }];
    const title = `down forecast, run 0123456789abcdef0123456789abcdef (LSTM, config_hash ${'c'.repeat(64)}), last 500 rows and the horizon`;
    const short = renderLineChart({ title: 'down forecast', xLabel: 'x', yLabel: 'y', series });
    const long = renderLineChart({ title, xLabel: 'x', yLabel: 'y', series, width: 640 });
    expect(short).toContain('<text class="title" x="400" y="20" text-anchor="middle" font-size="15">down forecast</text>');
    const titleText = /<text class="title"[^>]*>(.*?)<\/text>/.exec(long)![1];
    const lines = titleText.split(/<tspan[^>]*>|<\/tspan>/).filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join(' ').replace(/(c{20,}) (c+)/, '$1$2')).toBe(title);
    for (const line of lines) expect(line.length * 8.75).toBeLessThanOrEqual(600);
    const plotTop = (svg: string): number => Number(/<line x1="80" y1="([\d.]+)" x2="80"/.exec(svg)![1]);
    expect(plotTop(long)).toBe(plotTop(short) + 18 * (lines.length - 1));
    expect(wrapTitle('a '.repeat(3).trim(), 600)).toEqual(['a a a']);
  });
  it('leaves out x labels that would overlap their neighbour: beside gaps in the data and at the edge', () => {
    /** Each label's extent at 7.6 px a character (DejaVu Sans digits at 12 px), placed as its anchor says. */
    const extents = (svg: string) =>
      xLabels(svg).map((l) => {
        const w = l.label.length * 7.6;
        const left = l.anchor === 'start' ? l.x : l.anchor === 'end' ? l.x - w : l.x - w / 2;
        return { label: l.label, left, right: left + w };
      });
    const MINUTE_MS = 60_000;
    // Eight backtest origins two minutes apart: the last label, flush with the edge, reached back over its neighbour.
    const origins = Array.from({ length: 8 }, (_, i) => Date.UTC(2018, 2, 5, 15, 2 + 2 * i));
    // A day of 2-minute rows, three days missing, another day: the midnights in the gap fall between two adjacent points.
    const gappy = Array.from({ length: 5 * 720 }, (_, i) => Date.UTC(2018, 2, 5, 0, 2 * i)).filter((_, i) => i < 720 || i >= 4 * 720);
    for (const times of [origins, gappy]) {
      const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', xTimes: times, series: [{ name: 's', values: times.map((_, i) => i % 5) }] });
      const labels = extents(svg);
      expect(labels.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < labels.length; i++) expect(labels[i].left, `${labels[i - 1].label} / ${labels[i].label}`).toBeGreaterThan(labels[i - 1].right);
      expect(labels[0].left).toBeGreaterThanOrEqual(0);
      expect(labels[labels.length - 1].right).toBeLessThanOrEqual(800);
    }
  });
  it('shades every band dark enough to be seen on the white chart, the outermost of many levels too', () => {
    /** WCAG relative luminance, and the contrast of a colour against white. */
    const linear = (channel: number): number => (channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4);
    const luminance = (hex: string): number => [0.2126, 0.7152, 0.0722].reduce((sum, weight, c) => sum + weight * linear(Number.parseInt(hex.slice(1 + 2 * c, 3 + 2 * c), 16) / 255), 0);
    const onWhite = (hex: string): number => 1.05 / (luminance(hex) + 0.05);
    for (const count of [1, 2, 3, 5, 12]) for (const shade of bandShades(count)) expect(onWhite(shade), `${count} bands: ${shade}`).toBeGreaterThanOrEqual(1.3);
  });
  it('labels every y tick of a narrow axis far from zero apart, each label the value at its height', () => {
    const valueOf = (label: string): number => Number(label.replace(/[kMGTP]$/, '')) * ({ k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 }[label.slice(-1)] ?? 1);
    for (const [low, high] of [[1.0001e9, 1.0004e9], [-5e8, -4.99e8], [0.0101, 0.0103], [123456, 123789], [1.2e-3, 1.23e-3]]) {
      const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', values: [low, (low + high) / 2, high] }] });
      const labels = yLabels(svg);
      expect(labels.length, `${low}..${high}`).toBeGreaterThanOrEqual(3);
      expect(new Set(labels.map((l) => l.label)).size, `${low}..${high}: ${labels.map((l) => l.label)}`).toBe(labels.length);
      // Evenly spaced on the page, so their values must be evenly spaced too: a label rounded to its neighbour's is not.
      const values = labels.map((l) => valueOf(l.label));
      const step = (values[values.length - 1] - values[0]) / (values.length - 1);
      for (let i = 1; i < values.length; i++) expect(Math.abs(values[i] - values[i - 1] - step), `${low}..${high}: ${values}`).toBeLessThan(Math.abs(step) * 1e-6);
    }
  });
  it('ends a log axis of less than a decade on labelled values, so no loss runs past the top or bottom label', () => {
    for (const values of [[0.00516, 0.00499], [0.00364, 0.00344], [0.0011, 0.00107, 0.00071]]) {
      const svg = renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'loss', yLog: true, series: [{ name: 'loss', values }] });
      const labels = yLabels(svg).map((l) => Number(l.label));
      expect(Math.min(...labels), `${values}: ${labels}`).toBeLessThanOrEqual(Math.min(...values));
      expect(Math.max(...labels), `${values}: ${labels}`).toBeGreaterThanOrEqual(Math.max(...values));
    }
  });

  it('writes the labels below 1 of an axis in one notation, not 0.0001 above 1.0e-5', () => {
    expect(formatTicks([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3])).toEqual(['1.0e-8', '1.0e-7', '1.0e-6', '1.0e-5', '1.0e-4', '1.0e-3']);
    expect(formatTicks([0, 5e-5, 1e-4, 1.5e-4])).toEqual(['0', '5.0e-5', '1.0e-4', '1.5e-4']);
    // Past 1 a label stays as it was; an axis that never goes below 1e-4 keeps its decimals.
    expect(formatTicks([1e-6, 1e-3, 1, 1000])).toEqual(['1.0e-6', '1.0e-3', '1', '1k']);
    expect(formatTicks([0.0005, 0.001, 0.002])).toEqual(['0.0005', '0.001', '0.002']);
    // Drawn: a loss curve from 2e-4 down to 8e-8.
    const svg = renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'loss', yLog: true, series: [{ name: 'loss', values: [2e-4, 3e-5, 1e-6, 8e-8] }] });
    const labels = yLabels(svg).map((l) => l.label);
    expect(labels.length).toBeGreaterThanOrEqual(3);
    for (const label of labels) expect(label).toMatch(/^\d\.\de-\d+$/);
  });

  it('ends a log axis of a decade or more on labelled values, so no loss runs past the top or bottom label', () => {
    const valueOf = (label: string): number => Number(label.replace(/k$/, '')) * (label.endsWith('k') ? 1e3 : 1);
    for (const values of [[0.0105, 0.004, 0.0015, 0.001, 0.0009], [0.3, 0.02, 0.0013, 0.0004], [2e-7, 3e-3, 40]]) {
      const svg = renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'loss', yLog: true, series: [{ name: 'loss', values }] });
      const labels = yLabels(svg);
      const ticks = labels.map((l) => valueOf(l.label));
      expect(labels.length, `${values}: ${ticks}`).toBeGreaterThanOrEqual(3);
      expect(labels.length, `${values}: ${ticks}`).toBeLessThanOrEqual(8);
      expect(Math.min(...ticks), `${values}: ${ticks}`).toBeLessThanOrEqual(Math.min(...values));
      expect(Math.max(...ticks), `${values}: ${ticks}`).toBeGreaterThanOrEqual(Math.max(...values));
      // Drawn, too: no point of the line lies below the lowest label's height or above the top one's.
      const ys = linesOf(svg, '#1f77b4')[0].map((p) => p.y);
      const labelYs = labels.map((l) => l.y - 4);
      expect(Math.max(...ys)).toBeLessThanOrEqual(Math.max(...labelYs) + 1e-6);
      expect(Math.min(...ys)).toBeGreaterThanOrEqual(Math.min(...labelYs) - 1e-6);
      // Equal ratios at equal distances still: the labels are a log scale's.
      const perDecade = (labels[0].y - labels.at(-1)!.y) / Math.log10(ticks.at(-1)! / ticks[0]);
      for (const l of labels) expect(labels[0].y - l.y).toBeCloseTo(perDecade * Math.log10(valueOf(l.label) / ticks[0]), 0);
    }
  });

  // A test file with an hour of rows missing drew a straight line across the hour, as though it had been measured,
  // and the hour took no room on the axis: points were spaced by index.
  it('breaks lines and bands where rows are missing, and leaves the missing hour its room on the time axis', () => {
    const STEP = 2 * 60_000;
    const times = Array.from({ length: 360 }, (_, i) => Date.UTC(2018, 2, 5, 0, 0) + i * STEP).filter((_, i) => i < 150 || i >= 180);
    const values = times.map((_, i) => 100 + (i % 9));
    const svg = renderLineChart({
      title: 't',
      xLabel: 'time',
      yLabel: 'y',
      xTimes: times,
      bands: [{ name: '80 % interval', lower: values.map((v) => v - 5), upper: values.map((v) => v + 5) }],
      series: [{ name: 'actual', values, color: '#333333' }],
    });
    const lines = linesOf(svg, '#333333');
    expect(lines.map((line) => line.length)).toEqual([150, 180]);
    expect(bandPolygons(svg)).toHaveLength(2);
    // The plot is 700 px wide over 359 steps: the gap of 31 steps is 31/359 of it, not the width of one step.
    const gap = lines[1][0].x - lines[0].at(-1)!.x;
    expect(gap).toBeCloseTo((700 * 31) / 359, 0);
    expect(lines[0][1].x - lines[0][0].x).toBeCloseTo(700 / 359, 0);
    expect([...gapsAfter(times)]).toEqual([149]);
    // A marker past the last time is still drawn at a number.
    const marked = renderLineChart({ title: 't', xLabel: 'time', yLabel: 'y', xTimes: times, series: [{ name: 'a', values }], xMarker: { at: 400, name: 'm' } });
    expect(marked).not.toMatch(/NaN|Infinity/);
    // A steady step, or a single row late by less than half a step, is no gap.
    expect(gapsAfter(times.slice(0, 150)).size).toBe(0);
    expect(gapsAfter([0, 10, 20, 34, 40, 50]).size).toBe(0);
  });

  // Before, every weekend of weekday data broke the line: eight weeks of working days drew eight dashes.
  it('draws on over the gaps of the calendar (weekends, nights out of working hours) and breaks at an outage', () => {
    const DAY = 86_400_000;
    const HOUR = 3_600_000;
    const weekday = (time: number): boolean => ![0, 6].includes(new Date(time).getUTCDay());
    // Eight weeks of working days from Monday 2024-01-01.
    const days = Array.from({ length: 56 }, (_, i) => Date.UTC(2024, 0, 1) + i * DAY).filter(weekday);
    expect(gapsAfter(days).size).toBe(0);
    const values = days.map((_, i) => 10 + (i % 5));
    expect(linesOf(renderLineChart({ title: 't', xLabel: 'time', yLabel: 'y', xTimes: days, series: [{ name: 'a', values, color: '#333333' }] }), '#333333').map((line) => line.length)).toEqual([40]);
    // A Wednesday missing, and a whole week: outages, not the calendar.
    const wednesday = Date.UTC(2024, 0, 17);
    const outages = days.filter((time) => time !== wednesday && !(time >= Date.UTC(2024, 1, 5) && time < Date.UTC(2024, 1, 12)));
    expect([...gapsAfter(outages)].map((i) => new Date(outages[i]).toISOString().slice(0, 10))).toEqual(['2024-01-16', '2024-02-02']);
    // Working hours, 09:00 to 17:00 on working days, three weeks: the nights and weekends are no gap; three hours
    // missing on a Tuesday afternoon are.
    const hours = Array.from({ length: 21 * 24 }, (_, i) => Date.UTC(2024, 0, 1) + i * HOUR).filter((time) => weekday(time) && new Date(time).getUTCHours() >= 9 && new Date(time).getUTCHours() <= 17);
    expect(gapsAfter(hours).size).toBe(0);
    const afternoon = hours.filter((time) => !(time >= Date.UTC(2024, 0, 9, 13) && time <= Date.UTC(2024, 0, 9, 15)));
    expect([...gapsAfter(afternoon)].map((i) => new Date(afternoon[i]).toISOString())).toEqual(['2024-01-09T12:00:00.000Z']);
    // Working days at 09:00 in Madrid, as UTC: the weekend the clocks go forward (2024-03-31) is an hour shorter,
    // and the days after it start an hour earlier.
    const madrid = Array.from({ length: 35 }, (_, i) => Date.UTC(2024, 2, 11 + i, 9) - (i < 21 ? HOUR : 2 * HOUR)).filter(weekday);
    expect(gapsAfter(madrid).size).toBe(0);
  });

  it('breaks a line at a missing value instead of drawing across it, and draws a value alone between breaks as a dot', () => {
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values: [1, 2, 3, Number.NaN, 4, 5, Number.NaN, 6, Number.NaN, 7, 8], color: '#333333' }] });
    expect(linesOf(svg, '#333333').map((line) => line.length)).toEqual([3, 2, 2]);
    expect(svg.match(/<circle [^>]*fill="#333333"\/>/g)).toHaveLength(1);
  });

  it('draws the band and values of a single forecast wide enough to see, the values over their band', () => {
    const svg = renderLineChart({
      title: 't',
      xLabel: 'forecast time',
      yLabel: 'down',
      xTimes: [Date.UTC(2018, 1, 28, 2, 34)],
      bands: [
        { name: '95 % interval', lower: [0], upper: [1.9e8] },
        { name: '80 % interval', lower: [0], upper: [1.1e8] },
      ],
      series: [
        { name: 'actual', values: [3.8e7], color: '#333333' },
        { name: 'forecast', values: [4.7e7], color: '#d62728' },
      ],
    });
    const bars = [...svg.matchAll(/<(?:rect|polygon) class="band" fill="([^"]+)"([^>]*)\/>/g)].map((m) => {
      const attr = (name: string): number => Number(new RegExp(`${name}="([\\d.]+)"`).exec(m[2])?.[1] ?? Number.NaN);
      return { fill: m[1], x: attr('x'), y: attr('y'), width: attr('width'), height: attr('height') };
    });
    expect(bars).toHaveLength(2);
    const dots = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)" fill="([^"]+)"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), r: Number(m[3]), fill: m[4] }));
    expect(dots.map((d) => d.fill)).toEqual(['#333333', '#d62728']);
    for (const bar of bars) {
      expect(bar.width).toBeGreaterThanOrEqual(6);
      expect(bar.height).toBeGreaterThan(20);
      // Centred on the forecast's time, and it holds both values.
      expect(bar.x + bar.width / 2).toBeCloseTo(dots[0].x, 0);
      for (const dot of dots) {
        expect(dot.y).toBeGreaterThan(bar.y);
        expect(dot.y).toBeLessThan(bar.y + bar.height);
      }
    }
    // The wider band is the taller bar, drawn first.
    expect(bars[0].height).toBeGreaterThan(bars[1].height);
    for (const dot of dots) expect(dot.r).toBeGreaterThanOrEqual(3);
  });

  it('dashes a line drawn over another of the same values, and says so in the legend, so both can be seen', () => {
    const times = Array.from({ length: 200 }, (_, i) => Date.UTC(2018, 1, 28, 2, 34) + i * 120_000);
    const flat = times.map(() => 5e7);
    const series = [
      { name: 'actual', values: flat, color: '#333333' },
      { name: 'forecast', values: flat.map((v, i) => (i === 50 ? Number.NaN : v)), color: '#d62728' },
      { name: 'other', values: flat.map((v, i) => v + (i % 7) * 1e6), color: '#2ca02c' },
    ];
    const svg = renderLineChart({ title: 't', xLabel: 'forecast time', yLabel: 'down', xTimes: times, series });
    const style = (color: string): string => new RegExp(`<polyline fill="none" stroke="${color}"([^>]*)points=`).exec(svg)![1];
    // The forecast lies on the actual wherever both have a value: drawn over it, it is dashed, and the actual shows.
    expect(style('#d62728')).toMatch(/stroke-dasharray="[\d.]+ [\d.]+"/);
    expect(linesOf(svg, '#d62728').flat().every((p) => p.y === linesOf(svg, '#333333')[0][0].y)).toBe(true);
    // The line drawn first, and a line of other values, stay solid.
    expect(style('#333333')).not.toContain('dasharray');
    expect(style('#2ca02c')).not.toContain('dasharray');
    expect(legendEntries(svg).map((e) => e.label)).toEqual(['actual', 'forecast (dashed: same values as actual)', 'other']);
    // Lines that merely meet (a forecast crossing the actual) are not dashed.
    const crossing = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values: [1, 2, 3], color: '#333333' }, { name: 'b', values: [3, 2, 1], color: '#d62728' }] });
    expect(crossing).not.toContain('dasharray');
  });

  it('says in the legend that a band of no width (the intervals of a constant series) draws nothing', () => {
    const flat = Array.from({ length: 50 }, () => 5e7);
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      bands: [
        { name: '95 % interval', lower: flat, upper: flat },
        { name: '80 % interval', lower: flat.map((v) => v - 1e6), upper: flat.map((v) => v + 1e6) },
      ],
      series: [{ name: 'forecast', values: flat }],
    });
    // The wide one is drawn and named as it is; the one of no width is a polygon of no height, and its entry says so.
    const heights = bandPolygons(svg).map((points) => Math.max(...points.map((p) => p.y)) - Math.min(...points.map((p) => p.y)));
    expect(heights[0]).toBe(0);
    expect(heights[1]).toBeGreaterThan(5);
    expect(legendEntries(svg).map((e) => e.label)).toEqual(['95 % interval (of no width)', '80 % interval', 'forecast']);
  });

  // Thinned to every other row, a test file of 3982 rows lost its spikes at odd rows, and its residual plot the
  // largest residual of the GRU on PobleSec (1.07G, drawn as 830M).
  it('keeps every spike of a long series, and every outlier of a long residual series, when thinning them', () => {
    const spikes = [1, 1001, 2001, 3001, 3999];
    const values = Array.from({ length: 4000 }, (_, i) => (spikes.includes(i) ? 100 : i % 2 === 0 ? 0 : 1));
    const line = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values, color: '#333333' }] });
    const points = linesOf(line, '#333333').flat();
    expect(points.length).toBeLessThanOrEqual(2100);
    const top = Math.min(...points.map((p) => p.y));
    expect(points.filter((p) => p.y === top)).toHaveLength(spikes.length);
    const dots = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'r', values, points: true, color: '#333333' }] });
    const ys = [...dots.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(ys.length).toBeLessThanOrEqual(2100);
    expect(ys.filter((y) => y === Math.min(...ys))).toHaveLength(spikes.length);
  });

  it('draws a series at the axis\'s lowest value above the axis line, not along it', () => {
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'actual', values: [0, 50, 100], color: '#333333' }, { name: 'zero', values: [0, 0, 0], color: '#d62728' }] });
    const [zero] = linesOf(svg, '#d62728');
    for (const p of zero) expect(axisY(svg) - p.y).toBeGreaterThanOrEqual(4);
    const label0 = yLabels(svg).find((l) => l.label === '0')!;
    expect(label0.y - 4).toBeCloseTo(zero[0].y, 1);
  });

  it('draws a flat series mid-axis on an axis of its own size, its labels short', () => {
    for (const [level, labels] of [[1e9, ['900M', '950M', '1G', '1.05G', '1.1G']], [1e-9, ['9.00e-10', '9.50e-10', '1.00e-9', '1.05e-9', '1.10e-9']], [-3, ['-3.3', '-3.2', '-3.1', '-3', '-2.9', '-2.8', '-2.7']], [0, ['-1', '-0.5', '0', '0.5', '1']]] as const) {
      const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'flat', values: [level, level, level], color: '#333333' }] });
      expect(yLabels(svg).map((l) => l.label), String(level)).toEqual(labels);
      const [line] = linesOf(svg, '#333333');
      expect(axisY(svg) - line[0].y, String(level)).toBeGreaterThan(100);
    }
  });

  it('says on a time axis that its times are UTC, once', () => {
    const times = [0, 1, 2].map((h) => Date.UTC(2018, 2, 5, h));
    const axisTitle = (svg: string): string => /<text x="[\d.]+" y="402" text-anchor="middle">([^<]*)<\/text>/.exec(svg)![1];
    expect(axisTitle(renderLineChart({ title: 't', xLabel: 'forecast time', yLabel: 'y', xTimes: times, series: [{ name: 'a', values: [1, 2, 3] }] }))).toBe('forecast time (UTC)');
    expect(axisTitle(renderLineChart({ title: 't', xLabel: 'fold origin (UTC; every row)', yLabel: 'y', xTimes: times, series: [{ name: 'a', values: [1, 2, 3] }] }))).toBe('fold origin (UTC; every row)');
    expect(axisTitle(renderLineChart({ title: 't', xLabel: 'epoch', yLabel: 'y', series: [{ name: 'a', values: [1, 2, 3] }] }))).toBe('epoch');
  });

  it('starts the plot right of its widest y tick label, so no label runs into the y-axis title or off the page', () => {
    // DejaVu Sans at 12 px (the usual sans-serif): digits 7.6 px wide, the rest as measured.
    const widthOf = (label: string): number => [...label].reduce((sum, c) => sum + ({ '.': 3.8, '-': 4.3, e: 7.4, G: 9.4 }[c] ?? 7.6), 0);
    for (const values of [[4.5624e-8, 4.5701e-8, 4.565e-8], [1.00000001e9, 1.00000004e9, 1.00000002e9], [0.0101, 0.0103, 0.0102]]) {
      const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'rb_down_var (original units)', series: [{ name: 's', values }] });
      const labels = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]*)<\/text>/g)].map((match) => ({ x: Number(match[1]), label: match[2] }));
      expect(labels.length, `${values}`).toBeGreaterThanOrEqual(3);
      const axisX = Number(/<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+" stroke="#333"\/>/.exec(svg)![1]);
      for (const { x, label } of labels) {
        expect(x, label).toBe(axisX - 6);
        // The title's baseline is at x 16, turned a quarter left: its descenders reach about 19.
        expect(x - widthOf(label), `${label} (${labels.map((l) => l.label)})`).toBeGreaterThanOrEqual(22);
      }
    }
    // Labels as short as most charts' keep the plot where it was.
    expect(renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', values: [0, 8e7, 1.2e8] }] })).toContain('<line x1="80" y1="');
  });
  it('leaves no more than a fifth of a linear axis empty, still ending on labelled values', () => {
    // The GRU's residuals on PobleSec's test file (-474M to 1.06G) were drawn on -500M to 1.5G, the top quarter
    // empty; the last day of its forecast (0 to 1.12G, bands included) on 0 to 1.5G.
    const residuals = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'r', values: [-4.74e8, 1e8, 1.055e9], points: true }], baseline: 0 });
    const labels = yLabels(residuals).map((l) => l.label);
    expect(labels).toEqual(['-500M', '-250M', '0', '250M', '500M', '750M', '1G', '1.25G']);
    for (const [min, max] of [[-4.74e8, 1.055e9], [0, 1.12e9], [3e6, 1.75e9], [0.0061, 0.0713], [0.003, 0.2505], [-3.2, 17.9], [1e9 + 3e5, 1e9 + 9e5], [0.7, 1.3]]) {
      const axis = niceAxis(min, max);
      expect(axis.min, `${min}..${max}`).toBeLessThanOrEqual(min);
      expect(axis.max, `${min}..${max}`).toBeGreaterThanOrEqual(max);
      expect(axis.ticks[0]).toBe(axis.min);
      expect(axis.ticks.at(-1)).toBe(axis.max);
      expect((max - min) / (axis.max - axis.min), `${min}..${max} on ${axis.min}..${axis.max}`).toBeGreaterThanOrEqual(0.8);
      // Neither too few labels to read a value by nor so many they crowd the axis.
      expect(axis.ticks.length, `${axis.ticks}`).toBeGreaterThanOrEqual(4);
      expect(axis.ticks.length, `${axis.ticks}`).toBeLessThanOrEqual(9);
    }
  });

  it('writes each tick as it is, not rounded to a neighbour\'s digits', () => {
    // Steps of 2.5 times a power of ten need a digit more than their neighbours: -499.75M read -499.8M.
    expect(formatTicks([-5e8, -4.9975e8, -4.995e8, -4.9925e8])).toEqual(['-500M', '-499.75M', '-499.5M', '-499.25M']);
    expect(formatTicks([0, 0.025, 0.05, 0.075])).toEqual(['0', '0.025', '0.05', '0.075']);
  });

  it('ends a capped axis at the cap, draws the values above it at the top edge under a marker, and counts them in the legend', () => {
    const values = [0.01, 0.02, 0.9, 0.03, 0.02, 0.5, 0.01];
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values, color: '#1f77b4' }], yCap: { at: 0.035, noun: 'fold error' } });
    expect(yLabels(svg).at(-1)!.label).toBe('0.035');
    const top = Number(/<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="[\d.]+" stroke="#333"\/>/.exec(svg)![2]);
    const points = linesOf(svg, '#1f77b4')[0];
    expect(Math.min(...points.map((p) => p.y))).toBe(top);
    const markers = [...svg.matchAll(/<path class="clipped" d="M[\d.]+,[\d.]+ L([\d.]+),([\d.]+)[^"]*" fill="([^"]+)"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), color: m[3] }));
    const drawnAtTop = points.filter((p) => p.y === top);
    expect(drawnAtTop).toHaveLength(2);
    for (const p of drawnAtTop) expect(markers.filter((m) => m.color === '#1f77b4' && Math.abs(m.x - p.x) <= 1 && m.y === top)).toHaveLength(1);
    expect(svg).toContain('>2 fold errors above 0.035 (highest 0.9) drawn at the top edge</text>');
    const one = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values: [0.01, 0.02, 0.9, 0.03] }], yCap: { at: 0.035, noun: 'fold error' } });
    expect(one).toContain('>1 fold error above 0.035 (highest 0.9) drawn at the top edge</text>');
    // A cap above every value changes nothing.
    const uncapped = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values }] });
    expect(renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', values }], yCap: { at: 2, noun: 'fold error' } })).toBe(uncapped);
  });

  it('shows the marker of every series clipped at the same place, none drawn over another', () => {
    // Eight models whose errors all spike at the same folds (the test's hardest rows), and two more spikes of one.
    const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
    const spikes = new Set([10, 40, 41, 90]);
    const series = colors.map((color, k) => ({ name: `m${k}`, color, values: Array.from({ length: 100 }, (_, i) => (spikes.has(i) || (k === 0 && (i === 60 || i === 61)) ? 1 : 0.02 + 0.001 * k)) }));
    const svg = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series, yCap: { at: 0.05, noun: 'fold error' } });
    const top = Number(/<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="[\d.]+" stroke="#333"\/>/.exec(svg)![2]);
    const bottom = axisY(svg);
    const markers = [...svg.matchAll(/<path class="clipped" d="M[\d.]+,[\d.]+ L([\d.]+),([\d.]+)[^"]*" fill="([^"]+)"/g)]
      .map((m) => ({ x: Number(m[1]), y: Number(m[2]), color: m[3] }))
      .filter((m) => m.color !== '#555'); // the legend's swatch
    // Every series clipped at each spike has its own marker there, in its colour.
    for (const [k, color] of colors.entries()) {
      const atTop = linesOf(svg, color)[0].filter((p) => p.y === top);
      expect(atTop.length).toBe(k === 0 ? 6 : 4);
      for (const p of atTop) expect(markers.some((m) => m.color === color && Math.abs(m.x - p.x) <= 3.5), `${color} at ${p.x}`).toBe(true);
    }
    // No marker of one colour covers one of another: 7 px wide and tall, they lie apart in x or in y.
    for (const a of markers) for (const b of markers) if (a !== b && a.color !== b.color) expect(Math.abs(a.x - b.x) >= 7 || Math.abs(a.y - b.y) >= 7, `${a.color} ${a.x},${a.y} / ${b.color} ${b.x},${b.y}`).toBe(true);
    // The stacks stay inside the plot, starting at its top edge; a spike of one series alone keeps its marker there.
    for (const m of markers) expect(m.y).toBeGreaterThanOrEqual(top);
    expect(Math.max(...markers.map((m) => m.y)) + 7).toBeLessThan(bottom);
    expect(markers.filter((m) => m.y === top).length).toBeGreaterThanOrEqual(3);
  });
});
