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
