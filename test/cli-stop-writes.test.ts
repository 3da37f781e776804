import { execFile, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../src/core/config/settings.js';
import { readPromotionPointers } from '../src/core/registry/pointers.js';
import { listPromotionHistory } from '../src/core/registry/promotion-history.js';
import { seedRunbookRegistry } from '../src/core/runbooks/runbook-registry.fixture.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import { promote } from '../src/core/workflows/promote.js';
import { DATASETS } from './helpers/poblesec-slice.js';
import { startSilentStore, type StoppedRun } from './helpers/silent-store.js';
import { BIN, cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';

const SIGNAL_AT_RENAME = path.resolve(__dirname, 'helpers/signal-at-rename.mjs');

describe('cli > preprocess, promote and export stopped by Ctrl-C or SIGTERM', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-stop-writes-'));
  // An S3 endpoint that accepts connections and never answers: each command waits on it until it is stopped.
  let silent: Awaited<ReturnType<typeof startSilentStore>>;
  const stopOnceAtWork = (args: string[], signal: NodeJS.Signals, env: Record<string, string> = {}): Promise<StoppedRun> =>
    silent.stopOnceAtWork(args, signal, { FLTS_HOME: path.join(dir, 'silent-home'), ...env });

  beforeAll(async () => {
    silent = await startSilentStore('stop-test-secret');
  });

  afterAll(async () => {
    await silent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('preprocess --json ends on SIGINT with an FLTS_PREPROCESS_ABORTED document saying what a stop leaves, exit 5, not the signal\'s silent exit 130', async () => {
    const data = { FLTS_DATA_DIR: DATASETS, TRAIN_FILE: 'PobleSec.csv', TEST_FILE: 'PobleSec_test.csv', SAMPLE_TRAIN_ROWS: '200', SAMPLE_TEST_ROWS: '50' };
    const run = await stopOnceAtWork(['preprocess', '--json'], 'SIGINT', data);
    expect(run.exitCode, run.stderr).toBe(5);
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ code: 'FLTS_PREPROCESS_ABORTED', kind: 'conflict', message: 'Preprocess was stopped by SIGINT before it ended.', details: { signal: 'SIGINT' } });
    expect(error.hint).toContain('refuse that one as mixed');
    expect(run.stdout + run.stderr).not.toContain('stop-test-secret');
  }, 60_000);

  it('promote ends on SIGTERM before it writes with FLTS_PROMOTE_ABORTED saying nothing was promoted', async () => {
    const run = await stopOnceAtWork(['promote', '--run', 'runC', '--json'], 'SIGTERM');
    expect(run.exitCode, run.stderr).toBe(5);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'FLTS_PROMOTE_ABORTED', message: 'Promote was stopped by SIGTERM before it wrote to the promotion history: nothing was promoted.', details: { signal: 'SIGTERM', written: false } });
  }, 60_000);

  it('export ends on SIGINT before it writes with FLTS_EXPORT_ABORTED, and no file', async () => {
    const out = path.join(dir, 'never.onnx');
    const run = await stopOnceAtWork(['export', '--run', 'runA', '--out', out], 'SIGINT');
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.stderr).toContain(`Error FLTS_EXPORT_ABORTED: Export was stopped by SIGINT before it wrote ${out}: no file was written.\nHint: `);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('lets a promotion whose history record is being written (promote, promote-manual --yes) finish it and its pointers before it ends with FLTS_PROMOTE_ABORTED', async () => {
    const home = path.join(dir, 'promote-home');
    const store = createFsStore(path.join(home, 'store'));
    const settings = defaultSettings();
    await seedRunbookRegistry(store, settings);
    await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store });
    // SIGINT comes as the record is renamed into place, between the record and the pointers that follow it;
    // promote-manual --yes promotes through the same workflow.
    for (const [args, runId] of [[['promote', '--run', 'runC'], 'runC'], [['promote-manual', '--yes', '--run', 'runB'], 'runB']] as const) {
      const run = await runCli([...args, '--reason', 'stopped midway', '--json'], {
        env: { FLTS_HOME: home, FLTS_OPERATOR: 'ana', SIGNAL_AT_RENAME: '/promotion-[^/]*\\.json$' },
        nodeArgs: ['--import', SIGNAL_AT_RENAME],
      });
      expect(run.exitCode, run.stderr).toBe(5);
      expect(run.json?.error).toMatchObject({
        code: 'FLTS_PROMOTE_ABORTED',
        message: 'Promote was stopped by SIGINT while it wrote to the promotion history and pointers: it finished that write first, so they agree.',
        details: { signal: 'SIGINT', written: true },
      });
      expect((await listPromotionHistory(store, settings)).at(-1)?.run_id, args[0]).toBe(runId);
      const pointers = await readPromotionPointers(store, settings);
      expect(pointers.length).toBeGreaterThan(0);
      for (const { key, record } of pointers) expect(record.run_id, key).toBe(runId);
    }
    expect((await listPromotionHistory(store, settings)).map((record) => record.run_id)).toEqual(['runA', 'runC', 'runB']);
  }, 60_000);

  it('ends an export whose --out pipe waits for its reader at once on SIGINT, saying nothing was written', async () => {
    // Before, the wait counted as the write under way: Ctrl-C waited out its minute, then the export failed with
    // FLTS_PATH_UNUSABLE (ENXIO) instead of the stop's error.
    const home = path.join(dir, 'export-pipe-home');
    await seedRunbookRegistry(createFsStore(path.join(home, 'store')), defaultSettings());
    const fifo = path.join(dir, 'pipe.onnx');
    await promisify(execFile)('mkfifo', [fifo]);
    const child = spawn(process.execPath, [BIN, 'export', '--run', 'runA', '--out', fifo], { cwd: REPO_ROOT, env: cleanEnvironment({ FLTS_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Stopped once it says it waits for a reader, which never comes; once only: a second Ctrl-C kills outright.
    let stopped = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!stopped && stderr.includes(`waiting up to 60 s for a reader on ${fifo}`)) stopped = child.kill('SIGINT');
    });
    expect(await exited, stderr).toBe(5);
    expect(stderr).toContain(`Error FLTS_EXPORT_ABORTED: Export was stopped by SIGINT before it wrote ${fifo}: no file was written.\nHint: `);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  }, 90_000);

  it('lets an export whose file is being written finish it whole before it ends with FLTS_EXPORT_ABORTED', async () => {
    const home = path.join(dir, 'export-home');
    await seedRunbookRegistry(createFsStore(path.join(home, 'store')), defaultSettings());
    const out = path.join(dir, 'runA.onnx');
    const run = await runCli(['export', '--run', 'runA', '--out', out, '--json'], { env: { FLTS_HOME: home, SIGNAL_AT_RENAME: '\\.onnx$' }, nodeArgs: ['--import', SIGNAL_AT_RENAME] });
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.json?.error).toMatchObject({ code: 'FLTS_EXPORT_ABORTED', message: `Export was stopped by SIGINT while it wrote ${out}: it finished writing the file whole first.`, details: { file: out, written: true } });
    expect(existsSync(out)).toBe(true);
  }, 60_000);
});
