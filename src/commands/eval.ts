import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class Eval extends FltsCommand<never> {
  static override summary = 'Rank every run of a config_hash on held-out metrics. Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(Eval);
    return notImplemented('eval');
  }
}
