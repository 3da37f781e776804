import type { FastifyInstance } from 'fastify';
import type { ServeContext } from './serve-context.js';

/** /metrics and /prometheus (Prometheus text), /stats (the reference's JSON counters), /openapi.json. */
export function registerMetricsRoutes(app: FastifyInstance, context: ServeContext): void {
  const { metrics, holder } = context;
  const prometheus = async (_request: unknown, reply: { type: (value: string) => unknown }) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  };
  for (const url of ['/metrics', '/prometheus']) {
    context.routes.route({ method: 'GET', url, schema: { summary: 'Prometheus metrics (text exposition format)' }, handler: prometheus });
  }

  context.routes.route({
    method: 'GET',
    url: '/stats',
    schema: { summary: "The reference API's JSON counters" },
    handler: async () => {
      const status = holder.status();
      return {
        ...context.recorder.stats.snapshot(),
        model_loaded: status.ready,
        current_model_hash: status.current?.configHash ?? null,
        current_run_id: status.current?.runId ?? null,
        current_model_type: status.current?.modelType ?? null,
        startup_latency_ms: status.startupReadyMs,
        degraded: status.degraded !== undefined,
        status: 'ok',
      };
    },
  });

  context.routes.route({
    method: 'GET',
    url: '/openapi.json',
    schema: { hide: true },
    handler: async () => app.swagger(),
  });
}
