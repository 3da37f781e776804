import type { InferenceInput } from './inference-input.js';

/** Which `inference-data` message a read is for: every group sees a claim under the same position. */
export interface ClaimMessage {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * One read of a claimed object for the two roles of a daemon that both read it: the batch role forecasts from it,
 * and the serving role's claim-actuals follower (the one path that scores claim actuals, in every deployment) takes
 * its actual values from it instead of reading the object again. Each role consumes the claim in its own group, in
 * no set order, so whichever comes first reads and the other takes that read, in flight or done.
 *
 * A read is shared only while a follower runs (`follow`), and only by the same claim message read as the same run
 * (the run decides how the rows are read). It is let go once the second role took it, when the follower passes
 * the claim without reading it, when it fails (each role then reads for itself, as it would alone), and when the next
 * claim's read starts: the follower catches up on claims the batch role consumed before it joined, and the batch
 * role never sees those of partitions another daemon's batch role holds, so at most one read is kept waiting for a
 * role that may not come.
 */
export interface ClaimReads {
  /** Marks a follower running: reads are shared until the returned function is called. */
  follow(): () => void;
  /** The read of `message` as `runId`: the other role's when it has one waiting, else `load()`, kept for the other. */
  read(message: ClaimMessage, runId: string, load: () => Promise<InferenceInput>): Promise<InferenceInput>;
  /** The follower passes this claim without reading it (nothing to score, too large): no read is kept for it. */
  pass(message: ClaimMessage): void;
}

interface Held {
  key: string;
  runId: string;
  read: Promise<InferenceInput>;
}

const keyOf = (message: ClaimMessage): string => `${message.topic}\u0000${message.partition}\u0000${message.offset}`;

export function createClaimReads(): ClaimReads {
  let followers = 0;
  let held: Held | undefined;
  return {
    follow() {
      followers++;
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        if (--followers === 0) held = undefined;
      };
    },
    read(message, runId, load) {
      if (followers === 0) return load();
      const key = keyOf(message);
      if (held && held.key === key && held.runId === runId) {
        const { read } = held;
        held = undefined;
        return read;
      }
      const entry: Held = { key, runId, read: load() };
      held = entry;
      entry.read.catch(() => {
        if (held === entry) held = undefined;
      });
      return entry.read;
    },
    pass(message) {
      if (held?.key === keyOf(message)) held = undefined;
    },
  };
}
