import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { parseTopicScope } from './topic-scope.js';

function refusal(text: string): FltsError {
  try {
    parseTopicScope(text);
  } catch (error) {
    return error as FltsError;
  }
  throw new Error(`${text} was accepted`);
}

describe('offsets > topic-scope', () => {
  it('refuses a partition past the 32-bit numbers Kafka has, as typed, not as the number it rounded to', () => {
    // Before, t:99999999999999999999 read as partition 100000000000000000000 and went to the broker.
    expect(parseTopicScope('t:2147483647')).toEqual({ topic: 't', partitions: [2147483647] });
    for (const text of ['t:2147483648', 't:0,99999999999999999999']) {
      expect(refusal(text)).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'topic', value: text } });
    }
    expect(refusal('t:0,99999999999999999999').message).toContain('names partition 99999999999999999999, past 2147483647');
  });

  it('reads a topic, or a topic and its partitions, sorted and once each', () => {
    expect(parseTopicScope(' training-data ')).toEqual({ topic: 'training-data' });
    expect(parseTopicScope('training-data: 2, 0,2')).toEqual({ topic: 'training-data', partitions: [0, 2] });
  });

  it.each([
    ['training-data:0,,2', 'item 2 of 3 is empty'],
    ['training-data:0,', 'item 2 of 2 is empty'],
    ['training-data:', 'item 1 of 1 is empty'],
  ])('refuses an empty partition in %s, saying which item, as a usage error of --topic', (text, why) => {
    // Before, refused as "not name or name:<partition>...", leaving the reader to find the empty item.
    const error = refusal(text);
    expect(error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'topic', value: text } });
    expect(error.message).toContain(why);
  });

  it.each([
    ['a,,b', /names one topic, not a list \(item 2 of 3 is empty\): repeat --topic for each/],
    ['a,b', /names one topic, not a list: repeat --topic for each/],
    ['a,:0', /names one topic, not a list \(item 2 of 2 is empty\)/],
  ])('refuses a comma list of topics %s, which went through as one topic no Kafka cluster can have', (text, message) => {
    // Before, "a,,b" went to the cluster as one topic's name, to be refused there as FLTS_OFFSETS_TOPIC_NOT_FOUND.
    const error = refusal(text);
    expect(error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'topic', value: text } });
    expect(error.message).toMatch(message);
  });

  it('still refuses a partition that is not a number, and a missing topic name', () => {
    expect(refusal('t:0,x')).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('is not name or name:<partition>') });
    expect(refusal(':0')).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('has no topic name') });
    expect(refusal('  ')).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: '--topic is empty: expected name or name:0,2.' });
  });
});
