import { IDENTIFIER_PATTERN, MAX_IDENTIFIER_CHARS } from '../../config/specs/runtime.js';
import { adminBodySchema } from './admin.js';
import { errorResponses } from './common.js';
import { handlerRules } from './handler-rules.js';

const inferenceLength = { type: 'integer', minimum: 1, maximum: 10000, description: 'Forecast rows; beyond the model horizon the forecast is recursive (MSTL: from one fit of the window).' } as const;

/**
 * Which series the rows belong to, so live scoring matches a forecast only with actuals of the same series. The
 * handler holds it to the deployment identifier's rule (request-frame.ts), whose bound the schema states: maxLength
 * counts characters (code points), as the rule does.
 */
export const seriesIdentifier = {
  type: 'string',
  maxLength: MAX_IDENTIFIER_CHARS,
  description: `Series identifier (default, and for "": the deployment identifier): the answer's \`identifier\`, its prediction-log record's and the series live scoring pairs its forecast with actuals of; held to the deployment identifier's rule: ${IDENTIFIER_PATTERN.text}.`,
} as const;

/**
 * Keys a /predict or POST /actuals body may have: it has four fields, and a client's own extra fields are ignored;
 * 200k of them were parsed for a quarter of a second before anything looked at the body.
 */
export const MAX_BODY_FIELDS = 64;

/** Columns `data` may have: as many as an inference request's inputs, the same rows sent as tensors (schemas/kserve.ts). */
export const MAX_COLUMNS = 1024;

/** A JSON value that holds no other: what a column's rows are, a column being the deepest container of a body of rows. */
export const plainValue = { not: { anyOf: [{ type: 'object' }, { type: 'array' }] } } as const;

/** One column of `data`, as the handler reads it: an array of plain values, at least one row. */
export const seriesColumn = { type: 'array', minItems: 1, items: plainValue } as const;

/**
 * A client's own field beside the body's (ignored): any JSON value of at most `levels` nested containers, as deep as
 * the body of rows nests (series-json-bounds.ts refuses deeper on the text), each object held to the body's bound on keys.
 */
function ignoredField(levels: number): object {
  if (levels === 0) return plainValue;
  const inner = ignoredField(levels - 1);
  return { anyOf: [plainValue, { type: 'object', maxProperties: MAX_BODY_FIELDS, additionalProperties: inner }, { type: 'array', items: inner }] };
}

/** Names the timestamp column is looked for under when `index_col` does not name it, in the order they are tried. */
const TIMESTAMP_COLUMNS = ['ts', 'timestamp', 'time', 'date'];

/**
 * What a body of rows requires that JSON Schema can say: a field of a client's own nests no deeper than the body, and
 * `data` has a timestamp column under one of the names looked for, unless `index_col` names it.
 */
export function seriesBodyRules(extra: Record<string, unknown> = {}): ReturnType<typeof handlerRules> {
  return handlerRules({
    additionalProperties: ignoredField(2),
    anyOf: [{ required: ['index_col'] }, { properties: { data: { anyOf: TIMESTAMP_COLUMNS.map((name) => ({ required: [name] })) } } }],
    ...extra,
  });
}

/** A response's warning, as /predict and POST /actuals answer them. */
export const warningItem = { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } } } as const;

/** The warning both routes answer a body's fields they do not read with, for their descriptions. */
export const IGNORED_FIELDS_TEXT =
  '`ignored_fields` when the body has fields the route does not read (it answers as if they were absent): the message names the first ten, each with the field it most likely meant (`Identifier (did you mean identifier?)`), and `details` has them as sent (`fields`, each cut to 80 characters) and their `count`.';

/** The warning both routes answer columns of `data` the served model does not read with, for their descriptions. */
export const IGNORED_COLUMNS_TEXT =
  "`ignored_columns` when `data` has columns the served model does not read (its timestamp column and the raw columns of its run's features; the rest are ignored): the message names the first ten, each with the column it most likely meant (`upp (did you mean up?)`), and `details` has them as sent (`columns`, each cut to 80 characters) and their `count`.";

/** What of `data` the schema cannot say, for both routes' descriptions. */
export const SERIES_DATA_RULES =
  "Beyond what the schema says, the handler refuses with a 400 naming the column and row: a field of the body or a column of `data` written twice in the JSON, columns of `data` of different lengths, two whose names differ only in case (`Down` and `down`), an `index_col` that is not one of its columns, and timestamps that are neither ISO 8601 text nor epoch numbers (of one unit, at least 1e8 seconds).";

/** The request rows, as /predict and POST /actuals take them. */
export const seriesRows = {
  data: {
    type: ['object', 'null'],
    maxProperties: MAX_COLUMNS,
    description: 'Column name -> array of values (one per row): at least one column of at least one row.',
    ...handlerRules({ minProperties: 1, additionalProperties: seriesColumn }),
  },
  index_col: { type: 'string', minLength: 1, description: 'The timestamp column of `data` (default: the first of ts, timestamp, time, date it has).' },
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
    'Reference request: `data` is column-oriented raw data in original units with a timestamp column (`index_col`, else ts/timestamp/time/date) and every raw feature of the served run; unique, strictly increasing timestamps, as ISO 8601 text (naive = UTC) or epoch numbers read by size: seconds below 1e10, milliseconds below 1e13, microseconds below 1e16, nanoseconds below 1e19 (numbers below 1e8 are refused as ambiguous). Without `data` the forecast starts after the latest window of the stored test data (computed per request, never cached). Predictions are in original units. ' +
    `${SERIES_DATA_RULES} With \`data\`, also: timestamps that do not strictly increase, a raw feature of the served run (an input GET /v2/models/{name} lists) missing or holding anything but finite numbers, and fewer rows than the model's input window (\`input_seq_len\`) or two. A query parameter other than \`inference_length\` is refused, before the body is read, with a 400 naming it (\`identifier\` is a field of the body).`,
  body: {
    type: 'object',
    maxProperties: MAX_BODY_FIELDS,
    properties: { ...seriesRows, inference_length: inferenceLength },
    ...seriesBodyRules(),
  },
  // The reference's contract: the query's count is taken over the body's.
  querystring: { type: 'object', properties: { inference_length: { ...inferenceLength, description: `${inferenceLength.description} Taken over the body's inference_length when both are given.` } } },
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['SUCCESS'] },
        identifier: { type: 'string', description: 'The series: the request\'s `identifier`, else the deployment identifier ("default" for "").' },
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
            `Present only when there is something to say: ${IGNORED_FIELDS_TEXT} ${IGNORED_COLUMNS_TEXT} \`irregular_time_steps\` when the rows the model reads (the request's last rows, its input window) are not evenly spaced. \`details\` has the dominant step (\`step_ms\`), \`gaps\` (steps longer than it), \`short_steps\` and \`largest_gap\` (\`after_row\`, \`from\`, \`to\`, \`ms\`). The forecast is made all the same; its rows follow the dominant step.`,
          items: warningItem,
        },
      },
      required: ['status', 'identifier', 'run_id', 'predictions', 'req_id', 'cached'],
    },
    ...errorResponses(400, 401, 403, 413, 503),
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
        code: { type: 'string', description: 'With result failed: the FLTS_ code of the load or of the pointer\'s read (FLTS_STORE_UNAVAILABLE, FLTS_RUN_NOT_FOUND, ...); the run before goes on serving.' },
        message: { type: 'string' },
      },
    },
    ...errorResponses(400, 401, 403, 413, 429),
  },
} as const;
