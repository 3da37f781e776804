import { FltsError } from '../errors.js';
import { jsonBoundsProblem, UNBOUNDED, type JsonBounds } from './json-bounds.js';
import { MAX_BODY_FIELDS, MAX_COLUMNS } from './schemas/predict.js';

/** Deepest a /predict or POST /actuals body nests: the body, its `data`, and a column's array of values. */
export const MAX_SERIES_JSON_DEPTH = 3;

/**
 * The /predict and POST /actuals schemas' bounds (64 fields in the body, 1024 columns in `data`) and the nesting
 * their rows have, checked on the text before JSON.parse (json-bounds.ts). Every other object is held to the body's
 * 64 keys; rows (a column's values) are not counted: they are bounded by the body limit alone, as the schema leaves them.
 */
const SERIES_BOUNDS: JsonBounds = {
  maxDepth: MAX_SERIES_JSON_DEPTH,
  objectKeys: [MAX_BODY_FIELDS, (keyAt) => (keyAt(0) === 'data' ? MAX_COLUMNS : MAX_BODY_FIELDS), MAX_BODY_FIELDS],
  arrayItems: [UNBOUNDED],
  // The body's fields and the columns of `data`: a column sent twice would be read as its last copy alone.
  uniqueKeys: (keyAt, depth) => depth === 0 || (depth === 1 && keyAt(0) === 'data'),
  tooDeep: (path) =>
    new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path} nests deeper than the ${MAX_SERIES_JSON_DEPTH} levels a request of rows has (the body, its data, and a column's array of values).`, {
      details: { field: path, depth: MAX_SERIES_JSON_DEPTH },
    }),
};

/** A /predict or POST /actuals body's text checked against its schema's bounds before JSON.parse. */
export function seriesBodyBoundsProblem(text: string): FltsError | undefined {
  return jsonBoundsProblem(text, SERIES_BOUNDS);
}
