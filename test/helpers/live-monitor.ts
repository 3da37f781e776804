import { FltsError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { createLiveMonitor, type LiveMonitor, type LiveMonitorOptions } from '../../src/core/serve/live-monitor.js';
import type { ModelHolder } from '../../src/core/serve/model-holder.js';

/**
 * The model holder as the live monitor sees it: serving `runId`, or what the function returns at each look (a test
 * that changes the served run, or lets it go: undefined).
 */
export function holderServing(runId: string | (() => string | undefined)): ModelHolder {
  const served = typeof runId === 'function' ? runId : () => runId;
  return {
    current: () => {
      const id = served();
      return id === undefined ? undefined : { run: { runId: id } };
    },
    status: () => ({ pinnedRunId: undefined }),
  } as unknown as ModelHolder;
}

/** A shadow loader that finds no run: FLTS_RUN_NOT_FOUND with `message`. */
export const noShadow =
  (message = 'no shadow in this test') =>
  (): Promise<never> =>
    Promise.reject(new FltsError('FLTS_RUN_NOT_FOUND', message));

/** A replica's live monitor serving `runId` (see holderServing), with no shadow run to load and a silent logger unless given. */
export function monitorServing(
  runId: string | (() => string | undefined),
  options: Omit<LiveMonitorOptions, 'holder' | 'loadShadow' | 'logger'> & Partial<Pick<LiveMonitorOptions, 'loadShadow' | 'logger'>>,
): LiveMonitor {
  return createLiveMonitor({ holder: holderServing(runId), loadShadow: noShadow(), logger: silentLogger, ...options });
}
