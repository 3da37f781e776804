#!/usr/bin/env node
// Test coverage of each LSTM/GRU run of a home under two calibration sets: the validation tail alone (the
// windows no network fitted on) and every training window of the last four weeks (the tail and the windows the
// network fitted on, as an early-stopped network is calibrated; "The networks' calibration set" in
// bench/results-quality.md). Computed from the saved networks; nothing is trained.
// Usage: npm run build && node bench/calibration-sets.mjs <home> [TARGETS, as the home was trained]
//   homes of held-out periods: node bench/period-splits.mjs default --seeds 42,1 --keep DIR
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/core');
const { resolveSettings } = await import(`${dist}/config/settings.js`);
const { createObjectStore } = await import(`${dist}/storage/index.js`);
const { loadProcessedData } = await import(`${dist}/preprocess/processed-data.js`);
const { readRunRecord } = await import(`${dist}/registry/run-store.js`);
const { loadRunModel } = await import(`${dist}/registry/run-artifacts.js`);
const { prepareWindows } = await import(`${dist}/train/prepare-windows.js`);
const { calibrateModelIntervals, calibrateOnTrainingWindows, predictWithScales, scoreTestIntervals } = await import(`${dist}/train/run-intervals.js`);

const [home, targets] = process.argv.slice(2);
if (!home) throw new Error('Usage: node bench/calibration-sets.mjs <home> [targets]');
const { settings } = resolveSettings({ env: { FLTS_HOME: home, ...(targets ? { TARGETS: targets } : {}) } });
const store = await createObjectStore(settings);
const data = await loadProcessedData(store, settings);
const LEVELS = [0.8, 0.95];
const percent = (value) => (100 * value).toFixed(1);

for (const runId of readdirSync(path.join(home, 'store/runs'))) {
  const record = await readRunRecord(store, settings, runId);
  if (record.model_type !== 'GRU' && record.model_type !== 'LSTM') continue;
  const model = await loadRunModel(store, settings, record);
  const { window } = record;
  const windows = prepareWindows(data, window, settings.training.validationSplit);
  const { predicted, scales } = await predictWithScales(model, windows.test, window, 'volatility');
  const sets = {
    tail: await calibrateModelIntervals(model, windows.validation, window, data.scaler, 'validation-tail'),
    'training windows': await calibrateOnTrainingWindows(model, data.train, window, data.scaler),
  };
  const covered = Object.entries(sets).map(([name, calibration]) => {
    const metrics = { targets: Object.fromEntries(window.targets.map((target) => [target, {}])) };
    scoreTestIntervals(calibration, LEVELS, windows.test, predicted, scales, window, data.scaler, metrics);
    const intervals = metrics.targets[window.targets[0]].intervals;
    return `${name} ${LEVELS.map((level) => percent(intervals[String(level)].coverage)).join(' / ')} %`;
  });
  console.log(`${record.model_type} ${runId} (seed ${record.seed}): ${covered.join(', ')}`);
  model.dispose();
}
