import { createHash } from 'node:crypto';
import type { RunExport } from './export-run.js';
import type { RunRecord } from './run-record.js';
import { ONNX_NAMES } from '../models/onnx/recurrent-graph.js';

/** Where in a mirror's artifacts the MLflow model of its run is logged (`runs:/<id>/model`). */
export const MLFLOW_MODEL_ARTIFACT_PATH = 'model';

/**
 * Tags of a mirror and of a registered version saying whether the run has an MLflow model: `flts.mlflow_model` is
 * `onnx` (logged at MLFLOW_MODEL_ARTIFACT_PATH) or `none`, and `flts.mlflow_model_reason` says why not.
 */
export const MLFLOW_MODEL_TAGS = { model: 'flts.mlflow_model', reason: 'flts.mlflow_model_reason' } as const;

/**
 * The environment the model directory declares, as `mlflow.onnx.save_model` writes it from the interpreter that saves
 * it. flts saves from no Python, so it names the one the format was checked in: the client venv of
 * scripts/mlflow-client/install.sh, whose `mlflow.pyfunc.load_model` the integration test runs (and checks that its
 * versions are these, so that the two move together).
 */
export const MLFLOW_MODEL_ENV = {
  mlflow: '3.17.2',
  onnx: '1.23.2',
  onnxruntime: '1.32.0',
  python: '3.11.7',
  pip: '23.2.1',
  setuptools: '65.5.0',
} as const;

/** mlflow.onnx's default providers, GPU first; onnxruntime skips one its build lacks. */
const ONNX_PROVIDERS = ['CUDAExecutionProvider', 'CPUExecutionProvider'];

