import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunExport } from './export-run.js';
import { MLFLOW_MODEL_ENV, mlflowModelDirectory, toYaml } from './mlflow-model.js';
import { fakeRun } from './run-record.fixture.js';

const exported = { bytes: new Uint8Array([8, 1, 2, 3]) } as RunExport;
const text = (files: ReturnType<typeof mlflowModelDirectory>['files'], name: string): string => new TextDecoder().decode(files.find((file) => file.path === name)!.body);

describe('core > registry > mlflowModelDirectory', () => {
  afterEach(() => vi.useRealTimers());

  it('writes the same bytes for the same run whenever it is written, so a mirror written again uploads nothing new', () => {
    const run = { ...fakeRun('r1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'), timings: { started_at: '2026-12-01T00:00:00.000Z', finished_at: '2026-12-01T00:01:02.345Z' } };
    vi.useFakeTimers({ now: Date.parse('2026-12-02T00:00:00Z') });
    const first = mlflowModelDirectory(run, exported, 'm1');
    vi.setSystemTime(Date.parse('2027-03-04T05:06:07Z'));
    expect(mlflowModelDirectory(run, exported, 'm1')).toEqual(first);
    expect(text(first.files, 'MLmodel')).toContain("utc_time_created: \"2026-12-01 00:01:02.345000\"\n");
    expect(mlflowModelDirectory({ ...run, run_id: 'r2' }, exported, 'm1').historyEntry.model_uuid).not.toBe(first.historyEntry.model_uuid);
  });

  it('lays the environment files out as mlflow.onnx.save_model does', () => {
    const { files } = mlflowModelDirectory(fakeRun('r1', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'), exported, 'm1');
    expect(files.map((file) => file.path)).toEqual(['MLmodel', 'model.onnx', 'conda.yaml', 'python_env.yaml', 'requirements.txt']);
    expect(text(files, 'requirements.txt')).toBe(`mlflow==${MLFLOW_MODEL_ENV.mlflow}\nonnx==${MLFLOW_MODEL_ENV.onnx}\nonnxruntime==${MLFLOW_MODEL_ENV.onnxruntime}`);
    expect(text(files, 'python_env.yaml')).toBe(`python: ${MLFLOW_MODEL_ENV.python}\nbuild_dependencies:\n- pip==${MLFLOW_MODEL_ENV.pip}\n- setuptools==${MLFLOW_MODEL_ENV.setuptools}\n- wheel\ndependencies:\n- "-r requirements.txt"\n`);
    expect(text(files, 'conda.yaml')).toBe(
      `channels:\n- conda-forge\ndependencies:\n- python=${MLFLOW_MODEL_ENV.python}\n- pip<=${MLFLOW_MODEL_ENV.pip}\n- pip:\n  - mlflow==${MLFLOW_MODEL_ENV.mlflow}\n  - onnx==${MLFLOW_MODEL_ENV.onnx}\n  - onnxruntime==${MLFLOW_MODEL_ENV.onnxruntime}\nname: mlflow-env\n`,
    );
  });
});

describe('core > registry > toYaml', () => {
  it('quotes what a YAML reader would take for another type or for structure, and leaves names and versions plain', () => {
    expect(toYaml({ b: ['yes', 'null', '1.5', '3', '-r x', 'a: b', 'x#y', ''], a: { c: null, d: false, e: 2 }, f: '1.23.2', g: 'mlflow.onnx', h: [] })).toBe(
      'a:\n  c: null\n  d: false\n  e: 2\nb:\n- "yes"\n- "null"\n- "1.5"\n- "3"\n- "-r x"\n- "a: b"\n- "x#y"\n- ""\nf: 1.23.2\ng: mlflow.onnx\nh: []\n',
    );
  });
});
