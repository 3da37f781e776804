import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { resolveReplayRequest } from './replay-request.js';
import { describeTarget } from './reset-target.js';

const bus = defaultSettings().bus;
const now = new Date('2025-11-04T12:00:00Z');

describe('core > offsets > replay-request', () => {
  it('refuses --group or --role given empty as such, not as a group left unnamed', () => {
    // Before, --group "" was told "Name the consumer group with --group <id> ...", the flag it had given.
    for (const [flag, options] of [['group', { group: '' }], ['role', { role: ' ' }]] as const) {
      expect(() => resolveReplayRequest({ ...options, topics: ['t'], toEarliest: true }, bus)).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: `--${flag} is empty: give it a value, or leave the flag out.`, details: expect.objectContaining({ flag }) }));
    }
  });

  it('resolves flts roles to the daemon\'s group names and their topics', () => {
    expect(resolveReplayRequest({ role: 'trainer:LSTM', toEarliest: true }, bus)).toMatchObject({ group: 'train-lstm', scope: { topics: [{ topic: 'training-data' }] } });
    expect(resolveReplayRequest({ role: 'trainer:PROPHET', toEarliest: true }, bus).group).toBe('nonml-prophet');
    expect(resolveReplayRequest({ role: 'promoter', toLatest: true }, bus)).toMatchObject({ group: 'eval-promoter', scope: { topics: [{ topic: 'model-training' }] } });
    expect(resolveReplayRequest({ role: 'batch', toEarliest: true }, bus)).toMatchObject({ group: 'batch-inference', scope: { topics: [{ topic: 'inference-data' }] } });
    expect(resolveReplayRequest({ role: 'serving:replica-1', toLatest: true }, bus)).toMatchObject({ group: 'serve-replica-1', scope: { allTopics: true } });
    expect(resolveReplayRequest({ role: 'promoter', topics: ['model-training:0,2'], toCurrent: true }, bus).scope).toEqual({ topics: [{ topic: 'model-training', partitions: [0, 2] }] });
    expect(() => resolveReplayRequest({ role: 'janitor', toEarliest: true }, bus)).toThrow(/trainer:<MODEL_TYPE>/);
  });

  it('refuses a trainer role of no known model type, naming the valid ones, rather than address a group no trainer consumes with', () => {
    expect(resolveReplayRequest({ role: 'trainer:lstm', toEarliest: true }, bus).group).toBe('train-lstm');
    for (const role of ['trainer:FOO', 'trainer:LSTM2', 'trainer:*']) {
      expect(() => resolveReplayRequest({ role, toEarliest: true }, bus), role).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('LSTM, GRU, PROPHET, NAIVE, SNAIVE, MSTL') }));
    }
  });

  it('turns --by-duration into the instant now minus the duration', () => {
    const request = resolveReplayRequest({ group: 'g', topics: ['t'], byDuration: 'PT1H30M' }, bus, now);
    expect(request.target).toMatchObject({ kind: 'duration', timestampMs: Date.UTC(2025, 10, 4, 10, 30) });
  });

  it('reads an instant before 1970 (a duration longer than the epoch, a year-0 date) as the log start, which a plan can print', () => {
    for (const option of [{ byDuration: 'P99999999999D' }, { byDuration: `P${'9'.repeat(400)}D` }, { toDatetime: '0001-01-01T00:00:00Z' }]) {
      const { target } = resolveReplayRequest({ group: 'g', topics: ['t'], ...option }, bus, now);
      expect(target).toMatchObject({ timestampMs: 0 });
      expect(describeTarget(target)).toContain('(1970-01-01T00:00:00.000Z)');
    }
  });

  it('refuses missing or ambiguous choices with a usage error', () => {
    const usage = expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG' });
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t'] }, bus)).toThrow(usage);
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t'], toEarliest: true, toLatest: true }, bus)).toThrow(/exactly one reset target.*--to-earliest, --to-latest/);
    expect(() => resolveReplayRequest({ topics: ['t'], toEarliest: true }, bus)).toThrow(usage);
    expect(() => resolveReplayRequest({ group: 'g', toEarliest: true }, bus)).toThrow(/--topic/);
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t'], allTopics: true, toEarliest: true }, bus)).toThrow(usage);
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t:a'], toEarliest: true }, bus)).toThrow(usage);
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t'], toOffset: -1 }, bus)).toThrow(usage);
    // Past 2^53 the flag parser has rounded the number typed: the error names the bound instead of that rounding,
    // which read as "9007199254740992 is not an integer" for a --shift-by of 9007199254740993.
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t'], toOffset: Number('99999999999999999999') }, bus)).toThrow('--to-offset is larger than 9007199254740991, the largest offset flts can name.');
    expect(() => resolveReplayRequest({ group: 'g', topics: ['t'], shiftBy: Number('-9007199254740993') }, bus)).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('--shift-by is beyond ±9007199254740991') }));
  });

  it('keeps only the plan-file lines of the group, and refuses a file without any', () => {
    const file = 'g,t,0,5\nother,t,0,9\n';
    expect(resolveReplayRequest({ group: 'g', fromFile: file }, bus).target).toEqual({ kind: 'file', rows: [{ topic: 't', partition: 0, offset: 5 }] });
    expect(() => resolveReplayRequest({ group: 'nobody', fromFile: file }, bus)).toThrow(expect.objectContaining({ code: 'FLTS_OFFSETS_PLAN_INVALID', message: expect.stringContaining('g, other') }));
    expect(() => resolveReplayRequest({ group: 'g', fromFile: file, topics: ['t'] }, bus)).toThrow(/from the file/);
  });
});
