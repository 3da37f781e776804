import { describe, expect, it } from 'vitest';
import { createLatencyRecorder } from './latency-recorder.js';

describe('bench > latency recorder', () => {
  it('reports percentiles at microsecond resolution, never above the exact maximum', () => {
    const recorder = createLatencyRecorder();
    for (const ms of [0.1, 264, 264.397]) recorder.recordMs(ms);
    const summary = recorder.finish();
    // The histogram's bucket for 264.397 ms ends at 264.447 ms; the exact maximum caps it.
    expect(summary.max).toBe(264.397);
    expect(summary.p99).toBe(264.397);
    expect(summary.p50).toBeCloseTo(264, 0);
    expect(summary.mean).toBeCloseTo((0.1 + 264 + 264.397) / 3, 0);
  });

  it('reports zeros when nothing succeeded', () => {
    expect(createLatencyRecorder().finish()).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });
});
