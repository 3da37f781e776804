/**
 * The young generation of a serving process's V8 heap, in MiB per semi-space. Node 24's V8 lets the new space of a
 * busy process grow to 128 MiB (two 64 MiB semi-spaces): a replica under /predict load went from ~210 MiB of RSS
 * idle to 420-460 MiB, past the 400 MB a replica is allowed (bench/results-serving.md). What survives a scavenge there
 * is mostly the requests in flight, a few MiB. At 32 MiB a replica still reached 365-410 MiB (at 4,000-11,000 req/s);
 * at 16 it stayed at 331-359 MiB (at 5,500-7,100 req/s), with its CPU per request within the noise of V8's own sizing.
 */
export const SERVING_SEMI_SPACE_MIB = 16;

export const SERVING_HEAP_FLAG = `--max-semi-space-size=${SERVING_SEMI_SPACE_MIB}`;

/** Whether node's arguments or NODE_OPTIONS size the young generation already: an operator's own choice is kept. */
export function sizesYoungGeneration(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return given.some((arg) => /^--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(=|$)/.test(arg));
}

/** node's arguments for a serving process: `execArgv` with the young generation bounded, unless they size it already. */
export function servingExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return sizesYoungGeneration(execArgv, nodeOptions) ? [...execArgv] : [SERVING_HEAP_FLAG, ...execArgv];
}

/** What a process that serves requests is, as far as the bound goes (the CLI reads it from `process`). */
export interface ServingProcess {
  execArgv: readonly string[];
  nodeOptions: string | undefined;
  /** process.execve exists (Node 22.15 and 23.11 on) and the platform has it (not Windows). */
  canReplaceItself: boolean;
  /** Started with an IPC channel (a cluster worker): its parent chose node's arguments as it forked it. */
  ipc: boolean;
  nodeVersion: string;
}

/**
 * What a serving process does about its young generation: nothing, when node's arguments or NODE_OPTIONS size it
 * (the bound given, or an operator's own sizing); replace itself with node started with the bound (`execArgv`); or
 * serve with V8's own sizing, for `reason` (which the process logs, serving_heap_unbounded: its RSS under load may
 * pass the 400 MB a replica is sized for).
 */
export type ServingHeapPlan = { kind: 'sized' } | { kind: 'relaunch'; execArgv: string[] } | { kind: 'unbounded'; reason: string };

export function servingHeapPlan(proc: ServingProcess): ServingHeapPlan {
  if (sizesYoungGeneration(proc.execArgv, proc.nodeOptions)) return { kind: 'sized' };
  const giveIt = `start node with ${SERVING_HEAP_FLAG} (NODE_OPTIONS=${SERVING_HEAP_FLAG}) to bound it`;
  if (proc.ipc) return { kind: 'unbounded', reason: `started with an IPC channel (a cluster worker), whose parent gives node its arguments, and not given a young generation size: ${giveIt}` };
  if (!proc.canReplaceItself) return { kind: 'unbounded', reason: `node ${proc.nodeVersion} cannot replace its process with node started with the bound (process.execve: Node 22.15 or later, not on Windows): ${giveIt}` };
  return { kind: 'relaunch', execArgv: servingExecArgv(proc.execArgv, proc.nodeOptions) };
}
