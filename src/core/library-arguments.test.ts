import { describe, expect, it } from 'vitest';
import { invalidArgument } from './library-arguments.js';

describe('core > library-arguments', () => {
  it('says an empty array is one, where a non-empty array is asked for', () => {
    expect(invalidArgument('trainModels', 'request.models', 'a non-empty array of model types', []).message).toBe('trainModels(): request.models must be a non-empty array of model types, not an empty array.');
    expect(invalidArgument('f', 'x', 'a string', ['a']).message).toBe('f(): x must be a string, not an array.');
  });
});
