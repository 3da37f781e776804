import { Ajv, type Options, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { FltsError } from '../errors.js';

const SHARED: Options = { useDefaults: true, removeAdditional: true, allErrors: false };

/**
 * Request validation with one rule per part: bodies are JSON and must already have the declared types
 * (`"5"`, `true` or `[4]` are not an integer), while the query string, path parameters and headers are text
 * and are converted to the declared type, as fastify does by default, integers only from decimal digits.
 */
export function installRequestValidators(app: FastifyInstance): void {
  const strict = new Ajv({ ...SHARED, coerceTypes: false });
  const coercing = new Ajv({ ...SHARED, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict.compile(schema) : decimalIntegers(schema as FlatSchema, coercing.compile(schema))));
}

const DECIMAL_INTEGER = /^[+-]?\d+$/;

type FlatSchema = { properties?: Record<string, { type?: unknown }> };
type Validate = ValidateFunction & ((data: unknown, context?: object) => boolean);

/**
 * Ajv converts text to a number as JavaScript does, so `0x10` would be 16, `1e1` 10 and ` 16` 16. The text of
 * every top-level integer field (query strings, path parameters and headers are flat) must be decimal digits
 * first; anything else is the schema error a non-number gets.
 */
function decimalIntegers(schema: FlatSchema, validate: ValidateFunction): ValidateFunction {
  const integers = Object.entries(schema.properties ?? {}).flatMap(([key, property]) => ([property.type].flat().includes('integer') ? [key] : []));
  if (integers.length === 0) return validate;
  const checked = ((data: unknown, context?: object) => {
    const fields = (data ?? {}) as Record<string, unknown>;
    for (const key of integers) {
      const texts = [fields[key]].flat().filter((value) => typeof value === 'string');
      if (texts.some((text) => !DECIMAL_INTEGER.test(text))) {
        checked.errors = [{ instancePath: `/${key}`, schemaPath: `#/properties/${key}/type`, keyword: 'type', params: { type: 'integer' }, message: 'must be integer' }];
        return false;
      }
    }
    const valid = (validate as Validate)(data, context);
    checked.errors = validate.errors;
    return valid;
  }) as Validate;
  // fastify hands Ajv the request as the data's parent (so a coerced root value sticks) when it sees schemaEnv.
  return Object.assign(checked, { schemaEnv: validate.schemaEnv, schema: validate.schema });
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
