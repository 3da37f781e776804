import { Worker } from 'node:worker_threads';
import type { ProphetSettings } from '../config/specs/training.js';
import type { TimeFrame } from '../data/time-frame.js';
import { errorFromWorker, FltsError, type WorkerFailure } from '../errors.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import type { ProphetArtifact } from '../models/prophet-model.js';
import { compiledWorkerScript } from '../worker-script.js';
import type { ProphetWorkerInit } from './prophet-worker.js';

/**
 * A Prophet fit, optimised on a worker thread so the calling thread stays free (a fit is one synchronous
 * WebAssembly call of seconds), and the model loaded here from its artifact. Where the worker script is not
 * built, the fit runs on this thread and its model is kept (loading the artifact would fit a second time).
 */
export async function fitProphetOffThread(frame: TimeFrame, window: WindowSpec, settings: ProphetSettings, seed: number): Promise<{ model: ForecastModel; artifact: ProphetArtifact }> {
  // augurs' Prophet WebAssembly loads with the first Prophet fit, not with every process that may fit one.
  const { fitProphetModel, loadProphetModel } = await import('../models/prophet-model.js');
  const script = compiledWorkerScript(new URL('./prophet-worker.js', import.meta.url));
  if (!script) return fitProphetModel(frame, window, settings, seed);
  const worker = new Worker(script, { workerData: { frame, window, settings, seed } satisfies ProphetWorkerInit });
  let artifact: ProphetArtifact;
  try {
    artifact = await new Promise<ProphetArtifact>((resolve, reject) => {
      worker.once('message', (reply: { artifact?: ProphetArtifact; error?: WorkerFailure }) => {
        if (reply.artifact) return resolve(reply.artifact);
        reject(errorFromWorker(reply.error ?? { message: 'The Prophet fit failed.' }, 'FLTS_TRAIN_FAILED'));
      });
      worker.once('error', (error) => reject(new FltsError('FLTS_TRAIN_FAILED', `The Prophet fit thread crashed: ${error.message}`, { cause: error })));
      worker.once('exit', (code) => reject(new FltsError('FLTS_TRAIN_FAILED', `The Prophet fit thread exited before answering (exit code ${code}).`)));
    });
  } finally {
    await worker.terminate();
  }
  try {
    return { model: loadProphetModel(artifact, window), artifact };
  } catch (error) {
    // The fit checked what the load checks (fitProphetModel); an artifact its own load still refuses is a failed fit.
    if (error instanceof FltsError) throw error;
    throw new FltsError('FLTS_TRAIN_FAILED', `The fitted Prophet does not load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
