/**
 * The bounds of a daemon's stop, in one place: the daemon checks its settings against them (start-daemon.ts), the
 * setting's description states them (config/specs/distributed.ts) and `npm run docs` writes them for the Helm chart's
 * checks of the daemon's and serve's grace periods (charts/flts/files/stop-budget.yaml).
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
