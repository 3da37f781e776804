import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../storage/object-store.js';
import type { OffsetsAdmin } from './offsets-admin.js';
import { replayOffsets } from './replay-offsets.js';

describe('core > offsets > replayOffsets', () => {
  it('changes no offset and writes no audit entry when stopped while it planned, before the first commit', async () => {
    const abort = new AbortController();
    const stop = new Error('stopped');
    const commits: unknown[] = [];
    const written: string[] = [];
    const admin = {
      describeGroup: async (group: string) => ({ group, state: 'Empty', members: [] }),
      // The stop comes while the broker is asked for the partitions' range, after the group was found empty.
      topicRanges: async () => (abort.abort(stop), [{ partition: 0, logStart: 0, logEnd: 10 }]),
      committedOffsets: async () => [{ topic: 't', partition: 0, offset: 5 }],
      commitOffsets: async (...args: unknown[]) => void commits.push(args),
    } as unknown as OffsetsAdmin;
    const store = { ensureBucket: async () => undefined, putObject: async (_bucket: string, key: string) => void written.push(key) } as unknown as ObjectStore;
    const run = replayOffsets({ group: 'g', scope: { topics: [{ topic: 't' }] }, target: { kind: 'earliest' }, execute: true, operator: 'op' }, { admin, audit: { store, bucket: 'b' }, signal: abort.signal });
    // Before, the stop was heard only in the sleep between two looks at an active group: the reset went on.
    await expect(run).rejects.toBe(stop);
    expect(commits).toEqual([]);
    expect(written).toEqual([]);
  });
});
