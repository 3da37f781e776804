import { randomUUID } from 'node:crypto';
import { AssignerProtocol, Kafka, logLevel, type Consumer, type PartitionAssigner } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import type { MessageBus } from '../../src/core/bus/message-bus.js';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';
import { recordingLogger } from './private-kafka.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();
/** A rebalance waits for every member's next heartbeat (1 s here) and rejoin: bounds for a loaded machine. */
const WITHIN_MS = 90_000;

/** Which member the test's leader gives the topic's one partition at a rebalance. */
type Owner = 'bus' | 'leader';

/**
 * The leader's assignment, decided by the test: the bus's member (no user data) or the leader itself gets the
 * partition, and the test may hold the assignment for as long as it wants. Every member has joined by the time the
 * leader assigns, and none has its assignment yet: the group is between its join and its sync, where the
 * coordinator refuses commits as REBALANCE_IN_PROGRESS. Named as kafkajs' default assigner, the one the bus's
 * consumers speak, so that the group agrees on it.
 */
function decidingAssigner(self: string, decide: (rebalance: number) => Promise<Owner>): PartitionAssigner {
  let rebalances = 0;
  return () => ({
    name: 'RoundRobinAssigner',
    version: 0,
    async assign({ members, topics }) {
      rebalances += 1;
      const owner = await decide(rebalances);
      const isLeader = (metadata: Buffer): boolean => AssignerProtocol.MemberMetadata.decode(metadata)?.userData.toString() === self;
      const busMember = members.find((member) => AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData.length === 0);
      const leader = members.find((member) => isLeader(member.memberMetadata));
      const assignee = owner === 'bus' && busMember ? busMember : leader!;
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: memberId === assignee.memberId ? { [topics[0]]: [0] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'RoundRobinAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(self) }) };
    },
  });
}

interface Scene {
  topic: string;
  group: string;
  bus: MessageBus;
  /** What the bus's handler was given, in order. */
  handled: string[];
  /** What the leader's consumer was given, as `value@offset`. */
  leaderGot: string[];
  lines: string[];
  log(): string;
  committed(): Promise<number>;
  /** Joins of the bus's member so far. */
  joins(): number;
  /** Another member joins the group (a rebalance, the leader assigning as at the third). */
  addMember(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The bus's member handles a message while a third member joins; its handler ends while the leader holds the new
 * assignment, so its commit is refused; then the leader gives the partition to `owner`.
 */
async function commitRefusedMidRebalance(owner: Owner): Promise<Scene> {
  const id = randomUUID().slice(0, 8);
  const topic = `it-commit-refused-${id}`;
  const group = `it-commit-refused-${id}`;
  const { logger, lines, text } = recordingLogger();
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  // The leader assigns as the handler ends, while its commit is on its way: the commit reaches the coordinator
  // behind the member's own wait for its assignment, and is answered, refused, only once the group is synced.
  const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'it-commit-refused', logger, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, joinTimeoutMs: 1_000, onDelivery: () => release() });
  const kafka = new Kafka({ clientId: 'it-commit-refused-peer', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  let holding: () => void = () => {};
  const leaderHolds = new Promise<void>((resolve) => (holding = resolve));
  // 1: the leader alone; 2: the bus's member joins and gets the partition; 3: the third member joins.
  const decide = async (rebalance: number): Promise<Owner> => {
    if (rebalance < 2) return 'leader';
    if (rebalance === 2) return 'bus';
    if (rebalance === 3) {
      holding();
      await released;
    }
    return owner;
  };
  const peers: Consumer[] = [];
  const leaderGot: string[] = [];
  const startPeer = async (name: string, onMessage: (value: string) => void): Promise<void> => {
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000, partitionAssigners: [decidingAssigner(name, decide)] });
    peers.push(consumer);
    let joined: () => void = () => {};
    const joinedOnce = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => onMessage(`${message.value?.toString()}@${message.offset}`) });
    await joinedOnce;
  };

  const handled: string[] = [];
  let handlerStarted: () => void = () => {};
  const handling = new Promise<void>((resolve) => (handlerStarted = resolve));
  await bus.ensureTopics([topic], 1);
  // The leader joins first: a group keeps its leader across rebalances while it rejoins.
  await startPeer('leader', (got) => void leaderGot.push(got));
  let joins = 0;
  await bus.subscribe({ group, topics: [topic], fromBeginning: true, onJoin: () => void (joins += 1) }, async (message) => {
    handled.push(message.value);
    if (handled.length === 1) {
      handlerStarted();
      await leaderHolds;
    }
  });
  await bus.publish(topic, { key: 'k', value: 'first' });
  await handling;
  await startPeer('third', () => {});
  await waitFor(() => lines.some((line) => line.includes('bus_commit_deferred')), 'the refused commit', WITHIN_MS);
  const admin = kafka.admin();
  await admin.connect();
  return {
    topic,
    group,
    bus,
    handled,
    leaderGot,
    lines,
    log: text,
    joins: () => joins,
    addMember: (name) => startPeer(name, () => {}),
    async committed() {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return Number(entry.partitions[0].offset);
    },
    async close() {
      await bus.close();
      await Promise.all(peers.map((peer) => peer.disconnect().catch(() => {})));
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    },
  };
}

