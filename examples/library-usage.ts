/**
 * flts as a library: the pipeline the CLI runs, called from TypeScript, down to a forecast in process. Everything
 * takes settings and explicit dependencies, so an application decides where data lives and where progress goes.
 *
 *   npm install && node examples/library-usage.ts     (Node 24 and 22.18+ run TypeScript as it is, or use tsx;
 *   not vite-node: it leaves this file's path out of process.argv, so the run at the bottom never starts)
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  evaluateRuns,
  openDependencies,
  openForecaster,
  promoteBest,
  resolveSettings,
  preprocess,
  trainModels,
  type FltsEvent,
  type PredictionRow,
  type SettingFlags,
} from 'flts';

export interface LibraryExampleResult {
  configHash: string;
  winner: string;
  forecast: PredictionRow[];
}

export async function runLibraryExample(home: string, overrides: SettingFlags = {}): Promise<LibraryExampleResult> {
  const examples = path.dirname(new URL(import.meta.url).pathname);
  // The same layering as the CLI: defaults < (no file here) < environment < explicit values.
  const { settings } = resolveSettings({
    env: {},
    flags: {
      home,
      'data.trainFile': path.join(examples, 'data/example.csv'),
      'data.testFile': path.join(examples, 'data/example_test.csv'),
      'training.epochs': 2,
      'training.hiddenSize': 32,
      ...overrides,
    },
  });
  // The store, bus and tracking the settings name, built as the CLI builds them: with bus.kind fs or kafka the
  // promotion below publishes `model-selected` as `flts promote` does, so running replicas switch at once. The
  // scratch directory is where preprocess writes its Parquet files (a wide table ten times faster than in memory).
  const deps = await openDependencies(settings, { scratchDir: os.tmpdir() });
  const { store } = deps;
  const onEvent = (event: FltsEvent): void => {
    if (event.type === 'train.epoch_end') console.log(`epoch ${event.epoch}: loss ${event.loss.toExponential(3)}`);
  };

  try {
    const processed = await preprocess(settings, { ...deps, onEvent });
    await trainModels({ models: ['NAIVE', 'LSTM'] }, settings, { ...deps, onEvent });
    const scoreboard = await evaluateRuns({ configHash: processed.configHash }, settings, { store });
    const promotion = await promoteBest({ configHash: processed.configHash, source: 'best', actor: 'library example', reason: 'library example' }, settings, deps);

    // The promoted run, loaded once and forecasting in this process: what POST /predict of `flts serve` answers.
    const forecaster = await openForecaster(settings, { store });
    try {
      const answer = await forecaster.forecast({ inferenceLength: 5 });
      console.log(`scoreboard winner ${scoreboard.rows[0]?.model_type}, forecasting with ${forecaster.run.modelType}`, answer.predictions);
      return { configHash: processed.configHash, winner: promotion.record.run_id, forecast: answer.predictions };
    } finally {
      await forecaster.close();
    }
  } finally {
    await deps.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  // A home of its own, removed at the end: running the example leaves nothing behind.
  const home = await mkdtemp(path.join(os.tmpdir(), 'flts-library-'));
  try {
    await runLibraryExample(home);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
