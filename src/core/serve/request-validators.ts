import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { FltsError } from '../errors.js';
import { HANDLER_RULES } from './schemas/handler-rules.js';

// The handler's rules a schema publishes are the handler's to check (schemas/handler-rules.ts): an annotation here.
const SHARED: Options = { useDefaults: true, removeAdditional: true, allErrors: false, keywords: [HANDLER_RULES] };

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

type FlatSchema = { properties?: Record<string, { type?: unknown; minimum?: number; maximum?: number }> };
type Validate = ValidateFunction & ((data: unknown, context?: object) => boolean);

/**
 * Ajv converts text to a number as JavaScript does, so `0x10` would be 16, `1e1` 10 and ` 16` 16. The text of
 * every top-level integer field (query strings, path parameters and headers are flat) must be decimal digits
 * first; anything else is the schema error a non-number gets. Digits past the safe integers are refused here too,
 * with the bound their sign passes (or as not an integer): Ajv converts 309 nines to Infinity, which its own
 * `maximum` let through, and `?inference_length=` of them reached the forecast as a length of Infinity (a 500).
 */
function decimalIntegers(schema: FlatSchema, validate: ValidateFunction): ValidateFunction {
  const properties = schema.properties ?? {};
  const integers = Object.entries(properties).flatMap(([key, property]) => ([property.type].flat().includes('integer') ? [key] : []));
  if (integers.length === 0) return validate;
  const checked = ((data: unknown, context?: object) => {
    const fields = (data ?? {}) as Record<string, unknown>;
    for (const key of integers) {
      const texts = [fields[key]].flat().filter((value) => typeof value === 'string');
      const text = texts.find((text) => !DECIMAL_INTEGER.test(text) || !Number.isSafeInteger(Number(text)));
      if (text !== undefined) {
        checked.errors = [integerError(key, properties[key], text)];
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

/** The error of a field's text that is no decimal integer, or one beyond the safe integers (then the bound it passes, if any). */
function integerError(key: string, property: { minimum?: number; maximum?: number }, text: string): ErrorObject {
  const [instancePath, schemaPath] = [`/${key}`, `#/properties/${key}`];
  if (DECIMAL_INTEGER.test(text)) {
    const negative = text.startsWith('-');
    const limit = negative ? property.minimum : property.maximum;
    const [keyword, comparison] = negative ? ['minimum', '>='] : ['maximum', '<='];
    if (limit !== undefined) return { instancePath, schemaPath: `${schemaPath}/${keyword}`, keyword, params: { comparison, limit }, message: `must be ${comparison} ${limit}` };
  }
  return { instancePath, schemaPath: `${schemaPath}/type`, keyword: 'type', params: { type: 'integer' }, message: 'must be integer' };
}

/**
 * The schema validator names a field's allowed types as its list, "body/data must be object,null", which reads as
 * one odd type; a client needs "object or null".
 */
export function readableTypes(message: string): string {
  return message.replace(/ must be ([a-z]+(?:,[a-z]+)+)/g, (_, types: string) => ` must be ${types.split(',').join(' or ')}`);
}

let outsideFastify: Ajv | undefined;

/**
 * A check of a value that reaches the server outside fastify (a gRPC message's parameters) against a route's
 * body schema, with the rules and the message that value would get in an HTTP body: a coded 400 such as
 * "Invalid request: parameters/identifier must NOT have more than 128 characters.".
 */
export function compileBodyCheck(schema: object, dataVar: string): (value: unknown) => void {
  outsideFastify ??= new Ajv({ ...SHARED, coerceTypes: false });
  const validate = outsideFastify.compile(schema);
  return (value) => {
    if (validate(value)) return;
    const reasons = readableTypes((validate.errors ?? []).map((error) => `${dataVar}${error.instancePath} ${error.message}`).join(', '));
    throw new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${reasons}.`);
  };
}
