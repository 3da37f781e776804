import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { installErrorHandlers } from './error-handler.js';
import { compileBodyCheck, installRequestValidators } from './request-validators.js';

const BODY = { type: 'object', properties: { data: { type: ['object', 'null'] } } };

describe('core > serve > error-handler', () => {
  it('names a field of several allowed types as "object or null", not the validator\'s list "object,null"', async () => {
    // Before: "Invalid request: body/data must be object,null." for /predict's data sent as an array.
    const app = Fastify();
    installRequestValidators(app);
    installErrorHandlers(app, 1024, silentLogger, { methods: () => ['POST'] });
    app.post('/predict', { schema: { body: BODY } }, async () => ({ ok: true }));
    try {
      const response = await app.inject({ method: 'POST', url: '/predict', payload: { data: [1, 2] } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'FLTS_REQUEST_INVALID', message: 'Invalid request: body/data must be object or null.' });
    } finally {
      await app.close();
    }
    // The same value outside fastify (a gRPC message's parameters) gets the same words.
    expect(() => compileBodyCheck(BODY, 'parameters')({ data: 'x' })).toThrow('Invalid request: parameters/data must be object or null.');
  });
});
