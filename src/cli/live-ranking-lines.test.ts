import { describe, expect, it } from 'vitest';
import { renderLiveRanking } from './live-ranking-lines.js';

const row = (rank: number, points: number) => ({ rank, run_id: `run-${rank}`, live_rmse: 2, live_mae: 1, points, few_points: points < 500, replicas: ['r1'], updated_at: '2026-01-01T00:00:00.000Z' });

describe('cli > live-ranking-lines', () => {
  it('counts one matched point as "1 point"', () => {
    // Before: "1 points (too few to judge)".
    const [, one, many] = renderLiveRanking({ scope: 'global', rows: [row(1, 1), row(2, 600)] }, 500);
    expect(one).toContain('  1 point (too few to judge)  replicas r1');
    expect(many).toContain('  600 points  replicas r1');
  });
});
