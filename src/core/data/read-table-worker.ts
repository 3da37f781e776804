import { parentPort, workerData } from 'node:worker_threads';
import { workerFailureOf } from '../errors.js';
import { readTableBytes, type ReadTableLimits } from './read-table.js';

export interface ReadTableWorkerInit {
  bytes: Uint8Array;
  source: string;
  limits: ReadTableLimits;
}

/** One table parsed, answered with its columns (moved to the caller, not copied). */
function main(): void {
  const port = parentPort;
  if (!port) return;
  const { bytes, source, limits } = workerData as ReadTableWorkerInit;
  try {
    const read = readTableBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), source, limits);
    // Columns the reader's memory backs cannot be moved: copied here (off the caller's thread) into buffers that can.
    const time = read.frame.time.slice();
    const values = Object.fromEntries(Object.entries(read.frame.values).map(([name, column]) => [name, column.slice()]));
    const result = { ...read, frame: { ...read.frame, time, values } };
    port.postMessage({ result }, [time.buffer, ...Object.values(values).map((column) => column.buffer)]);
  } catch (error) {
    port.postMessage({ error: workerFailureOf(error) });
  }
}

main();
