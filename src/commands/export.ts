import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { refuseOutputInStore } from '../cli/output-over-input.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { untilSignalled, type WritesAtStop } from '../cli/stop-signals.js';
import { FltsError, isFltsError } from '../core/errors.js';
import { EXPORT_FORMATS, exportRun } from '../core/registry/export-run.js';
import { formatByExtension } from '../core/file-format.js';
import { assertWritableFile, writeFileWhole } from '../core/write-file-whole.js';

export interface ExportCommandResult {
  run_id: string;
  model_type: string;
  format: string;
  path: string;
  bytes: number;
  ir_version: number;
  opset: number;
  inputs: string[];
  outputs: string[];
  metadata: Record<string, string>;
}

export default class Export extends FltsCommand<ExportCommandResult> {
  static override summary = 'Write a run\'s model in a standard format (ONNX) for ONNX Runtime, Triton or KServe.';
  static override description =
    'The LSTM/GRU network as an ONNX graph (ONNX LSTM/GRU operators, the dense head as Gemm, opset 17): input `input` [batch, window, features] in original units, scaled inside the graph with the run\'s scaler; outputs `forecast` [batch, horizon, targets] in original units and `forecast_scaled`. metadata_props carry features, targets, window, scaler, config_hash and run_id.';
  static override examples = ['<%= config.bin %> <%= command.id %> --run <run_id> --format onnx', '<%= config.bin %> <%= command.id %> --run <run_id> --out model.onnx --json'];

  static override flags = {
    run: Flags.string({ description: 'Run id to export.', required: true }),
    format: Flags.string({ description: 'Output format.', options: [...EXPORT_FORMATS], default: 'onnx' }),
    out: Flags.string({ description: 'Output file, named .onnx (default <run_id>.onnx in the current directory).' }),
  };

  async run(): Promise<ExportCommandResult> {
    const { flags } = await this.parse(Export);
    // As predict, serve and bench refuse theirs: `--run "$UNSET"` was "Run \"\" does not exist", a run looked up.
    refuseEmptyFlags({ run: flags.run });
    const { settings } = this.loadSettings(flags);
    const format = flags.format as (typeof EXPORT_FORMATS)[number];
    if (flags.out !== undefined) {
      formatByExtension(flags.out, { [`.${format}`]: format }, 'out');
      await assertWritableFile(flags.out);
      await refuseOutputInStore({ flag: 'out', file: flags.out }, settings);
    }
    // Named by the run's recorded id once read; a stop says which file it did or did not write.
    let file = flags.out ?? `${flags.run}.${format}`;
    const stopped = exportStopped(() => file);
    const exported = await untilSignalled(stopped, async (signal, uninterrupted) => {
      const { store } = await this.dependencies(settings);
      const run = await exportRun(store, settings, flags.run, format);
      file = flags.out ?? `${run.runId}.${run.format}`;
      // The default name lands in the working directory, which may be a folder of the store.
      if (flags.out === undefined) await refuseOutputInStore({ flag: 'out', file }, settings);
      await uninterrupted(() => writeFileWhole(file, run.bytes, { onWaitingForReader: this.waitingForReader(settings), signal: beforeAnyByte(signal, stopped) }));
      return run;
    });
    this.say(`exported ${exported.modelType} run ${exported.runId} to ${file} (${exported.bytes.length} bytes, ONNX IR ${exported.irVersion}, opset ${exported.opset})`);
    this.say(`inputs: ${exported.metadata.inputs}`);
    this.say(`outputs: ${exported.metadata.outputs}`);
    return {
      run_id: exported.runId,
      model_type: exported.modelType,
      format: exported.format,
      path: file,
      bytes: exported.bytes.length,
      ir_version: exported.irVersion,
      opset: exported.opset,
      inputs: exported.inputs,
      outputs: exported.outputs,
      metadata: exported.metadata,
    };
  }
}

/**
 * Aborted with the stop's error as a stop that finds nothing written says it: a stop while the output, a named pipe,
 * waits for its reader ends that wait at once (it waited out the minute, the write under way), and no byte was written.
 */
function beforeAnyByte(signal: AbortSignal, stopped: (signal: NodeJS.Signals, writes: WritesAtStop) => FltsError): AbortSignal {
  const waiting = new AbortController();
  signal.addEventListener(
    'abort',
    () => {
      // Aborted too once the work is over, by no signal.
      if (isFltsError(signal.reason)) waiting.abort(stopped(signal.reason.details?.signal as NodeJS.Signals, 'none'));
    },
    { once: true },
  );
  return waiting.signal;
}

function exportStopped(target: () => string): (signal: NodeJS.Signals, writes: WritesAtStop) => FltsError {
  return (signal, writes) => {
    const file = target();
    const state = { none: `before it wrote ${file}: no file was written`, writing: `while it wrote ${file}: it finished writing the file whole first`, written: `after it wrote ${file}` }[writes];
    return new FltsError('FLTS_EXPORT_ABORTED', `Export was stopped by ${signal} ${state}.`, { details: { signal, file, written: writes !== 'none' } });
  };
}
