import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { waitFor } from '../bus/message-bus.contract.js';
import { encodeInferenceClaim } from '../bus/messages.js';
import { roleDlq } from '../bus/topics.js';
import { resolveSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { startDaemon, type Daemon } from './start-daemon.js';

/** The value of one sample of the daemon's /metrics, undefined while the series does not exist. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('core > daemon > step and run series', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-metrics-'));
  let daemon: Daemon | undefined;
  let bus: MessageBus | undefined;
  afterEach(async () => {
    await daemon?.stop();
    await bus?.close();
    daemon = undefined;
    bus = undefined;
  });
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  async function start(roles: string[], name: string): Promise<{ daemon: Daemon; bus: MessageBus; metrics: () => Promise<string>; settings: ReturnType<typeof resolveSettings>['settings'] }> {
    // A folder of its own each time: a test run again in the same run (--repeat, a retry) starts from nothing too.
    const root = mkdtempSync(path.join(home, `${name}-`));
    const { settings } = resolveSettings({ flags: { home: root, 'daemon.roles': roles, 'daemon.trainerModels': ['LSTM', 'GRU'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } });
    // As flts daemon wires them: the bus reports to the daemon's registry.
    const registry = createDaemonMetrics({ processMetrics: false });
    bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10, retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 20 }, metrics: registry.bus });
    daemon = await startDaemon(settings, { store: createFsStore(path.join(root, 'store')), bus, metrics: registry });
    const url = daemon.url;
    return { daemon, bus, settings, metrics: async () => (await fetch(`${url}/metrics`)).text() };
  }

  it('exports every step its roles count, and the runs of each model type it trains, at 0 before any work', async () => {
    const { metrics } = await start(['trainer', 'promoter', 'batch'], 'fresh');
    const text = await metrics();
    for (const result of ['done', 'skipped', 'waiting', 'failed', 'aborted', 'invalid']) {
      for (const [role, step] of [['trainer', 'train'], ['promoter', 'promote'], ['batch', 'infer']]) {
        expect(sample(text, `flts_daemon_steps_total{role="${role}",step="${step}",result="${result}"}`), `${role} ${result}`).toBe(0);
      }
    }
    expect(sample(text, 'flts_daemon_steps_total{role="promoter",step="probation",result="done"}')).toBe(0);
    for (const modelType of ['LSTM', 'GRU']) {
      for (const status of ['SUCCESS', 'FAILED', 'KILLED']) expect(sample(text, `flts_training_runs_total{model_type="${modelType}",status="${status}"}`), `${modelType} ${status}`).toBe(0);
    }
    // The bus's series of each subscription, at 0 before any message.
    for (const outcome of ['handled', 'dead-lettered', 'abandoned']) expect(sample(text, `flts_bus_messages_total{group="batch-inference",topic="inference-data",outcome="${outcome}"}`), outcome).toBe(0);
    expect(sample(text, 'flts_bus_message_retries_total{group="batch-inference",topic="inference-data"}')).toBe(0);
    expect(sample(text, 'flts_bus_consumer_restarts_total{group="batch-inference"}')).toBe(0);
    expect(sample(text, 'flts_bus_consumer_crashing{group="batch-inference"}')).toBe(0);
    for (const name of ['flts_bus_consumer_crashes_total', 'flts_bus_connection_failures_total']) expect(text).toContain(`# TYPE ${name} counter`);
    // Only what this daemon can count: no model type it does not train, no role it does not run.
    expect(text).not.toMatch(/model_type="PROPHET"|role="serving"/);
  });

  it('counts a batch claim that is invalid as invalid, not failed, and one waiting for the first promotion as waiting', async () => {
    const { bus, settings, metrics } = await start(['batch'], 'batch');
    const dead: string[] = [];
    await bus.subscribe({ group: 'test-dlq-reader', topics: [roleDlq(settings, 'batch').topic] }, async (message) => void dead.push(message.value));
    await bus.publish(settings.bus.topics.inferenceData, { key: 'inference-claim', value: '{"bucket": "processed-data"}' });
    await waitFor(() => dead.length === 1, 'the invalid claim in the DLQ');
    // The bus counts a dead letter once the DLQ took it, which the DLQ's reader may see first.
    let afterDeadLetter = '';
    await waitFor(async () => sample((afterDeadLetter = await metrics()), 'flts_bus_messages_total{group="batch-inference",topic="inference-data",outcome="dead-lettered"}') !== 0, 'the dead letter counted');
    expect(sample(afterDeadLetter, 'flts_daemon_steps_total{role="batch",step="infer",result="invalid"}')).toBe(1);
    expect(sample(afterDeadLetter, 'flts_daemon_steps_total{role="batch",step="infer",result="failed"}')).toBe(0);
    // The bus counts the message it dead-lettered, at once, without a retry (an invalid message fails alike every time).
    expect(sample(afterDeadLetter, 'flts_bus_messages_total{group="batch-inference",topic="inference-data",outcome="dead-lettered"}')).toBe(1);
    expect(sample(afterDeadLetter, 'flts_bus_message_retries_total{group="batch-inference",topic="inference-data"}')).toBe(0);

    // No run is promoted yet: the bus waits for one without using up the claim's attempts, and nothing failed.
    await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.csv', size: 10, configHash: 'a'.repeat(64), identifier: '' }));
    let text = '';
    await waitFor(async () => (sample((text = await metrics()), 'flts_daemon_steps_total{role="batch",step="infer",result="waiting"}') ?? 0) >= 2, 'the claim waiting');
    expect(sample(text, 'flts_daemon_steps_total{role="batch",step="infer",result="failed"}')).toBe(0);
    expect(sample(text, 'flts_daemon_steps_total{role="batch",step="infer",result="invalid"}')).toBe(1);
    expect(dead).toHaveLength(1);
    // Each wait for the promotion is a retry of the claim, counted as it starts, while the claim is not done yet.
    expect(sample(text, 'flts_bus_message_retries_total{group="batch-inference",topic="inference-data"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'flts_bus_messages_total{group="batch-inference",topic="inference-data",outcome="handled"}')).toBe(0);
  });

  it('counts a message that does not decode as invalid in every role, beside the dead letter the bus counts, and never as failed', async () => {
    const { bus, settings, metrics } = await start(['trainer', 'promoter', 'batch'], 'undecodable');
    const topics = [roleDlq(settings, 'trainer').topic, roleDlq(settings, 'promoter').topic, roleDlq(settings, 'batch').topic];
    const dead: string[] = [];
    await bus.subscribe({ group: 'test-dlq-reader', topics }, async (message) => void dead.push(message.topic));
    for (const topic of [settings.bus.topics.trainingData, settings.bus.topics.modelTraining, settings.bus.topics.inferenceData]) await bus.publish(topic, { key: null, value: 'not json' });
    // One dead letter per consumer group: the trainer has one per model type (LSTM, GRU).
    await waitFor(() => dead.length === 4, 'the undecodable messages in the DLQs');
    // The bus counts a dead letter once the DLQ has taken it, so the reader can see it first.
    let text = '';
    await waitFor(async () => sample((text = await metrics()), 'flts_bus_messages_total{group="eval-promoter",topic="model-training",outcome="dead-lettered"}') === 1, 'the dead letter counted');
    for (const [role, step, groups] of [['trainer', 'train', 2], ['promoter', 'promote', 1], ['batch', 'infer', 1]] as const) {
      expect(sample(text, `flts_daemon_steps_total{role="${role}",step="${step}",result="invalid"}`), role).toBe(groups);
      expect(sample(text, `flts_daemon_steps_total{role="${role}",step="${step}",result="failed"}`), role).toBe(0);
    }
    expect(sample(text, 'flts_bus_messages_total{group="eval-promoter",topic="model-training",outcome="dead-lettered"}')).toBe(1);
  });
});
