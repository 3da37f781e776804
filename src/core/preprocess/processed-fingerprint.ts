import { createHash, type Hash } from 'node:crypto';
import type { ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';

function updateFrame(hash: Hash, name: string, frame: TimeFrame): void {
  hash.update(`${name}\n${JSON.stringify(frame.columns)}\n${frame.time.length}\n`);
  hash.update(new Uint8Array(frame.time.buffer, frame.time.byteOffset, frame.time.byteLength));
  for (const column of frame.columns) {
    const values = frame.values[column];
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
}

/**
 * SHA-256 of what a processed data version holds: the train and test frames (columns, times, values) and the scaler
 * that puts them back in original units, never when they were written. config_hash names the settings and the file
 * names alone, so new rows under the same names keep it; this changes with them, and a forced re-run over the same
 * inputs gives it again. The scaler is part of it: data shifted by a constant scales to the same values.
 */
export function processedContentSha256(train: TimeFrame, test: TimeFrame, scaler: ScalerParams): string {
  const hash = createHash('sha256');
  updateFrame(hash, 'train', train);
  updateFrame(hash, 'test', test);
  hash.update(`scaler\n${JSON.stringify(scaler)}`);
  return hash.digest('hex');
}
