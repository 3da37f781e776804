import * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import { weightsManifestProblem } from '../models/recurrent-weights.js';
import { artifactFormatProblem } from './artifact-format.js';
import { MAX_RUN_JSON_BYTES } from './run-store.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
/** What tfjs writes as a LayersModel's `format`; a model.json naming another (a graph model) is no network of a run. */
const LAYERS_MODEL_FORMAT = 'layers-model';

/**
 * A tf.io handler that saves and loads the standard tfjs layers format (model.json + one weights file)
 * through the ObjectStore, so models live in the run on the filesystem store and on S3 alike.
 */
export function objectStoreIOHandler(store: ObjectStore, bucket: string, prefix: string): tf.io.IOHandler {
  const key = (name: string): string => `${prefix}/${name}`;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new FltsError('FLTS_INTERNAL', 'Binary model topologies are not supported.');
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      // Weights first: a model.json is only ever visible next to its complete weights.
      await store.put(bucket, key(WEIGHTS_BIN), new Uint8Array(weights), { contentType: 'application/octet-stream' });
      await store.put(bucket, key(MODEL_JSON), JSON.stringify(modelJson), { contentType: 'application/json' });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const modelJson = await getJsonIfExists<tf.io.ModelJSON>(store, bucket, key(MODEL_JSON), { maxBytes: MAX_RUN_JSON_BYTES });
      if (!modelJson) throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `No model at ${bucket}/${key(MODEL_JSON)}.`, { details: { bucket, key: key(MODEL_JSON) } });
      // Refused before tfjs reads it: its loaders are the caller's to turn into a damaged-run error.
      const problem = artifactFormatProblem(modelJson, LAYERS_MODEL_FORMAT) ?? weightsManifestProblem((modelJson as Partial<tf.io.ModelJSON> | null)?.weightsManifest);
      if (problem) throw new Error(`model.json ${problem}`);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const buffers = await Promise.all(
          manifest.flatMap((group) => group.paths).map(async (path) => {
            const name = path.replace(/^\.\//, '');
            if (!(await store.exists(bucket, key(name)))) {
              throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Model weights ${bucket}/${key(name)} are missing.`, { details: { bucket, key: key(name) } });
            }
            const bytes = await store.get(bucket, key(name));
            return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
          }),
        );
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}
