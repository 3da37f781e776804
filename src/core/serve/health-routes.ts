import { httpStatusFor } from '../errors.js';
import { stoppingRefusal } from './error-handler.js';
import { healthzSchema, predictPingSchema, readySchema, readyzSchema } from './schemas/health.js';
import type { ServeContext } from './serve-context.js';

/** /healthz (liveness, always 200), /readyz and /ready (readiness), /predict_ping. */
export function registerHealthRoutes(context: ServeContext): void {
  const { holder } = context;

  const modelFields = () => {
    const status = holder.status();
    return {
      run_id: status.current?.runId ?? null,
      model_type: status.current?.modelType ?? null,
      config_hash: status.current?.configHash ?? null,
      loaded_at: status.current?.loadedAt ?? null,
      engine: status.current?.engine ?? null,
      engine_note: status.current?.engineNote ?? null,
      degraded: status.degraded !== undefined,
      degraded_reason: status.degraded?.reason ?? null,
      degraded_code: status.degraded?.code ?? null,
      pinned_run_id: status.pinnedRunId ?? null,
    };
  };

  context.routes.route({
    method: 'GET',
    url: '/healthz',
    schema: healthzSchema,
    handler: async () => {
      const status = holder.status();
      return {
        status: 'ok',
        service: 'inference-api',
        model_ready: status.ready,
        queue_length: holder.current()?.batcher.queued ?? 0,
        startup_ready_ms: status.startupReadyMs,
        ...modelFields(),
        live: context.live?.status() ?? { enabled: false },
      };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/readyz',
    schema: readyzSchema,
    handler: async (_request, reply) => {
      if (context.isStopping()) {
        const stopping = stoppingRefusal();
        void reply.status(httpStatusFor(stopping));
        return { status: 'not_ready', reason: stopping.message, code: stopping.code, ...modelFields() };
      }
      const status = holder.status();
      if (!status.ready) {
        void reply.status(503);
        return { status: 'not_ready', reason: status.degraded?.reason ?? 'No model is loaded yet.', ...modelFields() };
      }
      return { status: 'ready', ...modelFields() };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/ready',
    schema: readySchema,
    handler: async (_request, reply) => {
      if (holder.status().ready && !context.isStopping()) return { status: 'ready' };
      void reply.status(503);
      return { status: 'not_ready' };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/predict_ping',
    schema: predictPingSchema,
    handler: async () => {
      const served = holder.current();
      const queued = served?.batcher.queued ?? 0;
      return {
        status: 'ok',
        model_loaded: served !== undefined,
        has_df: served !== undefined,
        busy: queued > 0,
        active_jobs: queued,
        input_seq_len: served?.plan.window.inputSeqLen ?? null,
        output_seq_len: served?.plan.window.outputSeqLen ?? null,
      };
    },
  });
}
