import * as grpc from '@grpc/grpc-js';
import { createInferenceClient } from '../serve/oip-grpc-service.js';
import type { LoadCellProgress, LoadCellResult } from './load-cell.js';
import { createLatencyRecorder } from './latency-recorder.js';

export interface GrpcLoadCellInput {
  /** host:port of the gRPC service. */
  address: string;
  /** `ModelInfer` with these requests in turn, or `ServerLive` (the gRPC stack's ceiling) when empty. */
  requests: readonly object[];
  connections: number;
  durationSec: number;
  timeoutSec?: number;
  /** Bearer token of ModelInfer (serve.apiToken). */
  apiToken?: string;
}

/**
 * Drives the Open Inference Protocol gRPC service like runLoadCell drives HTTP: `connections` channels of
 * their own (each its own HTTP/2 connection), one call in flight on each, every OK call's time recorded.
 */
export async function runGrpcLoadCell(input: GrpcLoadCellInput, onProgress?: (progress: LoadCellProgress) => void, signal?: AbortSignal): Promise<LoadCellResult> {
  const latency = createLatencyRecorder();
  const failed: Record<string, number> = {};
  const connection: Record<string, number> = {};
  let timeouts = 0;
  let authRefused: string | undefined;
  let requests = 0;
  let successes = 0;
  let next = 0;
  const method = input.requests.length > 0 ? 'ModelInfer' : 'ServerLive';
  const clients = Array.from({ length: input.connections }, () => createInferenceClient(input.address, { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 }));
  const started = performance.now();
  const endAt = started + input.durationSec * 1000;
  const timeoutMs = (input.timeoutSec ?? 10) * 1000;
  const metadata = new grpc.Metadata();
  if (input.apiToken) metadata.set('authorization', `Bearer ${input.apiToken}`);
  const ticker = setInterval(() => onProgress?.({ elapsedSec: (performance.now() - started) / 1000, requests }), 250);
  const once = (client: (typeof clients)[number]): Promise<void> =>
    new Promise((resolve) => {
      const request = input.requests.length > 0 ? input.requests[next++ % input.requests.length] : {};
      const sent = performance.now();
      (client[method] as (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (error: grpc.ServiceError | null) => void) => void)(request, metadata, { deadline: Date.now() + timeoutMs }, (error) => {
        if (error?.code === grpc.status.UNAUTHENTICATED || error?.code === grpc.status.PERMISSION_DENIED) {
          authRefused ??= `gRPC ${grpc.status[error.code]}`;
          resolve();
          return;
        }
        requests++;
        if (!error) {
          successes++;
          latency.recordMs(performance.now() - sent);
        } else if (error.code === grpc.status.DEADLINE_EXCEEDED) timeouts++;
        else if (error.code === grpc.status.UNAVAILABLE && !error.metadata.get('flts-code').length) connection.UNAVAILABLE = (connection.UNAVAILABLE ?? 0) + 1;
        else failed[grpc.status[error.code]] = (failed[grpc.status[error.code]] ?? 0) + 1;
        resolve();
      });
    });
  try {
    await Promise.all(
      clients.map(async (client) => {
        // At least one call on each channel, however short the cell (the one-call probe before the load).
        do await once(client);
        while (performance.now() < endAt && !signal?.aborted && authRefused === undefined);
      }),
    );
  } finally {
    clearInterval(ticker);
    for (const client of clients) client.close();
  }
  const elapsedSec = (performance.now() - started) / 1000;
  const total = Object.values(failed).reduce((a, b) => a + b, 0) + timeouts + Object.values(connection).reduce((a, b) => a + b, 0);
  return { ...(authRefused ? { authRefused } : {}), requests, successes, elapsedSec, latency: latency.finish(), errors: { non2xx: failed, timeouts, connection, total } };
}
