import { describe, expect, it } from 'vitest';
import { scoreText, targetsChangedLine } from './promotion-lines.js';

describe('cli > promotion-lines', () => {
  it('shows a record\'s score to six significant digits, as the reason beside it does, and a dash for none', () => {
    // Before: "score 0.05836835384255811" beside "best score 0.0583684".
    expect(scoreText(0.05836835384255811)).toBe('0.0583684');
    expect(scoreText(0.071975)).toBe('0.0719750');
    expect(scoreText(null)).toBe('-');
    expect(scoreText(Number.NaN)).toBe('-');
  });

  it('warns in one line which columns /predict returns after a promotion that changed the targets', () => {
    expect(targetsChangedLine({ previous_run_id: 'runBoth', from: ['down', 'up'], to: ['down'] })).toBe('warning: targets changed from down,up (run runBoth) to down: /predict now returns down.');
  });
});
