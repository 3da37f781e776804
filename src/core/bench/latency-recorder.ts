import * as hdr from 'hdr-histogram-js';
import type { LatencySummary } from './bench-types.js';

export interface LatencyRecorder {
  recordMs(ms: number): void;
  /** The percentiles in milliseconds; frees the histogram. */
  finish(): LatencySummary;
}

/** Response times in an HDR histogram at microsecond resolution (load tools' own histograms round to whole milliseconds). */
export function createLatencyRecorder(): LatencyRecorder {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  let count = 0;
  return {
    recordMs(ms) {
      count++;
      histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    },
    finish() {
      const ms = (micros: number): number => Math.round(micros) / 1000;
      // A percentile is reported as the top of its bucket (0.1% wide), which can lie above the exact maximum.
      const at = (percentile: number): number => ms(Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue));
      const summary: LatencySummary =
        count > 0 ? { p50: at(50), p90: at(90), p99: at(99), max: ms(histogram.maxValue), mean: ms(histogram.mean) } : { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
      histogram.destroy();
      return summary;
    },
  };
}