if (skipReason) {
  describe('integration > kafka-bus > a commit refused as the group rebalances', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > kafka-bus > a commit refused as the group rebalances', () => {
    it('is made at the next join when the partition stays the member\'s: the message is not handled again and the member consumes on', async () => {
      const scene = await commitRefusedMidRebalance('bus');
      try {
        await waitFor(async () => (await scene.committed()) === 1, 'the refused commit made at the join', WITHIN_MS).catch((error: Error) => {
          throw new Error(`${error.message}; bus log:\n${scene.log()}`);
        });
        // Refused as a member of a generation the group is leaving: expected in a rebalance, not worth a warning.
        await scene.bus.publish(scene.topic, { key: 'k', value: 'second' });
        await waitFor(async () => (await scene.committed()) === 2, 'the next message committed', WITHIN_MS);
        // Another rebalance, the partition still the member's: it resumes where it is, not at the refused commit.
        const joins = scene.joins();
        await scene.addMember('fourth');
        await waitFor(() => scene.joins() > joins, 'the member\'s next join', WITHIN_MS);
        await scene.bus.publish(scene.topic, { key: 'k', value: 'third' });
        await waitFor(async () => (await scene.committed()) === 3, 'the message after the next join committed', WITHIN_MS);
        expect(scene.handled).toEqual(['first', 'second', 'third']);
        // Whichever came first, the refusal or the join it belongs to, the commit was made without the message again;
        // refused as the group rebalanced, which is no cause for a warning.
        expect(scene.lines.filter((line) => line.includes('bus_commit_deferred'))).toEqual([expect.stringMatching(/^info bus_commit_deferred .*"offset":"0".*"then":"(next-join|commit-again)"/)]);
        expect(scene.leaderGot).toEqual([]);
        expect(scene.lines.filter((line) => /bus_consumer_crash/.test(line))).toEqual([]);
      } finally {
        await scene.close();
      }
    }, 3 * WITHIN_MS);

    it('is dropped when the partition moved: its new owner gets the message again, nothing committed past it', async () => {
      const scene = await commitRefusedMidRebalance('leader');
      try {
        await waitFor(() => scene.leaderGot.length > 0, 'the message at its new owner', WITHIN_MS).catch((error: Error) => {
          throw new Error(`${error.message}; bus log:\n${scene.log()}`);
        });
        expect(scene.leaderGot).toEqual(['first@0']);
        expect(await scene.committed()).toBe(-1);
        expect(scene.handled).toEqual(['first']);
        expect(scene.lines.filter((line) => /bus_consumer_crash/.test(line))).toEqual([]);
      } finally {
        await scene.close();
      }
    }, 3 * WITHIN_MS);
  });
}
