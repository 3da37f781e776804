import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ALL_SPECS } from '../src/core/config/specs/index.js';
import { REPO_ROOT } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

const mkdtemp = scratchFolders();

/** A TypeScript program of a library user's, type-checked against the built package. */
const CONSUMER = `import * as flts from 'flts';

const { settings } = flts.resolveSettings({ env: {}, flags: { home: '/tmp/home', 'training.epochs': 2, 'training.models': ['NAIVE', 'LSTM'], 'serve.grpcPort': null, 'serve.port': '0' } });
const store: flts.ObjectStore = flts.createFsStore(settings.home);

// @ts-expect-error a path that names no setting
flts.resolveSettings({ flags: { 'training.epoch': 2 } });
// @ts-expect-error a value of another type than the setting's (text is parsed as the environment's is)
flts.resolveSettings({ flags: { 'training.epochs': true } });
// @ts-expect-error a path that names no setting, beside one that does
flts.resolveSettings({ flags: { home: '/tmp/home', 'training.epoch': 2 } });
// Flags keyed by any text (parsed arguments, a JSON file) are assignable to SettingFlags, whose paths are all optional.
declare const parsed: Record<string, unknown>;
// @ts-expect-error flags keyed by any string
flts.resolveSettings({ flags: parsed });
// @ts-expect-error flags keyed by any string, spread alone
flts.resolveSettings({ flags: { ...parsed } });
const typedFlags: flts.SettingFlags = { 'training.epochs': 2 };
flts.resolveSettings({ env: {}, flags: { ...typedFlags, home: '/tmp/home' } });

export async function forecastOnce(): Promise<number | null> {
  const hashes: string[] = [];
  const forecaster: flts.Forecaster = await flts.openForecaster(settings, { store, onForecast: (record: flts.PredictionLogRecord) => void hashes.push(record.prediction_hash) }, { runId: 'abc' });
  const durations: number[] = [];
  const measured = await flts.openForecaster(settings, { store, onForecast: (_record, measures: flts.ForecastMeasures) => void durations.push(measures.durationMs, measures.modelMs, measures.rowsPredicted) });
  await measured.reload({ force: true });
  await measured.close();
  try {
    const answer: flts.ForecastAnswer = await forecaster.forecast({ data: { time: ['2024-01-08T00:00:00'], down: [1] }, inferenceLength: 5 });
    const first: flts.PredictionRow | undefined = answer.predictions[0];
    return typeof first?.down === 'number' ? first.down : null;
  } finally {
    await forecaster.close();
  }
}

// Every setting the specs declare, and no other path, is a SettingPath.
export const every: Record<flts.SettingPath, true> = {
${ALL_SPECS.map((spec) => `  ${JSON.stringify(spec.path)}: true,`).join('\n')}
};
// Each setting takes its default as a flag value, and null where the spec accepts it.
export const defaults: flts.SettingFlags = {
${ALL_SPECS.map((spec) => `  ${JSON.stringify(spec.path)}: ${JSON.stringify(spec.default)},`).join('\n')}
};
export const nulls: flts.SettingFlags = {
${ALL_SPECS.filter((spec) => spec.nullable).map((spec) => `  ${JSON.stringify(spec.path)}: null,`).join('\n')}
};
`;

describe('the package types, as a TypeScript user compiles against them', () => {
  it('a strict project without skipLibCheck type-checks, setting paths and their values included', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-library-types-'));
    await mkdir(path.join(dir, 'node_modules'));
    // The package as installed (its dependencies resolve from where it lives), and the Node types a user has.
    await symlink(REPO_ROOT, path.join(dir, 'node_modules/flts'), 'dir');
    await symlink(path.join(REPO_ROOT, 'node_modules/@types'), path.join(dir, 'node_modules/@types'), 'dir');
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const compilerOptions = { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'] };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    await writeFile(path.join(dir, 'consumer.ts'), CONSUMER);
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
