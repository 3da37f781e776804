import { toFltsError } from '../errors.js';
import { buildPredictionLogRecord, buildPredictResponse, newRequestId } from './prediction-response.js';
import { runPrediction } from './run-prediction.js';
import { predictSchema, reloadSchema, type PredictBody, type PredictQuery } from './schemas/predict.js';
import type { ServeContext } from './serve-context.js';

/** POST /predict (the reference contract) and POST /reload_latest. */
export function registerPredictRoutes(context: ServeContext): void {
  const { holder, metrics, stats, predictionLog } = context;

  context.routes.route({
    method: 'POST',
    url: '/predict',
    schema: predictSchema,
    handler: async (request) => {
      const body = (request.body ?? {}) as PredictBody;
      const query = request.query as PredictQuery;
      const started = performance.now();
      stats.requestStarted();
      try {
        const result = await runPrediction(
          holder,
          { data: body.data ?? undefined, indexCol: body.index_col, inferenceLength: query.inference_length ?? body.inference_length },
          context.inferenceLength,
        );
        const response = buildPredictResponse(result, context.identifier, newRequestId());
        metrics.countPredictions(response.predictions.length);
        stats.requestFinished(performance.now() - started, result.modelMs);
        if (predictionLog) setImmediate(() => predictionLog.append(buildPredictionLogRecord(response, result.targets, new Date())));
        return response;
      } catch (error) {
        const flts = toFltsError(error);
        stats.requestFinished(performance.now() - started, 0, { status: flts.kind === 'internal' ? 500 : 400, code: flts.code });
        throw error;
      }
    },
  });

  context.routes.route({
    method: 'POST',
    url: '/reload_latest',
    schema: reloadSchema,
    handler: async () => {
      const outcome = await holder.reloadFromPointer({ force: true });
      const current = holder.status().current;
      const loaded = outcome.result === 'loaded' || outcome.result === 'unchanged';
      return {
        status: loaded ? 'loaded' : 'not_loaded',
        result: outcome.result,
        run_id: current?.runId ?? null,
        model_type: current?.modelType ?? null,
        config_hash: current?.configHash ?? null,
        ...(outcome.result === 'failed' ? { message: outcome.error.message } : {}),
      };
    },
  });
}
