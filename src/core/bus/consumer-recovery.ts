import type { Logger } from '../logger.js';
import { backoffDelayMs, UNTIL_AVAILABLE, type BackoffPolicy } from '../retry.js';
import { kafkaFailure } from './kafka-failure.js';

/** A kafkajs consumer's CRASH event, as far as the bus acts on it. */
export interface ConsumerCrash {
  error: unknown;
  /** kafkajs' own decision (`payload.restart`): true when it restarts the consumer itself. */
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

export interface ConsumerRecoveryOptions {
  group: string;
  brokers: string[];
  logger: Logger;
  policy?: BackoffPolicy;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  now?: () => number;
}

/**
 * kafkajs restarts a crashed consumer only when the error is retriable. During a broker restart some are not: a
 * join while no broker answers for the group coordinator ("Failed to find group coordinator", once the coordinator
 * lookups are out of retries) crashes the consumer for good, and it stops consuming, silently, for the rest of the
 * process. So does a login the broker refuses after a password rotation. The bus runs a fresh consumer instead, with
 * backoff, for as long as the subscription is open: redelivery from the last commit is safe, since offsets are
 * committed only after a message's effect. Each episode (first such crash until the group is joined again) is
 * logged once with its code and reason, and its end once.
 */
export function createConsumerRecovery(options: ConsumerRecoveryOptions): ConsumerRecovery {
  const { group, logger } = options;
  const policy = options.policy ?? UNTIL_AVAILABLE;
  const now = options.now ?? Date.now;
  let episode: { attempts: number; since: number } | undefined;
  return {
    crashed({ error, restart }, open) {
      const failure = kafkaFailure(`consuming as group ${group}`, options.brokers, error);
      const fields = { group, code: failure.code, reason: failure.message, err: error, restart };
      if (!open) {
        logger.debug(fields, 'bus_consumer_crashed_while_stopping');
        return undefined;
      }
      if (restart) {
        // A login or permission withdrawn while flts runs is logged as the error it is: a settings change fixes it.
        if (failure.retriable) logger.warn(fields, 'bus_consumer_crashed');
        else logger.error(fields, 'bus_consumer_crashed');
        return undefined;
      }
      const attempts = (episode?.attempts ?? 0) + 1;
      const delayMs = backoffDelayMs(policy, attempts, options.random);
      if (episode) logger.debug({ ...fields, attempts, retryInMs: delayMs }, 'bus_consumer_recovery_failed');
      else if (failure.retriable) logger.warn({ ...fields, retryInMs: delayMs }, 'bus_consumer_crashed_recovering');
      else logger.error({ ...fields, retryInMs: delayMs }, 'bus_consumer_crashed_recovering');
      episode = { attempts, since: episode?.since ?? now() };
      return delayMs;
    },
    joined() {
      if (!episode) return;
      logger.info({ group, attempts: episode.attempts, afterMs: now() - episode.since }, 'bus_consumer_recovered');
      episode = undefined;
    },
  };
}
