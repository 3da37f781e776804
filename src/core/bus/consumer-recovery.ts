import type { FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelayMs, UNTIL_AVAILABLE, type BackoffPolicy } from '../retry.js';
import { kafkaFailure } from './kafka-failure.js';
import type { BusMetrics } from './message-bus.js';

/** A consumer's crash, as far as the bus acts on it: a kafkajs CRASH event, or a failed pass of the file bus's poll. */
export interface ConsumerCrash {
  error: unknown;
  /** kafkajs' own decision (`payload.restart`): true when it restarts the consumer itself; the file bus never does. */
  restart: boolean;
}

export interface ConsumerRecovery {
  /**
   * What the bus does about a crash: undefined when kafkajs restarts the consumer itself or the subscription is
   * ending, else how long to wait before running a fresh consumer.
   */
  crashed(crash: ConsumerCrash, open: boolean): number | undefined;
  /** The consumer joined its group: the recovery in progress, if any, is over. */
  joined(): void;
}

/**
 * What a crash's error means, said by the bus it happened on: its code decides the line's level (a retriable one is
 * a warning, anything else an error) and starts a new line when it changes.
 */
export type CrashClassifier =
  /** The file bus's own failures (a file that cannot be read or written, a full disk): toFltsError. */
  | { classify: (error: unknown) => FltsError; brokers?: never }
  /** kafkajs' errors, coded by kafkaFailure with these brokers named in the reason. */
  | { brokers: string[]; classify?: never };

export type ConsumerRecoveryOptions = CrashClassifier & {
  group: string;
  /** The group's topics, named in its lines. */
  topics?: string[];
  logger: Logger;
  /** Counts each crash by code, and marks the subscription as crashing for the length of each episode. */
  metrics?: Pick<BusMetrics, 'consumerCrashed' | 'crashing'>;
  policy?: BackoffPolicy;
  /** kafkajs' wait before it restarts a crashed consumer, when the error names none (its retry's initialRetryTime). */
  restartDelayMs?: number;
  /** How often an episode that goes on is logged again, with how many crashes came meanwhile. */
  repeatEveryMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  now?: () => number;
};

/**
 * A consumer kafkajs restarts still crashes about every 25 s while a broker is away (each time its retries run
 * out, see kafkajsRetries in kafka-bus.ts): an outage of an hour is still told every few minutes, not 140 times.
 */
const REPEAT_EVERY_MS = 300_000;
/** kafkajs' initialRetryTime (KAFKAJS_RETRY in kafka-bus.ts). */
const KAFKAJS_RESTART_DELAY_MS = 300;

/** One stretch of crashes of a subscription's consumer: from the first until the group is joined again. */
interface Episode {
  since: number;
  /** The crash logged last: one with another code, or restarted by the other side, is logged at once. */
  code: string;
  restart: boolean;
  loggedAt: number;
  crashes: number;
  /** Crashes since the line logged last. */
  unlogged: number;
  /** Crashes logged at warn or error. */
  logged: number;
  /** Fresh consumers the bus ran (crashes kafkajs does not restart itself). */
  attempts: number;
}

function classifierOf(options: CrashClassifier, group: string): (error: unknown) => FltsError {
  if (options.classify) return options.classify;
  const { brokers } = options;
  return (error) => kafkaFailure(`consuming as group ${group}`, brokers, error);
}

/**
 * The crash and restart policy of a subscription's consumer, on either bus.
 *
 * Kafka: kafkajs restarts a crashed consumer only when the error is retriable. During a broker restart some are not: a
 * join while no broker answers for the group coordinator ("Failed to find group coordinator", once the coordinator
 * lookups are out of retries) crashes the consumer for good, and it stops consuming, silently, for the rest of the
 * process. So does a login the broker refuses after a password rotation. The bus runs a fresh consumer instead, with
 * backoff, for as long as the subscription is open: redelivery from the last commit is safe, since offsets are
 * committed only after a message's effect.
 *
 * File bus: a failure outside the handler (a log or offset file that cannot be read or written, a DLQ that cannot be
 * stored) ends a pass of its poll; the bus polls afresh from the committed offsets after the delay returned here, so
 * a fault that stays is retried with the same backoff and logged the same way as a broker outage. Its crashes are
 * never restarted by the other side (`restart` false), and its errors are coded by `classify`, not taken for a
 * broker's.
 *
 * Each episode (first crash, whoever restarts the consumer, until the group is joined again) is logged once, with
 * its code, reason and when the next try comes, without a stack (each crash's error goes to debug). A crash with
 * another code, or restarted by the other side, is logged at once; the same crash again at most once per
 * `repeatEveryMs`, with how many came since (bus_consumer_still_crashing); and the end of the episode once, with
 * how many crashes it had and how many of them were not logged (bus_consumer_recovered).
 */
export function createConsumerRecovery(options: ConsumerRecoveryOptions): ConsumerRecovery {
  const { group, topics, logger, repeatEveryMs = REPEAT_EVERY_MS } = options;
  const classify = classifierOf(options, group);
  const policy = options.policy ?? UNTIL_AVAILABLE;
  const now = options.now ?? Date.now;
  let episode: Episode | undefined;
  return {
    crashed({ error, restart }, open) {
      const failure = classify(error);
      if (!open) {
        logger.debug({ group, code: failure.code, err: error, restart }, 'bus_consumer_crashed_while_stopping');
        return undefined;
      }
      const at = now();
      const attempts = (episode?.attempts ?? 0) + (restart ? 0 : 1);
      const delayMs = restart ? undefined : backoffDelayMs(policy, attempts, options.random);
      const retryInMs = delayMs ?? (error as { retryTime?: number })?.retryTime ?? options.restartDelayMs ?? KAFKAJS_RESTART_DELAY_MS;
      // kafkajs' restart keeps the consumer, the bus's replaces it: who acts is in `restart`.
      const fields = { group, topics, code: failure.code, reason: failure.message, restart, retry_in_ms: retryInMs };
      logger.debug({ ...fields, err: error }, 'bus_consumer_crash');
      // A login or permission withdrawn while flts runs is logged as the error it is: a settings change fixes it.
      const log = (failure.retriable ? logger.warn : logger.error).bind(logger);
      const previous = episode;
      options.metrics?.consumerCrashed(group, failure.code);
      if (!previous) options.metrics?.crashing(group, true);
      episode = { since: previous?.since ?? at, code: failure.code, restart, loggedAt: previous?.loggedAt ?? at, crashes: (previous?.crashes ?? 0) + 1, unlogged: (previous?.unlogged ?? 0) + 1, logged: previous?.logged ?? 0, attempts };
      if (!previous || previous.code !== failure.code || previous.restart !== restart) {
        log(fields, restart ? 'bus_consumer_crashed' : 'bus_consumer_crashed_recovering');
      } else if (at - previous.loggedAt >= repeatEveryMs) {
        log({ ...fields, crashes: episode.unlogged, since_ms: at - episode.since }, 'bus_consumer_still_crashing');
      } else {
        return delayMs;
      }
      episode.loggedAt = at;
      episode.unlogged = 0;
      episode.logged += 1;
      return delayMs;
    },
    joined() {
      if (!episode) return;
      logger.info({ group, topics, crashes: episode.crashes, not_logged: episode.crashes - episode.logged, attempts: episode.attempts, after_ms: now() - episode.since }, 'bus_consumer_recovered');
      episode = undefined;
      options.metrics?.crashing(group, false);
    },
  };
}
