import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { refuseOutputInStore } from '../cli/output-over-input.js';
import { abortOnSignals } from '../cli/stop-signals.js';
import { checkConfigHashFlag } from '../cli/config-hash-flag.js';
import { createBacktestProgress, drawsBars } from '../cli/progress.js';
import { checkSvgFileFlag } from '../cli/svg-file-flag.js';
import { renderBacktestChart } from '../core/backtest/backtest-chart.js';
import { runBacktest, type RunBacktestResult } from '../core/backtest/run-backtest.js';
import { FltsError } from '../core/errors.js';
import { SCORE_WEIGHTS } from '../core/eval/scoreboard.js';
import { writeFileWhole } from '../core/write-file-whole.js';

/** The backtest, and the local SVG of --plot as predict names its own (`plot_files`). */
type BacktestCommandResult = RunBacktestResult & { plot_files?: string[] };

export default class Backtest extends FltsCommand<BacktestCommandResult> {
  static override summary = 'Rolling-origin backtest of every model type over the test period.';
  static override description =
    'Fold origins step through the processed test data (the last fold ends at its last row); each fold forecasts --horizon steps from the rows before its origin only. Every type but NAIVE (LSTM, GRU, PROPHET, SNAIVE, MSTL) uses its newest SUCCESS run of the config_hash and the configured targets (TARGETS or --targets, compared as a set: runs of other targets are left out, as promotion leaves them), refitted every --refit-every folds on the data before the origin when asked, or, without a run, a model fitted on the training rows; NAIVE is the persistence baseline. Metrics per fold and aggregated are stored in the runs bucket (backtests/<config_hash>/backtest.json and <run_id>/backtest.json) with an error-over-time SVG; `flts eval --rank-by backtest` ranks on them.';
  static override examples = ['<%= config.bin %> <%= command.id %> --horizon 12 --folds 10', '<%= config.bin %> <%= command.id %> --models NAIVE,PROPHET,LSTM --horizon 12 --folds 20 --refit-every 5 --plot backtest.svg --json'];

  static override flags = {
    'config-hash': Flags.string({ description: 'Processed data version (default: the latest).' }),
    models: Flags.string({ description: 'Comma list of model types (default: NAIVE plus every type with a SUCCESS run of the targets trained on the rows held now; env FLTS_BACKTEST_MODELS; --model, as train names it, is accepted too). Each type once.', aliases: ['model'] }),
    targets: Flags.string({ description: 'Target set to backtest, comma list: the runs of those targets, and models fitted without a run forecast them (env TARGETS, default down).' }),
    horizon: Flags.string({ description: 'Steps per fold (default 0 = the model horizon; env FLTS_BACKTEST_HORIZON).' }),
    stride: Flags.string({ description: 'Rows between fold origins (default 0 = the horizon; env FLTS_BACKTEST_STRIDE).' }),
    folds: Flags.string({ description: 'Number of folds (default 0 = as many as fit; env FLTS_BACKTEST_FOLDS).' }),
    'refit-every': Flags.string({ description: 'Refit every k folds (default 0 = use the trained models; env FLTS_BACKTEST_REFIT_EVERY).' }),
    // The same name and value as predict --plot; --plot-out, its first name, stays accepted for scripts that use it.
    plot: Flags.string({ description: 'Also write the error-over-time SVG to this local file (named .svg), as predict --plot does (--plot-out, its former name, is still accepted).', aliases: ['plot-out'] }),
  };

  async run(): Promise<BacktestCommandResult> {
    const { flags } = await this.parse(Backtest);
    checkConfigHashFlag(flags['config-hash']);
    const { settings } = this.loadSettings(flags, {
      'training.targets': flags.targets,
      'backtest.models': flags.models,
      'backtest.horizon': flags.horizon,
      'backtest.stride': flags.stride,
      'backtest.folds': flags.folds,
      'backtest.refitEvery': flags['refit-every'],
    });
    await checkSvgFileFlag(flags.plot, 'plot');
    await refuseOutputInStore({ flag: 'plot', file: flags.plot }, settings);
    const { store } = await this.dependencies(settings);
    // Ctrl-C ends a backtest (minutes of refits) with its coded error rather than the signal's silent exit.
    const abort = abortOnSignals();
    const progress = this.progress(settings, () => createBacktestProgress({ tty: drawsBars(process.stderr, process.env), say: (line) => this.say(line) }));
    const result = await runBacktest(settings, { store, signal: abort.signal, onEvent: progress.onEvent }, { configHash: flags['config-hash'] }).finally(() => {
      progress.stop();
      abort.release();
    });
    if (flags.plot) {
      const plot = flags.plot;
      // A stop while the plot, a named pipe, waits for its reader ends the wait with a coded stop: the signals were no
      // longer listened for, so Ctrl-C ended the command by the signal's silent exit (130), no --json document.
      const stop = abortOnSignals(['SIGINT', 'SIGTERM'], (signal) => plotStopped(signal, plot, result.objects.map((o) => `${result.store_location}/${o}`)));
      try {
        await writeFileWhole(plot, renderBacktestChart(result), { onWaitingForReader: this.waitingForReader(settings), signal: stop.signal });
      } finally {
        stop.release();
      }
    }
    this.say(`config_hash ${result.config_hash}, targets ${result.targets?.join(',')}: ${result.origins.length} folds, horizon ${result.horizon}, stride ${result.stride}, ${result.refit_every ? `refit every ${result.refit_every} folds` : 'no refit (the trained models)'}; rmse and score on the scaled data, ranked by score = ${SCORE_WEIGHTS.rmse} rmse + ${SCORE_WEIGHTS.mae} mae + ${SCORE_WEIGHTS.mse} mse of the fold means (lower is better)`);
    for (const row of result.ranking) {
      const aggregate = result.models.find((m) => m.model_type === row.model_type)?.aggregate;
      // The first target's pooled coverage, like the rmse beside it.
      const coverage = aggregate?.coverage?.[Object.keys(aggregate.targets)[0]] ?? {};
      // A model that forecast no number has no figures: a dash, not "NaN".
      const figure = (value: number, text: (v: number) => string): string => (Number.isFinite(value) ? text(value) : '-');
      const covered = Object.entries(coverage).map(([level, c]) => `  cover ${level} ${c.count > 0 ? figure(100 * c.coverage, (v) => `${v.toFixed(1)} %`) : '-'} of ${c.count}`).join('');
      this.say(`#${row.rank} ${row.model_type.padEnd(8)} ${row.run_id ?? '(no run)'}  rmse ${figure(row.rmse, (v) => v.toPrecision(5))}  score ${figure(row.score, (v) => v.toPrecision(5))}${covered}`);
    }
    this.say(`stored: ${result.objects.map((o) => `${result.store_location}/${o}`).join(', ')}`);
    if (!flags.plot) return result;
    this.say(`plot: ${flags.plot}`);
    return { ...result, plot_files: [flags.plot] };
  }
}

function plotStopped(signal: NodeJS.Signals, plot: string, stored: string[]): FltsError {
  return new FltsError('FLTS_BACKTEST_ABORTED', `Backtest was stopped by ${signal} while --plot ${plot} waited for its reader, after it stored the backtest: the plot was not written.`, {
    details: { signal, plot, stored },
    hint: `The backtest is stored (${stored.join(', ')}), and \`flts eval --rank-by backtest\` ranks on it; run the backtest again for its plot.`,
  });
}
