/**
 * The young generation of a serving process's V8 heap, in MiB per semi-space. Node 24's V8 lets the new space of a
 * busy process grow to 128 MiB (two 64 MiB semi-spaces): a replica under /predict load went from ~210 MiB of RSS
 * idle to 430-460 MiB, past the 400 MB a replica is allowed (bench/results-serving.md). What survives a scavenge there
 * is mostly the requests in flight, so a scavenge costs about as much whatever the size; a smaller new space is
 * scavenged more often. Per /predict answered (`--trace-gc`, one replica, 64 connections, a busy host), a replica spent
 * 0.16 ms scavenging at 32 MiB, 0.15 ms at 64 and 0.27 ms at 16: 32 takes up to 64 MiB off the peak for next to no CPU.
 */
export const SERVING_SEMI_SPACE_MIB = 32;

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
