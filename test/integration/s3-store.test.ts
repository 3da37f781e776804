import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsBus } from '../../src/core/bus/fs-bus.js';
import { defaultSettings, resolveSettings } from '../../src/core/config/settings.js';
import { startDaemon } from '../../src/core/daemon/start-daemon.js';
import { FltsError } from '../../src/core/errors.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { startInferenceService } from '../../src/core/serve/start-inference-service.js';
import { createObjectStore } from '../../src/core/storage/index.js';
import { describeObjectStoreContract } from '../../src/core/storage/object-store.contract.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import { recordingStore } from '../../src/core/storage/recording-store.fixture.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { indexSuccessRuns, indexUnlistedRuns, listRunRecords, listSuccessRuns, saveRunRecord } from '../../src/core/registry/run-store.js';
import { runCli } from '../helpers/run-cli.js';
import { INFRA_HINT, infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();

async function reachableStore() {
  const store = createS3Store(infra.s3);
  try {
    await store.list('flts-probe');
  } catch (error) {
    throw new Error(`S3 server not reachable at ${infra.s3.endpoint}: ${(error as Error).message}; ${INFRA_HINT}`);
  }
  return store;
}

if (skipReason) {
  describe('integration > s3-store', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  // S3Proxy, the test server, honours If-None-Match and If-Match but checks them before it writes: of six
  // simultaneous conditional PUTs two have been seen to win. AWS S3 and MinIO decide atomically.
  describeObjectStoreContract('integration > s3-store', reachableStore, 'flts-it', { atomicConditionalWrites: false });

  describe('integration > s3-store behaviour', () => {
    it('creates a missing bucket on the first put and lists an unknown bucket as empty', async () => {
      const store = await reachableStore();
      const bucket = `flts-lazy-${randomUUID().slice(0, 8)}`;
      expect(await store.list(bucket)).toEqual([]);
      await store.put(bucket, 'processed_data.meta.json', '{"config_hash":"abc"}');
      expect((await store.get(bucket, 'processed_data.meta.json')).toString()).toBe('{"config_hash":"abc"}');
    });

    it('is what createObjectStore builds from the reference MinIO variables', async () => {
      const { settings } = resolveSettings({ env: { ...infra.vars, FLTS_STORE: 's3' } });
      const store = await createObjectStore(settings);
      expect(store.kind).toBe('s3');
      const bucket = `flts-env-${randomUUID().slice(0, 8)}`;
      await store.put(bucket, 'global/current.json', '{"run_id":"r1"}');
      const direct = await reachableStore();
      expect(JSON.parse((await direct.get(bucket, 'global/current.json')).toString())).toEqual({ run_id: 'r1' });
    });

    it('reads, for one config_hash, only the run records its index lists under it or under none, and indexes those of an older flts', async () => {
      const settings = defaultSettings();
      settings.store.buckets.runs = `flts-runs-${randomUUID().slice(0, 8)}`;
      const s3 = await reachableStore();
      const [mine, theirs] = ['c'.repeat(64), 'd'.repeat(64)];
      const run = (id: string, configHash: string) => fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', configHash);
      for (const [id, configHash] of [['m1', mine], ['m2', mine], ['t1', theirs]]) await saveRunRecord(s3, settings, run(id, configHash));
      // Written by an older flts, before the index: no entry, so only their record says which config_hash they are of.
      for (const [id, configHash] of [['old-mine', mine], ['old-theirs', theirs]]) await s3.put(settings.store.buckets.runs, `${id}/run.json`, JSON.stringify(run(id, configHash)));

      const readKeys = async (): Promise<{ runIds: string[]; read: string[] }> => {
        const { store, calls } = recordingStore(s3);
        const runIds = (await listRunRecords(store, settings, { configHash: mine })).map((record) => record.run_id).sort();
        return { runIds, read: calls.filter((call) => call.method === 'get').map((call) => call.key ?? '').sort() };
      };
      expect(await readKeys()).toEqual({ runIds: ['m1', 'm2', 'old-mine'], read: ['m1/run.json', 'm2/run.json', 'old-mine/run.json', 'old-theirs/run.json'] });
      expect((await s3.list(settings.store.buckets.runs, `config-hashes/${theirs}/`)).map((info) => info.key)).toEqual([`config-hashes/${theirs}/t1/listed`]);

      expect((await indexUnlistedRuns(s3, settings, await listRunRecords(s3, settings))).sort()).toEqual(['old-mine', 'old-theirs']);
      expect(await readKeys()).toEqual({ runIds: ['m1', 'm2', 'old-mine'], read: ['m1/run.json', 'm2/run.json', 'old-mine/run.json'] });
    });

    it('learns the SUCCESS runs from the SUCCESS index, reading only the records of runs it lacks, and lists those of an older flts', async () => {
      const settings = defaultSettings();
      settings.store.buckets.runs = `flts-runs-${randomUUID().slice(0, 8)}`;
      const s3 = await reachableStore();
      const run = (id: string, status: 'SUCCESS' | 'FAILED' = 'SUCCESS') => fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z', status);
      for (const id of ['s1', 's2']) await saveRunRecord(s3, settings, run(id));
      await saveRunRecord(s3, settings, run('f1', 'FAILED'));
      // Written by an older flts, before the index: no entry, so only its record says it is a SUCCESS.
      await s3.put(settings.store.buckets.runs, 'old-success/run.json', JSON.stringify(run('old-success')));

      const readKeys = async (): Promise<{ runIds: string[]; read: string[] }> => {
        const { store, calls } = recordingStore(s3);
        const { runIds } = await listSuccessRuns(store, settings, 0);
        return { runIds, read: calls.filter((call) => call.method === 'get').map((call) => call.key ?? '').sort() };
      };
      expect(await readKeys()).toEqual({ runIds: ['old-success', 's1', 's2'], read: ['f1/run.json', 'old-success/run.json'] });
      expect(await indexSuccessRuns(s3, settings, (await listSuccessRuns(s3, settings, 0)).unindexed)).toEqual(['old-success']);
      expect(await readKeys()).toEqual({ runIds: ['old-success', 's1', 's2'], read: ['f1/run.json'] });
    });

  });

  describe('integration > s3-store > credentials the server refuses', () => {
    const WRONG = 'wrong-secret-never-shown';
    const wrongSecret = () => createS3Store({ ...infra.s3, secretKey: WRONG });
    /** A few quick retries: enough for the old answer (FLTS_STORE_UNAVAILABLE, retried) to show, never a long wait. */
    const SHORT_WAIT = { retries: 3, baseDelayMs: 1, maxDelayMs: 1, jitter: false };
    let home: string;
    beforeAll(async () => {
      home = await mkdtemp(path.join(os.tmpdir(), 'flts-s3-refused-'));
      // The bucket exists, so the HEAD the store sends first (bucketExists, statObject) is refused as such.
      await (await reachableStore()).put('flts-refused', 'x.json', '{}');
    });
    afterAll(async () => {
      await rm(home, { recursive: true, force: true });
    });

    const failure = async (action: () => Promise<unknown>): Promise<FltsError> => {
      const error = await action().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(FltsError);
      return error as FltsError;
    };

    it('answers a wrong secret with FLTS_STORE_AUTH_FAILED on every call, HEADs included, naming the endpoint and the access key id', async () => {
      const store = wrongSecret();
      for (const action of [() => store.get('flts-refused', 'x.json'), () => store.put('flts-refused', 'y.json', '{}'), () => store.list('flts-refused'), () => store.ensureBucket('flts-refused'), () => store.stat('flts-refused', 'x.json')]) {
        const error = await failure(action);
        expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', kind: 'usage', retriable: false, details: { s3Code: 'SignatureDoesNotMatch', accessKey: infra.s3.accessKey } });
        expect(error.message).toContain(`S3 endpoint http://${infra.s3.endpoint} refused the credentials of access key id '${infra.s3.accessKey}'`);
        expect(JSON.stringify(error.toJSON())).not.toContain(WRONG);
      }
    });

    it('answers an access key id the server does not know with FLTS_STORE_AUTH_FAILED', async () => {
      const store = createS3Store({ ...infra.s3, accessKey: 'flts-nobody' });
      for (const action of [() => store.get('flts-refused', 'x.json'), () => store.ensureBucket('flts-refused')]) {
        const error = await failure(action);
        expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { s3Code: 'InvalidAccessKeyId', accessKey: 'flts-nobody' } });
        expect(error.message).toContain('the server knows no such access key id');
      }
    });

    it('ends a daemon startup at once instead of waiting for the store', async () => {
      const settings = resolveSettings({ flags: { home, 'daemon.roles': ['batch'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
      const retries: unknown[] = [];
      const logger = { ...silentLogger, warn: (fields: unknown, msg?: string) => void (msg === 'daemon_startup_retrying' && retries.push(fields)), child: () => logger } as unknown as Logger;
      const starting = startDaemon(settings, { store: wrongSecret(), bus: createFsBus({ root: path.join(home, 'bus') }), logger, startupRetry: SHORT_WAIT });
      await expect(starting).rejects.toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED' });
      expect(retries).toEqual([]);
    });

    it('ends the start of an inference service, following the pointer or pinned to a run', async () => {
      const defaults = defaultSettings();
      const settings = { ...defaults, serve: { ...defaults.serve, port: 0, predictionLog: { ...defaults.serve.predictionLog, enabled: false } } };
      for (const runId of ['', 'pinned-run']) {
        const started = await startInferenceService({ ...settings, serve: { ...settings.serve, runId } }, { store: wrongSecret() }).then(
          async (service) => {
            await service.close();
            return service.holder.status().degraded?.code;
          },
          (e: unknown) => e,
        );
        expect(started).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED' });
      }
    });

    it('fails a one-shot command and `flts serve` with exit code 2, never printing the secret', async () => {
      const env = { ...infra.vars, MINIO_ROOT_PASSWORD: WRONG, FLTS_STORE: 's3', FLTS_HOME: home };
      for (const args of [['eval', '--json'], ['serve', '--port', '0', '--json']]) {
        const run = await runCli(args, { env, timeoutMs: 30_000 });
        expect(run.exitCode, args.join(' ')).toBe(2);
        expect(run.json.error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', kind: 'usage', details: { access_key: infra.s3.accessKey } });
        expect(run.stdout + run.stderr).not.toContain(WRONG);
      }
    });
  });
}
