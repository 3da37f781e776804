import type { FastifyInstance } from 'fastify';
import type { ServeContext } from './serve-context.js';

/** The exposition format is text: published with its content type, not left for clients to guess. */
const prometheusSchema = {
  summary: 'Prometheus metrics (text exposition format)',
  response: { 200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } } },
} as const;

/** Counters of the request recorder (serve-stats.ts) beside the model's state; the recorder's keys pass as they are. */
const statsSchema = {
  summary: "The reference API's JSON counters",
  response: {
    200: {
      type: 'object',
      additionalProperties: true,
      properties: {
        model_loaded: { type: 'boolean' },
        current_model_hash: { type: ['string', 'null'] },
        current_run_id: { type: ['string', 'null'] },
        current_model_type: { type: ['string', 'null'] },
        startup_latency_ms: { type: ['integer', 'null'] },
        degraded: { type: 'boolean' },
        status: { type: 'string' },
      },
    },
  },
} as const;

/** /metrics and /prometheus (Prometheus text), /stats (the reference's JSON counters), /openapi.json. */
export function registerMetricsRoutes(app: FastifyInstance, context: ServeContext): void {
  const { metrics, holder } = context;
  const prometheus = async (_request: unknown, reply: { type: (value: string) => unknown }) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  };
  for (const url of ['/metrics', '/prometheus']) {
    context.routes.route({ method: 'GET', url, schema: prometheusSchema, handler: prometheus });
  }

  context.routes.route({
    method: 'GET',
    url: '/stats',
    schema: statsSchema,
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
