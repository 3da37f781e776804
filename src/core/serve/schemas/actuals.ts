import { errorResponses } from './common.js';
import { handlerRules } from './handler-rules.js';
import { IGNORED_COLUMNS_TEXT, IGNORED_FIELDS_TEXT, MAX_BODY_FIELDS, SERIES_DATA_RULES, seriesBodyRules, seriesColumn, seriesRows, warningItem, type PredictBody } from './predict.js';

export type ActualsBody = Omit<PredictBody, 'inference_length'>;

export const actualsSchema = {
  summary: 'Report observed values, scoring the forecasts served for their timestamps',
  description:
    'Same column format as /predict: a timestamp column (`index_col`, else ts/timestamp/time/date) and one or more forecast columns in original units; null is a missing value, a number past ±1.8e308 (1e309, Infinity once parsed) a 400 naming its column and row. Each remembered forecast for a given timestamp is scored once, into the live RMSE, MAE and coverage of its run (/healthz `live`, flts_live_* metrics); a target whose column the body lacks, or whose value is null, waits for a later body. ' +
    `${SERIES_DATA_RULES} Also: a timestamp given twice, and no column besides the timestamp that is a target of the served run (before any model is loaded, any column is one), or one holding anything but numbers and null. Any query parameter is refused, before the body is read, with a 400 naming it (\`identifier\` is a field of the body).`,
  body: {
    type: 'object',
    maxProperties: MAX_BODY_FIELDS,
    // Actuals come in `data`, which is no more optional nor null here than empty: the handler says so in its words.
    properties: { ...seriesRows, data: { ...seriesRows.data, ...handlerRules({ type: 'object', minProperties: 1, additionalProperties: seriesColumn }) } },
    ...seriesBodyRules({ required: ['data'] }),
  },
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['SUCCESS'] },
        rows: { type: 'integer' },
        matched: { type: 'integer', description: 'Forecast points scored by these actuals.' },
        ignored: {
          type: 'integer',
          description: 'Values (timestamp x column) matching a remembered forecast but left unscored for every run: more than ten spans outside what the forecast, its request rows and the run\'s training range showed (a unit mix-up, a broken client). Their forecast points wait: a corrected value sent later is scored. Counted in flts_live_actuals_ignored_total{reason="out_of_range"}.',
        },
        unmatched: {
          type: 'integer',
          description:
            'Rows whose timestamp no remembered forecast of the series waited for: never forecast from request rows (a /predict without rows forecasts from the stored data and is not remembered), forecast for another `identifier`, scored already (a repeat scores nothing), or forgotten (FLTS_LIVE_MEMORY_POINTS).',
        },
        kept: {
          type: 'integer',
          description:
            'Of the unmatched rows, those kept (FLTS_LIVE_EARLY_ACTUALS_POINTS, FLTS_LIVE_EARLY_ACTUALS_MAX_AGE_MS) for a forecast of their timestamp made later, from rows that end before it: it is scored on them when it is made. A row of missing values only is not kept.',
        },
        runs: {
          type: 'array',
          items: { type: 'object', properties: { run_id: { type: 'string' }, points: { type: 'integer' }, rmse: { type: 'number' }, mae: { type: 'number' } } },
        },
        warnings: { type: 'array', description: `Present only when there is something to say: ${IGNORED_FIELDS_TEXT} ${IGNORED_COLUMNS_TEXT}`, items: warningItem },
      },
      required: ['status', 'rows', 'matched', 'runs'],
    },
    ...errorResponses(400, 401, 403, 409, 413),
  },
} as const;
