import { describe, expect, it } from 'vitest';
import type { FltsError } from '../errors.js';
import { assertGroupInactive } from './group-activity.js';
import type { GroupDescription, OffsetsAdmin } from './offsets-admin.js';

const member = { memberId: 'flts-1f2e', clientId: 'flts-daemon', host: '10.0.0.7' };

/** An admin whose group has a member for the first `busyLooks` descriptions. */
function adminWithMember(busyLooks: number): { admin: OffsetsAdmin; looks: () => number } {
  let looks = 0;
  const describeGroup = async (group: string): Promise<GroupDescription> => {
    looks++;
    return looks <= busyLooks ? { group, state: 'Stable', members: [member] } : { group, state: 'Empty', members: [] };
  };
  return { admin: { describeGroup } as unknown as OffsetsAdmin, looks: () => looks };
}

describe('core > offsets > group-activity', () => {
  it('refuses an active group at once, naming each member, its client and host', async () => {
    const { admin, looks } = adminWithMember(1);
    const refusal = assertGroupInactive(admin, 'train-lstm');
    await expect(refusal).rejects.toMatchObject({ code: 'FLTS_OFFSETS_GROUP_ACTIVE', details: { members: [member] } });
    await expect(refusal).rejects.toThrow('member flts-1f2e (client flts-daemon, host 10.0.0.7)');
    expect(looks()).toBe(1);
  });

  it('with wait, looks again until the group is empty', async () => {
    const { admin, looks } = adminWithMember(3);
    await expect(assertGroupInactive(admin, 'g', { wait: { timeoutMs: 60_000, pollMs: 1 } })).resolves.toMatchObject({ state: 'Empty' });
    expect(looks()).toBe(4);
  });

  it('says once, with the members, that it begins to wait, and not when the group is empty already', async () => {
    const heard: unknown[] = [];
    await assertGroupInactive(adminWithMember(3).admin, 'g', { wait: { timeoutMs: 60_000, pollMs: 1 }, onWaiting: (description) => heard.push(description) });
    expect(heard).toEqual([{ group: 'g', state: 'Stable', members: [member] }]);
    await assertGroupInactive(adminWithMember(0).admin, 'g', { wait: { timeoutMs: 60_000, pollMs: 1 }, onWaiting: (description) => heard.push(description) });
    expect(heard).toHaveLength(1);
  });

  it('ends with the stop that came while the broker was asked, even when the group has emptied meanwhile', async () => {
    const abort = new AbortController();
    const stop = new Error('stopped');
    const admin = { describeGroup: async (group: string) => (abort.abort(stop), { group, state: 'Empty', members: [] }) } as unknown as OffsetsAdmin;
    // Before, an empty group was taken at once: a Ctrl-C while the broker answered went unheard and the reset was made.
    await expect(assertGroupInactive(admin, 'g', { wait: { timeoutMs: 60_000 }, signal: abort.signal })).rejects.toBe(stop);
  });

  it('gives up when the wait runs out, saying how long it waited', async () => {
    const { admin } = adminWithMember(Number.POSITIVE_INFINITY);
    let clock = 0;
    const now = (): number => (clock += 20_000);
    const refusal = assertGroupInactive(admin, 'g', { wait: { timeoutMs: 45_000, pollMs: 1 }, now });
    await expect(refusal).rejects.toThrow(/after waiting \d+s/);
    // Before, the message and the hint both said to pass --wait, which the operator had just done.
    const error = (await refusal.catch((caught: unknown) => caught)) as FltsError;
    expect(error.message).not.toContain('pass --wait');
    expect(error.message).toContain('--wait-timeout');
    expect(error.hint).toContain('--wait-timeout');
    expect(error.hint).not.toMatch(/or pass --wait/);
  });

  it('without wait, says that --wait waits for the group to empty', async () => {
    const refusal = assertGroupInactive(adminWithMember(1).admin, 'g');
    await expect(refusal).rejects.toThrow('pass --wait to wait until the group is empty');
    await expect(refusal).rejects.toMatchObject({ hint: 'Stop the group members or pass --wait.' });
  });
});
