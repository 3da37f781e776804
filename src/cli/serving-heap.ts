import type { Logger } from '../core/logger.js';
import { SERVING_HEAP_FLAG, servingHeapPlan, type ServingProcess } from '../core/serve/serving-heap.js';

const thisProcess = (): ServingProcess => ({
  execArgv: process.execArgv,
  nodeOptions: process.env.NODE_OPTIONS,
  canReplaceItself: typeof process.execve === 'function' && process.platform !== 'win32',
  ipc: process.channel !== undefined,
  nodeVersion: process.version,
});

/**
 * A process that serves requests (`flts serve`; `flts daemon` with its serving role) runs with its young generation
 * bounded (src/core/serve/serving-heap.ts). V8 sizes its heap as the process starts, from node's arguments alone, so
 * the process replaces itself (process.execve: the same pid, the same descriptors, environment, signals and exit
 * status as before) with node started with the bound, and runs its command again from the start. Called before the
 * command has done anything (no listener, lock, write or log line yet): `flts serve` first thing (bin/run.js), `flts
 * daemon` once its settings say it serves. Not done where node's arguments or NODE_OPTIONS size the young generation
 * already (an operator's own sizing, or the bound given), nor where it cannot be (serving_heap_unbounded says why).
 */
export function relaunchBoundedForServing(): void {
  const plan = servingHeapPlan(thisProcess());
  if (plan.kind !== 'relaunch') return;
  try {
    process.execve?.(process.execPath, [process.execPath, ...plan.execArgv, ...process.argv.slice(1)]);
  } catch {
    // Serving with V8's own sizing, as before the bound, beats not serving; serving_heap_unbounded says so.
  }
}

/**
 * Once a serving process has its logger: a warning (serving_heap_unbounded) when its young generation is not bounded
 * after all (a node without process.execve, before 22.15; a cluster worker started without it; a relaunch that
 * failed), since its RSS under load may then pass the 400 MB a replica is sized for.
 */
export function warnIfServingHeapUnbounded(logger: Logger): void {
  const plan = servingHeapPlan(thisProcess());
  if (plan.kind === 'sized') return;
  const reason = plan.kind === 'unbounded' ? plan.reason : `replacing the process with node started with ${SERVING_HEAP_FLAG} failed: start node with it (NODE_OPTIONS=${SERVING_HEAP_FLAG}) to bound it`;
  logger.warn({ reason, node_version: process.version, flag: SERVING_HEAP_FLAG }, 'serving_heap_unbounded');
}
