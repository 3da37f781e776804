#!/usr/bin/env node
// Writes examples/data/example.csv (7 days) and example_test.csv (the next 2 days): a synthetic LTE cell
// with the PobleSec schema, 2-minute cadence, daily and weekly seasonality, noise, traffic bursts and a few
// empty cells. Seeded, no dependencies: running it again gives the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SEED = 20240101;
const STEP_MS = 2 * 60 * 1000;
const START = Date.UTC(2024, 0, 1, 0, 0, 0); // a Monday
const TRAIN_DAYS = 7;
const TEST_DAYS = 2;
const RNTI_COLUMN = 2; // an integer count, written without a decimal point as in the real data
const HEADER = 'time,down,up,rnti_count,mcs_down,mcs_down_var,mcs_up,mcs_up_var,rb_down,rb_down_var,rb_up,rb_up_var';

function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(SEED);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** Share of the cell's peak activity: quiet 3-6 am, a midday plateau and an evening peak; weekends lower. */
function activity(epochMs) {
  const date = new Date(epochMs);
  const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
  const night = Math.exp(-((hour - 4.5) ** 2) / 6);
  const midday = Math.exp(-((hour - 13) ** 2) / 10);
  const evening = Math.exp(-((hour - 20.5) ** 2) / 5);
  const daily = clamp(0.12 + 0.55 * midday + 0.7 * evening - 0.1 * night, 0.05, 1);
  const weekday = date.getUTCDay();
  const weekly = weekday === 0 ? 0.72 : weekday === 6 ? 0.85 : weekday === 5 ? 1.05 : 1;
  return daily * weekly;
}

function formatNumber(value) {
  if (value === undefined) return '';
  if (Number.isInteger(value)) return `${value}.0`;
  return String(Number(value.toPrecision(7)));
}

function formatTime(epochMs) {
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

let burst = 0; // multiplicative traffic burst, decaying over a few samples
let slowDrift = 0; // a random walk so consecutive days are not copies of each other

function sample(epochMs) {
  if (random() < 0.004) burst = 1 + 2 + 3 * random();
  burst = burst > 1.02 ? 1 + (burst - 1) * 0.8 : 0;
  slowDrift = clamp(slowDrift * 0.995 + 0.02 * gaussian(), -0.3, 0.3);
  const a = clamp(activity(epochMs) * (1 + slowDrift) * Math.exp(0.08 * gaussian()), 0.03, 1.3);
  const boost = burst || 1;
  const rnti = Math.round(clamp(900 + 9500 * a + 350 * gaussian(), 500, 17000));
  const down = Math.round(clamp(rnti * 1.9e4 * Math.exp(0.35 * gaussian()) * boost, 1.0e7, 2.2e9));
  const up = random() < 0.01 ? 0 : Math.round(clamp(down * 0.06 * Math.exp(0.9 * gaussian()), 0, 6e8));
  const quiet = Math.exp(-9 * a);
  return [
    down,
    up,
    rnti,
    clamp(15.4 - 12 * quiet + 0.25 * gaussian(), 0.5, 31),
    clamp(88 - 55 * quiet + 2 * gaussian(), 10, 100),
    clamp(14 + 2.5 * gaussian(), 0, 31),
    clamp(46 + 18 * gaussian(), 0, 180),
    clamp((down / 3.0e9) * Math.exp(0.1 * gaussian()), 0.001, 0.75),
    clamp(4.6e-8 * Math.exp(0.25 * gaussian()) * (1 + 0.5 * a), 2e-8, 1.8e-7),
    clamp((up / 1.4e9) * Math.exp(0.1 * gaussian()), 0, 0.45),
    up === 0 ? 0 : clamp(1.2e-8 * Math.exp(0.4 * gaussian()), 1e-9, 1e-7),
  ];
}

function series(startMs, rows, emptyRows) {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const t = startMs + i * STEP_MS;
    const values = sample(t);
    // Like the real data, a few rows miss the uplink MCS statistics.
    if (emptyRows.has(i)) values[5] = values[6] = undefined;
    lines.push([formatTime(t), ...values.map((v, c) => (c === RNTI_COLUMN && v !== undefined ? String(v) : formatNumber(v)))].join(','));
  }
  return `${lines.join('\n')}\n`;
}

const perDay = (24 * 60 * 60 * 1000) / STEP_MS;
const trainRows = TRAIN_DAYS * perDay;
const testRows = TEST_DAYS * perDay;
const pickRows = (count, total) => new Set(Array.from({ length: count }, () => 1 + Math.floor(random() * (total - 2))));
const trainEmpty = pickRows(8, trainRows);
const testEmpty = pickRows(2, testRows);

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data');
mkdirSync(outDir, { recursive: true });
const train = series(START, trainRows, trainEmpty);
const test = series(START + trainRows * STEP_MS, testRows, testEmpty);
writeFileSync(path.join(outDir, 'example.csv'), train);
writeFileSync(path.join(outDir, 'example_test.csv'), test);
process.stdout.write(`wrote ${trainRows} + ${testRows} rows (${train.length + test.length} bytes) to ${path.relative(process.cwd(), outDir) || '.'}\n`);
