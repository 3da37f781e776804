import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { operatorName } from '../cli/operator.js';
import { checkConfigHashFlag } from '../cli/config-hash-flag.js';
import { promoteStopped } from '../cli/promote-stopped.js';
import { untilSignalled } from '../cli/stop-signals.js';
import { promotionResultLines, scoreText } from '../cli/promotion-lines.js';
import { singleLine } from '../core/clip-text.js';
import { FltsError } from '../core/errors.js';
import type { PromotionRecord } from '../core/registry/pointers.js';
import { listPromotionHistory } from '../core/registry/promotion-history.js';
import { promote, promoteBest, rollback, type PromotionResult } from '../core/workflows/promote.js';

export type PromoteCommandResult = PromotionResult | { history: PromotionRecord[] };

export default class Promote extends FltsCommand<PromoteCommandResult> {
  static override summary = 'Make a run the serving model (promotion history + current.json pointers).';
  static override description =
    'Checks the run (status, artifacts, quality gate, finite forecasts on its test windows), writes model-promotion/<identifier|global>/<config_hash>/promotion-<timestamp>.json, then <identifier>/current.json (or global/current.json and current.json without an identifier), publishes model-selected when a bus is configured and marks the run in MLflow when tracking is configured. --best promotes the scoreboard winner among the runs of the configured targets (TARGETS; a run of other targets is promoted with --run, and the result then says targets_changed), --rollback returns to the previously promoted run, --history lists promotions. A promotion made here stands until newer data is promoted automatically, someone promotes again, or its live probation rolls it back. Promoting the run already in service changes nothing (exit 0, "changed": false), except when the daemon promoted it: then it is pinned against automatic promotion of the same data and automatic rollback (a history record with action "pin"; "changed": true, "pinned": true), with no reload of replicas. --pin pins any run promoted with --run or --best the same way (its promotion record says "pinned": true), and the run in service whoever promoted it ("changed": true, "pinned": true, no reload; "changed": false when it is pinned already); a later promotion or --rollback by a person still replaces a pinned run, and so does automatic promotion of newer data once a SUCCESS run of that data finishes after the pin. "changed" says whether the call wrote a record or moved the pointers, "pinned" whether the run in service stands pinned. Ctrl-C or SIGTERM ends it with FLTS_PROMOTE_ABORTED (exit 5): before it writes to the promotion history, with nothing promoted; during that write (the record, then the pointers), once the write is done, so that the history and the pointers agree.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --best',
    '<%= config.bin %> <%= command.id %> --run <run_id> --reason "hotfix"',
    '<%= config.bin %> <%= command.id %> --run <run_id> --pin --reason "keep it whatever its live figures"',
    '<%= config.bin %> <%= command.id %> --rollback',
    '<%= config.bin %> <%= command.id %> --history --json',
  ];

  // oclif's generated usage line renders these overlapping exclusive flags as '[... | ] [--pin |  | ]': one line per action reads.
  static override usage = [
    FltsCommand.usageWithGlobalFlags('<%= command.id %> --run <value> [--pin] [--reason <value>] [--force] [--min-improvement <value>] [--identifier <value>] [--json]'),
    FltsCommand.usageWithGlobalFlags('<%= command.id %> --best [--config-hash <value>] [--pin] [--reason <value>] [--force] [--min-improvement <value>] [--identifier <value>] [--json]'),
    FltsCommand.usageWithGlobalFlags('<%= command.id %> --rollback [--reason <value>] [--force] [--identifier <value>] [--json]'),
    FltsCommand.usageWithGlobalFlags('<%= command.id %> --history [--identifier <value>] [--json]'),
  ];

  static override flags = {
    run: Flags.string({ description: 'Run id to promote.', exclusive: ['best', 'rollback', 'history'] }),
    best: Flags.boolean({ description: 'Promote the scoreboard winner among the runs of the configured targets (env TARGETS).', default: false, exclusive: ['run', 'rollback', 'history'] }),
    rollback: Flags.boolean({ description: 'Restore the previously promoted run.', default: false, exclusive: ['run', 'best', 'history'] }),
    history: Flags.boolean({ description: 'List the promotion history of this identifier.', default: false, exclusive: ['run', 'best', 'rollback'] }),
    'config-hash': Flags.string({ description: 'With --best: processed data version (default: the latest).', exclusive: ['run', 'rollback', 'history'] }),
    pin: Flags.boolean({ description: 'With --run or --best: pin the run against automatic promotion of the same data and automatic rollback (also the run already in service).', default: false, exclusive: ['rollback', 'history'] }),
    force: Flags.boolean({ description: 'Promote even if the quality gate fails or the run\'s processed test data is gone (recorded); never a run serving could not load.', default: false, exclusive: ['history'] }),
    // --history writes nothing: a reason or --force given with it would be dropped without a word.
    reason: Flags.string({ description: 'Why; stored in the promotion record.', exclusive: ['history'] }),
    identifier: identifierFlag,
    'min-improvement': Flags.string({ description: 'Quality gate: minimum % RMSE improvement over the best baseline (NAIVE, SNAIVE or MSTL) (env QUALITY_GATE_MIN_IMPROVEMENT_PCT); with --run or --best, a rollback is not gated.', exclusive: ['rollback', 'history'] }),
  };

  async run(): Promise<PromoteCommandResult> {
    const { flags } = await this.parse(Promote);
    checkConfigHashFlag(flags['config-hash']);
    const { settings } = this.loadSettings(flags, { identifier: flags.identifier, 'eval.minImprovementPct': flags['min-improvement'] });
    if (!flags.history && !flags.run && !flags.best && !flags.rollback) throw new FltsError('FLTS_USAGE_INVALID_FLAG', 'Pass one of --run <id>, --best, --rollback or --history.');
    const actor = operatorName();
    // Ctrl-C before the promotion is written ends it with nothing promoted; one while it is written waits for it.
    const outcome = await untilSignalled(promoteStopped, async (_signal, uninterrupted): Promise<PromoteCommandResult> => {
      const deps = { ...(await this.dependencies(settings)), uninterrupted, saysPublishFailure: this.reportSaysWarnings() };
      if (flags.history) return { history: await listPromotionHistory(deps.store, settings, settings.identifier || 'global') };
      if (flags.run) return promote({ runId: flags.run, source: 'manual', actor, reason: flags.reason ?? `run ${flags.run} promoted by request`, force: flags.force, pin: flags.pin }, settings, deps);
      if (flags.best) return promoteBest({ configHash: flags['config-hash'], source: 'best', actor, reason: flags.reason, force: flags.force, pin: flags.pin }, settings, deps);
      return rollback({ source: 'rollback', actor, reason: flags.reason, force: flags.force }, settings, deps);
    });
    if ('history' in outcome) {
      const { history } = outcome;
      if (history.length === 0) this.say(`No promotions in scope ${settings.identifier || 'global'} yet (\`flts promote --best\` or --run <id> makes one).`);
      for (const r of history) {
        // Records other writers left may hold line breaks or terminal escapes: each prints as one line of text.
        this.say(singleLine(`${r.timestamp}  ${`${r.action ?? 'promote'}${r.pinned === true ? '+pin' : ''}`.padEnd(11)} ${r.model_type.padEnd(7)} ${r.run_id}  config_hash ${r.config_hash.slice(0, 12)}  score ${scoreText(r.score)}  ${r.source ?? ''}${r.actor ? ` by ${r.actor}` : ''}  ${r.reason ?? ''}`));
      }
      return outcome;
    }
    const result: PromotionResult = outcome;
    for (const line of promotionResultLines(result, flags.pin)) this.say(line);
    return result;
  }
}
