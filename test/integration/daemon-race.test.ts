import { afterAll, describe, expect, it, vi } from 'vitest';
import { createPipeline, waitUntil, type FltsProcess, type Pipeline } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

// These tests poll durable state with their own deadlines (up to several minutes on a loaded machine).
vi.setConfig({ testTimeout: 420_000 });

const skipReason = infraSkipReason();
const MODEL_TYPES = ['NAIVE', 'LSTM'];

/** How often `message` was logged by `daemon` for `configHash` (and `modelType`): one structured JSON line per event. */
function logged(daemon: FltsProcess, message: string, configHash: string, modelType?: string): number {
  return daemon
    .logs()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}"`) && line.includes(configHash) && (!modelType || line.includes(`"model_type":"${modelType}"`))).length;
}

/**
 * Two `flts daemon` processes with consumer groups of their own, so both receive every claim and every
 * training event, and both resync durable state every 150 ms: each model is trained, and the data promoted,
 * exactly once, whichever process gets there first.
 */
function racingDaemons(kind: 'kafka' | 'fs', pipelineFor: (name: string, overrides: Record<string, string>) => Pipeline): void {
  describe(`integration > daemon > two racing daemons (${kind})`, () => {
    let pipeline: Pipeline | undefined;
    afterAll(() => pipeline?.close());

    it('train a claim once and promote it once', async () => {
      const p = (pipeline = pipelineFor('race', { EXPECTED_MODEL_TYPES: MODEL_TYPES.join(','), FLTS_TRAINER_MODELS: MODEL_TYPES.join(','), FLTS_DAEMON_RESYNC_INTERVAL_MS: '150' }));
      const prefix = p.env.FLTS_TRAINER_GROUP_PREFIX;
      const daemons = ['a', 'b'].map((id) =>
        p.start(['daemon', '--port', '0'], { FLTS_TRAINER_GROUP_PREFIX: `${prefix}${id}-`, EVAL_GROUP_ID: `${p.env.EVAL_GROUP_ID}-${id}`, FLTS_REPLICA_ID: id }),
      );
      for (const daemon of daemons) await daemon.waitForOutput(/Roles started: /);

      const preprocessed = await p.preprocess();
      expect(preprocessed.exitCode, preprocessed.stderr).toBe(0);
      const promotion = await waitUntil(async () => (await p.promotions())[0], 'the automatic promotion', 150_000);
      const hash = promotion.config_hash;

      // Both daemons have seen the claim for every model type and decided the promotion (each one's claim
      // handler or resync), and resynced a few times since: a second training or promotion would be done by now.
      await waitUntil(
        async () => daemons.every((daemon) => MODEL_TYPES.every((type) => logged(daemon, 'daemon_trained', hash, type) + logged(daemon, 'daemon_train_skipped', hash, type) > 0)),
        'both daemons done with the claim',
        150_000,
      );
      const decisions = (daemon: FltsProcess) => ['promoted', 'already_promoted', 'busy'].reduce((sum, result) => sum + logged(daemon, `daemon_promotion_${result}`, hash), 0);
      const seen = daemons.map(decisions);
      await waitUntil(async () => daemons.every((daemon, i) => decisions(daemon) >= seen[i] + 3), 'three more promotion decisions in each daemon', 120_000);

      const runs = (await p.runs()).filter((run) => run.config_hash === hash);
      expect(runs.map((run) => `${run.model_type}:${run.status}`).sort()).toEqual(MODEL_TYPES.map((type) => `${type}:SUCCESS`).sort());
      expect(daemons.reduce((sum, daemon) => sum + logged(daemon, 'daemon_trained', hash), 0)).toBe(MODEL_TYPES.length);
      expect((await p.promotions()).map((record) => `${record.run_id}:${record.source}`)).toEqual([`${promotion.run_id}:auto`]);
      expect(daemons.reduce((sum, daemon) => sum + logged(daemon, 'daemon_promotion_promoted', hash), 0)).toBe(1);
      for (const daemon of daemons) expect(await daemon.stop()).toBe(0);
    });
  });
}

if (skipReason) {
  describe('integration > daemon > two racing daemons (kafka)', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  racingDaemons('kafka', (name, overrides) => createPipeline(name, overrides));
}
racingDaemons('fs', (name, overrides) => createPipeline(name, overrides, { embedded: true }));
