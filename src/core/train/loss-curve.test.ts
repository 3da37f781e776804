import { describe, expect, it } from 'vitest';
import { renderLossCurve } from './loss-curve.js';

describe('core > train > loss-curve', () => {
  it('names the model, the run and the epoch kept in its title', () => {
    const history = Array.from({ length: 24 }, (_, i) => ({ epoch: i + 1, loss: 1e-3 + 1e-4 / (i + 1), val_loss: 7e-4 + 1e-5 * (i % 3), duration_ms: 100, samples_per_sec: 1000 }));
    const svg = renderLossCurve('LSTM', 'c1cc46f976ed48dc85e39e7d7cfd90a0', history, 10);
    expect(svg).toMatch(/<text[^>]*>LSTM run c1cc46f9: loss per epoch \(kept epoch 10 of 24\)<\/text>/);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});
