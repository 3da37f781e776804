import type { ServeMetrics } from './serve-metrics.js';

/**
 * Whether a replica with a bus follows `model-selected`, as /healthz gives it: `code` is the error code of the last
 * failed attempt to join (never its message, which names the brokers: the serve_promotions_unavailable log line has
 * it), `since` when the state began. Not following, the replica still serves and its pointer poll keeps it on the
 * promoted model, so readiness does not depend on it; this is how an operator sees that promotions arrive late.
 */
export interface PromotionFollowingStatus {
  topic: string;
  following: boolean;
  code: string | null;
  since: string;
}

export interface PromotionFollowing {
  status(): PromotionFollowingStatus;
  /** The replica's group joined: promotions reach it as they are published. */
  joined(): void;
  /** An attempt to join failed with `code`; `since` stays the start of the episode while attempts keep failing. */
  notFollowing(code: string): void;
}

/** Starts as not following, without a code, until the first attempt joins or fails; flts_serve_following_promotions mirrors it. */
export function createPromotionFollowing(topic: string, options: { metrics?: ServeMetrics; now?: () => Date } = {}): PromotionFollowing {
  const now = options.now ?? (() => new Date());
  let state: PromotionFollowingStatus = { topic, following: false, code: null, since: now().toISOString() };
  options.metrics?.setFollowingPromotions(topic, false);
  return {
    status: () => ({ ...state }),
    joined() {
      state = { topic, following: true, code: null, since: now().toISOString() };
      options.metrics?.setFollowingPromotions(topic, true);
    },
    notFollowing(code) {
      state = { topic, following: false, code, since: state.following ? now().toISOString() : state.since };
      options.metrics?.setFollowingPromotions(topic, false);
    },
  };
}
