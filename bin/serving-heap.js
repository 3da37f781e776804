// `flts serve` runs with its young generation bounded (src/core/serve/serving-heap.ts). V8 sizes its heap as the
// process starts, from node's arguments alone, so the process replaces itself (process.execve: the same pid, the same
// descriptors, signals and exit status as before) with node started with the bound, before anything else has run.
// Not done where it cannot be: without an IPC channel only (a `flts bench` replica is a cluster worker, and bench gives
// it the bound as it forks it), on a node with process.execve, off Windows; an operator's own sizing is kept.
import { servingExecArgv, sizesYoungGeneration } from '../dist/core/serve/serving-heap.js';

export function relaunchBoundedForServing() {
  if (typeof process.execve !== 'function' || process.platform === 'win32' || process.channel) return;
  if (sizesYoungGeneration(process.execArgv, process.env.NODE_OPTIONS)) return;
  try {
    process.execve(process.execPath, [process.execPath, ...servingExecArgv(process.execArgv, process.env.NODE_OPTIONS), ...process.argv.slice(1)]);
  } catch {
    // Serving with V8's own sizing, as before the bound, beats not serving.
  }
}
