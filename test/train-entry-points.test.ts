import { afterAll, describe, expect, it } from 'vitest';
import type { Pipeline } from './integration/daemon-harness.js';
import { createPipeline, waitUntil } from './integration/daemon-harness.js';
import { RUN_FILES, type RunRecord } from '../src/core/registry/run-record.js';
import { runKey, runsBucket } from '../src/core/registry/run-store.js';
import { runCli } from './helpers/run-cli.js';

const MODELS = ['NAIVE', 'LSTM'];

/** What a run says apart from its identity, its clock, the process that trained it, where and when its data was written, and the seal over all of them. */
function comparable(run: RunRecord): unknown {
  const { run_id: _id, timings: _timings, owner: _owner, record_sha256: _seal, data, ...rest } = run;
  const { processed_bucket: _bucket, processed_created_at: _created, ...lineage } = data;
  return { ...rest, data: lineage };
}

/**
 * Every stored file of a run, by name, with its id taken out; the epoch log keeps its losses but not its durations.
 * Not the daemon's record of the claims its notice answered: bookkeeping of the bus, no artefact of the training.
 */
async function artefacts(pipeline: Pipeline, run: RunRecord): Promise<Record<string, string>> {
  const bucket = runsBucket(pipeline.settings);
  const files = (await pipeline.store.list(bucket, `${run.run_id}/`)).map((info) => info.key.slice(run.run_id.length + 1)).filter((name) => name !== RUN_FILES.record && name !== RUN_FILES.answeredClaims);
  const out: Record<string, string> = {};
  for (const name of files.sort()) {
    const body = Buffer.from(await pipeline.store.get(bucket, runKey(run.run_id, name))).toString(name.endsWith('.json') || name.endsWith('.svg') ? 'utf8' : 'base64');
    out[name] = name === 'metrics.json' ? JSON.stringify((JSON.parse(body) as { epochs: Array<Record<string, number>> }).epochs.map(({ epoch, loss, val_loss }) => ({ epoch, loss, val_loss }))) : withoutRunId(body, run.run_id);
  }
  return out;
}

/** The `model-training` messages, each run id replaced by its model type. */
async function trainingEvents(pipeline: Pipeline, runs: RunRecord[]): Promise<string[]> {
  const messages = await pipeline.readTopic(pipeline.settings.bus.topics.modelTraining, 2 * MODELS.length);
  return messages.map((message) => runs.reduce((text, run) => text.split(run.run_id).join(`<${run.model_type} run>`), `${message.key} ${message.value}`)).sort();
}

async function successfulRuns(pipeline: Pipeline): Promise<RunRecord[]> {
  const runs = await pipeline.runs();
  return MODELS.map((type) => runs.find((run) => run.model_type === type && run.status === 'SUCCESS')).filter((run): run is RunRecord => run !== undefined);
}

describe('training from the CLI and from the daemon', () => {
  const cli = createPipeline('train-cli', {}, { embedded: true });
  const daemon = createPipeline('train-daemon', {}, { embedded: true });
  afterAll(async () => {
    await cli.close();
    await daemon.close();
  });

  it('records the same runs, artefacts and model-training events for the same processed data', async () => {
    // The two pipelines share nothing: each step runs in both at once, the daemon training while the CLI does.
    for (const preprocessed of await Promise.all([cli, daemon].map((pipeline) => pipeline.preprocess()))) expect(preprocessed.exitCode).toBe(0);

    const process = daemon.start(['daemon', '--roles', 'trainer', '--port', '0']);
    const trained = await runCli(['train', '--model', MODELS.join(','), '--json'], { env: cli.env, timeoutMs: 120_000 });
    expect(trained.exitCode, trained.stderr).toBe(0);
    await waitUntil(async () => (await successfulRuns(daemon)).length === MODELS.length, 'the daemon trainer to train every model', 120_000);
    expect(await process.stop('SIGTERM'), process.output()).toBe(0);

    const byCli = await successfulRuns(cli);
    const byDaemon = await successfulRuns(daemon);
    expect(byCli.map((run) => run.model_type)).toEqual(MODELS);
    expect(byDaemon.map((run) => run.model_type)).toEqual(MODELS);
    expect(byDaemon[0].config_hash).toBe(byCli[0].config_hash);
    for (const [index, run] of byCli.entries()) {
      expect(comparable(byDaemon[index])).toEqual(comparable(run));
      expect(await artefacts(daemon, byDaemon[index])).toEqual(await artefacts(cli, run));
    }
    const cliEvents = await trainingEvents(cli, byCli);
    expect(cliEvents).toEqual(await trainingEvents(daemon, byDaemon));
    expect(cliEvents.filter((event) => event.includes('"SUCCESS"'))).toHaveLength(MODELS.length);
  }, 300_000);
});

/** `text` without the run's id, whole or as the 8 characters a chart's title shows. */
function withoutRunId(text: string, runId: string): string {
  return text.split(runId).join('<run>').split(runId.slice(0, 8)).join('<run>');
}
