import { createForecastAdmission } from '../../src/core/serve/forecast-admission.js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { startGrpcInferenceServer, type GrpcInferenceServer } from '../../src/core/serve/oip-grpc-server.js';
import type { OipContext } from '../../src/core/serve/oip-inference.js';
import { createPredictionRecorder } from '../../src/core/serve/prediction-recorder.js';
import { silentLogger } from '../../src/core/logger.js';
import type { RunningServer } from './serve-fixtures.js';

export type GrpcClient = ReturnType<typeof createInferenceClient>;

/** The serving context the gRPC server shares with the HTTP server of `server`. */
export function oipContext(server: RunningServer): OipContext {
  return {
    holder: server.holder,
    metrics: server.metrics,
    modelName: 'flts',
    inferenceLength: 0,
    recorder: createPredictionRecorder({ metrics: server.metrics, logger: silentLogger, identifier: '' }),
    admission: createForecastAdmission({ maxRows: 0 }),
  };
}

/** A gRPC inference server on 127.0.0.1 beside the HTTP server of `server`, and a client of it. */
export async function startGrpc(server: RunningServer, apiToken?: string, maxMessageBytes = 64 * 1024): Promise<{ grpcServer: GrpcInferenceServer; client: GrpcClient }> {
  const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes, logger: silentLogger, apiToken });
  return { grpcServer, client: createInferenceClient(`127.0.0.1:${grpcServer.port}`) };
}
