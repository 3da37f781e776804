import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class PromoteManual extends FltsCommand<never> {
  static override summary = 'Interactive promotion runbook with reason and audit. Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(PromoteManual);
    return notImplemented('promote-manual');
  }
}
