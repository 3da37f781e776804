import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { forgetSecrets, rememberSecrets } from '../redact.js';
import { silentLogger } from '../logger.js';
import { classifyError, errorBody, installErrorHandlers, maskAnswers } from './error-handler.js';
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

  describe('secrets', () => {
    afterEach(() => forgetSecrets());

    it('masks the secrets an error answer would quote, on HTTP and in gRPC details alike', () => {
      rememberSecrets(['cnryStoreSecret7']);
      const failure = new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 at http://u:pw@minio:9000 refused key cnryStoreSecret7');
      expect(classifyError(failure, 1024).message).toBe('S3 at http://***@minio:9000 refused key ***');
      expect(errorBody(503, 'FLTS_STORE_UNAVAILABLE', failure.message)).toMatchObject({ message: 'S3 at http://***@minio:9000 refused key ***', detail: 'S3 at http://***@minio:9000 refused key ***' });
    });

    it('masks every read answer and error answer of a server, and leaves the other answers as they were', async () => {
      rememberSecrets(['cnryStoreSecret7']);
      const app = Fastify();
      maskAnswers(app, false);
      installErrorHandlers(app, 1024, silentLogger, { methods: () => ['GET', 'POST'] });
      app.get('/status', async () => ({ tracking: 'http://u:pw@mlflow:5000', last_error: 'refused cnryStoreSecret7', count: 3 }));
      app.post('/echo', async () => ({ note: 'cnryStoreSecret7' }));
      app.post('/fail', async () => {
        throw new Error('library said cnryStoreSecret7');
      });
      try {
        expect((await app.inject({ method: 'GET', url: '/status' })).json()).toEqual({ tracking: 'http://***@mlflow:5000', last_error: 'refused ***', count: 3 });
        const failed = await app.inject({ method: 'POST', url: '/fail' });
        expect(failed.statusCode).toBe(500);
        expect(failed.body).not.toContain('cnryStoreSecret7');
        // A successful POST (a forecast) is not read through: it holds what its client sent.
        expect((await app.inject({ method: 'POST', url: '/echo' })).json()).toEqual({ note: 'cnryStoreSecret7' });
      } finally {
        await app.close();
      }
      const everything = Fastify();
      maskAnswers(everything, true);
      everything.post('/echo', async () => ({ note: 'cnryStoreSecret7' }));
      try {
        expect((await everything.inject({ method: 'POST', url: '/echo' })).json()).toEqual({ note: '***' });
      } finally {
        await everything.close();
      }
    });
  });
});
