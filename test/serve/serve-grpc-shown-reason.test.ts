import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createForecastAdmission } from '../../src/core/serve/forecast-admission.js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { startGrpcInferenceServer, type GrpcInferenceServer } from '../../src/core/serve/oip-grpc-server.js';
import { createPredictionRecorder } from '../../src/core/serve/prediction-recorder.js';
import { useTestServer } from './serve-fixtures.js';

/**
 * A decoder whose reason quotes the bytes it could not read, client text included, where protobufjs's reasons (7.x)
 * name offsets and lengths only: the refusal quotes the reason, whatever decoder gives it. Bytes without the UTF-8 of
 * U+009B are decoded as ever.
 */
vi.mock('../../src/core/serve/oip-grpc-contents.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/core/serve/oip-grpc-contents.js')>();
  const quoting = (bytes: Uint8Array): void => {
    const text = Buffer.from(bytes).toString('utf8');
    // From the character before the U+009B on: the text the client wrote there ('x\u009b31m\u202ey').
    if (text.includes('\u009b')) throw new Error(`unreadable ${text.slice(text.indexOf('\u009b') - 1)}`);
  };
  return {
    ...original,
    decodeModelInferRequest: (bytes: Uint8Array) => (quoting(bytes), original.decodeModelInferRequest(bytes)),
    contentsElements: async (contents: Uint8Array, field: Parameters<typeof original.contentsElements>[1]) => (quoting(contents), original.contentsElements(contents, field)),
  };
});

// U+202E turns round what follows it, ESC and U+009B start a terminal sequence.
const MISLEADING = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

describe('serve > gRPC > the reason a message could not be decoded, quoted in its refusal', () => {
  const server = useTestServer({ load: false });
  let grpcServer: GrpcInferenceServer;
  let client: ReturnType<typeof createInferenceClient>;

  beforeAll(async () => {
    const context = { holder: server.holder, metrics: server.metrics, modelName: 'flts', inferenceLength: 0, recorder: createPredictionRecorder({ metrics: server.metrics, logger: silentLogger, identifier: '' }), admission: createForecastAdmission({ maxRows: 0 }) };
    grpcServer = await startGrpcInferenceServer(context, { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, logger: silentLogger });
    client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
  });
  afterAll(async () => {
    client?.close();
    await grpcServer?.close();
  });

  const refusal = (request: object): Promise<grpc.ServiceError> =>
    new Promise((resolve, reject) => (client.ModelInfer as any)(request, new grpc.Metadata(), (error: grpc.ServiceError | null) => (error ? resolve(error) : reject(new Error('ModelInfer succeeded')))));

  it('shows its control, C1 and bidirectional characters as \\u escapes: of the message, and of an input\'s typed contents', async () => {
    const text = 'x\u009b31m\u202ey';
    const cases: Array<[object, string]> = [
      [{ model_name: 'flts', inputs: [], id: text }, 'FLTS_REQUEST_INVALID: The request is not a valid ModelInferRequest protobuf message (unreadable x\\u009b31m\\u202ey).'],
      [{ model_name: 'flts', inputs: [{ name: 'down', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from(text)] } }] }, 'FLTS_REQUEST_INVALID: The request is not a valid ModelInferRequest protobuf message (unreadable x\\u009b31m\\u202ey).'],
    ];
    for (const [request, details] of cases) {
      const error = await refusal(request);
      expect([error.code, error.details]).toEqual([grpc.status.INVALID_ARGUMENT, details]);
      expect(error.details).toBe(details);
      expect(error.details).not.toMatch(MISLEADING);
    }
  });
});
