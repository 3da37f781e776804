import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import type { Settings } from '../config/settings.js';
import { createMlflowClient, type MlflowClient } from './mlflow-client.js';

/** Collaborators of the tracking functions; all optional. Pass `client` to reuse one across calls. */
export interface TrackingDeps {
  readonly logger?: Logger;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  readonly client?: MlflowClient;
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
