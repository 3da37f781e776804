import { Ajv, type Options } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { FltsError } from '../errors.js';

const SHARED: Options = { useDefaults: true, removeAdditional: true, allErrors: false };

/**
 * Request validation with one rule per part: bodies are JSON and must already have the declared types
 * (`"5"`, `true` or `[4]` are not an integer), while the query string, path parameters and headers are text
 * and are converted to the declared type, as fastify does by default.
 */
export function installRequestValidators(app: FastifyInstance): void {
  const strict = new Ajv({ ...SHARED, coerceTypes: false });
  const coercing = new Ajv({ ...SHARED, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}

let outsideFastify: Ajv | undefined;

/**
 * A check of a value that reaches the server outside fastify (a gRPC message's parameters) against a route's
 * body schema, with the rules and the message that value would get in an HTTP body: a coded 400 such as
 * "Invalid request: parameters/identifier must NOT have more than 200 characters.".
 */
export function compileBodyCheck(schema: object, dataVar: string): (value: unknown) => void {
  outsideFastify ??= new Ajv({ ...SHARED, coerceTypes: false });
  const validate = outsideFastify.compile(schema);
  return (value) => {
    if (validate(value)) return;
    const reasons = (validate.errors ?? []).map((error) => `${dataVar}${error.instancePath} ${error.message}`).join(', ');
    throw new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${reasons}.`);
  };
}
