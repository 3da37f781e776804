import { FltsError } from '../errors.js';
import { adminBodyOptions } from './admin-json-bounds.js';
import { adminBodySchema } from './schemas/admin.js';
import { refuseUnknownQuery } from './query-parameters.js';
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
    onRequest: refuseUnknownQuery('POST /prune_logs', pruneLogsSchema),
    ...adminBodyOptions(context.bodyLimit),
    handler: async (request) => {
      const { retention_days: retentionDays } = request.query as { retention_days?: number };
      // The route deletes: days a client sent where they are not read would have been swept with the configured ones.
      if (isObject(request.body) && Object.hasOwn(request.body, 'retention_days')) {
        throw new FltsError('FLTS_REQUEST_INVALID', 'POST /prune_logs reads retention_days from its query string (/prune_logs?retention_days=N), never from its body; nothing was deleted.', { details: { field: 'retention_days' } });
      }
      const result = await retention.sweepNow(retentionDays);
      context.logger.info({ retention_days: retentionDays, days: result.days.length, objects: result.objects, complete: result.complete }, 'prediction_log_pruned');
      return result;
    },
  });
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
