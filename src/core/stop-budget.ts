/**
 * The bounds of a daemon's and `flts serve`'s stop, in one place: the daemon checks its settings against them
 * (start-daemon.ts), serve's stop and its gRPC port's grace take them, the setting's description states them
 * (config/specs/distributed.ts) and `npm run docs` writes them for the Helm chart's checks of the daemon's and serve's
 * grace periods (charts/flts/files/stop-budget.yaml).
 */

/**
 * What a Kafka bus's close still takes once it gave up at its deadline: a connect still retrying fails at its next try,
 * within 1 s (the Kafka bus caps kafkajs' retry time at this, KAFKAJS_RETRY in bus/kafka-bus.ts).
 */
export const BUS_CLOSE_END_MS = 1_000;

/**
 * How long SIGTERM waits for roles and the bus to let go before the daemon stops regardless. Deployments give the
 * process longer than this before they kill it (the Helm chart's terminationGracePeriodSeconds, Compose's stop_grace_period).
 */
export const DAEMON_SHUTDOWN_GRACE_MS = 15_000;

/**
 * What the slowest stop a daemon's settings allow leaves of its shutdown grace: timers fire late, never early, so a
 * stop planned to end at the grace itself would lose the race to it on a busy event loop.
 */
export const DAEMON_STOP_MARGIN_MS = 1_000;

/**
 * The longest bus.kafka.closeTimeoutMs a daemon's stop still fits its shutdown grace with, DAEMON_STOP_MARGIN_MS to
 * spare. One deadline, taken as the stop begins, bounds the wait for the brokers (the roles' head start and a role
 * still starting within it); the bus's close, given up at that deadline, ends BUS_CLOSE_END_MS later, and a role start
 * it ended then has BUS_CLOSE_END_MS to stop the roles of its attempt (start-daemon.ts' stop).
 */
export const DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS = DAEMON_SHUTDOWN_GRACE_MS - 2 * BUS_CLOSE_END_MS - DAEMON_STOP_MARGIN_MS;

/**
 * How long `flts serve`'s gRPC port lets the calls in flight at its stop go on before it cuts them, its listeners'
 * wait and every connection of the port within it. Side by side with the HTTP drain (serve.requestTimeoutMs), so the
 * longer of the two bounds the service's stop; a daemon's serving role gives both its own drain instead.
 */
export const SERVE_GRPC_STOP_GRACE_MS = 10_000;

/** The settings serve's stop budget reads (Settings has them; named here, as config's specs import these bounds). */
export interface ServeStopSettings {
  serve: { requestTimeoutMs: number; shutdownWritesTimeoutMs: number; grpcPort: number | null };
  bus: { kind: string; kafka: { closeTimeoutMs: number } };
}

/**
 * How long `flts serve` takes at most from SIGTERM to its exit, as its settings bound it: what a deployment's grace
 * period must cover past its preStop sleep (the Helm chart's check of serve.terminationGracePeriodSeconds, which
 * computes the same from files/stop-budget.yaml; Compose's stop_grace_period). With a bus, the follower leaves its
 * group within bus.kafka.closeTimeoutMs; then the service (HTTP requests in flight, each within
 * serve.requestTimeoutMs, and with a gRPC port its calls within SERVE_GRPC_STOP_GRACE_MS, both at once; then its last
 * writes within serve.shutdownWritesTimeoutMs) and the bus's close, given up at that same deadline and done
 * BUS_CLOSE_END_MS later, stop side by side.
 */
export function serveStopBudgetMs(settings: ServeStopSettings): number {
  const drainMs = Math.max(settings.serve.requestTimeoutMs, settings.serve.grpcPort === null ? 0 : SERVE_GRPC_STOP_GRACE_MS);
  const serviceMs = drainMs + settings.serve.shutdownWritesTimeoutMs;
  if (settings.bus.kind === 'none') return serviceMs;
  return settings.bus.kafka.closeTimeoutMs + Math.max(serviceMs, settings.bus.kind === 'kafka' ? BUS_CLOSE_END_MS : 0);
}
