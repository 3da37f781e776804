import { parentPort, workerData } from 'node:worker_threads';
import { workerFailureOf } from '../errors.js';
import type { ProphetSettings } from '../config/specs/training.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { fitProphetModel } from '../models/prophet-model.js';

export interface ProphetWorkerInit {
  frame: TimeFrame;
  window: WindowSpec;
  settings: ProphetSettings;
  seed: number;
}

/** One Prophet fit (the optimisation), answered with its artifact: loading that artifact replays the fit exactly. */
function main(): void {
  const port = parentPort;
  if (!port) return;
  const { frame, window, settings, seed } = workerData as ProphetWorkerInit;
  try {
    const { model, artifact } = fitProphetModel(frame, window, settings, seed);
    model.dispose();
    port.postMessage({ artifact });
  } catch (error) {
    port.postMessage({ error: workerFailureOf(error) });
  }
}

main();
