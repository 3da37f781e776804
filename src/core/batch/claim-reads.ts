import type { InferenceInput } from './inference-input.js';

/** Which `inference-data` message a read is for: every group sees a claim under the same position. */
export interface ClaimMessage {
  topic: string;
  partition: number;
  offset: string;
  /** When it was published (ms; 0 or absent = unknown), which tells a claim the follower never receives. */
  timestamp?: number;
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
 * claim's read starts. None is kept for a claim the follower is done with already (it passed that claim or a later one
 * of its partition), for one published before the follower's start (its group never receives it), or for one the other
 * role read as another run: the other role came already. The batch role never sees the claims of partitions another
 * daemon's batch role holds, so at most one read, the follower's, is kept waiting for a role that may not come.
 */
export interface ClaimReads {
  /**
   * Marks a follower running, which receives the claims published from `since` on (ms; its group starts there): reads
   * are shared until the returned function is called.
   */
  follow(since?: number): () => void;
  /** The read of `message` as `runId`: the other role's when it has one waiting, else `load()`, kept for the other. */
  read(message: ClaimMessage, runId: string, load: () => Promise<InferenceInput>): Promise<InferenceInput>;
  /** The follower is done with this claim without taking a read (nothing to score, too large, skipped): none is kept for it or an earlier one. */
  pass(message: ClaimMessage): void;
}

interface Held {
  key: string;
  runId: string;
  read: Promise<InferenceInput>;
}

const keyOf = (message: ClaimMessage): string => `${message.topic}\u0000${message.partition}\u0000${message.offset}`;
const partitionOf = (message: ClaimMessage): string => `${message.topic}\u0000${message.partition}`;
/** Offsets are whole numbers in text (Kafka's, the file bus's line numbers); anything else compares as unknown. */
const offsetOf = (message: ClaimMessage): bigint | undefined => (/^\d{1,30}$/.test(message.offset) ? BigInt(message.offset) : undefined);

export function createClaimReads(): ClaimReads {
  let followers = 0;
  let held: Held | undefined;
  /** The earliest publish time a running follower receives claims from. */
  let since = Number.NEGATIVE_INFINITY;
  /** Per partition, the last claim the follower passed: it never comes back for that one or an earlier one. */
  const passed = new Map<string, bigint>();
  /** A claim the follower will not ask for: a read of it is not kept. */
  const followerDone = (message: ClaimMessage): boolean => {
    if (message.timestamp !== undefined && message.timestamp > 0 && message.timestamp < since) return true;
    const offset = offsetOf(message);
    const last = passed.get(partitionOf(message));
    return offset !== undefined && last !== undefined && offset <= last;
  };
  return {
    follow(from = Number.NEGATIVE_INFINITY) {
      since = followers === 0 ? from : Math.min(since, from);
      followers++;
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        if (--followers > 0) return;
        held = undefined;
        since = Number.NEGATIVE_INFINITY;
        passed.clear();
      };
    },
    read(message, runId, load) {
      if (followers === 0 || followerDone(message)) return load();
      const key = keyOf(message);
      if (held && held.key === key) {
        const { read, runId: heldRun } = held;
        held = undefined;
        // Read as another run by the other role, which has come already: this read is nobody else's to take.
        return heldRun === runId ? read : load();
      }
      const entry: Held = { key, runId, read: load() };
      held = entry;
      entry.read.catch(() => {
        if (held === entry) held = undefined;
      });
      return entry.read;
    },
    pass(message) {
      if (followers === 0) return;
      if (held?.key === keyOf(message)) held = undefined;
      const offset = offsetOf(message);
      const last = passed.get(partitionOf(message));
      if (offset !== undefined && (last === undefined || offset > last)) passed.set(partitionOf(message), offset);
    },
  };
}
