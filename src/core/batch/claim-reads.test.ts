import { describe, expect, it } from 'vitest';
import { createClaimReads, type ClaimMessage } from './claim-reads.js';
import type { InferenceInput } from './inference-input.js';

const claim = (offset: number): ClaimMessage => ({ topic: 'inference-data', partition: 0, offset: String(offset) });

/** A loader that counts its reads and answers each with an input of its own. */
function loader(): { load: () => Promise<InferenceInput>; reads: () => number } {
  let reads = 0;
  return { load: async () => ({ source: `read ${++reads}` }) as unknown as InferenceInput, reads: () => reads };
}

describe('batch > claim reads', () => {
  it('reads for each role alone while no follower runs', async () => {
    const reads = createClaimReads();
    const { load, reads: count } = loader();
    await reads.read(claim(1), 'run-a', load);
    await reads.read(claim(1), 'run-a', load);
    expect(count()).toBe(2);
  });

  it('gives the second role the first one\'s read of a claim, in flight or done, then lets it go', async () => {
    const reads = createClaimReads();
    reads.follow();
    const { load, reads: count } = loader();
    const first = reads.read(claim(1), 'run-a', load);
    const second = reads.read(claim(1), 'run-a', load);
    expect(await second).toBe(await first);
    expect(count()).toBe(1);
    // Both took it: a redelivery of the claim reads again.
    await reads.read(claim(1), 'run-a', load);
    expect(count()).toBe(2);
  });

  it('shares nothing across runs, claims passed by the follower, failed reads or claims after the next one started', async () => {
    const reads = createClaimReads();
    reads.follow();
    const { load, reads: count } = loader();
    await reads.read(claim(1), 'run-a', load);
    await reads.read(claim(1), 'run-b', load);
    expect(count()).toBe(2);

    await reads.read(claim(2), 'run-a', load);
    reads.pass(claim(2));
    await reads.read(claim(2), 'run-a', load);
    expect(count()).toBe(4);

    const failing = reads.read(claim(3), 'run-a', () => Promise.reject(new Error('store down')));
    await expect(failing).rejects.toThrow('store down');
    await reads.read(claim(3), 'run-a', load);
    expect(count()).toBe(5);

    // At most one read waits for a role that may not come (claim 4's other role is another daemon's).
    await reads.read(claim(4), 'run-a', load);
    await reads.read(claim(5), 'run-a', load);
    await reads.read(claim(4), 'run-a', load);
    expect(count()).toBe(8);
  });

  it('keeps no read of a claim the follower is done with: passed already, or before one it passed in the partition', async () => {
    const reads = createClaimReads();
    reads.follow();
    const { load, reads: count } = loader();
    // The follower passed claim 5 (nothing to score) before the batch role read it: no one would take that read.
    reads.pass(claim(5));
    await reads.read(claim(5), 'run-a', load);
    await reads.read(claim(5), 'run-a', load);
    await reads.read(claim(3), 'run-a', load);
    await reads.read(claim(3), 'run-a', load);
    expect(count()).toBe(4);
    // Another partition's claims are still shared.
    await reads.read({ ...claim(3), partition: 1 }, 'run-a', load);
    await reads.read({ ...claim(3), partition: 1 }, 'run-a', load);
    expect(count()).toBe(5);
  });

  it('keeps no read of a claim published before the follower started, which its group never receives', async () => {
    const reads = createClaimReads();
    reads.follow(1_000);
    const { load, reads: count } = loader();
    await reads.read({ ...claim(1), timestamp: 500 }, 'run-a', load);
    await reads.read({ ...claim(1), timestamp: 500 }, 'run-a', load);
    expect(count()).toBe(2);
    await reads.read({ ...claim(2), timestamp: 1_500 }, 'run-a', load);
    await reads.read({ ...claim(2), timestamp: 1_500 }, 'run-a', load);
    expect(count()).toBe(3);
  });

  it('keeps no read once both roles read the claim, as different runs', async () => {
    const reads = createClaimReads();
    reads.follow();
    const { load, reads: count } = loader();
    await reads.read(claim(1), 'run-a', load);
    await reads.read(claim(1), 'run-b', load);
    await reads.read(claim(1), 'run-b', load);
    expect(count()).toBe(3);
  });

  it('stops sharing, and lets the waiting read go, when the follower stops', async () => {
    const reads = createClaimReads();
    const unfollow = reads.follow();
    const { load, reads: count } = loader();
    await reads.read(claim(1), 'run-a', load);
    unfollow();
    unfollow();
    await reads.read(claim(1), 'run-a', load);
    await reads.read(claim(2), 'run-a', load);
    await reads.read(claim(2), 'run-a', load);
    expect(count()).toBe(4);
  });
});
