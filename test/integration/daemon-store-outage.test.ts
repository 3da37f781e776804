import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPipeline, ofType, waitUntil, type Pipeline } from './daemon-harness.js';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// These tests poll durable state with their own deadlines (up to several minutes on a loaded machine).
vi.setConfig({ testTimeout: 420_000 });

const skipReason = infraSkipReason();

if (skipReason) {
  describe('integration > daemon > store outage', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > daemon > store outage', () => {
    // The daemon reaches S3 through a proxy the test can cut and restore; the shared S3Proxy keeps its objects.
    let proxy: TcpProxy;
    let pipeline: Pipeline;
    beforeAll(async () => {
      proxy = await startTcpProxy(loadInfraEnv().s3.endpoint);
      // A lease staleness far longer than the outage: only this trainer's own retry can settle the interrupted run.
      pipeline = createPipeline('dstore', { MINIO_ENDPOINT: proxy.endpoint, EPOCHS: '150', EARLY_STOPPING: 'false', FLTS_DAEMON_LEASE_STALE_MS: '600000', FLTS_S3_IDLE_TIMEOUT_MS: '1000', FLTS_S3_REQUEST_TIMEOUT_MS: '3000' });
    });
    afterAll(async () => {
      await pipeline?.close();
      await proxy?.close();
    });

    it('records a training the outage failed as KILLED, trains it again once, and promotes, without a restart', async () => {
      const daemon = pipeline.start(['daemon', '--port', '0']);
      await daemon.waitForOutput(/Roles started: /);
      const preprocess = await pipeline.preprocess();
      expect(preprocess.exitCode, preprocess.stderr).toBe(0);
      const interrupted = await waitUntil(async () => ofType(await pipeline.runs(), 'LSTM', 'RUNNING')[0], 'a RUNNING LSTM run', 120_000);

      proxy.cut();
      // The training cannot store its model or its end; the claim is retried as an outage, not dead-lettered.
      // The trainer's own retry of its claim (training-data), not the promoter's of an earlier notice, which the cut
      // can catch too: restored at that one, the training rides out the short outage and nothing is interrupted.
      const claimRetried = /"topic":"[^"]*training-data"[^\n]*"msg":"bus_handler_outage_retry"/;
      await waitUntil(async () => claimRetried.test(daemon.logs()), 'the trainer to retry the claim through the outage', 300_000);
      proxy.restore();

      const promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the automatic promotion after the outage', 300_000);
      const runs = await pipeline.runs();
      expect(runs.find((run) => run.run_id === interrupted.run_id)).toMatchObject({ status: 'KILLED', error: { code: 'FLTS_TRAIN_ABORTED' } });
      expect(ofType(runs, 'LSTM', 'RUNNING')).toEqual([]);
      expect(ofType(runs, 'LSTM', 'SUCCESS')).toHaveLength(1);
      expect(ofType(runs, 'NAIVE', 'SUCCESS')).toHaveLength(1);
      expect([ofType(runs, 'LSTM', 'SUCCESS')[0].run_id, ofType(runs, 'NAIVE', 'SUCCESS')[0].run_id]).toContain(promotion.run_id);
      expect(daemon.logs()).not.toContain('"msg":"bus_message_dead_lettered"');
      expect(await daemon.stop('SIGTERM')).toBe(0);
    });
  });
}
