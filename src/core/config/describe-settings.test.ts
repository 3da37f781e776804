import { describe, expect, it } from 'vitest';
import { describeSettings } from './describe-settings.js';
import { resolveSettings } from './settings.js';

const row = (rows: ReturnType<typeof describeSettings>, path: string) => rows.find((candidate) => candidate.path === path);

describe('core > config > describe settings', () => {
  it('names the profile of a default it set, so config show does not pass it off as the built-in default', () => {
    const rows = describeSettings(resolveSettings({ env: { FLTS_PROFILE: 'reference', EPOCHS: '3' } }));
    expect(row(rows, 'training.hiddenSize')).toMatchObject({ value: 128, source: 'default', profile: 'reference' });
    expect(row(rows, 'training.epochs')).toMatchObject({ value: 3, source: 'env', env: 'EPOCHS' });
    expect(row(rows, 'training.epochs')).not.toHaveProperty('profile');
    expect(row(rows, 'training.batchSize')).not.toHaveProperty('profile');
    expect(describeSettings(resolveSettings()).some((candidate) => 'profile' in candidate)).toBe(false);
  });
});
