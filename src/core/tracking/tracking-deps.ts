import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import type { Settings } from '../config/settings.js';
import { untilAborted } from '../retry.js';
import { createMlflowClient, type MlflowClient } from './mlflow-client.js';
import { abortingCallsOn } from './mlflow-http.js';
import type { MlflowServers } from './mlflow-servers.js';

/** Collaborators of the tracking functions; all optional. Pass `client` to reuse one across calls. */
export interface TrackingDeps {
  readonly logger?: Logger;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  readonly client?: MlflowClient;
  /**
   * What the clients built here learn of their server (an outage told once, its lack of logged models), shared with
   * the other clients of these MlflowServers: a daemon's, over its syncs. Without it each client keeps its own.
   */
  readonly servers?: MlflowServers;
}

/** MLflow filter literal; MLflow accepts either quote, so pick the one the value does not contain. */
export function filterLiteral(value: string): string {
  return value.includes("'") ? `"${value.replace(/"/g, '')}"` : `'${value}'`;
}

export const MIRROR_TAGS = {
  runId: 'flts.run_id',
  complete: 'flts.mirror_complete',
  status: 'flts.status',
} as const;

export function trackingClientFor(settings: Settings, deps: TrackingDeps): MlflowClient {
  return deps.client ?? createMlflowClient(settings.tracking, deps);
}

/**
 * `client`, each of whose calls ends when `signal` aborts (with its reason, as a call of a client built with that
 * signal does): for a client its caller built, whose own signal cannot be changed. The call's request in flight is
 * aborted underneath (abortingCallsOn), so its connection is released at the abort, not at the end of its own budget.
 */
export function clientUntil(client: MlflowClient, signal: AbortSignal): MlflowClient {
  return new Proxy(client, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        signal.throwIfAborted();
        const call = abortingCallsOn(signal, async () => (value as (...callArgs: unknown[]) => Promise<unknown>).apply(target, args));
        // The abort's reason, at once, whatever the call (a library caller's own client, say) makes of its cancelled request.
        return await untilAborted(call, signal);
      };
    },
  });
}
