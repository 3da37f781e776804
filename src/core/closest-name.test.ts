import { describe, expect, it } from 'vitest';
import { closestName } from './closest-name.js';

const COMMANDS = ['backtest', 'bench', 'config show', 'daemon', 'eval', 'export', 'predict', 'preprocess', 'promote', 'promote-manual', 'replay-offsets', 'serve', 'train'];

describe('core > closest-name', () => {
  it('finds the name a typo meant: a swap, a missing, an extra or a wrong letter', () => {
    expect(closestName('trian', COMMANDS)).toBe('train');
    expect(closestName('preproces', COMMANDS)).toBe('preprocess');
    expect(closestName('servee', COMMANDS)).toBe('serve');
    expect(closestName('Train', COMMANDS)).toBe('train');
    expect(closestName('model', ['models', 'json'])).toBe('models');
  });

  it('suggests nothing for a word close to no name, or as close to two', () => {
    expect(closestName('frobnicate', COMMANDS)).toBeUndefined();
    expect(closestName('x', COMMANDS)).toBeUndefined();
    expect(closestName('promot', ['promote', 'promoted'])).toBe('promote');
    expect(closestName('bat', ['bar', 'baz'])).toBeUndefined();
    expect(closestName('y'.repeat(10_000), COMMANDS)).toBeUndefined();
  });
});
