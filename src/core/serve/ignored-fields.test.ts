import { describe, expect, it } from 'vitest';
import { columnsWarning } from './ignored-fields.js';

const rows = (...names: string[]): Record<string, number[]> => Object.fromEntries(names.map((name) => [name, [1, 2]]));

describe('core > serve > ignored-fields > columnsWarning: the columns a served model does not read', () => {
  it('says nothing of rows whose columns it all reads, the timestamp column being the one the request names', () => {
    const warning = columnsWarning(['down', 'up']);
    expect(warning(rows('ts', 'down', 'up'), 'ts')).toBeUndefined();
    expect(warning(rows('when', 'down'), 'when')).toBeUndefined();
    expect(warning(undefined, 'ts')).toBeUndefined();
    expect(warning(null, 'ts')).toBeUndefined();
  });

  it('answers a column set it has answered before alike, as a copy, and one that differs in its timestamp column otherwise', () => {
    const warning = columnsWarning(['down', 'up']);
    const first = warning(rows('ts', 'down', 'up', 'upp'), 'ts');
    expect(first?.message).toBe('A column the request gave that the model does not read was ignored: upp (did you mean up?). It reads ts, down, up.');
    const again = warning(rows('ts', 'down', 'up', 'upp'), 'ts');
    expect(again).toEqual(first);
    // The caller may change its answer: the next one is not changed with it.
    again?.details.columns.push('changed');
    expect(warning(rows('ts', 'down', 'up', 'upp'), 'ts')).toEqual(first);
    // Same names, another timestamp column: `ts` is the stray now, `upp` is read as the timestamps.
    expect(warning(rows('ts', 'down', 'up', 'upp'), 'upp')?.details).toEqual({ columns: ['ts'], count: 1 });
  });

  it('answers each of more column sets than it remembers, and sets of names too long to remember, as the first time', () => {
    const warning = columnsWarning(['down', 'up']);
    const sets = Array.from({ length: 40 }, (_, i) => rows('ts', 'down', 'up', `extra_${i}`));
    for (let round = 0; round < 2; round++) {
      sets.forEach((set, i) => expect(warning(set, 'ts')?.details).toEqual({ columns: [`extra_${i}`], count: 1 }));
    }
    const long = `x${'y'.repeat(5000)}`;
    for (let round = 0; round < 2; round++) expect(warning(rows('ts', 'down', 'up', long), 'ts')?.details).toEqual({ columns: [`${long.slice(0, 80)}...`], count: 1 });
  });
});
