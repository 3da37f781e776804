import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { fitProphetOffThread } from './prophet-off-thread.js';

// Without a built worker script (library use from sources) the fit runs on the calling thread.
const workerScript = vi.hoisted(() => ({ absent: false }));
vi.mock('../worker-script.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../worker-script.js')>();
  return { compiledWorkerScript: (beside: URL) => (workerScript.absent ? undefined : actual.compiledWorkerScript(beside)) };
});

describe('core > train > prophet-off-thread', () => {
  afterEach(() => {
    workerScript.absent = false;
  });
  const window = { targets: ['down'], features: ['down'], inputSeqLen: 10, outputSeqLen: 1 };
  const hours = 72;
  const time = Float64Array.from({ length: hours }, (_, i) => Date.UTC(2025, 0, 1) + i * 3_600_000);
  const cycle = (size: number) => Float64Array.from({ length: hours }, (_, i) => size * (0.5 + 0.3 * Math.sin((2 * Math.PI * i) / 24)));

  it('fits on its thread a model that forecasts', async () => {
    const { model } = await fitProphetOffThread({ time, columns: ['down'], values: { down: cycle(1) } }, window, defaultSettings().training.prophet, 42);
    const forecast = await model.predict({ windows: new Float32Array(10), size: 1, forecastTimes: Float64Array.of(time[hours - 1] + 3_600_000) });
    expect(Number.isFinite(forecast[0])).toBe(true);
    model.dispose();
  });

  // Its model forecast Infinity for every time, and its run was recorded as trained: on this thread always, and on
  // the worker until its load refused it. Both fail it alike now.
  it.each([
    ['on its worker thread', false],
    ['on this thread, without a built worker script', true],
  ])('fails, coded, a fit whose model forecasts what no float32 holds, %s', async (_, absent) => {
    workerScript.absent = absent;
    await expect(fitProphetOffThread({ time, columns: ['down'], values: { down: cycle(1e300) } }, window, defaultSettings().training.prophet, 42)).rejects.toMatchObject({
      code: 'FLTS_TRAIN_FAILED',
      message: expect.stringMatching(/^Prophet fit failed: its model forecasts [\d.e+]+ for target "down", which no float32 forecast holds\.$/),
    });
  });

  it('hands on the coded failure of an optimisation left one changepoint, from its worker thread', async () => {
    const rows = Float64Array.from({ length: 300 }, (_, i) => Date.UTC(2025, 0, 1) + i * 120_000);
    const down = Float64Array.from(rows, (_, i) => 0.5 + 0.3 * Math.sin(i / 20));
    await expect(fitProphetOffThread({ time: rows, columns: ['down'], values: { down } }, window, { ...defaultSettings().training.prophet, changepointRange: 0.005 }, 42)).rejects.toMatchObject({
      code: 'FLTS_TRAIN_OPTIMIZER_FAILED',
      message: expect.stringContaining('a CHANGEPOINT_RANGE of at least 0.01'),
      details: expect.objectContaining({ setting: 'training.prophet.changepointRange', leastChangepointRange: 0.01 }),
    });
  });
});
