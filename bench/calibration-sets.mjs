#!/usr/bin/env node
// Test coverage of each LSTM/GRU run of a home under two calibration sets: the validation tail alone (the
// windows no network fitted on) and every training window of the last four weeks (the tail and the windows the
// network fitted on, as an early-stopped network is calibrated; "The networks' calibration set" in
// bench/results-quality.md). Computed from the saved networks; nothing is trained.
// Usage: npm run build && node bench/calibration-sets.mjs <home> [TARGETS, as the home was trained]
//   homes of held-out periods: node bench/period-splits.mjs default --seeds 42,1 --keep DIR
import { dist, forEachNetworkRun } from './home-networks.mjs';

const { calibrateModelIntervals, calibrateOnTrainingWindows, predictWithScales, scoreTestIntervals } = await import(`${dist}/train/run-intervals.js`);

const [home, targets] = process.argv.slice(2);
if (!home) throw new Error('Usage: node bench/calibration-sets.mjs <home> [targets]');
const LEVELS = [0.8, 0.95];
const percent = (value) => (100 * value).toFixed(1);

await forEachNetworkRun(home, targets, async ({ record, model, data, windows }) => {
  const { window } = record;
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
  console.log(`${record.model_type} ${record.run_id} (seed ${record.seed}): ${covered.join(', ')}`);
});
