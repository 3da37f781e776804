import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class Serve extends FltsCommand<never> {
  static override summary = 'Serve the promoted model over HTTP. Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(Serve);
    return notImplemented('serve');
  }
}
