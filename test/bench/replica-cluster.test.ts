import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicas } from '../../src/core/bench/replica-cluster.js';
import { SERVING_HEAP_FLAG } from '../../src/core/serve/serving-heap.js';
import { BIN } from '../helpers/run-cli.js';
import { createTrainedHome, type TrainedHome } from '../helpers/poblesec-slice.js';

describe('bench > serve replicas as cluster workers', () => {
  let trained: TrainedHome;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-replicas-', ['NAIVE']);
  }, 120_000);
  afterAll(() => trained?.remove());

  it('stop() ends every replica by its own clean shutdown, not by SIGKILL once the grace runs out', async () => {
    const exits: Array<{ code: number | null; signal: string | null }> = [];
    const onExit = (_worker: Worker, code: number | null, signal: string | null): void => void exits.push({ code, signal });
    cluster.on('exit', onExit);
    try {
      const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--home', trained.home, '--run', trained.runs[0].run_id, '--log-level', 'info'];
      const replicas = await startReplicas(2, { exec: BIN, args });
      expect((await fetch(`${replicas.url}/healthz`)).status).toBe(200);
      await replicas.stop();
      expect(exits).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
    } finally {
      cluster.off('exit', onExit);
    }
  }, 60_000);

  // Cluster workers have an IPC channel and do not relaunch themselves: bench gives them the bound `flts serve`
  // runs with alone, or a replica here would hold the memory V8 sizes by the machine, not what one deployed holds.
  it.runIf(process.platform === 'linux')('starts each replica with the young generation `flts serve` bounds', async () => {
    const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--home', trained.home, '--run', trained.runs[0].run_id, '--log-level', 'info'];
    const replicas = await startReplicas(1, { exec: BIN, args, env: { NODE_OPTIONS: '' } });
    try {
      const commandLine = readFileSync(`/proc/${replicas.pids[0]}/cmdline`, 'utf8').split('\0');
      expect(commandLine.slice(1, commandLine.indexOf(BIN))).toContain(SERVING_HEAP_FLAG);
    } finally {
      await replicas.stop();
    }
  }, 60_000);

  it('starts no replica once the run is stopped, rather than waiting for every replica to load its model', async () => {
    const forked: Worker[] = [];
    const onFork = (worker: Worker): void => void forked.push(worker);
    cluster.on('fork', onFork);
    try {
      const stopped = new AbortController();
      stopped.abort();
      const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--home', trained.home, '--run', trained.runs[0].run_id, '--log-level', 'info'];
      await expect(startReplicas(2, { exec: BIN, args }, { signal: stopped.signal })).rejects.toMatchObject({ code: 'FLTS_BENCH_ABORTED' });
      expect(forked).toEqual([]);
    } finally {
      cluster.off('fork', onFork);
      for (const worker of forked) worker.process.kill('SIGKILL');
    }
  }, 60_000);

  it('ends with the usage error of a replica that refuses its settings, and stops the replicas that started', async () => {
    const exits: number[] = [];
    const onExit = (worker: Worker): void => void exits.push(worker.process.pid as number);
    cluster.on('exit', onExit);
    try {
      const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--home', trained.home, '--run', trained.runs[0].run_id, '--log-level', 'info'];
      // Before, the one replica's exit was a FLTS_BENCH_FAILED, and the rejection of its model load, never awaited, ended bench with a stack.
      await expect(startReplicas(2, { exec: BIN, args, env: { FLTS_SERVE_ENGINE: 'bogus' } })).rejects.toMatchObject({
        code: 'FLTS_CONFIG_INVALID_VALUE',
        kind: 'usage',
        message: expect.stringMatching(/^A serve replica refused its settings: FLTS_SERVE_ENGINE \(setting serve.engine\) = "bogus" is not valid/),
      });
      expect(exits).toHaveLength(2);
    } finally {
      cluster.off('exit', onExit);
    }
  }, 60_000);
});
