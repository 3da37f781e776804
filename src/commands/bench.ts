import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class Bench extends FltsCommand<never> {
  static override summary = 'Benchmark serving across replicas and connections. Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(Bench);
    return notImplemented('bench');
  }
}
