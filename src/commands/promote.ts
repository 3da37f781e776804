import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class Promote extends FltsCommand<never> {
  static override summary = 'Promote a run to serving (--run, --best, --rollback). Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(Promote);
    return notImplemented('promote');
  }
}
