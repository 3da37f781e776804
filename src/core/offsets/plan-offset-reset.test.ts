import { describe, expect, it } from 'vitest';
import type { OffsetsAdmin } from './offsets-admin.js';
import { planOffsetReset } from './plan-offset-reset.js';
import { resolveReplayRequest } from './replay-request.js';
import { resolveSettings } from '../config/settings.js';

/** A cluster where the group has committed nothing. */
const nothingCommitted = { committedOffsets: async () => [] } as unknown as OffsetsAdmin;

describe('core > offsets > planOffsetReset', () => {
  it('says a group with no committed offsets names no topics, in words that fit --role serving:<id> as well as --all-topics', async () => {
    // Before: "... so --all-topics names nothing", also to `--role serving:abc --to-earliest`, which gave no --all-topics.
    const { bus } = resolveSettings().settings;
    const request = resolveReplayRequest({ role: 'serving:abc', toEarliest: true }, bus);
    expect(request.scope).toEqual({ allTopics: true });
    await expect(planOffsetReset(request, nothingCommitted)).rejects.toMatchObject({
      code: 'FLTS_OFFSETS_NO_COMMITTED_OFFSET',
      message: `Group ${request.group} has no committed offsets, so it names no topics to reset (--all-topics, and a serving role without --topic, take the topics a group committed to); name them with --topic.`,
    });
  });
});
