import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { inferenceDataRefOf, type InputScale } from '../core/batch/inference-input.js';
import { forecastFileFormat } from '../core/batch/forecast-table.js';
import { runBatchInference, type BatchInferenceResult } from '../core/batch/run-batch-inference.js';
import { localFileOf, refuseOutputOverInput, refuseOutputInStore } from '../cli/output-over-input.js';
import { checkSvgFileFlag } from '../cli/svg-file-flag.js';
import { createPredictProgress, drawsBars } from '../cli/progress.js';
import { untilSignalled } from '../cli/stop-signals.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { FltsError } from '../core/errors.js';
import { assertWritableFile } from '../core/write-file-whole.js';

export default class Predict extends FltsCommand<BatchInferenceResult> {
  static override summary = 'Batch inference: forecast every window of a dataset with the promoted (or a pinned) run.';
  static override description =
    'Forecasts from every input window of the data (a local CSV/Parquet file, or <bucket>/<key> in the store), in original units, exactly as POST /predict would for the same rows: raw data is not imputed, so every value the model reads must be present (the processed test data, which preprocess imputed, can be forecast instead). Stores the forecasts next to the actuals with the run, writes one JSONL result record to inference-logs/<identifier|default>/<YYYYMMDD>/ and, with a bus configured, announces it on performance-eval. A result already recorded for the same run and predictions is reported as a duplicate.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --data processed-data/test_processed_data.parquet --out forecasts.csv',
    '<%= config.bin %> <%= command.id %> --data /path/to/PobleSec_test.csv --run <run_id> --json',
    '<%= config.bin %> <%= command.id %> --data processed-data/test_processed_data.parquet --plot forecast.svg',
  ];

  static override flags = {
    data: Flags.string({ description: 'Data to forecast over: a local file, or <bucket>/<key> in the store.', required: true }),
    run: Flags.string({ description: 'Use this run instead of the promoted one.' }),
    out: Flags.string({ description: 'Also write the forecast table here; the extension decides the format: .parquet (or .pq), .csv, .json (an array of rows) or .jsonl (a row a line).' }),
    plot: Flags.string({ description: 'Also plot the forecast to this local SVG file (named .svg): the data\'s last rows, the latest forecast of each time (one step ahead over the data, then the last window\'s horizon) and its interval bands, titled with the run and config_hash; a further target\'s plot goes beside it as <name>.<target>.svg.' }),
    scale: Flags.string({ description: 'scaled = processed data; raw = original units like a /predict request; auto = scaled when the data carries the run\'s time-feature columns or comes from the processed-data bucket, else raw.', options: ['auto', 'scaled', 'raw'], default: 'auto' }),
    identifier: identifierFlag,
  };

  async run(): Promise<BatchInferenceResult> {
    const { flags } = await this.parse(Predict);
    // Read as absent, `--run ""` forecast with the promoted run without a word.
    refuseEmptyFlags({ data: flags.data, run: flags.run });
    const { settings } = this.loadSettings(flags, { identifier: flags.identifier });
    // Before the forecast is made and logged: a path it cannot write (a directory, a missing folder, a name too long)
    // was found only once the whole data had been read and forecast, and that work thrown away.
    if (flags.out !== undefined) {
      forecastFileFormat(flags.out);
      await assertWritableFile(flags.out);
    }
    const data = inferenceDataRefOf(flags.data);
    await refuseOutputOverInput({ flag: 'out', file: flags.out }, { flag: 'data', file: localFileOf(data, settings) });
    await checkSvgFileFlag(flags.plot, 'plot');
    for (const [flag, file] of [['out', flags.out], ['plot', flags.plot]] as const) await refuseOutputInStore({ flag, file }, settings);
    // Ctrl-C ends a forecast of a long file, or a wait on a store that does not answer, with a coded error.
    const progress = this.progress(settings, () => createPredictProgress({ tty: drawsBars(process.stderr, process.env), say: (line) => this.say(line) }));
    const result = await untilSignalled(predictStopped, async (signal) => {
      const { store, bus, logger } = await this.dependencies(settings);
      // The data's warnings are said by the report below, not logged as well; the log (stderr) keeps the run's own lines.
      return runBatchInference(settings, { store, bus, logger, signal, saysDataWarnings: true, onWaitingForReader: this.waitingForReader(settings), onEvent: progress.onEvent }, { data, runId: flags.run, outFile: flags.out, plotFile: flags.plot, scale: flags.scale as InputScale });
    })
      .catch((error: unknown) => {
        throw noPromotion(error);
      })
      .finally(() => progress.stop());
    this.say(`${result.status === 'duplicate' ? 'Duplicate of an earlier result' : 'Forecast'}: ${result.rows_predicted} rows from ${result.windows} windows, run ${result.run_id} (${result.model_type})`);
    if (result.metrics.rmse !== undefined) this.say(`vs actuals (${result.metrics.overlap_rows} rows, original units): rmse ${result.metrics.rmse.toPrecision(5)}, mae ${result.metrics.mae_mean?.toPrecision(5)}`);
    this.say(`record: ${result.log_bucket}/${result.log_object_key}; forecasts: ${result.forecast_bucket}/${result.forecast_key}${result.out_file ? ` and ${result.out_file}` : ''}`);
    if (result.plot_files) this.say(`plot: ${result.plot_files.join(', ')}`);
    // As preprocess and promote name the notices they publish: a text reader would otherwise not know one went out.
    if (result.published) this.say(`published ${settings.bus.topics.performanceEval}: the result record is announced`);
    for (const warning of result.warnings) this.say(`warning: ${warning.message}`);
    return result;
  }
}

/**
 * FLTS_SERVE_NO_MODEL is a wait for a server or the daemon's batch role (a promotion may come any moment: 503, retried),
 * but this command ends: it said "retriable" with exit 6, and running it again finds nothing promoted all the same.
 */
function noPromotion(error: unknown): unknown {
  if (!(error instanceof FltsError) || error.code !== 'FLTS_SERVE_NO_MODEL') return error;
  return new FltsError('FLTS_PREDICT_NO_PROMOTION', `No promoted model: promote one with flts promote --run <id> or --best. ${error.message}`, { details: error.details, cause: error });
}

function predictStopped(signal: NodeJS.Signals): FltsError {
  return new FltsError('FLTS_PREDICT_ABORTED', `Predict was stopped by ${signal} before it ended.`, { details: { signal } });
}
