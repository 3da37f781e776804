import type { Settings } from '../config/settings.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';
import type { RoleContext } from './role-registry.js';

/**
 * The MLflow collaborators of a role's workflows: they stop with the daemon, and every call they give up on is counted
 * in flts_daemon_tracking_failures_total (a step never fails for tracking, so without it a dead tracking server shows
 * only as warnings in the log). The failure still reaches the daemon's event sink.
 */
export function roleTracking(context: Pick<RoleContext, 'settings' | 'logger' | 'metrics' | 'onEvent' | 'trackingServers'>, role: string, signal: AbortSignal): TrackingDeps {
  const { metrics, onEvent } = context;
  return {
    logger: context.logger,
    signal,
    servers: context.trackingServers,
    onEvent: (event) => {
      if (event.type === 'tracking.unavailable') metrics.countTrackingFailure(role, event.code);
      onEvent?.(event);
    },
  };
}

/** Declares the role's failure series at 0 when tracking is configured (see declareSteps for why). */
export function declareRoleTracking(context: Pick<RoleContext, 'metrics'> & { settings: Settings }, role: string): void {
  if (context.settings.tracking.uri) context.metrics.declareTrackingFailures(role);
}
