import { FltsError } from '../errors.js';
import { jsonBoundsProblem, UNBOUNDED, type JsonBounds } from './json-bounds.js';
import { MAX_PARAMETERS, MAX_REQUEST_ID, MAX_SHAPE_DIMENSIONS, MAX_TENSORS } from './schemas/kserve.js';

/**
 * Deepest an inference request nests: the body, its inputs, a tensor, and the tensor's data nested as deep as a
 * shape may have dimensions.
 */
export const MAX_JSON_DEPTH = 3 + MAX_SHAPE_DIMENSIONS;

/**
 * The route schema's bounds on an inference request (64 parameters per request, input and output, 1024 inputs and
 * outputs, 8 shape dimensions, 256 characters of id), every object's keys held to the parameters' bound and the nesting
 * to MAX_JSON_DEPTH: tensor data is not counted, bounded by the body limit alone.
 */
const INFER_BOUNDS: JsonBounds = {
  maxDepth: MAX_JSON_DEPTH,
  objectKeys: [MAX_PARAMETERS],
  // The body's inputs and outputs, and an input's shape; the rest (tensor data) by the body limit.
  arrayItems: [UNBOUNDED, (keyAt) => (isTensorList(keyAt(0)) ? MAX_TENSORS : UNBOUNDED), UNBOUNDED, (keyAt) => (keyAt(2) === 'shape' && keyAt(1) === undefined && keyAt(0) === 'inputs' ? MAX_SHAPE_DIMENSIONS : UNBOUNDED), UNBOUNDED],
  tooDeep,
  // The body, its parameters, each tensor and its parameters: a tensor's `data` or `name` written twice would be read as the last alone.
  uniqueKeys: (keyAt, depth) =>
    depth === 0 || (depth === 1 && keyAt(0) === 'parameters') || ((depth === 2 || (depth === 3 && keyAt(2) === 'parameters')) && keyAt(1) === undefined && isTensorList(keyAt(0))),
  // The id's maxLength, refused on its text's length: the schema counts its characters one by one, 40 ms for an id of 8 MB.
  stringChars: (keyAt, depth) => (depth === 1 && keyAt(0) === 'id' ? MAX_REQUEST_ID : undefined),
  tooLong: (path, bound) => new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path} must NOT have more than ${bound} characters.`, { details: { field: path, bound } }),
};

/** An inference request's text checked against the route schema's bounds before JSON.parse (json-bounds.ts). */
export function inferBodyBoundsProblem(text: string): FltsError | undefined {
  return jsonBoundsProblem(text, INFER_BOUNDS);
}

/** Too deep, named by the first uncounted array on the way (its items' indexes are not counted) or the full path. */
function tooDeep(path: string): FltsError {
  return new FltsError(
    'FLTS_REQUEST_INVALID',
    `Invalid request: ${path} nests deeper than the ${MAX_JSON_DEPTH} levels an inference request has (a tensor's data at most as deep as its shape of at most ${MAX_SHAPE_DIMENSIONS} dimensions).`,
    { details: { field: path, depth: MAX_JSON_DEPTH } },
  );
}

function isTensorList(key: string | undefined): boolean {
  return key === 'inputs' || key === 'outputs';
}
