import { Worker } from 'node:worker_threads';
import { errorFromWorker, FltsError, type WorkerFailure } from '../errors.js';
import { compiledWorkerScript } from '../worker-script.js';
import { readTableBytes, type ReadTableLimits, type ReadTableResult } from './read-table.js';
import type { ReadTableWorkerInit } from './read-table-worker.js';

/**
 * readTableBytes on a worker thread: parsing a table is one synchronous call (about 30 ms per MB of CSV), which on
 * a serving thread would hold every request for its length. A refused table fails with the reader's code and
 * message. Where the worker script is not built, the table is parsed on this thread.
 */
export async function readTableBytesOffThread(bytes: Buffer, source: string, limits: ReadTableLimits = {}): Promise<ReadTableResult> {
  const script = compiledWorkerScript(new URL('./read-table-worker.js', import.meta.url));
  if (!script) return readTableBytes(bytes, source, limits);
  // A copy of its own to move: a store's Buffer may be a view of a pool shared with other reads.
  const own = new Uint8Array(bytes);
  const worker = new Worker(script, { workerData: { bytes: own, source, limits } satisfies ReadTableWorkerInit, transferList: [own.buffer] });
  try {
    return await new Promise<ReadTableResult>((resolve, reject) => {
      worker.once('message', (reply: { result?: ReadTableResult; error?: WorkerFailure }) => {
        if (reply.result) return resolve(reply.result);
        reject(errorFromWorker(reply.error ?? { message: `${source}: the table could not be read.` }, 'FLTS_DATA_UNREADABLE'));
      });
      worker.once('error', (error) => reject(new FltsError('FLTS_DATA_UNREADABLE', `${source}: the thread reading it crashed: ${error.message}`, { cause: error })));
      worker.once('exit', (code) => reject(new FltsError('FLTS_DATA_UNREADABLE', `${source}: the thread reading it exited before answering (exit code ${code}).`)));
    });
  } finally {
    await worker.terminate();
  }
}
