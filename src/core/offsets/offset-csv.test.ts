import { describe, expect, it } from 'vitest';
import { decodeOffsetCsv, encodeOffsetCsv } from './offset-csv.js';

describe('core > offsets > offset-csv', () => {
  it('writes Kafka\'s headerless topic,partition,offset lines and reads them back unchanged', () => {
    const rows = [
      { topic: 'training-data', partition: 0, offset: 12 },
      { topic: 'training-data', partition: 2, offset: 0 },
      { topic: 'model-training', partition: 1, offset: 9_007_199_254_740_991 },
    ];
    const csv = encodeOffsetCsv(rows);
    expect(csv).toBe('training-data,0,12\ntraining-data,2,0\nmodel-training,1,9007199254740991\n');
    expect(decodeOffsetCsv(csv)).toEqual(rows);
  });

  it('adds the group column only for plans spanning several groups, and reads both layouts', () => {
    const rows = [
      { group: 'train-lstm', topic: 't', partition: 0, offset: 1 },
      { group: 'train-gru', topic: 't', partition: 0, offset: 2 },
    ];
    const csv = encodeOffsetCsv(rows);
    expect(csv).toBe('train-lstm,t,0,1\ntrain-gru,t,0,2\n');
    expect(decodeOffsetCsv(csv)).toEqual(rows);
    expect(decodeOffsetCsv('# exported plan\r\n\r\nt, 0 ,5\r\n')).toEqual([{ topic: 't', partition: 0, offset: 5 }]);
    expect(encodeOffsetCsv([])).toBe('');
  });

  it('refuses malformed lines by number', () => {
    const cases: Array<[string, RegExp]> = [
      ['t,0', /line 1 .*2 columns/],
      ['t,0,1\nt,x,1', /line 2 .*partition "x"/],
      ['t,0,-1', /offset "-1"/],
      ['t,0,1\nt,0,2', /line 2 .*repeats t:0/],
      [',0,1', /no topic/],
    ];
    for (const [text, message] of cases) expect(() => decodeOffsetCsv(text), text).toThrow(expect.objectContaining({ code: 'FLTS_OFFSETS_PLAN_INVALID', message: expect.stringMatching(message) }));
  });
});
