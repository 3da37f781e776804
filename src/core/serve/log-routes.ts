import { adminBodyOptions } from './admin-json-bounds.js';
import { adminBodySchema } from './schemas/admin.js';
import { errorResponses } from './schemas/common.js';
import type { ServeContext } from './serve-context.js';

const pruneLogsSchema = {
  summary: 'Delete the prediction log day folders older than the retention now, as the periodic sweep does',
  body: adminBodySchema,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      retention_days: { type: 'integer', minimum: 1, maximum: 3650, description: 'Days to keep (today and yesterday always are); default FLTS_PREDICTION_LOG_RETENTION_DAYS.' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        complete: { type: 'boolean', description: 'False when the sweep stopped at its bound of deletes; call again for the rest.' },
        days: { type: 'array', items: { type: 'string' }, description: 'Day folders emptied, as <identifier>/<YYYYMMDD>.' },
        objects: { type: 'integer' },
      },
    },
    ...errorResponses(400, 401, 403, 413, 503),
  },
} as const;

/** POST /prune_logs (admin): the operator's one-shot sweep, e.g. on a store that is filling up, without a restart. */
export function registerLogRoutes(context: ServeContext): void {
  const { retention } = context;
  if (!retention) return;
  context.routes.route({
    method: 'POST',
    url: '/prune_logs',
    schema: pruneLogsSchema,
    ...adminBodyOptions(context.bodyLimit),
    handler: async (request) => {
      const { retention_days: retentionDays } = request.query as { retention_days?: number };
      const result = await retention.sweepNow(retentionDays);
      context.logger.info({ retention_days: retentionDays, days: result.days.length, objects: result.objects, complete: result.complete }, 'prediction_log_pruned');
      return result;
    },
  });
}
