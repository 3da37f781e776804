import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foreignRun } from '../src/core/registry/foreign-run.fixture.js';
import { startRunHeartbeat, type RunHeartbeatHandle } from '../src/core/registry/run-heartbeat.js';
import { listRunRecords, saveRunRecord } from '../src/core/registry/run-store.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

const ELSEWHERE = `${os.hostname()}-elsewhere`;
let slice: SliceHome;
let heartbeat: RunHeartbeatHandle | undefined;

beforeEach(() => {
  slice = createSliceHome('flts-cli-train-busy-', { 'daemon.heartbeatMs': 100 });
});
afterEach(async () => {
  await heartbeat?.remove();
  heartbeat = undefined;
  slice.remove();
});

describe('cli > train while another process trains the same model', () => {
  it('refuses the busy type with FLTS_TRAIN_IN_PROGRESS (exit 5) and trains the others; --allow-concurrent trains it anyway', async () => {
    const { settings, store, home } = slice;
    const { configHash } = await preprocess(settings, { store });
    // A daemon on another host is training NAIVE on this data: its heartbeat beats every 100 ms.
    const owner = { host: ELSEWHERE, pid: 4242 };
    heartbeat = await startRunHeartbeat(store, settings, 'daemonrun', { owner });
    await saveRunRecord(store, settings, foreignRun('daemonrun', new Date(), { configHash, owner }));
    const env = { FLTS_HOME: home, FLTS_DAEMON_HEARTBEAT_MS: '100', EPOCHS: '1', HIDDEN_SIZE: '8', NUM_LAYERS: '1' };

    const refused = await runCli(['train', '--model', 'NAIVE,LSTM', '--json'], { env, timeoutMs: 120_000 });
    expect(refused.exitCode).toBe(5);
    expect(refused.json.error).toMatchObject({ code: 'FLTS_TRAIN_IN_PROGRESS', message: expect.stringContaining(`NAIVE is already being trained on config_hash ${configHash.slice(0, 12)} by run daemonrun (pid 4242 on ${ELSEWHERE}`) });
    expect(refused.json.error.details.in_progress).toEqual([expect.objectContaining({ run_id: 'daemonrun', model_type: 'NAIVE', owner })]);
    const afterRefusal = await listRunRecords(store, settings, { configHash });
    expect(afterRefusal.map((run) => `${run.run_id === 'daemonrun' ? 'daemon' : 'cli'} ${run.model_type} ${run.status}`).sort()).toEqual(['cli LSTM SUCCESS', 'daemon NAIVE RUNNING']);
    expect(refused.json.error.details.succeeded).toEqual([afterRefusal.find((run) => run.model_type === 'LSTM')!.run_id]);

    const anyway = await runCli(['train', '--model', 'NAIVE', '--allow-concurrent', '--json'], { env, timeoutMs: 120_000 });
    expect(anyway.exitCode).toBe(0);
    expect(anyway.json.result.runs.map((run: { model_type: string; status: string }) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE SUCCESS']);
    const both = await runCli(['train', '--model', 'NAIVE', '--wait', '--allow-concurrent', '--json'], { env });
    expect(both.exitCode).toBe(2);
  });
});
