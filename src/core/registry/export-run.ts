import type { Settings } from '../config/settings.js';
import { columnAffine } from '../data/scaler.js';
import { FltsError } from '../errors.js';
import { changeWeightOf } from '../models/forecast-model.js';
import { extractRecurrentWeights, type RecurrentNetworkWeights } from '../models/recurrent-weights.js';
import { readRunScalerOf } from './load-run.js';
import { verifiedRunStore, verifyRunRecordSeal } from './run-digests.js';
import { loadRunNetwork, readRunNetworkWeights } from './run-artifacts.js';
import type { RunRecord } from './run-record.js';
import { readRunRecord } from './run-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { encodeOnnxModel } from '../models/onnx/onnx-proto.js';
import { buildRecurrentGraph, ONNX_IR_VERSION, ONNX_NAMES, ONNX_OPSET } from '../models/onnx/recurrent-graph.js';

export const EXPORT_FORMATS = ['onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** The model types whose runs export to ONNX: the recurrent networks. */
export const ONNX_EXPORT_TYPES: ReadonlySet<string> = new Set(['LSTM', 'GRU']);

export interface RunExport {
  runId: string;
  modelType: string;
  format: ExportFormat;
  bytes: Uint8Array;
  irVersion: number;
  opset: number;
  inputs: string[];
  outputs: string[];
  /** ModelProto.metadata_props as written. */
  metadata: Record<string, string>;
}

/** The weights of a network the saved-format reader does not take, through tfjs. */
async function networkWeights(store: ObjectStore, settings: Settings, record: RunRecord): Promise<RecurrentNetworkWeights | undefined> {
  const network = await loadRunNetwork(store, settings, record);
  try {
    return extractRecurrentWeights(network);
  } finally {
    network.dispose();
  }
}

/**
 * A run's fitted LSTM/GRU network as a standard ONNX model for ONNX Runtime, Triton or KServe: the input in
 * original units [batch, window, features] is scaled with the run's scaler inside the graph, and the graph
 * returns the forecast in original units and on the scaled scale. The metadata carries everything a caller
 * needs to build the input: features, window, targets, the scaler, config_hash and run_id.
 */
export async function exportRun(store: ObjectStore, settings: Settings, runId: string, format: ExportFormat = 'onnx'): Promise<RunExport> {
  if (!EXPORT_FORMATS.includes(format)) throw new FltsError('FLTS_USAGE_INVALID_FLAG', `Unknown export format ${JSON.stringify(format)} (known: ${EXPORT_FORMATS.join(', ')}).`);
  const record = await readRunRecord(store, settings, runId);
  if (!ONNX_EXPORT_TYPES.has(record.model_type)) {
    throw new FltsError('FLTS_EXPORT_UNSUPPORTED', `Run ${runId} is a ${record.model_type} model; only LSTM and GRU runs export to ONNX.`, { details: { runId, modelType: record.model_type } });
  }
  if (record.status !== 'SUCCESS') {
    throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${runId} has status ${record.status}; only SUCCESS runs have a model to export.`, { details: { runId, status: record.status } });
  }
  verifyRunRecordSeal(settings, record);
  const verified = verifiedRunStore(store, settings, record);
  const scaler = await readRunScalerOf(verified, settings, record);
  const weights = (await readRunNetworkWeights(verified, settings, record)) ?? (await networkWeights(verified, settings, record));
  if (!weights) throw new FltsError('FLTS_EXPORT_UNSUPPORTED', `Run ${runId}'s network is not stacked LSTM/GRU layers with one linear dense layer.`, { details: { runId } });
  const window = record.window;
  const features = columnAffine(scaler, window.features);
  const targets = columnAffine(scaler, window.targets);
  const metadata: Record<string, string> = {
    run_id: record.run_id,
    model_type: record.model_type,
    config_hash: record.config_hash,
    features: JSON.stringify(window.features),
    targets: JSON.stringify(window.targets),
    window: JSON.stringify({ input_seq_len: window.inputSeqLen, output_seq_len: window.outputSeqLen }),
    // Informational: the graph already maps its inputs and outputs for this form.
    target_form: window.targetForm ?? 'level',
    ...(window.targetForm === 'change' ? { change_weight: String(changeWeightOf(window)) } : {}),
    ...(window.targetFloors ? { target_floors: JSON.stringify(window.targetFloors) } : {}),
    scaler: JSON.stringify(scaler),
    inputs: `${ONNX_NAMES.input}: [batch, ${window.inputSeqLen}, ${window.features.length}] float32, the features in original units (time features as flts computes them)`,
    outputs: `${ONNX_NAMES.forecast}: [batch, ${window.outputSeqLen}, ${window.targets.length}] original units; ${ONNX_NAMES.scaledForecast}: the same on the scaled scale`,
    flts_version: record.flts_version,
  };
  const model = buildRecurrentGraph(weights, window, {
    scaling: { featureOffset: features.offset, featureScale: features.scale, targetOffset: targets.offset, targetScale: targets.scale },
    targetForm: window.targetForm ?? 'level',
    ...(window.targetFloors ? { targetFloors: window.targetFloors } : {}),
    metadata,
    producerVersion: record.flts_version,
    docString: `flts ${record.model_type} run ${record.run_id} (config_hash ${record.config_hash})`,
  });
  return {
    runId: record.run_id,
    modelType: record.model_type,
    format,
    bytes: encodeOnnxModel(model),
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    inputs: model.graph.input.map((input) => input.name),
    outputs: model.graph.output.map((output) => output.name),
    metadata,
  };
}
