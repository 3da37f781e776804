import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../core/config/settings.js';
import { forgetSecrets } from '../core/redact.js';
import { createCliLogger, plainLogLine, plainLogLines } from './cli-logger.js';

describe('cli > plain log lines of a one-shot command in text mode', () => {
  const plainly = (log: (logger: ReturnType<typeof createCliLogger>) => void): string[] => {
    const written: string[] = [];
    log(createCliLogger('warn', undefined, plainLogLines({ write: (text: string) => void written.push(text) })));
    return written.join('').split('\n').filter(Boolean);
  };

  it('says a warning by its reason and keeps the event name, with nothing of pino\'s record', () => {
    const lines = plainly((logger) => logger.warn({ variable: 'FLTS_EPOCS', meant: ['EPOCHS'], reason: 'FLTS_EPOCS names no flts setting and is ignored; did you mean EPOCHS?' }, 'settings_env_unknown'));
    expect(lines).toEqual(['warning: FLTS_EPOCS names no flts setting and is ignored; did you mean EPOCHS? (settings_env_unknown)']);
  });

  it('says an error by its err message and code, a line without either by its fields, and drops what is below the level', () => {
    const lines = plainly((logger) => {
      logger.error({ run_id: 'r1', code: 'FLTS_TRAIN_FAILED', err: new Error('weights went NaN') }, 'train_failed');
      logger.warn({ run_id: 'r1', timestamp: '2026-01-01T00:00:00Z' }, 'some_event_seen');
      logger.info({ run_id: 'r1' }, 'not_shown');
    });
    expect(lines).toEqual(['error: weights went NaN (train_failed, FLTS_TRAIN_FAILED)', 'warning: run_id r1, timestamp 2026-01-01T00:00:00Z (some_event_seen)']);
  });

  it('says a Kafka line by its error text, not by kafkajs\' record fields', () => {
    // Before: "error: kafka Connection, timestamp 2026-..., logger kafkajs, broker 127.0.0.1:9092, client_id flts, error Connection error: ..."
    const line = { level: 50, msg: 'bus_kafka_connection_lost', kafka: 'Connection', timestamp: '2026-12-08T02:09:26.262Z', logger: 'kafkajs', broker: '127.0.0.1:9092', client_id: 'flts', error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092' };
    expect(plainLogLine(JSON.stringify(line))).toBe('error: Connection error: connect ECONNREFUSED 127.0.0.1:9092 (bus_kafka_connection_lost)');
  });

  it('writes what a terminal would act on as escapes, and leaves a line that is not pino\'s as it is', () => {
    expect(plainLogLine(JSON.stringify({ level: 40, msg: 'settings_identifier_lookalike', reason: 'title \u001b]0;x\u0007' }))).toBe('warning: title \\u001b]0;x\\u0007 (settings_identifier_lookalike)');
    expect(plainLogLine('not json')).toBe('not json');
  });
});

describe('cli > every log line masked of the secrets the settings gave', () => {
  afterEach(() => {
    vi.useRealTimers();
    forgetSecrets();
  });

  const written = (level: string, log: (logger: ReturnType<typeof createCliLogger>) => void, plain = false): string => {
    const lines: string[] = [];
    const sink = { write: (text: string) => void lines.push(text) };
    log(createCliLogger(level, 'flts-serve', plain ? plainLogLines(sink) : sink));
    return lines.join('');
  };

  it('masks a secret setting logged raw by a call site, in a field, a message, an error and its stack, in any form', () => {
    const token = 'tok-4nY/"raw"?é';
    const password = 'pa ss/w@rd';
    const s3Password = `s3${'/?#@'.repeat(300)}tailZQ`;
    resolveSettings({
      env: {
        FLTS_SERVE_API_TOKEN: 'apiTokZQ1',
        MLFLOW_TRACKING_TOKEN: token,
        MLFLOW_TRACKING_URI: `http://u:${encodeURIComponent(password)}@mlflow:5000/`,
        FLTS_S3_ENDPOINT: `http://u:${s3Password}@s3:9000`,
      },
    });
    const error = new Error(`refused ${Buffer.from(token).toString('base64')} and ${password}`);
    const text = written('debug', (logger) => {
      logger.info({ token, setting: 'apiTokZQ1', s3: s3Password, nested: { list: [encodeURIComponent(token)] } }, 'some_event_seen');
      logger.child({ replica: `r-${password}` }).warn({ err: error }, 'some_failure_seen');
      logger.debug({ note: `sent ${token}` }, 'some_detail_seen');
    });
    for (const secret of [token, JSON.stringify(token).slice(1, -1), encodeURIComponent(token), Buffer.from(token).toString('base64'), password, 'apiTokZQ1', 'tailZQ', '/?#@/?#@']) expect(text).not.toContain(secret);
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.msg)).toEqual(['some_event_seen', 'some_failure_seen', 'some_detail_seen']);
    expect(lines[0]).toMatchObject({ token: '***', setting: '***', s3: '***', nested: { list: ['***'] }, service: 'flts-serve' });
    expect(lines[1]).toMatchObject({ replica: 'r-***', err: { message: 'refused *** and ***' } });
    expect(String((lines[1].err as { stack: string }).stack)).toContain('refused *** and ***');
    expect(lines[2]).toMatchObject({ note: 'sent ***' });
  });

  it('masks the plain lines of a one-shot command too, and leaves lines without a secret as they were', () => {
    resolveSettings({ env: { FLTS_KAFKA_SASL_PASSWORD: 'saslPwZQ9' } });
    const text = written('warn', (logger) => logger.warn({ reason: 'broker said saslPwZQ9 is wrong' }, 'bus_auth_refused'), true);
    expect(text).toBe('warning: broker said *** is wrong (bus_auth_refused)\n');
    const plain = written('info', (logger) => logger.info({ run_id: 'r1', url: 'http://h:5000/x?run=1', who: 'ops@example.org' }, 'some_event_seen'));
    expect(JSON.parse(plain)).toMatchObject({ run_id: 'r1', url: 'http://h:5000/x?run=1', who: 'ops@example.org' });
  });

  it('keeps every line the JSON it was, same keys, numbers and booleans, when a secret is short, numeric or a word', () => {
    // A secret of digits or a common word occurs by accident in numbers, keys and literals of a line; only the strings
    // holding it are masked, so that no line stops being JSON (a log pipeline drops it) nor changes a field's name.
    resolveSettings({ env: { FLTS_SERVE_API_TOKEN: '1701', FLTS_SERVE_ADMIN_TOKEN: 'route', FLTS_KAFKA_SASL_PASSWORD: 'true' } });
    const error = new Error('route 1701 refused');
    // pino's time, read from Date.now(), is a number holding the secret too.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1701701701701);
    const text = written('debug', (logger) => {
      logger.info({ route: '/predict', rows: 1701, offset: 417012, ratio: 0.1701, ok: true, ids: [1701, 'x1701y'], nested: { route: 'r' } }, 'request_served');
      logger.child({ route_id: 17011701 }).warn({ err: error, note: 'sent "1701" on route', retried: false }, 'some_failure_seen');
      logger.info({ one: 1, seen_at: '2026-01-01T17:01:00Z' }, 'some_event_seen');
    });
    vi.useRealTimers();
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    // Short secrets are masked as whole tokens only: 'x1701y' is another word, left whole.
    expect(lines.map((line) => Object.keys(line))).toEqual([
      ['level', 'time', 'service', 'route', 'rows', 'offset', 'ratio', 'ok', 'ids', 'nested', 'msg'],
      ['level', 'time', 'service', 'route_id', 'err', 'note', 'retried', 'msg'],
      ['level', 'time', 'service', 'one', 'seen_at', 'msg'],
    ]);
    expect(lines.map((line) => [line.level, line.time, line.service, line.msg])).toEqual([
      [30, 1701701701701, 'flts-serve', 'request_served'],
      [40, 1701701701701, 'flts-serve', 'some_failure_seen'],
      [30, 1701701701701, 'flts-serve', 'some_event_seen'],
    ]);
    expect(lines[0]).toEqual(expect.objectContaining({ route: '/predict', rows: 1701, offset: 417012, ratio: 0.1701, ok: true, ids: [1701, 'x1701y'], nested: { route: 'r' } }));
    expect(lines[1]).toMatchObject({ route_id: 17011701, note: 'sent "***" on ***', retried: false, err: { message: '*** *** refused' } });
    expect(String((lines[1].err as { stack: string }).stack)).toContain('*** *** refused');
    expect(Object.keys(lines[1].err as object)).toEqual(['type', 'message', 'stack']);
    expect(lines[2]).toMatchObject({ one: 1, seen_at: '2026-01-01T17:01:00Z' });
  });
});
