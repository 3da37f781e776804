import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The vendored Open Inference Protocol service definition (package `inference`). */
export const OIP_PROTO_PATH = fileURLToPath(new URL('../../../proto/grpc_predict_v2.proto', import.meta.url));

/** Field-name casing and value forms as the server reads and writes them (int64 as numbers, bytes as Buffers). */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export type InferParameter = { parameter_choice?: 'bool_param' | 'int64_param' | 'string_param'; bool_param?: boolean; int64_param?: number; string_param?: string };

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface GrpcInferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

export interface GrpcModelInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs: GrpcInferInputTensor[];
  outputs?: Array<{ name: string; parameters?: Record<string, InferParameter> }>;
  raw_input_contents?: Buffer[];
}

export interface GrpcModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  outputs: Array<{ name: string; datatype: string; shape: number[] }>;
  raw_output_contents: Buffer[];
}

let cached: grpc.GrpcObject | undefined;

/** The `inference` package, loaded once per process. */
export function inferencePackage(): grpc.GrpcObject {
  cached ??= grpc.loadPackageDefinition(protoLoader.loadSync(OIP_PROTO_PATH, LOADER_OPTIONS)).inference as grpc.GrpcObject;
  return cached;
}

export function inferenceService(): grpc.ServiceDefinition {
  return (inferencePackage().GRPCInferenceService as grpc.ServiceClientConstructor).service;
}

/** A client of the service (tests and the benchmark); `options` are channel options. */
export function createInferenceClient(address: string, options: grpc.ChannelOptions = {}): grpc.Client & Record<string, grpc.MethodDefinition<unknown, unknown> | ((...args: unknown[]) => unknown)> {
  const Client = inferencePackage().GRPCInferenceService as grpc.ServiceClientConstructor;
  return new Client(address, grpc.credentials.createInsecure(), options) as never;
}

/** Plain parameter values from the protocol's one-of wrapper. */
export function parameterValues(parameters: Record<string, InferParameter> | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, parameter] of Object.entries(parameters ?? {})) {
    if (parameter.parameter_choice) values[key] = parameter[parameter.parameter_choice];
  }
  return values;
}

export function toInferParameter(value: string | number | boolean): InferParameter {
  if (typeof value === 'boolean') return { bool_param: value };
  if (typeof value === 'number' && Number.isInteger(value)) return { int64_param: value };
  return { string_param: String(value) };
}
