import { describe, expect, it } from 'vitest';
import { FltsError } from '../core/errors.js';
import { flagsTypedOtherwise, namingFlagsAsTyped } from './flag-as-typed.js';

const FLAGS = { model: { char: 'm', aliases: ['models'] }, plot: { aliases: ['plot-out'] }, port: { char: 'p' }, 'plot-top': {} };

describe('cli > flag-as-typed', () => {
  it('finds the flags given only by another name, as typed', () => {
    expect(flagsTypedOtherwise(['-m', 'FOO', '--plot-out=x.png', '--plot-top', '3'], FLAGS)).toEqual(new Map([['model', '-m'], ['plot', '--plot-out']]));
    // Given by its own name too, or after `--` (an argument): nothing to rename.
    expect(flagsTypedOtherwise(['-m', 'A', '--model', 'B', '--', '--plot-out'], FLAGS)).toEqual(new Map());
    expect(flagsTypedOtherwise(['-pabc'], FLAGS)).toEqual(new Map([['port', '-p']]));
  });

  it('names the flag as typed and by its own name at its first mention, whole names only', () => {
    const usage = new FltsError('FLTS_USAGE_INVALID_FLAG', '--plot "x.png": the extension decides the format written; end the name in .svg, as predict --plot does.');
    expect(namingFlagsAsTyped(usage, new Map([['plot', '--plot-out']])).message).toBe('--plot-out (--plot) "x.png": the extension decides the format written; end the name in .svg, as predict --plot does.');
    const setting = new FltsError('FLTS_CONFIG_INVALID_VALUE', '--model (setting training.models) = "FOO" is not valid.', { details: { source: 'flag', flag: 'model' } });
    expect(namingFlagsAsTyped(setting, new Map([['model', '-m']]))).toMatchObject({ message: '-m (--model, setting training.models) = "FOO" is not valid.', details: { flag: 'model' } });
    const other = new FltsError('FLTS_USAGE_INVALID_FLAG', '--plot-top takes a number.');
    expect(namingFlagsAsTyped(other, new Map([['plot', '--plot-out']]))).toBe(other);
    // A refusal of something else than a flag is left as it is.
    const notFound = new FltsError('FLTS_RUN_NOT_FOUND', 'No run x: pass --plot to draw it.');
    expect(namingFlagsAsTyped(notFound, new Map([['plot', '--plot-out']]))).toBe(notFound);
  });
});
