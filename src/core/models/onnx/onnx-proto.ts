import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { FltsError } from '../../errors.js';
import { compiledWorkerScript } from '../../worker-script.js';

/** The subset of onnx.proto's messages flts writes, with the schema's own (snake_case) field names. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  /** TensorProto.DataType: FLOAT = 1, INT64 = 7. */
  data_type: number;
  /** Little-endian values. */
  raw_data: Uint8Array;
}

export interface OnnxAttribute {
  name: string;
  /** AttributeProto.AttributeType: FLOAT = 1, INT = 2, STRING = 3, FLOATS = 6, INTS = 7, STRINGS = 8. */
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface OnnxNode {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute?: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Array<{ dim_value: number } | { dim_param: string }> } } };
}

export interface OnnxModel {
  ir_version: number;
  opset_import: Array<{ domain: string; version: number }>;
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  graph: {
    name: string;
    node: OnnxNode[];
    initializer: OnnxTensor[];
    input: OnnxValueInfo[];
    output: OnnxValueInfo[];
  };
  metadata_props: Array<{ key: string; value: string }>;
}

let modelType: protobuf.Type | undefined;

/** onnx.proto ships beside this module in the sources and is copied beside the build. */
function schemaPath(): string {
  const beside = new URL('./onnx.proto', import.meta.url);
  const found = compiledWorkerScript(beside);
  if (!found || !existsSync(fileURLToPath(found))) throw new FltsError('FLTS_EXPORT_FAILED', `The ONNX schema is missing (${fileURLToPath(beside)}); run \`npm run build\`.`);
  return fileURLToPath(found);
}

/** ModelProto from the vendored onnx.proto, parsed once per thread. */
function onnxModelType(): protobuf.Type {
  if (!modelType) {
    const root = new protobuf.Root().loadSync(schemaPath(), { keepCase: true });
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

/** The model as ONNX protobuf bytes; the message is checked against the schema first. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem) throw new FltsError('FLTS_EXPORT_FAILED', `The ONNX graph does not match onnx.proto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Parses ONNX protobuf bytes back into the message (with the schema's field names); tests read exports with it. */
export function decodeOnnxModel(bytes: Uint8Array): Record<string, unknown> {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Array, defaults: false }) as Record<string, unknown>;
}
