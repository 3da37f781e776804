import { describe, expect, it } from 'vitest';
import { describeConfigFileError } from './config-file-error.js';

const parseError = (text: string): unknown => {
  try {
    JSON.parse(text);
  } catch (error) {
    return error;
  }
  throw new Error('parsed');
};

describe('core > config > config file error', () => {
  it('names the line and column of the first character no JSON can continue with, never quoting the file', () => {
    const text = '{\n  "home": "/data",\n  "secret": s3cr3t\n}\n';
    const described = describeConfigFileError(parseError(text), text);
    expect(described).toBe('not valid JSON (line 3, column 13)');
    expect(described).not.toContain('s3cr3t');
  });

  it('says when the file ends before the JSON is complete, and passes other errors through', () => {
    const cut = '{"home": "/da';
    expect(describeConfigFileError(parseError(cut), cut)).toBe('not valid JSON (it ends before the JSON is complete)');
    expect(describeConfigFileError(new Error('the top level must be a JSON object'), '[]')).toBe('the top level must be a JSON object');
  });
});
