import type { ServeMetrics } from './serve-metrics.js';

/**
 * Whether a replica with a bus follows `model-selected`, as /healthz gives it: `code` is the error code of the last
 * failed attempt to join, or of its consumer's last crash (never its message, which names the brokers: the
 * serve_promotions_unavailable and bus_consumer_crashed_recovering log lines have it), `since` when it began, or
 * stopped, following (its start, before it first joined).
 * Not following, the replica still serves and its pointer poll keeps it on the promoted model, so readiness does not
 * depend on it; this is how an operator sees that promotions arrive late.
 */
export interface PromotionFollowingStatus {
  topic: string;
  following: boolean;
  code: string | null;
  since: string;
}

export interface PromotionFollowing {
  status(): PromotionFollowingStatus;
  /** The replica's group joined: promotions reach it as they are published (until its consumer crashes, if it does). */
  joined(group: string): void;
  /** An attempt to join failed with `code`; `since` stays the start of the episode while attempts keep failing. */
  notFollowing(code: string): void;
  /** The follower is leaving: what its consumer does from now on is not reported. */
  stop(): void;
}

/**
 * Starts as not following, without a code, until the first attempt joins or fails; flts_serve_following_promotions
 * mirrors it. Once joined, a crash of the group's consumer that the bus reports to `metrics` (a broker gone) makes it
 * not following, with the crash's code, until the consumer is back in its group.
 */
export function createPromotionFollowing(topic: string, options: { metrics?: Pick<ServeMetrics, 'setFollowingPromotions' | 'watchConsumers'>; now?: () => Date } = {}): PromotionFollowing {
  const now = options.now ?? (() => new Date());
  let state: PromotionFollowingStatus = { topic, following: false, code: null, since: now().toISOString() };
  let group: string | undefined;
  let crashed = false;
  let stopped = false;
  const set = (following: boolean, code: string | null): void => {
    // Since it began to follow, or stopped following: a new code while it does not follow leaves it.
    const since = following === state.following ? state.since : now().toISOString();
    state = { topic, following, code, since };
    options.metrics?.setFollowingPromotions(topic, following);
  };
  options.metrics?.setFollowingPromotions(topic, false);
  const unwatch = options.metrics?.watchConsumers({
    crashed(crashedGroup, code) {
      if (stopped || crashedGroup !== group) return;
      crashed = true;
      set(false, code);
    },
    crashEnded(endedGroup) {
      if (stopped || endedGroup !== group || !crashed) return;
      crashed = false;
      set(true, null);
    },
  });
  return {
    status: () => ({ ...state }),
    joined(joinedGroup) {
      if (stopped) return;
      group = joinedGroup;
      set(true, null);
    },
    notFollowing(code) {
      if (!stopped) set(false, code);
    },
    stop() {
      stopped = true;
      unwatch?.();
    },
  };
}
