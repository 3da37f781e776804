import { describe, expect, it } from 'vitest';
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

  it('writes what a terminal would act on as escapes, and leaves a line that is not pino\'s as it is', () => {
    expect(plainLogLine(JSON.stringify({ level: 40, msg: 'settings_identifier_lookalike', reason: 'title \u001b]0;x\u0007' }))).toBe('warning: title \\u001b]0;x\\u0007 (settings_identifier_lookalike)');
    expect(plainLogLine('not json')).toBe('not json');
  });
});
