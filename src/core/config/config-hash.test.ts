import { describe, expect, it } from 'vitest';
import { computeConfigHash } from './config-hash.js';
import { resolveSettings } from './settings.js';

const DEFAULTS_CANONICAL =
  '{"_data":{"sample_strategy":"head","sample_test_rows":0,"sample_train_rows":0,"test_file":"PobleSec_test.csv","train_file":"PobleSec.csv"},"extra":{"hash_salt":""},"handle_nans":{"drop_rows":false,"enabled":true,"knn_neighbors":2,"threshold":0.33},"lags":{"enabled":false,"n_lags":0,"step":1},"outliers":{"enabled":false,"factor":1.5,"method":"iqr"},"scaling":{"add_constant":null,"method":"MinMaxScaler"},"time_features":{"enabled":true}}';

function hashFor(env: Record<string, string>) {
  const { settings } = resolveSettings({ env });
  return computeConfigHash(settings.preprocess, settings.data);
}

describe('core > config > config-hash', () => {
  it('matches the reference defaults vector byte for byte', () => {
    const lineage = hashFor({});
    expect(lineage.canonical).toBe(DEFAULTS_CANONICAL);
    expect(Buffer.byteLength(lineage.canonical)).toBe(439);
    expect(lineage.configHash).toBe('6ce79cfae0029f0499e5ca7a14f996ee0fe8c7d4f2a4bbf2fe78d3ae6b155ea9');
  });

  it('matches the reference sampled + salted vector', () => {
    const lineage = hashFor({ SAMPLE_TRAIN_ROWS: '50', SAMPLE_TEST_ROWS: '50', SAMPLE_STRATEGY: 'head', EXTRA_HASH_SALT: 'e2e_auto_flow_nov4' });
    expect(Buffer.byteLength(lineage.canonical)).toBe(459);
    expect(lineage.configHash).toBe('eb6b5e16f3511014c92388ba6b80a5fd5598ccc6af7355175d49f38fbb579f96');
  });

  it('uses file names, not directories', () => {
    const { settings } = resolveSettings({ flags: { 'data.trainFile': '/some/where/PobleSec.csv', 'data.testFile': '../x/PobleSec_test.csv' } });
    expect(computeConfigHash(settings.preprocess, settings.data).configHash).toBe('6ce79cfae0029f0499e5ca7a14f996ee0fe8c7d4f2a4bbf2fe78d3ae6b155ea9');
  });

  it('writes an integer-valued float setting as a Python float (env "1" -> 1.0)', () => {
    expect(hashFor({ NANS_THRESHOLD: '1' }).canonical).toContain('"threshold":1.0');
  });

  it('does not hash the sampling seed or FORCE_REPROCESS', () => {
    expect(hashFor({ SAMPLE_SEED: '7', FORCE_REPROCESS: '1' }).configHash).toBe(hashFor({}).configHash);
  });

  it('derives file names from DATASET_NAME unless TRAIN_FILE overrides', () => {
    expect(hashFor({ DATASET_NAME: 'ElBorn' }).canonical).toContain('"test_file":"ElBorn_test.csv","train_file":"ElBorn.csv"');
    expect(hashFor({ DATASET_NAME: 'ElBorn', TRAIN_FILE: 'x.csv' }).canonical).toContain('"train_file":"x.csv"');
  });
});
