import { Ajv, type Options } from 'ajv';
import type { FastifyInstance } from 'fastify';

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
