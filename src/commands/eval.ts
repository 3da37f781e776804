import { Flags, type Interfaces } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { checkConfigHashFlag } from '../cli/config-hash-flag.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { untilSignalled } from '../cli/stop-signals.js';
import type { Settings } from '../core/config/settings.js';
import { FltsError } from '../core/errors.js';
import { renderLiveRanking } from '../cli/live-ranking-lines.js';
import { renderMlflowScoreboard } from '../cli/mlflow-scoreboard-table.js';
import { renderScoreboard } from '../cli/scoreboard-table.js';
import { evaluateRuns, resolveEvalConfigHash, type EvaluateRunsResult } from '../core/eval/evaluate-runs.js';
import { evaluateRunsByBacktest } from '../core/backtest/backtest-ranking.js';
import { rankMlflowRunsByConfigHash, type MlflowScoreboard } from '../core/eval/rank-mlflow-runs.js';
import { rankRunsByLiveError, type LiveRanking } from '../core/live/live-ranking.js';

export type EvalResult = EvaluateRunsResult | MlflowScoreboard | LiveRanking;

export default class Eval extends FltsCommand<EvalResult> {
  static override summary = 'Rank every SUCCESS run of a config_hash on held-out test metrics.';
  static override description =
    'Score = 0.5*rmse + 0.3*mae + 0.2*mse on the scaled test metrics (lower is better, ties to the newest run), with the RMSE improvement over NAIVE and over the best baseline (NAIVE, SNAIVE or MSTL, whichever has the lowest test RMSE), and the optional quality gate on the latter (--min-improvement or QUALITY_GATE_MIN_IMPROVEMENT_PCT). Runs compete only with runs of the same targets: each target set has its own board, ranked against its own baselines, the configured TARGETS first (what promote --best and the daemon choose from).';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --config-hash <hash> --plot --json', '<%= config.bin %> <%= command.id %> --live'];

  static override flags = {
    'config-hash': Flags.string({ description: 'Processed data version (default: the latest); not with --live, which ranks runs of any.' }),
    plot: Flags.boolean({ description: 'Also draw plots, as predict --plot and backtest --plot do; being several per run, they are stored with each run rather than written to one local file: forecast-vs-actual (the whole test and its last day) and residual SVG plots of every target for the top runs of the test ranking (<run>/plots/, further targets in <run>/plots/<target>/); not with --rank-by backtest, --live or --source mlflow.', default: false }),
    'min-improvement': Flags.string({ description: 'Quality gate: minimum % RMSE improvement over the best baseline (NAIVE, SNAIVE or MSTL) (env QUALITY_GATE_MIN_IMPROVEMENT_PCT); not with --live or --source mlflow, which show no gate.' }),
    'rank-by': Flags.string({ description: 'test = the held-out test split; backtest = the mean fold metrics of `flts backtest`.', options: ['test', 'backtest'], default: 'test' }),
    live: Flags.boolean({ description: 'Rank runs by their live error on served traffic (the figures serving replicas of the scope, --identifier or IDENTIFIER, report), where they have it.', default: false }),
    identifier: identifierFlag,
    source: Flags.string({ description: 'local = the run registry; mlflow = MLflow runs with params.config_hash (MLFLOW_TRACKING_URI), including reference trainers\' runs, one board per target set their params.targets name (runs that log none, as reference trainers\' do, one board together).', options: ['local', 'mlflow'], default: 'local' }),
  };

  async run(): Promise<EvalResult> {
    const { flags } = await this.parse(Eval);
    checkConfigHashFlag(flags['config-hash']);
    refuseIgnoredFlags(flags);
    const { settings } = this.loadSettings(flags, { 'eval.minImprovementPct': flags['min-improvement'], identifier: flags.identifier });
    // Ctrl-C ends a wait on a store or an MLflow server that does not answer with a coded error.
    return untilSignalled(evalStopped, () => this.rankAndSay(flags, settings));
  }

