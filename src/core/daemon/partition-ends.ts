import type { MessageBus, PartitionLag } from '../bus/message-bus.js';

/**
 * How often a claim follower looks where each partition of its topic ends. A message past the end seen at a look was
 * published after it, whatever its publisher's clock says: the look bounds how early a claim can be taken to have
 * been published, so a publisher whose clock is behind ages its rows early by at most this, not by its whole skew.
 */
export const PARTITION_ENDS_INTERVAL_MS = 60_000;

/** One look: when it began (this host's clock) and the offset after each partition's last message then. */
interface Look {
  at: number;
  end: number;
}

export interface PartitionEnds {
  /** The first look's ends (undefined when the bus could not say), for where a joining follower's catch-up ends. */
  first(): Promise<ReadonlyMap<number, number> | undefined>;
  /**
   * The earliest time (this host's clock) the message at `offset` of `partition` can have been published: when a look
   * began that saw the partition end at or before it; -Infinity when none did (it was there at the first look).
   */
  publishedNoEarlierThan(partition: number, offset: string): number;
  stop(): void;
}

/**
 * Looks where each partition of `topic` ends through the bus's lag of `group` (the end offsets, whatever the group
 * committed), at once and every `intervalMs`, keeping the looks of the last `keepMs` (older ones bound nothing a
 * claim is still read for). The end is the high watermark on Kafka: a message appended on the leader but not yet on
 * every replica may sit past it for the moment replication takes, a bound off by milliseconds. A look that fails is
 * skipped (`onError`), the next one tried on time; a look still running when the next is due is not doubled. Each
 * look that answered is also told whole (`onLook`: the group's committed offsets come with the ends).
 */
export function watchPartitionEnds(bus: MessageBus, group: string, topic: string, options: { intervalMs?: number; keepMs: number; now?: () => number; onError?: (error: unknown) => void; onLook?: (lags: readonly PartitionLag[]) => void }): PartitionEnds {
  const now = options.now ?? Date.now;
  const looks = new Map<number, Look[]>();
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function look(): Promise<ReadonlyMap<number, number> | undefined> {
    const at = now();
    try {
      const lags = (await bus.lag(group, [topic])).filter((lag) => lag.topic === topic);
      const ends = new Map(lags.map((lag) => [lag.partition, lag.endOffset]));
      if (!stopped) {
        record(at, ends);
        options.onLook?.(lags);
      }
      return ends;
    } catch (error) {
      options.onError?.(error);
      return undefined;
    }
  }

  function record(at: number, ends: ReadonlyMap<number, number>): void {
    for (const [partition, end] of ends) {
      let kept = looks.get(partition);
      if (!kept) looks.set(partition, (kept = []));
      const last = kept.at(-1);
      // An end that went back (a topic made again) makes the earlier looks mean nothing for the offsets now given.
      if (last && end < last.end) kept.length = 0;
      // The same end seen later bounds the messages past it later: only the latest look of an end is kept.
      if (last && end === last.end) kept.pop();
      kept.push({ at, end });
      while (kept.length > 1 && kept[0].at < at - options.keepMs) kept.shift();
    }
  }

  const first = look();
  running = first;
  const timer = setInterval(() => {
    if (running) return;
    running = look().finally(() => (running = undefined));
  }, options.intervalMs ?? PARTITION_ENDS_INTERVAL_MS);
  timer.unref();
  void first.finally(() => {
    if (running === first) running = undefined;
  });

  return {
    first: () => first,
    publishedNoEarlierThan(partition, offset) {
      const at = Number(offset);
      const kept = looks.get(partition);
      if (!kept || !Number.isSafeInteger(at)) return Number.NEGATIVE_INFINITY;
      for (let i = kept.length - 1; i >= 0; i--) if (kept[i].end <= at) return kept[i].at;
      return Number.NEGATIVE_INFINITY;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
