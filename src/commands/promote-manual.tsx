import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { operatorName } from '../cli/operator.js';
import { checkConfigHashFlag } from '../cli/config-hash-flag.js';
import { ciVariable } from '../cli/ci-variable.js';
import { promoteStopped } from '../cli/promote-stopped.js';
import { untilSignalled, type Uninterrupted } from '../cli/stop-signals.js';
import { promotionResultLines } from '../cli/promotion-lines.js';
import { FltsError } from '../core/errors.js';
import { listPromotionCandidates, promoteManually, type ManualPromotionResult } from '../core/runbooks/index.js';

/** Why the screen does not open, in the operator's terms: a flag they passed, no terminal, or a CI job's variable. */
const interactiveBlocker = (yes: boolean, json: boolean, terminal: boolean, ci: string | undefined): string =>
  yes ? 'With --yes' : json ? 'With --json' : !terminal ? 'Without a terminal' : `With ${ci} set (a CI job, where the screen would stay blank)`;

export type PromoteManualResult = ManualPromotionResult | { cancelled: true };

export default class PromoteManual extends FltsCommand<PromoteManualResult> {
  static override summary = 'Promote a run by hand: pick it, see how it differs from the promoted run, give a reason, confirm.';
  static override description =
    'Interactive in a terminal (arrows or j/k, page up/down, home/end, enter; q or esc on the list leaves with exit code 130 and writes nothing; esc elsewhere steps back), starting on --run and --reason when given. Without a terminal, in a CI job (CI, CONTINUOUS_INTEGRATION or a CI_* variable set), or with --yes or --json, promotes --run directly with --reason, and refuses --config-hash and --limit, which only choose what the screen lists. Ctrl-C or SIGTERM, on the screen or not, ends with FLTS_PROMOTE_ABORTED (exit 5), as in `flts promote`: at once before the promotion is written, with nothing promoted; once it is written when it came meanwhile. Runs that are not SUCCESS or miss artifacts are refused; a failed quality gate is refused unless --force, which the promotion record keeps. Writes history and pointers with source "manual" and publishes model-selected when a bus is configured; the run the daemon promoted automatically and still in service is pinned against automatic promotion and automatic rollback instead, with no reload. A run promoted here goes through live probation like any promotion; a pinned one is never rolled back automatically. --pin pins the run promoted (or the run in service, whoever promoted it: "changed": true, "pinned": true, no reload; "changed": false when it is pinned already), so that automatic promotion of the same data and automatic rollback leave it; a later promotion or rollback by a person still replaces it, and so does automatic promotion of newer data once a SUCCESS run of that data finishes after the pin. Undo with `flts promote --rollback`; list with `flts promote --history`.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --config-hash <hash>',
    '<%= config.bin %> <%= command.id %> --yes --run <run_id> --reason "GRU regressed on weekends"',
    '<%= config.bin %> <%= command.id %> --yes --pin --run <run_id> --reason "keep it whatever its live figures"',
  ];

  static override flags = {
    'config-hash': Flags.string({ description: 'List the runs of this config_hash (default: the 50 most recent runs).' }),
    // No oclif default: one given where no list is shown is refused, not ignored.
    limit: Flags.integer({ description: 'Recent runs to list without --config-hash (default 50).', min: 1, exclusive: ['config-hash'] }),
    run: Flags.string({ description: 'Run id to promote (non-interactive); on a terminal, the run the list starts on.' }),
    reason: Flags.string({ description: 'Why; stored in the promotion record (non-interactive); on a terminal, the reason to start from.' }),
    yes: Flags.boolean({ description: 'Do not ask: promote --run with --reason.', default: false }),
    pin: Flags.boolean({ description: 'Pin the run promoted (or the run in service) against automatic promotion of the same data and automatic rollback.', default: false }),
    force: Flags.boolean({ description: 'Promote despite a failed quality gate or missing test data (recorded); never a run serving could not load.', default: false }),
    identifier: identifierFlag,
  };

  async run(): Promise<PromoteManualResult> {
    const { flags } = await this.parse(PromoteManual);
    checkConfigHashFlag(flags['config-hash']);
    const { settings } = this.loadSettings(flags, { identifier: flags.identifier });
    const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const ci = ciVariable();
    const interactive = !flags.yes && !this.jsonEnabled() && terminal && ci === undefined;
    const direct = interactive ? undefined : directRequest(flags, interactiveBlocker(flags.yes, this.jsonEnabled(), terminal, ci));
    const deps = await this.dependencies(settings);
    const operator = operatorName();
    const promote = (runId: string, reason: string, current?: string | null, uninterrupted?: Uninterrupted) => promoteManually({ runId, reason, force: flags.force, pin: flags.pin, operator, expectedCurrentRunId: current }, settings, { ...deps, uninterrupted, saysPublishFailure: this.reportSaysWarnings() });
    {
      let result: ManualPromotionResult;
      if (!direct) {
        const candidates = await listPromotionCandidates({ configHash: flags['config-hash'], limit: flags.limit ?? 50 }, settings, { store: deps.store });
        // ink and react (~200 modules) load only for the screen, not for --yes, --json or a flag error.
        const { runPromoteManualScreen } = await import('../cli/screens/run-promote-manual-screen.js');
        // NO_COLOR (no-color.org), set and not empty: no colours, which ink's chalk would not leave out for it.
        const outcome = await runPromoteManualScreen({ candidates, force: flags.force, pin: flags.pin, onPromote: promote, initialRunId: flags.run, initialReason: flags.reason, colors: !process.env.NO_COLOR });
        if (outcome.kind === 'cancelled') {
          process.exitCode = 130;
          return { cancelled: true };
        }
        if (outcome.kind === 'stopped') throw promoteStopped(outcome.signal, outcome.writes);
        if (outcome.kind === 'failed') throw outcome.error;
        result = outcome.result;
      } else {
        // As `flts promote`: a stop before the promotion is written promotes nothing, one while it is written waits for it.
        result = await untilSignalled(promoteStopped, (_signal, uninterrupted) => promote(direct.run, direct.reason, undefined, uninterrupted));
        for (const line of promotionResultLines(result, flags.pin)) this.say(line);
        return result;
      }
      // The promotion is said in the words of `flts promote` (previous run, a targets change, the damaged runs left out
      // of its gate, the pin, the probation), below the screen as plain lines, so the history key copies whole.
      for (const line of promotionResultLines(result, flags.pin)) this.say(line);
      return result;
    }
  }
}

/**
 * The run and reason of a promotion without the screen. --config-hash and --limit choose what the screen lists, so
 * without it they are refused rather than ignored: --run alone names the run.
 */
function directRequest(flags: { run?: string; reason?: string; 'config-hash'?: string; limit?: number }, blocker: string): { run: string; reason: string } {
  if (!flags.run || !flags.reason) {
    // Naming only what is missing: told to pass --run beside the --run given, a script's author looks for a typo in it.
    const missing = [...(flags.run ? [] : ['--run <run_id>']), ...(flags.reason ? [] : ['--reason "..."'])];
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `${blocker} there is no screen to pick on: pass ${missing.join(' and ')}.`, { details: { flags: missing.map((flag) => flag.split(' ')[0]) } });
  }
  const listing = (['config-hash', 'limit'] as const).filter((name) => flags[name] !== undefined).map((name) => `--${name}`);
  if (listing.length > 0) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `${blocker} there is no list of runs for ${listing.join(' and ')} to choose from: --run names the run to promote; leave ${listing.length > 1 ? 'them' : 'it'} out.`, { details: { flags: listing } });
  }
  return { run: flags.run, reason: flags.reason };
}