  /** The ranking the flags ask for, said line by line. */
  private async rankAndSay(flags: Interfaces.InferredFlags<typeof Eval.flags>, settings: Settings): Promise<EvalResult> {
    const { store } = await this.dependencies(settings);
    if (flags.live) {
      const ranking = await rankRunsByLiveError(store, settings);
      for (const line of renderLiveRanking(ranking, settings.live)) this.say(line);
      return ranking;
    }
    if (flags.source === 'mlflow') {
      const board = await rankMlflowRunsByConfigHash(settings, await resolveEvalConfigHash(store, settings, flags['config-hash']), { store });
      for (const line of renderMlflowScoreboard(board)) this.say(line);
      if (board.runs_of_replaced_rows) this.say(`left out: ${board.runs_of_replaced_rows} finished MLflow run(s) trained on rows that new data under the same file names replaced`);
      return board;
    }
    const result =
      flags['rank-by'] === 'backtest'
        ? await evaluateRunsByBacktest({ configHash: flags['config-hash'] }, settings, { store })
        : await evaluateRuns({ configHash: flags['config-hash'], plot: flags.plot }, settings, { store });
    for (const line of renderScoreboard(result, flags['rank-by'] === 'backtest' ? 'backtest' : 'test')) this.say(line);
    for (const run of result.corrupt_runs) this.say(`left out: ${run.message}`);
    if (result.runs_of_replaced_rows) this.say(`left out: ${result.runs_of_replaced_rows} SUCCESS run(s) trained on rows that new data under the same file names replaced`);
    for (const plot of result.plots) this.say(`plots for ${plot.run_id}: ${plot.objects.map((o) => `${result.store_location}/${o}`).join(', ')}`);
    return result;
  }
}

/**
 * Refuses flags the chosen ranking would silently leave unused: a script asking for plots, or for a backtest
 * ranking of live or MLflow figures, is told rather than handed a scoreboard without them.
 */
function refuseIgnoredFlags(flags: { plot: boolean; live: boolean; source: string; 'rank-by': string; 'config-hash'?: string; 'min-improvement'?: string; identifier?: string }): void {
  // Runs and their test metrics belong to no deployment scope: only the live figures are kept per scope.
  if (!flags.live && flags.identifier !== undefined) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--identifier chooses the scope whose live figures --live ranks; runs and their test, backtest or MLflow figures belong to no scope, so the other rankings take none.', { details: { flag: 'identifier' } });
  if (flags.live && flags.source === 'mlflow') throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--live ranks the figures of serving replicas and takes no --source mlflow.', { details: { flag: 'source' } });
  // Live figures are kept per run, whatever data it was trained on: a config_hash does not choose among them.
  if (flags.live && flags['config-hash'] !== undefined) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--live ranks every run serving replicas report figures for, of any config_hash, and takes no --config-hash.', { details: { flag: 'config-hash' } });
  const ranking = flags.live ? '--live' : flags.source === 'mlflow' ? '--source mlflow' : undefined;
  if (ranking && flags['rank-by'] === 'backtest') throw new FltsError('FLTS_USAGE_INVALID_FLAG', `${ranking} ranks by its own figures and takes no --rank-by backtest.`, { details: { flag: 'rank-by' } });
  if (ranking && flags['min-improvement'] !== undefined) throw new FltsError('FLTS_USAGE_INVALID_FLAG', `${ranking} shows no quality gate and takes no --min-improvement: the gate is judged on the test (or backtest) scoreboard.`, { details: { flag: 'min-improvement' } });
  const unplotted = ranking ?? (flags['rank-by'] === 'backtest' ? '--rank-by backtest' : undefined);
  if (flags.plot && unplotted) throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--plot draws the held-out test predictions of the test scoreboard's top runs and has nothing to draw with ${unplotted}: run \`flts eval --plot\` for them.`, { details: { flag: 'plot' } });
}

function evalStopped(signal: NodeJS.Signals): FltsError {
  return new FltsError('FLTS_EVAL_ABORTED', `Eval was stopped by ${signal} before its ranking was ready.`, { details: { signal } });
}
