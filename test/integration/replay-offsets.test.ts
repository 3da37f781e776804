import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import { encodeTrainClaim } from '../../src/core/bus/messages.js';
import { defaultSettings } from '../../src/core/config/settings.js';
import { createKafkaOffsetsAdmin, decodeOffsetCsv, encodeOffsetCsv, listOffsetAudit, replayOffsets, resolveReplayRequest, type OffsetsAdmin, type ReplayRequestOptions } from '../../src/core/offsets/index.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { listRunRecords, saveRunRecord } from '../../src/core/registry/run-store.js';
import { trainerGroupId } from '../../src/core/bus/topics.js';
import { createDaemonMetrics } from '../../src/core/daemon/daemon-metrics.js';
import { startTrainerRole } from '../../src/core/daemon/trainer-role.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { collectNegativeTimeoutWarnings, rawKafka } from '../helpers/raw-kafka.js';
import { startFltsProcess } from '../helpers/flts-process.js';
import { runCli } from '../helpers/run-cli.js';
import { INFRA_HINT, infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();

const PARTITIONS = 3;
const PER_PARTITION = 10;
const STEP_MS = 60_000;
/** Every test group starts from these committed offsets (partition -> offset). */
const COMMITTED = [5, 3, 8];

if (skipReason) {
  describe('integration > replay-offsets', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > replay-offsets', () => {
    const negativeTimeouts = collectNegativeTimeoutWarnings();
    const kafka = rawKafka({ clientId: 'flts-it-replay', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    let raw: Admin;
    let producer: Producer;
    let offsetsAdmin: OffsetsAdmin;
    let root: string;
    let store: ObjectStore;
    const topic = `it-replay-${randomUUID().slice(0, 8)}`;
    // Message i of every partition carries timestamp t0 + i minutes; t0 is an hour ago so retention keeps it.
    const start = new Date();
    const t0 = Math.floor(start.getTime() / STEP_MS) * STEP_MS - 60 * STEP_MS;
    const bus = defaultSettings().bus;

    beforeAll(async () => {
      raw = kafka.admin();
      try {
        await raw.connect();
      } catch (error) {
        throw new Error(`Kafka not reachable at ${infra.kafkaBrokers.join(',')}: ${(error as Error).message}; ${INFRA_HINT}`);
      }
      await raw.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
      producer = kafka.producer();
      await producer.connect();
      for (let p = 0; p < PARTITIONS; p++) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ partition: p, value: `m${p}-${i}`, timestamp: String(t0 + i * STEP_MS) })) });
      }
      offsetsAdmin = createKafkaOffsetsAdmin({ brokers: infra.kafkaBrokers, clientId: 'flts-it-replay-admin' });
      root = mkdtempSync(path.join(tmpdir(), 'flts-replay-'));
      store = createFsStore(root);
      await seedGroups(24);
    });

    afterAll(async () => {
      await offsetsAdmin?.close();
      await producer?.disconnect();
      await raw?.disconnect();
      if (root) rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    });

    const seeded: string[] = [];

    /** Groups whose committed offsets are COMMITTED, written with kafkajs' own admin.setOffsets (not the code under test), all at once. */
    async function seedGroups(count: number): Promise<void> {
      const groups = Array.from({ length: count }, () => `it-replay-group-${randomUUID().slice(0, 8)}`);
      await Promise.all(groups.map((group) => raw.setOffsets({ groupId: group, topic, partitions: COMMITTED.map((offset, partition) => ({ partition, offset: String(offset) })) })));
      seeded.push(...groups);
    }

    /** A fresh group at the known offsets. */
    async function groupAtKnownOffsets(): Promise<string> {
      const group = seeded.pop();
      if (!group) throw new Error('seed more groups in beforeAll');
      expect(await committed(group)).toEqual(COMMITTED);
      return group;
    }

    async function committed(group: string): Promise<Array<number | null>> {
      const [entry] = await raw.fetchOffsets({ groupId: group, topics: [topic] });
      return [...entry.partitions].sort((a, b) => a.partition - b.partition).map((p) => (Number(p.offset) >= 0 ? Number(p.offset) : null));
    }

    async function reset(group: string, options: Omit<ReplayRequestOptions, 'group'>, execute = true) {
      const request = resolveReplayRequest({ group, topics: [topic], ...options }, bus, start);
      return replayOffsets({ ...request, execute, operator: 'it-operator', reason: 'integration test' }, { admin: offsetsAdmin, audit: { store, bucket: 'model-promotion' } });
    }

    const cases: Array<[string, Omit<ReplayRequestOptions, 'group'>, number[]]> = [
      ['--to-earliest', { toEarliest: true }, [0, 0, 0]],
      ['--to-latest', { toLatest: true }, [10, 10, 10]],
      ['--to-current', { toCurrent: true }, COMMITTED],
      ['--to-offset 7', { toOffset: 7 }, [7, 7, 7]],
      ['--to-offset 50 (clamped to the log end)', { toOffset: 50 }, [10, 10, 10]],
      ['--shift-by -4 (partition 1 clamped to the log start)', { shiftBy: -4 }, [1, 0, 4]],
      ['--shift-by +4 (partition 2 clamped to the log end)', { shiftBy: 4 }, [9, 7, 10]],
      // t0 + 4.5 min: the first message at or after it is message 5 on every partition.
      ['--to-datetime', { toDatetime: new Date(t0 + 4.5 * STEP_MS).toISOString() }, [5, 5, 5]],
      ['--to-datetime after the newest message (log end)', { toDatetime: new Date(t0 + 30 * STEP_MS).toISOString() }, [10, 10, 10]],
      // now (start) - 52.5 min = t0 + 7.5 min (+ the seconds of start past the minute, < 1 min): message 8 or 9.
      ['--by-duration', { byDuration: `PT${60 - 7}M` }, expectedByDuration(53)],
    ];

    function expectedByDuration(minutes: number): number[] {
      const at = start.getTime() - minutes * STEP_MS;
      const first = Math.min(PER_PARTITION, Math.max(0, Math.ceil((at - t0) / STEP_MS)));
      return [first, first, first];
    }

    for (const [name, options, expected] of cases) {
      it(`${name}: the committed offsets read back are the target's`, async () => {
        const group = await groupAtKnownOffsets();
        const result = await reset(group, options);
        expect(result.executed).toBe(true);
        expect(await committed(group)).toEqual(expected);
        expect(result.partitions.map((p) => p.current_offset)).toEqual(COMMITTED);
        expect(result.partitions.map((p) => p.lag_after)).toEqual(expected.map((o) => PER_PARTITION - o));
      });
    }

    it('limits the reset to the named partitions (topic:0,2)', async () => {
      const group = await groupAtKnownOffsets();
      const request = resolveReplayRequest({ group, topics: [`${topic}:0,2`], toEarliest: true }, bus, start);
      await replayOffsets({ ...request, execute: true, operator: 'it' }, { admin: offsetsAdmin, audit: { store, bucket: 'model-promotion' } });
      expect(await committed(group)).toEqual([0, COMMITTED[1], 0]);
      const all = await replayOffsets({ group, scope: { allTopics: true }, target: { kind: 'latest' }, operator: 'it' }, { admin: offsetsAdmin });
      expect(all.partitions.map((p) => `${p.topic}:${p.partition}:${p.new_offset}`)).toEqual([0, 1, 2].map((p) => `${topic}:${p}:${PER_PARTITION}`));
    });

    it('plans without changing anything in a dry run, and audits only executed resets', async () => {
      const group = await groupAtKnownOffsets();
      const plan = await reset(group, { toEarliest: true }, false);
      expect(plan.executed).toBe(false);
      expect(plan.partitions.map((p) => [p.current_offset, p.new_offset, p.lag_before, p.lag_after])).toEqual(COMMITTED.map((c) => [c, 0, PER_PARTITION - c, PER_PARTITION]));
      expect(await committed(group)).toEqual(COMMITTED);
      expect(await listOffsetAudit(store, 'model-promotion', group)).toEqual([]);

      await reset(group, { toOffset: 2 });
      const [entry] = await listOffsetAudit(store, 'model-promotion', group);
      expect(entry).toMatchObject({ who: 'it-operator', group, reason: 'integration test', target: 'to-offset 2' });
      expect(entry.partitions.map((p) => [p.partition, p.before, p.after])).toEqual(COMMITTED.map((c, p) => [p, c, 2]));
      expect(Date.parse(entry.when)).not.toBeNaN();
    });

    it('refuses a group with a live member, naming it, and --wait applies the reset once the member leaves', async () => {
      const group = await groupAtKnownOffsets();
      const consumer: Consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ autoCommit: false, eachMessage: async () => {} });
      consumer.pause([{ topic }]);
      try {
        await waitFor(() => joined, 'the live consumer joining its group', 30_000);
        const [described] = (await raw.describeGroups([group])).groups;
        const member = described.members[0];
        const refusal = reset(group, { toEarliest: true });
        await expect(refusal).rejects.toMatchObject({ code: 'FLTS_OFFSETS_GROUP_ACTIVE', details: { members: [{ memberId: member.memberId, clientId: 'flts-it-replay' }] } });
        await expect(refusal).rejects.toThrow(member.memberId);
        expect(await committed(group)).toEqual(COMMITTED);

        const request = resolveReplayRequest({ group, topics: [topic], toEarliest: true }, bus, start);
        const waiting = replayOffsets({ ...request, execute: true, operator: 'it', wait: { timeoutMs: 60_000, pollMs: 200 } }, { admin: offsetsAdmin, audit: { store, bucket: 'model-promotion' } });
        await consumer.disconnect();
        expect((await waiting).executed).toBe(true);
        expect(await committed(group)).toEqual([0, 0, 0]);
      } finally {
        await consumer.disconnect();
      }
    });

    /** A consumer that has joined `group` (paused: it reads nothing), which keeps the group active until it leaves. */
    async function liveMember(group: string): Promise<Consumer> {
      const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ autoCommit: false, eachMessage: async () => {} });
      consumer.pause([{ topic }]);
      await waitFor(() => joined, 'the live consumer joining its group', 30_000);
      return consumer;
    }

    /** `flts replay-offsets <args>` in the background, with its own home (its audit store). */
    function replayCli(home: string, args: string[]) {
      return startFltsProcess(['replay-offsets', ...args, '--home', home], { KAFKA_BOOTSTRAP_SERVERS: infra.kafkaBrokers.join(','), FLTS_OPERATOR: 'cli-operator' });
    }

    const WAITING = /Group (\S+) has 1 active member \(client flts-it-replay\); waiting up to PT10M for it to empty\. Ctrl-C stops the wait, with no offset changed\./;

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`flts replay-offsets --execute --wait says it waits for the live member and, on ${signal}, ends with FLTS_OFFSETS_ABORTED (exit 5), no offset changed`, async () => {
        const group = await groupAtKnownOffsets();
        const consumer = await liveMember(group);
        const home = mkdtempSync(path.join(tmpdir(), 'flts-replay-wait-'));
        try {
          const cli = replayCli(home, ['--group', group, '--topic', topic, '--to-earliest', '--execute', '--wait', '--wait-timeout', 'PT10M']);
          // Before, nothing was said while it waited, for up to the whole --wait-timeout.
          expect((await cli.waitForOutput(WAITING, 60_000))[1]).toBe(group);
          expect(await cli.stop(signal)).toBe(5);
          expect(cli.logs()).toContain(`Error FLTS_OFFSETS_ABORTED: replay-offsets was stopped by ${signal} while it waited for the group to empty: no offset was changed.`);
          expect(await committed(group)).toEqual(COMMITTED);
          expect(await listOffsetAudit(createFsStore(path.join(home, 'store')), 'model-promotion', group)).toEqual([]);
        } finally {
          await consumer.disconnect();
          rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
        }
      }, 90_000);
    }

    it('flts replay-offsets --execute --wait applies the reset once the member leaves, audits it and ends its process on its own', async () => {
      const group = await groupAtKnownOffsets();
      const consumer = await liveMember(group);
      const home = mkdtempSync(path.join(tmpdir(), 'flts-replay-wait-'));
      try {
        const cli = replayCli(home, ['--group', group, '--topic', topic, '--to-earliest', '--execute', '--wait', '--wait-timeout', 'PT10M', '--reason', 'after the wait']);
        await cli.waitForOutput(WAITING, 60_000);
        expect(await committed(group)).toEqual(COMMITTED);
        await consumer.disconnect();
        // The process must end by itself once done: a connection left open would hold it past this test's timeout.
        expect(await cli.exited, cli.output()).toBe(0);
        expect(await committed(group)).toEqual([0, 0, 0]);
        const [entry] = await listOffsetAudit(createFsStore(path.join(home, 'store')), 'model-promotion', group);
        expect(entry).toMatchObject({ who: 'cli-operator', reason: 'after the wait', partitions: COMMITTED.map((before, partition) => ({ topic, partition, before, after: 0 })) });
      } finally {
        await consumer.disconnect();
        rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      }
    }, 90_000);

    it('refuses an --export it cannot write before it changes any offset, not after', async () => {
      const group = await groupAtKnownOffsets();
      const home = mkdtempSync(path.join(tmpdir(), 'flts-replay-export-'));
      try {
        const file = path.join(home, 'no-such-dir', 'plan.csv');
        const run = await runCli(['replay-offsets', '--group', group, '--topic', topic, '--to-earliest', '--execute', '--export', file, '--home', home, '--json'], { env: { KAFKA_BOOTSTRAP_SERVERS: infra.kafkaBrokers.join(',') } });
        // Before, the offsets were committed and audited, then the plan could not be written: exit 2 after the change.
        expect(run.json?.error, run.stdout + run.stderr).toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
        expect(await committed(group)).toEqual(COMMITTED);
      } finally {
        rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      }
    });

    for (const execute of [true, false]) {
      it(`flts replay-offsets ${execute ? '--execute ' : ''}--export <named pipe> ends on SIGINT while the pipe waits for its reader with FLTS_OFFSETS_ABORTED (exit 5), saying ${execute ? 'the offsets were changed' : 'none was'}`, async () => {
        const group = await groupAtKnownOffsets();
        const home = mkdtempSync(path.join(tmpdir(), 'flts-replay-pipe-'));
        try {
          const fifo = path.join(home, 'plan.csv');
          await promisify(execFile)('mkfifo', [fifo]);
          const cli = replayCli(home, ['--group', group, '--topic', topic, '--to-earliest', ...(execute ? ['--execute'] : []), '--export', fifo, '--json']);
          await cli.waitForLogs(/output_waiting_for_reader/, 60_000);
          // Before, nothing listened during that wait: the stop was held for the whole minute, then the export failed.
          expect(await cli.stop('SIGINT'), cli.output()).toBe(5);
          const { error } = JSON.parse(cli.output().split('\n--- stderr')[0]);
          const audits = await listOffsetAudit(createFsStore(path.join(home, 'store')), 'model-promotion', group);
          if (execute) {
            // Before, it said "no offset was changed" of offsets it had committed.
            expect(audits).toHaveLength(1);
            expect(error).toMatchObject({
              code: 'FLTS_OFFSETS_ABORTED',
              message: `replay-offsets was stopped by SIGINT while --export ${fifo} waited for its reader, after it committed the new offsets of group ${group} (audited at ${error.details.audit_key}): the offsets were changed and the plan was not written.`,
              details: { signal: 'SIGINT', export: fifo, written: false, offsets_changed: true },
            });
            expect(await committed(group)).toEqual([0, 0, 0]);
          } else {
            expect(audits).toEqual([]);
            expect(error).toMatchObject({ code: 'FLTS_OFFSETS_ABORTED', message: `replay-offsets was stopped by SIGINT while --export ${fifo} waited for its reader: no offset was changed (a dry run) and the plan was not written.`, details: { signal: 'SIGINT', export: fifo, written: false, offsets_changed: false } });
            expect(await committed(group)).toEqual(COMMITTED);
          }
          expect(lstatSync(fifo).isFIFO()).toBe(true);
        } finally {
          rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
        }
      }, 90_000);
    }

    it('round-trips a plan through Kafka\'s CSV: export, then --from-file applies exactly it', async () => {
      const group = await groupAtKnownOffsets();
      const plan = await reset(group, { shiftBy: -2 }, false);
      const csv = encodeOffsetCsv(plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.new_offset })));
      expect(csv).toBe(`${topic},0,3\n${topic},1,1\n${topic},2,6\n`);
      const fromFile = resolveReplayRequest({ group, fromFile: csv }, bus, start);
      expect(fromFile.target).toEqual({ kind: 'file', rows: decodeOffsetCsv(csv) });
      await replayOffsets({ ...fromFile, execute: true, operator: 'it' }, { admin: offsetsAdmin, audit: { store, bucket: 'model-promotion' } });
      expect(await committed(group)).toEqual([3, 1, 6]);
    });

    it('works end to end through the CLI: --export writes the CSV, --from-file --execute applies it', async () => {
      const group = await groupAtKnownOffsets();
      const home = mkdtempSync(path.join(tmpdir(), 'flts-replay-cli-'));
      const file = path.join(home, 'plan.csv');
      const env = { KAFKA_BOOTSTRAP_SERVERS: infra.kafkaBrokers.join(','), FLTS_HOME: home, FLTS_OPERATOR: 'cli-operator' };
      try {
        const dry = await runCli(['replay-offsets', '--group', group, '--topic', `${topic}:1`, '--to-offset=1', '--export', file, '--json'], { env });
        expect(dry.exitCode).toBe(0);
        expect(dry.json.result).toMatchObject({ executed: false, partitions: [{ partition: 1, current_offset: 3, new_offset: 1 }] });
        expect(readFileSync(file, 'utf8')).toBe(`${topic},1,1\n`);
        expect(await committed(group)).toEqual(COMMITTED);

        const applied = await runCli(['replay-offsets', '--group', group, '--from-file', file, '--execute', '--reason', 'cli round trip', '--json'], { env });
        expect(applied.exitCode).toBe(0);
        expect(await committed(group)).toEqual([COMMITTED[0], 1, COMMITTED[2]]);
        const [entry] = await listOffsetAudit(createFsStore(path.join(home, 'store')), 'model-promotion', group);
        expect(entry).toMatchObject({ who: 'cli-operator', reason: 'cli round trip', partitions: [{ topic, partition: 1, before: 3, after: 1 }] });

        const missing = await runCli(['replay-offsets', '--group', group, '--topic', `${topic}:7`, '--to-earliest', '--json'], { env });
        expect(missing.exitCode).toBe(4);
        expect(missing.json.error.code).toBe('FLTS_OFFSETS_TOPIC_NOT_FOUND');
      } finally {
        rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      }
    });

    it('after a reset to earliest, the daemon\'s trainer re-reads every claim and, deciding from the registry, retrains nothing', async () => {
      const id = randomUUID().slice(0, 8);
      const settings = defaultSettings();
      settings.bus.topics.trainingData = `it-training-data-${id}`;
      settings.bus.topics.modelTraining = `it-model-training-${id}`;
      settings.bus.groups.trainerPrefix = `it-${id}-train-`;
      settings.daemon.trainerModels = ['LSTM'];
      settings.daemon.resyncIntervalMs = 0;
      const group = trainerGroupId('LSTM', settings.bus.groups.trainerPrefix);
      const hashes = ['a'.repeat(64), 'b'.repeat(64)];
      for (const [i, hash] of hashes.entries()) await saveRunRecord(store, settings, fakeRun(`run-done-${i}`, 'LSTM', { rmse: 0.1, mae: 0.1, mse: 0.01 }, `2025-01-0${i + 1}T00:00:00.000Z`, 'SUCCESS', hash));
      const runsBefore = (await listRunRecords(store, settings)).length;

      const outcomes: Array<{ msg: string; config_hash?: string; run_id?: string }> = [];
      const logger: Logger = { ...silentLogger, info: (obj, msg) => void ((msg === 'daemon_train_skipped' || msg === 'daemon_trained') && outcomes.push({ msg, ...(obj as object) })), child: () => logger };
      const kafkaBus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it-trainer', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 });
      const stopping = new AbortController();
      const context = { settings, store, bus: kafkaBus, logger, metrics: createDaemonMetrics(), owner: `it-${id}`, signal: stopping.signal };
      try {
        await kafkaBus.ensureTopics([settings.bus.topics.trainingData], 2);
        for (const hash of hashes) await kafkaBus.publish(settings.bus.topics.trainingData, encodeTrainClaim({ bucket: 'processed-data', object: `${hash}/processed_data.parquet`, size: 1, configHash: hash, identifier: '' }));
        let trainer = await startTrainerRole(context);
        await waitFor(() => outcomes.length === 2, 'the trainer handling both claims');
        await trainer.stop();

        const request = resolveReplayRequest({ role: 'trainer:LSTM', toEarliest: true }, settings.bus, start);
        expect(request.group).toBe(group);
        const reset = await replayOffsets({ ...request, execute: true, operator: 'it' }, { admin: offsetsAdmin, audit: { store, bucket: 'model-promotion' } });
        expect(reset.partitions.map((p) => p.new_offset)).toEqual([0, 0]);

        trainer = await startTrainerRole(context);
        await waitFor(() => outcomes.length === 4, 'the trainer re-reading both claims after the reset');
        await trainer.stop();
        expect(outcomes.map((o) => o.msg)).toEqual(Array(4).fill('daemon_train_skipped'));
        expect(outcomes.slice(2).map((o) => o.config_hash).sort()).toEqual(hashes);
        expect((await listRunRecords(store, settings)).length).toBe(runsBefore);
      } finally {
        stopping.abort();
        await kafkaBus.close();
      }
    });

    it("prints no TimeoutNegativeWarning from the test's own kafkajs clients either", () => {
      // Before, the first answer on the raw admin's connection armed kafkajs' negative timer unfiltered: in every CI log.
      negativeTimeouts.stop();
      expect(negativeTimeouts.warnings).toEqual([]);
    });
  });
}
