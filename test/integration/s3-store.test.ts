import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import { createObjectStore } from '../../src/core/storage/index.js';
import { describeObjectStoreContract } from '../../src/core/storage/object-store.contract.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
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

    it('reports rejected credentials as FLTS_STORE_UNAVAILABLE naming the variables', async () => {
      const store = createS3Store({ ...infra.s3, secretKey: 'wrong-secret' });
      const error = await store.get('flts-any', 'x.json').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FltsError);
      expect((error as FltsError).code).toBe('FLTS_STORE_UNAVAILABLE');
      expect((error as FltsError).message).toContain('MINIO_ROOT_USER');
    });
  });
}
