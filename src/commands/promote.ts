import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { FltsError } from '../core/errors.js';
import type { PromotionRecord } from '../core/registry/pointers.js';
import { listPromotionHistory } from '../core/registry/promotion-history.js';
import { promoteBest, promoteRun, rollbackPromotion, type PromoteResult } from '../core/workflows/promote.js';
import { createObjectStore } from '../core/storage/index.js';
import { trackPromotion } from '../core/workflows/sync-runs-to-tracking.js';

export type PromoteCommandResult = PromoteResult | { history: PromotionRecord[] };

export default class Promote extends FltsCommand<PromoteCommandResult> {
  static override summary = 'Make a run the serving model (promotion history + current.json pointers).';
  static override description =
    'Writes model-promotion/<identifier|global>/<config_hash>/promotion-<timestamp>.json, then <identifier|global>/current.json and current.json. --best promotes the scoreboard winner, --rollback returns to the previously promoted run, --history lists promotions.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --best',
    '<%= config.bin %> <%= command.id %> --run <run_id> --reason "hotfix"',
    '<%= config.bin %> <%= command.id %> --rollback',
    '<%= config.bin %> <%= command.id %> --history --json',
  ];

  static override flags = {
    run: Flags.string({ description: 'Run id to promote.', exclusive: ['best', 'rollback', 'history'] }),
    best: Flags.boolean({ description: 'Promote the scoreboard winner.', default: false, exclusive: ['run', 'rollback', 'history'] }),
    rollback: Flags.boolean({ description: 'Restore the previously promoted run.', default: false, exclusive: ['run', 'best', 'history'] }),
    history: Flags.boolean({ description: 'List the promotion history of this identifier.', default: false, exclusive: ['run', 'best', 'rollback'] }),
    'config-hash': Flags.string({ description: 'With --best: processed data version (default: the latest).' }),
    force: Flags.boolean({ description: 'Promote even if the quality gate fails.', default: false }),
    reason: Flags.string({ description: 'Why; stored in the promotion record.' }),
    identifier: Flags.string({ description: 'Deployment identifier scoping the pointer (env IDENTIFIER; default global).' }),
    'min-improvement': Flags.string({ description: 'Quality gate: minimum % RMSE improvement over NAIVE.' }),
  };

  async run(): Promise<PromoteCommandResult> {
    const { flags } = await this.parse(Promote);
    const { settings } = this.loadSettings(flags, { identifier: flags.identifier, 'eval.minImprovementPct': flags['min-improvement'] });
    const store = await createObjectStore(settings);
    if (flags.history) {
      const history = await listPromotionHistory(store, settings, settings.identifier || 'global');
      for (const r of history) this.say(`${r.timestamp}  ${(r.action ?? 'promote').padEnd(8)} ${r.model_type.padEnd(7)} ${r.run_id}  score ${r.score ?? '-'}  ${r.source ?? ''}  ${r.reason ?? ''}`);
      return { history };
    }
    const deps = { store };
    const options = { force: flags.force, reason: flags.reason };
    let result: PromoteResult;
    if (flags.run) result = await promoteRun(flags.run, settings, deps, options);
    else if (flags.best) result = await promoteBest(flags['config-hash'], settings, deps, options);
    else if (flags.rollback) result = await rollbackPromotion(settings, deps, options);
    else throw new FltsError('FLTS_USAGE_INVALID_FLAG', 'Pass one of --run <id>, --best, --rollback or --history.');
    const r = result.record;
    this.say(`promoted ${r.model_type} run ${r.run_id} (config_hash ${r.config_hash.slice(0, 12)}, score ${r.score}) — ${r.reason}`);
    this.say(`previous run: ${r.previous_run_id ?? 'none'}; history ${result.history_key}; pointers ${result.pointers.join(', ')}`);
    // Moves the MLflow alias (or tag) when MLFLOW_TRACKING_URI is set; never throws.
    const tracking = await trackPromotion(store, settings, r);
    if (tracking.status === 'unavailable') this.say(`mlflow: promotion not marked (${tracking.message}).`);
    return result;
  }
}