export interface MlflowModelDirectory {
  /** Paths inside the model directory -> contents. */
  files: Array<{ path: string; body: Uint8Array }>;
  /** The run's `mlflow.log-model.history` entry, as MLflow's own log_model records it (the UI lists the run's models by it). */
  historyEntry: Record<string, unknown>;
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

const RESERVED = /^(?:true|false|yes|no|on|off|null|y|n|~)$/i;

/** A string as a YAML scalar: plain where no YAML reader could take it for anything else, double-quoted otherwise. */
function scalar(value: string): string {
  const plain = (/^[A-Za-z_][\w.\/=<>-]*$/.test(value) && !RESERVED.test(value)) || /^\d+(?:\.\d+){2,}$/.test(value);
  // JSON's double-quoted strings are YAML's: the same escapes, \u for the rest.
  return plain ? value : JSON.stringify(value);
}

/** Block YAML with sorted keys, as PyYAML's safe_dump writes MLflow's files (sequences in mappings not indented). */
export function toYaml(value: Yaml, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object') {
          const nested = toYaml(item, `${indent}  `);
          return `${indent}- ${nested.slice(indent.length + 2)}`;
        }
        return `${indent}- ${inline(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return `${indent}{}\n`;
    return keys
      .map((key) => {
        const item = value[key];
        if (Array.isArray(item) && item.length > 0) return `${indent}${scalar(key)}:\n${toYaml(item, indent)}`;
        if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) return `${indent}${scalar(key)}:\n${toYaml(item, `${indent}  `)}`;
        return `${indent}${scalar(key)}: ${inline(item)}\n`;
      })
      .join('');
  }
  return `${indent}${inline(value)}\n`;
}

function inline(value: Yaml): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'string') return scalar(value);
  return Array.isArray(value) ? '[]' : '{}';
}

/** Python's str() of a naive UTC datetime, which MLflow writes as utc_time_created. */
function pythonUtcTime(iso: string | undefined): string {
  const time = new Date(iso ?? 0);
  const [date, clock] = time.toISOString().replace('Z', '').split('T');
  const [whole, millis] = clock.split('.');
  return millis === '000' ? `${date} ${whole}` : `${date} ${whole}.${millis}000`;
}

const tensor = (name: string, shape: number[]) => ({ name, type: 'tensor', 'tensor-spec': { dtype: 'float32', shape } });

/**
 * The MLflow model directory of a run's ONNX export, as `mlflow.onnx.save_model` lays it out: `MLmodel` with the `onnx`
 * flavour and a `python_function` one whose loader is mlflow.onnx, `model.onnx` (the bytes `flts export` writes, one
 * file: onnxruntime reads it as it is), and the environment files. The tensor signature lets pyfunc check a window's
 * shape and dtype before the graph sees it. Every field is a function of the run, not of the moment it is written
 * (model_uuid from the run id, the creation time the run's end), so a mirror written again uploads the same bytes.
 */
export function mlflowModelDirectory(record: RunRecord, exported: RunExport, mlflowRunId: string, logged?: { modelId: string; artifactUri: string }): MlflowModelDirectory {
  const { window } = record;
  const signature = {
    inputs: JSON.stringify([tensor(ONNX_NAMES.input, [-1, window.inputSeqLen, window.features.length])]),
    outputs: JSON.stringify([tensor(ONNX_NAMES.forecast, [-1, window.outputSeqLen, window.targets.length]), tensor(ONNX_NAMES.scaledForecast, [-1, window.outputSeqLen, window.targets.length])]),
    params: null,
  };
  const flavors = {
    onnx: { code: null, data: 'model.onnx', onnx_session_options: null, onnx_version: MLFLOW_MODEL_ENV.onnx, providers: ONNX_PROVIDERS },
    python_function: {
      data: 'model.onnx',
      env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
      loader_module: 'mlflow.onnx',
      python_version: MLFLOW_MODEL_ENV.python,
    },
  };
  // A logged model's copy names it as MLflow 3's log_model does: its artifact location and its id, for uuid too.
  const common = {
    artifact_path: logged?.artifactUri ?? MLFLOW_MODEL_ARTIFACT_PATH,
    run_id: mlflowRunId,
    model_uuid: logged?.modelId ?? createHash('sha256').update(`flts mlflow model ${record.run_id}`).digest('hex').slice(0, 32),
    utc_time_created: pythonUtcTime(record.timings.finished_at ?? record.timings.started_at),
  };
  const mlmodel = {
    ...common,
    flavors,
    is_signature_from_type_hint: false,
    // What a caller needs to build the window, as the ONNX graph's own metadata says it.
    metadata: {
      flts_run_id: record.run_id,
      model_type: record.model_type,
      config_hash: record.config_hash,
      features: [...window.features],
      targets: [...window.targets],
      input_seq_len: window.inputSeqLen,
      output_seq_len: window.outputSeqLen,
    },
    mlflow_version: MLFLOW_MODEL_ENV.mlflow,
    model_id: logged?.modelId ?? null,
    model_size_bytes: exported.bytes.byteLength,
    prompts: null,
    signature,
    type_hint_from_example: false,
  };
  const requirements = [`mlflow==${MLFLOW_MODEL_ENV.mlflow}`, `onnx==${MLFLOW_MODEL_ENV.onnx}`, `onnxruntime==${MLFLOW_MODEL_ENV.onnxruntime}`];
  const conda = {
    channels: ['conda-forge'],
    dependencies: [`python=${MLFLOW_MODEL_ENV.python}`, `pip<=${MLFLOW_MODEL_ENV.pip}`, { pip: requirements }],
    name: 'mlflow-env',
  };
  // python_env.yaml keeps MLflow's key order (python first), which _PythonEnv.to_yaml writes unsorted.
  const pythonEnv = `python: ${MLFLOW_MODEL_ENV.python}\n${toYaml({ build_dependencies: [`pip==${MLFLOW_MODEL_ENV.pip}`, `setuptools==${MLFLOW_MODEL_ENV.setuptools}`, 'wheel'] })}${toYaml({ dependencies: ['-r requirements.txt'] })}`;
  const text = (body: string): Uint8Array => new TextEncoder().encode(body);
  return {
    files: [
      { path: 'MLmodel', body: text(toYaml(mlmodel)) },
      { path: 'model.onnx', body: exported.bytes },
      { path: 'conda.yaml', body: text(toYaml(conda)) },
      { path: 'python_env.yaml', body: text(pythonEnv) },
      { path: 'requirements.txt', body: text(requirements.join('\n')) },
    ],
    historyEntry: { ...common, flavors },
  };
}
