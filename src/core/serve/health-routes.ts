import { readinessOf } from './readiness.js';
import { healthzSchema, livezSchema, predictPingSchema, readySchema, readyzSchema } from './schemas/health.js';
import type { ServeContext } from './serve-context.js';

/**
 * engine_note as the public routes give it: the fallback's cause is ONNX Runtime's load error, which can name a local
 * path. The serve_model_loaded log line carries it whole.
 */
const PUBLIC_ENGINE_NOTE = 'ONNX Runtime is not available, serving on the wasm engine (the serve_model_loaded log line says why).';

/**
 * /livez (liveness: 503 once the process can no longer forecast, liveness.ts), /healthz (always 200 while the server
 * answers, with the model's state: kept for the probes and scripts that read it), /readyz and /ready (readiness), /predict_ping. They answer anyone (probes, and the
 * Helm chart's Ingress publishes them): what went wrong is said by code and a short sentence of run ids and pointer
 * keys (DegradedState.reason), never by a cause's message.
 */
export function registerHealthRoutes(context: ServeContext): void {
  const { holder } = context;

  const modelFields = () => {
    const status = holder.status();
    return {
      // The name the Open Inference Protocol routes answer to: a client of another configuration (flts bench --target)
      // learns it here rather than assuming its own.
      model_name: context.modelName,
      run_id: status.current?.runId ?? null,
      model_type: status.current?.modelType ?? null,
      config_hash: status.current?.configHash ?? null,
      loaded_at: status.current?.loadedAt ?? null,
      engine: status.current?.engine ?? null,
      engine_note: status.current?.engineNote ? PUBLIC_ENGINE_NOTE : null,
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
        promotions: context.promotions?.status() ?? null,
      };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/livez',
    schema: livezSchema,
    handler: async (_request, reply) => {
      const liveness = context.liveness();
      if (liveness.live) return { status: 'live' };
      const { live: _live, ...failure } = liveness;
      void reply.status(503);
      return { status: 'not_live', ...failure };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/readyz',
    schema: readyzSchema,
    handler: async (_request, reply) => {
      const readiness = readinessOf(holder, context.isStopping());
      if (readiness.ready) return { status: 'ready', ...modelFields() };
      void reply.status(readiness.status);
      return { status: 'not_ready', reason: readiness.reason, ...(readiness.code === undefined ? {} : { code: readiness.code }), ...modelFields() };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/ready',
    schema: readySchema,
    handler: async (_request, reply) => {
      const readiness = readinessOf(holder, context.isStopping());
      if (readiness.ready) return { status: 'ready' };
      void reply.status(readiness.status);
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
