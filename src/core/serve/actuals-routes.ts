import { FltsError } from '../errors.js';
import { bodyFields, ignoredFieldsWarning, type IgnoredColumnsWarning, type IgnoredFieldsWarning } from './ignored-fields.js';
import { refuseUnknownQuery } from './query-parameters.js';
import { assertRequestIdentifier, parseActuals, requestSeries } from './request-frame.js';
import { actualsSchema, type ActualsBody } from './schemas/actuals.js';
import type { ServeContext } from './serve-context.js';
import { seriesBodyBoundsProblem } from './series-json-bounds.js';

/** POST /actuals: observed values (the /predict column format) that score the forecasts served before. */
export function registerActualsRoutes(context: ServeContext): void {
  const { holder, live } = context;
  const actualsFields = bodyFields(actualsSchema);
  context.routes.route({
    method: 'POST',
    url: '/actuals',
    schema: actualsSchema,
    onRequest: refuseUnknownQuery('POST /actuals', actualsSchema),
    config: { jsonBounds: seriesBodyBoundsProblem },
    handler: async (request) => {
      if (!live) throw new FltsError('FLTS_LIVE_DISABLED', 'Live scoring is turned off on this server (FLTS_LIVE_SCORING=false), so actuals are not scored.');
      const body = (request.body ?? {}) as ActualsBody;
      assertRequestIdentifier(body.identifier, "Field 'identifier'", { field: 'identifier' }, context.identifier);
      const served = holder.current();
      // The served run's targets name the columns; before any model, every column but the timestamp may be one.
      const targets = served?.plan.window.targets ?? Object.keys(body.data ?? {});
      // Parsed and scored over event-loop turns: a body of the size limit held every other request for up to seconds.
      const actuals = await parseActuals(body.data, targets, body.index_col);
      const observed = { identifier: requestSeries(body.identifier, context.identifier), time: actuals.time, values: actuals.values };
      // One request keeps no more rows for forecasts made later than its series may hold, refused before any is scored.
      await live.assertEarlyWithinShare(observed);
      const { runs, ignored, unmatched, kept } = await live.observeActualsInTurns(observed);
      // Columns are checked against the served model's own, as on /predict: the same rows sent to both routes are
      // answered alike (a feature that is not a target is the model's, not a stray). Before any model, nothing says which.
      const warnings: Array<IgnoredFieldsWarning | IgnoredColumnsWarning> = [];
      const unread = ignoredFieldsWarning('/actuals', request.body, actualsFields);
      if (unread) warnings.push(unread);
      const unreadColumns = served?.ignoredColumns(body.data, actuals.timestampColumn);
      if (unreadColumns) warnings.push(unreadColumns);
      return { status: 'SUCCESS', rows: actuals.time.length, matched: runs.reduce((sum, run) => sum + run.points, 0), ignored, unmatched, kept, runs, ...(warnings.length > 0 ? { warnings } : {}) };
    },
  });
}
