import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import {
  decodeDeadLetter,
  decodeInferenceClaim,
  decodeInferenceNotice,
  decodePromotion,
  decodeTrainClaim,
  decodeTrainingEvent,
  encodeDeadLetter,
  encodeInferenceClaim,
  encodeInferenceNotice,
  encodePromotion,
  encodeTrainClaim,
  encodeTrainingEvent,
} from './messages.js';
import { trainerGroupId, servingGroupId, pipelineTopics, DEFAULT_TOPICS } from './topics.js';
import { defaultSettings } from '../config/settings.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/messages');
const HASH = 'eb6b5e16f3511014c92388ba6b80a5fd5598ccc6af7355175d49f38fbb579f96';

function fixture(name: string): { topic: string; key: string | null; value: string } {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.reference.json`), 'utf8'));
}

function invalidCode(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as FltsError).code;
  }
  return undefined;
}

describe('core > bus > messages (reference-format fixtures)', () => {
  it('decodes the reference train claim, which has "object" and no operation', () => {
    expect(decodeTrainClaim(fixture('train-claim'))).toEqual({ bucket: 'processed-data', object: 'processed_data.parquet', size: 18640, configHash: HASH, identifier: '' });
  });

  it('decodes the developer-guide train claim with "object_key", an operation and a NaN size', () => {
    expect(decodeTrainClaim(fixture('train-claim-object-key'))).toEqual({ bucket: 'processed-data', object: 'processed_data.parquet', size: 0, configHash: HASH, identifier: 'poblesec' });
  });

  it('decodes the inference claim', () => {
    expect(decodeInferenceClaim(fixture('inference-claim'))).toEqual({ bucket: 'processed-data', object: 'test_processed_data.parquet', size: 18711, configHash: HASH, identifier: '' });
  });

  it('decodes RUNNING and SUCCESS training messages, taking the model type from the operation', () => {
    expect(decodeTrainingEvent(fixture('training-running'))).toEqual({ status: 'RUNNING', modelType: 'GRU', experiment: 'Default', runName: 'GRU', configHash: HASH });
    expect(decodeTrainingEvent(fixture('training-success'))).toEqual({ status: 'SUCCESS', modelType: 'GRU', experiment: 'Default', runName: 'GRU', configHash: HASH, runId: '4f1c2b7e9a8d4e6f8b0a1c2d3e4f5a6b' });
    expect(decodeTrainingEvent(fixture('training-success-prophet'))).toMatchObject({ status: 'SUCCESS', modelType: 'PROPHET', experiment: 'NonML' });
  });

  it('decodes promotions, keeping every field and turning NaN/Infinity tokens into null', () => {
    const promotion = decodePromotion(fixture('promotion'));
    expect(promotion).toMatchObject({ run_id: '4f1c2b7e9a8d4e6f8b0a1c2d3e4f5a6b', model_type: 'GRU', score: 0.0299628, model_uri: 'runs:/4f1c2b7e9a8d4e6f8b0a1c2d3e4f5a6b/GRU', weights: { rmse: 0.5, mae: 0.3, mse: 0.2 } });
    const nan = decodePromotion(fixture('promotion-nan-score'));
    expect(nan).toMatchObject({ identifier: 'k8s', model_type: 'AUTOMFLES', rmse: null, mse: null, score: null });
  });

  it('decodes the performance-eval notice and a DLQ envelope', () => {
    expect(decodeInferenceNotice(fixture('performance-eval'))).toEqual({
      identifier: '',
      logBucket: 'inference-logs',
      logObjectKey: 'global/2025-11-04/predictions.jsonl',
      runId: '4f1c2b7e9a8d4e6f8b0a1c2d3e4f5a6b',
      modelType: 'GRU',
      configHash: HASH,
      rows: 4070,
    });
    const dead = decodeDeadLetter(fixture('dlq-model-training'));
    expect(dead).toMatchObject({ operation: 'train', error: 'Input contains NaN', timestamp: 1762196201.896064 });
    expect(decodeTrainClaim({ key: 'train-claim', value: JSON.stringify(dead.payload) }).object).toBe('processed_data.parquet');
  });
});

describe('core > bus > messages (encoders emit the reference fields)', () => {
  const claim = { bucket: 'processed-data', object: 'processed_data.parquet', size: 1729985, configHash: HASH, identifier: 'site-a' };

  it('train claim: key train-claim, fields in reference order, no operation', () => {
    const message = encodeTrainClaim(claim);
    expect(message.key).toBe('train-claim');
    expect(Object.entries(JSON.parse(message.value))).toEqual([
      ['bucket', 'processed-data'],
      ['object', 'processed_data.parquet'],
      ['size', 1729985],
      ['v', 1],
      ['config_hash', HASH],
      ['identifier', 'site-a'],
    ]);
    expect(decodeTrainClaim(message)).toEqual(claim);
  });

  it('inference claim: key inference-claim, object and object_key, operation "post: test data"', () => {
    const message = encodeInferenceClaim(claim);
    expect(message.key).toBe('inference-claim');
    expect(Object.keys(JSON.parse(message.value))).toEqual(['bucket', 'object', 'object_key', 'size', 'operation', 'v', 'config_hash', 'identifier']);
    expect(JSON.parse(message.value)).toMatchObject({ object_key: 'processed_data.parquet', operation: 'post: test data' });
    expect(decodeInferenceClaim(message)).toEqual(claim);
  });

  it('training events: RUNNING without key, SUCCESS keyed trained-<MT>, FAILED keyed failed-<MT> with the error', () => {
    const running = encodeTrainingEvent({ status: 'RUNNING', modelType: 'lstm', experiment: 'Default', configHash: HASH });
    expect(running.key).toBeNull();
    expect(JSON.parse(running.value)).toEqual({ operation: 'Training Started: LSTM', status: 'RUNNING', experiment: 'Default', run_name: 'LSTM', config_hash: HASH });
    const success = encodeTrainingEvent({ status: 'SUCCESS', modelType: 'LSTM', experiment: 'Default', configHash: HASH, runId: 'r-1' });
    expect(success.key).toBe('trained-LSTM');
    expect(Object.keys(JSON.parse(success.value))).toEqual(['operation', 'status', 'experiment', 'run_name', 'config_hash', 'run_id']);
    expect(JSON.parse(success.value).operation).toBe('Trained: LSTM');
    const failed = encodeTrainingEvent({ status: 'FAILED', modelType: 'LSTM', experiment: 'Default', configHash: HASH, runId: null, error: 'out of memory' });
    expect(failed.key).toBe('failed-LSTM');
    expect(decodeTrainingEvent(failed)).toEqual({ status: 'FAILED', modelType: 'LSTM', experiment: 'Default', runName: 'LSTM', configHash: HASH, runId: null, error: 'out of memory' });
  });

  it('promotion: key promotion, value is the record itself; inference notice has no key', () => {
    const record = JSON.parse(fixture('promotion').value);
    const message = encodePromotion(record);
    expect(message.key).toBe('promotion');
    expect(JSON.parse(message.value)).toEqual(record);
    const notice = encodeInferenceNotice({ identifier: '', logBucket: 'inference-logs', logObjectKey: 'a.jsonl', runId: 'r', modelType: 'GRU', configHash: HASH, rows: 3 });
    expect(notice.key).toBeNull();
    expect(Object.keys(JSON.parse(notice.value))).toEqual(['operation', 'status', 'identifier', 'log_bucket', 'log_object_key', 'run_id', 'model_type', 'config_hash', 'rows']);
  });

  it('DLQ envelope: operation, status Failure, error, payload, unix-seconds timestamp', () => {
    const message = encodeDeadLetter('preprocess', new Error('disk full'), { config_hash: HASH }, 1_762_196_201_896);
    expect(message.key).toBeNull();
    expect(JSON.parse(message.value)).toEqual({ operation: 'preprocess', status: 'Failure', error: 'disk full', payload: { config_hash: HASH }, timestamp: 1762196201.896 });
  });
});

describe('core > bus > messages (invalid messages are poison)', () => {
  it.each([
    ['not JSON', 'train-claim{'],
    ['a JSON array', '[1,2]'],
    ['no config_hash', '{"bucket":"b","object":"o","size":1,"v":1}'],
    ['no object nor object_key', `{"bucket":"b","size":1,"v":1,"config_hash":"${HASH}"}`],
    ['the inference operation on a train claim', `{"bucket":"b","object":"o","operation":"post: test data","config_hash":"${HASH}"}`],
    ['an unknown claim version', `{"bucket":"b","object":"o","v":2,"config_hash":"${HASH}"}`],
    ['a non-numeric size', `{"bucket":"b","object":"o","size":"big","config_hash":"${HASH}"}`],
    ['a config_hash that is a path', '{"bucket":"b","object":"o","config_hash":"../../etc"}'],
    ['a config_hash of 129 characters', `{"bucket":"b","object":"o","config_hash":"${'a'.repeat(129)}"}`],
  ])('rejects a train claim with %s', (_reason, value) => {
    expect(invalidCode(() => decodeTrainClaim({ key: 'train-claim', value }))).toBe('FLTS_BUS_MESSAGE_INVALID');
  });

  it('rejects training messages with an unknown status or a SUCCESS without run_id', () => {
    expect(invalidCode(() => decodeTrainingEvent({ key: null, value: '{"operation":"Trained: GRU","status":"DONE","config_hash":"h"}' }))).toBe('FLTS_BUS_MESSAGE_INVALID');
    expect(invalidCode(() => decodeTrainingEvent({ key: 'trained-GRU', value: '{"operation":"Trained: GRU","status":"SUCCESS","config_hash":"h"}' }))).toBe('FLTS_BUS_MESSAGE_INVALID');
  });

  it('rejects a training or promotion message whose config_hash could name another store key, quoting it clipped', () => {
    const training = { key: 'trained-GRU', value: `{"operation":"Trained: GRU","status":"SUCCESS","config_hash":"a/${'b'.repeat(500)}","run_id":"r1"}` };
    expect(invalidCode(() => decodeTrainingEvent(training))).toBe('FLTS_BUS_MESSAGE_INVALID');
    expect(() => decodeTrainingEvent(training)).toThrow(/config_hash.*"a\/b{98}\.\.\."/);
    expect(invalidCode(() => decodePromotion({ key: null, value: '{"config_hash":"x y","run_id":"r1","model_type":"GRU"}' }))).toBe('FLTS_BUS_MESSAGE_INVALID');
  });
});

describe('core > bus > messages (a run id names store keys)', () => {
  it.each(['../../../../etc/passwd', '..', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(129)])('rejects run_id %j on model-training SUCCESS, model-selected and performance-eval', (runId) => {
    const id = JSON.stringify(runId);
    expect(invalidCode(() => decodeTrainingEvent({ key: 'trained-GRU', value: `{"operation":"Trained: GRU","status":"SUCCESS","config_hash":"h","run_id":${id}}` }))).toBe('FLTS_BUS_MESSAGE_INVALID');
    expect(invalidCode(() => decodePromotion({ key: 'promotion', value: `{"config_hash":"h","run_id":${id},"model_type":"GRU"}` }))).toBe('FLTS_BUS_MESSAGE_INVALID');
    expect(invalidCode(() => decodeInferenceNotice({ key: null, value: `{"log_bucket":"b","log_object_key":"k","run_id":${id},"model_type":"GRU"}` }))).toBe('FLTS_BUS_MESSAGE_INVALID');
  });
});

describe('core > bus > messages (a claim\'s bucket, object and identifier address the store)', () => {
  const body = { bucket: 'processed-data', object: 'test_processed_data.parquet', object_key: 'test_processed_data.parquet', size: 1, v: 1, config_hash: HASH, identifier: '' };
  // Each claim as the reference sends it (the train claim without an operation), with `fields` replaced.
  const decoders = [
    ['training-data', (fields: Record<string, unknown>) => decodeTrainClaim({ topic: 'training-data', key: 'train-claim', value: JSON.stringify({ ...body, ...fields }) })],
    ['inference-data', (fields: Record<string, unknown>) => decodeInferenceClaim({ topic: 'inference-data', key: 'inference-claim', value: JSON.stringify({ ...body, operation: 'post: test data', ...fields }) })],
  ] as const;
  const rejection = (decode: (fields: Record<string, unknown>) => unknown, fields: Record<string, unknown>): FltsError => {
    try {
      decode(fields);
    } catch (error) {
      return error as FltsError;
    }
    throw new Error(`accepted ${JSON.stringify(fields).slice(0, 200)}`);
  };

  it.each([
    ['bucket', '../../../../etc/passwd'],
    ['bucket', 'a/b'],
    ['bucket', 'UPPER'],
    ['bucket', 'a\u0000b'],
    ['bucket', 'x'.repeat(64)],
    ['bucket', 0],
    ['object', '../../../../etc/passwd'],
    ['object', '/etc/passwd'],
    ['object', 'a/../../b'],
    ['object', 'a\\b'],
    ['object', 'a\u0000b'],
    ['object', 'a\nb'],
    ['object', 'x'.repeat(1025)],
    // Shows as "teuqrap.atad_dessecorp": a log line or dead letter naming it reads as another key.
    ['object', '\u202eprocessed_data.parquet'],
    ['object', 'a\u2028b'],
    // No UTF-8 spelling: the filesystem store would read "x\ufffd.parquet", another object.
    ['object', 'x\ud800.parquet'],
    ['object', { a: 1 }],
    ['identifier', '../../x'],
    ['identifier', '..'],
    ['identifier', 'a/b'],
    ['identifier', 'a\u0000b'],
    ['identifier', 'a\nb'],
    ['identifier', 'x'.repeat(129)],
    // A drive letter: every store refuses the scope's keys as absolute, so a claim naming it could never be answered.
    ['identifier', 'z:1'],
    ['identifier', 'C:'],
    ['identifier', 'a\u202eb'],
    ['identifier', 'a\u0085b'],
    ['identifier', 'a\u2028b'],
    ['identifier', 'a\udc00b'],
    ['identifier', '\u{1F600}'.repeat(129)],
    ['identifier', 7],
    ['identifier', ['site']],
  ])('rejects %s %j on both claim topics as FLTS_BUS_MESSAGE_INVALID naming the field', (field, value) => {
    // object_key follows object, as the reference sends them: a bad one is not mended by a good twin.
    const fields = field === 'object' ? { object: value, object_key: value } : { [field]: value };
    for (const [topic, decode] of decoders) {
      const error = rejection(decode, fields);
      expect(error.code, topic).toBe('FLTS_BUS_MESSAGE_INVALID');
      expect(error.details, topic).toMatchObject({ topic, field });
      expect(error.message.length, topic).toBeLessThan(400);
    }
  });

  it('keeps what earlier releases and the reference write: nested objects, any folder-name identifier, a dotted bucket', () => {
    for (const [, decode] of decoders) {
      expect(decode({ object: `${HASH}/test.parquet`, object_key: `${HASH}/test.parquet`, identifier: 'Poble Sec:7' })).toMatchObject({ object: `${HASH}/test.parquet`, identifier: 'Poble Sec:7' });
      expect(decode({ bucket: 'site.a-data', identifier: null })).toMatchObject({ bucket: 'site.a-data', identifier: '' });
      // Whole characters outside the BMP are no lone surrogates.
      expect(decode({ object: 'data/\u{1F600}.parquet', object_key: 'data/\u{1F600}.parquet', identifier: 'site-\u{1F600}' })).toMatchObject({ object: 'data/\u{1F600}.parquet', identifier: 'site-\u{1F600}' });
    }
  });

  it('takes a claim\'s identifier that shows as another name (its publisher\'s IDENTIFIER, which that setting took with a warning), and 128 emoji', () => {
    for (const [topic, decode] of decoders) {
      // Refused, a deployment named so would dead-letter its own claims.
      for (const identifier of ['site\u200Bb', '\uFEFFsite', 'x\u00AD', 'Poble\u00A0Sec']) expect(decode({ identifier }), topic).toMatchObject({ identifier });
      // Before, refused as 256 UTF-16 units.
      expect(decode({ identifier: '\u{1F600}'.repeat(128) }), topic).toMatchObject({ identifier: '\u{1F600}'.repeat(128) });
      expect(rejection(decode, { identifier: '\u{1F600}'.repeat(129) }).message, topic).toMatch(/: it is 129 characters long\.$/);
    }
  });

  it('reads a promotion or an inference notice as it was written, whatever its identifier: a record of what was done, not a new scope', () => {
    // A scope an earlier release made with U+200B in it stays readable wherever flts reads back what it recorded.
    expect(decodePromotion({ key: 'promotion', value: JSON.stringify({ identifier: 'site\u200Bb', config_hash: HASH, run_id: 'r1', model_type: 'GRU' }) }).identifier).toBe('site\u200Bb');
    const notice = encodeInferenceNotice({ identifier: 'Poble\u00A0Sec', logBucket: 'inference-logs', logObjectKey: 'Poble\u00A0Sec/20260101/x.jsonl', runId: 'r1', modelType: 'GRU', configHash: HASH, rows: 1 });
    expect(decodeInferenceNotice({ ...notice, topic: 'performance-eval' }).identifier).toBe('Poble\u00A0Sec');
  });

  it('quotes a field with a bidirectional or line-separator character escaped, so the log line and dead letter read as sent', () => {
    const errors = [
      () => decodeTrainClaim({ key: 'train-claim', value: JSON.stringify({ ...body, bucket: 'processed-data\u202e' }) }),
      () => decodeInferenceClaim({ key: 'inference-claim', value: JSON.stringify({ ...body, operation: 'post: test\u2028data' }) }),
      () => decodeTrainingEvent({ key: null, value: JSON.stringify({ status: ['SUC\u202eCESS'], config_hash: HASH }) }),
      () => decodePromotion({ key: 'promotion', value: JSON.stringify({ config_hash: 'a\u2066b', run_id: 'r1', model_type: 'GRU' }) }),
    ];
    for (const decode of errors) {
      expect(invalidCode(decode)).toBe('FLTS_BUS_MESSAGE_INVALID');
      expect(() => decode()).toThrow(/\\u(202e|2028|2066)/);
      expect(() => decode()).not.toThrow(/[\u2028\u202e\u2066]/);
    }
  });

  it('quotes a huge field clipped wherever a decoder names it', () => {
    const huge = 'x'.repeat(2_000_000);
    const errors = [
      () => decodeTrainClaim({ key: 'train-claim', value: JSON.stringify({ ...body, operation: huge }) }),
      () => decodeTrainClaim({ key: 'train-claim', value: JSON.stringify({ ...body, object: huge }) }),
      () => decodeInferenceClaim({ key: 'inference-claim', value: JSON.stringify({ ...body, identifier: huge }) }),
      () => decodeTrainingEvent({ key: null, value: JSON.stringify({ status: huge, config_hash: HASH }) }),
      () => decodeTrainingEvent({ key: null, value: JSON.stringify({ status: 'SUCCESS', operation: huge, config_hash: HASH, run_id: 'r' }) }),
      () => decodeDeadLetter({ key: null, value: JSON.stringify({ status: [huge] }) }),
      // Deeper than JSON.stringify recurses, though JSON.parse reads it.
      () => decodeTrainingEvent({ key: null, value: `{"status":${'['.repeat(20_000)}${']'.repeat(20_000)},"config_hash":"${HASH}"}` }),
    ];
    for (const decode of errors) {
      expect(invalidCode(decode)).toBe('FLTS_BUS_MESSAGE_INVALID');
      expect(() => decode()).toThrow(/^.{0,400}$/s);
    }
  });
});

describe('core > bus > topics', () => {
  it('names one group per trainer type (reference names) and one per serving replica', () => {
    expect(['GRU', 'LSTM', 'PROPHET'].map((type) => trainerGroupId(type))).toEqual(['train-gru', 'train-lstm', 'nonml-prophet']);
    expect(trainerGroupId('PROPHET', 'site-a-train-')).toBe('site-a-train-prophet');
    expect(servingGroupId('host1-4242')).toBe('serve-host1-4242');
  });

  it('lists every pipeline topic and the DLQ each role writes, a renamed one by its name, and no DLQ nothing writes', () => {
    const settings = defaultSettings();
    expect(pipelineTopics(settings)).toEqual([...Object.values(DEFAULT_TOPICS), 'DLQ-model-training', 'DLQ-model-selected', 'DLQ-performance-eval']);
    settings.bus.dlq.trainer = 'site-a-train-dead';
    expect(pipelineTopics(settings)).toEqual([...Object.values(DEFAULT_TOPICS), 'site-a-train-dead', 'DLQ-model-selected', 'DLQ-performance-eval']);
  });
});
