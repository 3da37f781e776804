import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKafkaOffsetsAdmin } from './offsets-admin.js';

/** The admin client's answers, as the test decides them, on a fake clock: a cluster that answers its bootstrap address only. */
const admin = vi.hoisted(() => ({
  connect: vi.fn(async () => {}),
  disconnect: vi.fn(async () => {}),
  describeGroups: vi.fn<() => Promise<{ groups: Array<{ groupId: string; state: string; members: [] }> }>>(),
}));

vi.mock('../bus/kafkajs-module.js', async () => (await import('../bus/fake-kafkajs.fixture.js')).fakeKafkajsModule(admin));

describe('core > offsets > offsets-admin > bus.kafka.commandConnectTimeoutMs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    admin.connect.mockReset();
    admin.describeGroups.mockReset();
  });
  afterEach(() => vi.useRealTimers());

  // Before, replay-offsets waited as long as kafkajs retried the call (minutes), where every other command's bus gives up at the bound.
  it('gives up a first call the cluster does not answer at what is left of the bound after the connect, in the bus\'s words', async () => {
    let connected: () => void = () => {};
    admin.connect.mockReturnValue(new Promise<void>((resolve) => (connected = resolve)));
    admin.describeGroups.mockReturnValue(new Promise(() => {}));
    const offsets = createKafkaOffsetsAdmin({ brokers: ['127.0.0.1:9'], clientId: 'flts-test', commandConnectTimeoutMs: 1_000 });
    const describing = offsets.describeGroup('flts-promoter');
    describing.catch(() => {});
    let settled = false;
    describing.then(() => (settled = true), () => (settled = true));
    await vi.advanceTimersByTimeAsync(600);
    connected();
    await vi.advanceTimersByTimeAsync(300);
    // The call has what is left of the bound, not a whole bound of its own after the connect.
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    await expect(describing).rejects.toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      message: expect.stringContaining('describing group flts-promoter failed (brokers 127.0.0.1:9): no answer within 1000 ms, the wait FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS (setting bus.kafka.commandConnectTimeoutMs) allows a command, retries included'),
      details: { setting: 'bus.kafka.commandConnectTimeoutMs', waitedMs: 1_000 },
    });
    await offsets.close();
  });

  it('leaves the calls after the cluster answered unbound: a --wait for the group takes minutes', async () => {
    admin.connect.mockResolvedValue(undefined);
    admin.describeGroups.mockResolvedValueOnce({ groups: [{ groupId: 'g', state: 'Empty', members: [] }] });
    const offsets = createKafkaOffsetsAdmin({ brokers: ['127.0.0.1:9'], clientId: 'flts-test', commandConnectTimeoutMs: 1_000 });
    await expect(offsets.describeGroup('g')).resolves.toMatchObject({ state: 'Empty' });
    let answer: (value: { groups: Array<{ groupId: string; state: string; members: [] }> }) => void = () => {};
    admin.describeGroups.mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
    const later = offsets.describeGroup('g');
    await vi.advanceTimersByTimeAsync(60_000);
    answer({ groups: [{ groupId: 'g', state: 'Stable', members: [] }] });
    await expect(later).resolves.toMatchObject({ state: 'Stable' });
    await offsets.close();
  });
});
