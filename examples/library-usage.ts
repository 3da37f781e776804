/**
 * flts as a library: the pipeline the CLI runs, called from TypeScript. Everything takes settings and
 * explicit dependencies, so an application decides where data lives and where progress goes.
 *
 *   npm install && node examples/library-usage.ts     (Node 24 and 22.18+ run TypeScript as it is, or use tsx;
 *   not vite-node: it leaves this file's path out of process.argv, so the run at the bottom never starts)
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createObjectStore,
  evaluateRuns,
  promoteBest,
  resolveSettings,
  preprocess,
  startInferenceService,
  trainModels,
  type FltsEvent,
  type SettingFlags,
} from 'flts';

export interface LibraryExampleResult {
  configHash: string;
  winner: string;
  forecast: Array<Record<string, number | string | null>>;
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
      'serve.port': 0,
      ...overrides,
    },
  });
  const store = await createObjectStore(settings);
  const onEvent = (event: FltsEvent): void => {
    if (event.type === 'train.epoch_end') console.log(`epoch ${event.epoch}: loss ${event.loss.toExponential(3)}`);
  };

  const processed = await preprocess(settings, { store, onEvent });
  await trainModels({ models: ['NAIVE', 'LSTM'] }, settings, { store, onEvent });
  const scoreboard = await evaluateRuns({ configHash: processed.configHash }, settings, { store });
  const promotion = await promoteBest({ configHash: processed.configHash, source: 'best', actor: 'library example', reason: 'library example' }, settings, { store });

  const service = await startInferenceService(settings, { store });
  try {
    await waitUntilReady(service.url);
    const response = await fetch(`${service.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const body = (await response.json()) as { predictions: LibraryExampleResult['forecast'] };
    console.log(`scoreboard winner ${scoreboard.rows[0]?.model_type}, serving ${promotion.record.model_type}`, body.predictions);
    return { configHash: processed.configHash, winner: promotion.record.run_id, forecast: body.predictions };
  } finally {
    await service.close();
  }
}

async function waitUntilReady(url: string): Promise<void> {
  for (let attempt = 0; attempt < 240; attempt++) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`service at ${url} did not become ready`);
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
