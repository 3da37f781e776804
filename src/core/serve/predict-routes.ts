import { adminBodyOptions } from './admin-json-bounds.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import { buildPredictResponse, newRequestId } from './prediction-response.js';
import { closedBeforeAnswer } from './forecast-admission.js';
import { bodyFields, ignoredFieldsWarning } from './ignored-fields.js';
import { refuseUnknownQuery } from './query-parameters.js';
import { assertRequestIdentifier, requestSeries } from './request-frame.js';
import { createReloadLimiter } from './reload-limiter.js';
import { requestedRows, runPrediction } from './run-prediction.js';
import { predictSchema, reloadSchema, type PredictBody, type PredictQuery } from './schemas/predict.js';
import type { ServeContext } from './serve-context.js';
import { seriesBodyBoundsProblem } from './series-json-bounds.js';

/** POST /predict (the reference contract) and POST /reload_latest. */
export function registerPredictRoutes(context: ServeContext): void {
  const { holder, recorder } = context;
  const forcedReload = createReloadLimiter(() => holder.reloadFromPointer({ force: true }), context.reloadMinIntervalMs);
  const predictFields = bodyFields(predictSchema);

  context.routes.route({
    method: 'POST',
    url: '/predict',
    schema: predictSchema,
    onRequest: refuseUnknownQuery('POST /predict', predictSchema),
    // Without a body (or data), the forecast is made from the served run's test frame.
    config: { jsonBounds: seriesBodyBoundsProblem, optionalBody: true },
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as PredictBody;
      const query = request.query as PredictQuery;
      assertRequestIdentifier(body.identifier, "Field 'identifier'", { field: 'identifier' }, context.identifier);
      // The series the rows belong to: the answer, its log record and live scoring all name the same one, as a batch
      // claim's result names the claim's identifier, else (none, or "") the deployment's.
      const series = requestSeries(body.identifier, context.identifier);
      const ignored = ignoredFieldsWarning('/predict', request.body, predictFields);
      const input = { data: body.data ?? undefined, indexCol: body.index_col, inferenceLength: query.inference_length ?? body.inference_length };
      const signal = closedBeforeAnswer(reply.raw);
      const rows = requestedRows(holder, input, context.inferenceLength);
      return context.admission.run('/predict', rows, signal, () =>
        recorder.measure(async () => {
          const result = await runPrediction(holder, input, context.inferenceLength, { signal, ignoredColumns: true });
          // A long forecast's rows are built, recorded and serialized in turns of their own (`turnSpent`).
          if (turnSpent()) await nextTurn();
          const response = buildPredictResponse(result, series, newRequestId(), ignored);
          if (turnSpent()) await nextTurn();
          await recorder.record({ identifier: series, input, result, response });
          if (turnSpent()) await nextTurn();
          return { answer: response, modelMs: result.modelMs };
        }),
      );
    },
  });

  context.routes.route({
    method: 'POST',
    url: '/reload_latest',
    schema: reloadSchema,
    onRequest: refuseUnknownQuery('POST /reload_latest', reloadSchema),
    ...adminBodyOptions(context.bodyLimit),
    handler: async () => {
      const outcome = await forcedReload();
      const current = holder.status().current;
      const loaded = outcome.result === 'loaded' || outcome.result === 'unchanged';
      return {
        status: loaded ? 'loaded' : 'not_loaded',
        result: outcome.result,
        run_id: current?.runId ?? null,
        model_type: current?.modelType ?? null,
        config_hash: current?.configHash ?? null,
        // The code as every refusal carries it: a script reads why the reload failed without parsing the sentence.
        ...(outcome.result === 'failed' ? { code: outcome.error.code, message: outcome.error.message } : {}),
      };
    },
  });
}
