import { FltsError } from '../errors.js';
import { parseActuals } from './request-frame.js';
import { actualsSchema, type ActualsBody } from './schemas/actuals.js';
import type { ServeContext } from './serve-context.js';

/** POST /actuals: observed values (the /predict column format) that score the forecasts served before. */
export function registerActualsRoutes(context: ServeContext): void {
  const { holder, live } = context;
  context.routes.route({
    method: 'POST',
    url: '/actuals',
    schema: actualsSchema,
    handler: async (request) => {
      if (!live) throw new FltsError('FLTS_LIVE_DISABLED', 'Live scoring is turned off on this server (FLTS_LIVE_SCORING=false), so actuals are not scored.');
      const body = (request.body ?? {}) as ActualsBody;
      const served = holder.current();
      // The served run's targets name the columns; before any model, every column but the timestamp may be one.
      const targets = served?.plan.window.targets ?? Object.keys(body.data ?? {});
      const actuals = parseActuals(body.data, targets, body.index_col);
      // Scoring is synchronous: the difference of the count is this body's share.
      const ignoredBefore = live.scorer.ignored().out_of_range;
      const matched = live.observeActuals({ identifier: body.identifier ?? context.identifier, time: actuals.time, values: actuals.values });
      const ignored = live.scorer.ignored().out_of_range - ignoredBefore;
      return { status: 'SUCCESS', rows: actuals.time.length, matched: matched.reduce((sum, run) => sum + run.points, 0), ignored, runs: matched };
    },
  });
}
