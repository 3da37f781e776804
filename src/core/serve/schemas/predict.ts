import { adminBodySchema } from './admin.js';
import { errorResponses } from './common.js';

const inferenceLength = { type: 'integer', minimum: 1, maximum: 10000, description: 'Forecast rows; beyond the model horizon the forecast is recursive (MSTL: from one fit of the window).' } as const;

/** Which series the rows belong to, so live scoring matches a forecast only with actuals of the same series. */
export const seriesIdentifier = { type: 'string', maxLength: 200, description: 'Series identifier for live scoring (default: the deployment identifier).' } as const;

/**
 * Keys a /predict or POST /actuals body may have: it has four fields, and a client's own extra fields are ignored;
 * 200k of them were parsed for a quarter of a second before anything looked at the body.
 */
export const MAX_BODY_FIELDS = 64;

/** Columns `data` may have: as many as an inference request's inputs, the same rows sent as tensors (schemas/kserve.ts). */
export const MAX_COLUMNS = 1024;

/** The request rows, as /predict and POST /actuals take them. */
export const seriesRows = {
  data: { type: ['object', 'null'], maxProperties: MAX_COLUMNS, description: 'Column name -> array of values (one per row).' },
  index_col: { type: 'string', minLength: 1 },
  identifier: seriesIdentifier,
} as const;

export interface PredictBody {
  data?: Record<string, unknown[]> | null;
  index_col?: string;
  identifier?: string;
  inference_length?: number;
}

export interface PredictQuery {
  inference_length?: number;
}

export const predictSchema = {
  summary: 'Forecast the next rows of a series',
  description:
    'Reference request: `data` is column-oriented raw data in original units with a timestamp column (`index_col`, else ts/timestamp/time/date) and every raw feature of the served run; unique, strictly increasing timestamps, as ISO 8601 text (naive = UTC) or epoch numbers read by size: seconds below 1e10, milliseconds below 1e13, microseconds below 1e16, nanoseconds below 1e19 (numbers below 1e8 are refused as ambiguous). Without `data` the forecast starts after the latest window of the stored test data (computed per request, never cached). Predictions are in original units.',
  body: {
    type: 'object',
    maxProperties: MAX_BODY_FIELDS,
    properties: { ...seriesRows, inference_length: inferenceLength },
  },
  querystring: { type: 'object', properties: { inference_length: inferenceLength } },
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['SUCCESS'] },
        identifier: { type: 'string' },
        run_id: { type: 'string' },
        model_type: { type: 'string' },
        config_hash: { type: 'string' },
        predictions: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              ts: { type: 'string' },
              intervals: {
                type: 'object',
                description: 'On the steps the run calibrated (`FLTS_INTERVAL_STEPS` at training, recursive steps past the model horizon included): per target, per level ("0.8"), the [lower, upper] prediction interval in original units (split-conformal, calibrated on data the model was not fitted on); [null, null] at a level the run had too few calibration windows for.',
                additionalProperties: { type: 'object', additionalProperties: { type: 'array', items: { type: ['number', 'null'] }, minItems: 2, maxItems: 2 } },
              },
            },
            additionalProperties: { type: ['number', 'null'] },
          },
        },
        req_id: { type: 'string' },
        cached: { type: 'boolean' },
        inference_length: { type: 'integer' },
        horizon: { type: 'integer' },
        recursive: { type: 'boolean' },
        note: { type: 'string' },
        source: { type: 'string', enum: ['request', 'stored-test-data'] },
        warnings: {
          type: 'array',
          description:
            "Present only when there is something to say: `irregular_time_steps` when the rows the model reads (the request's last rows, its input window) are not evenly spaced. `details` has the dominant step (`step_ms`), `gaps` (steps longer than it), `short_steps` and `largest_gap` (`after_row`, `from`, `to`, `ms`). The forecast is made all the same; its rows follow the dominant step.",
          items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } } },
        },
      },
      required: ['status', 'identifier', 'run_id', 'predictions', 'req_id', 'cached'],
    },
    ...errorResponses(400, 401, 413, 503),
  },
} as const;

export const reloadSchema = {
  summary: 'Re-read the promotion pointer and load the promoted run if it changed',
  body: adminBodySchema,
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['loaded', 'not_loaded'] },
        result: { type: 'string' },
        run_id: { type: ['string', 'null'] },
        model_type: { type: ['string', 'null'] },
        config_hash: { type: ['string', 'null'] },
        message: { type: 'string' },
      },
    },
    ...errorResponses(400, 401, 403, 413, 429),
  },
} as const;
