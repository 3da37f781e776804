import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class ReplayOffsets extends FltsCommand<never> {
  static override summary = 'Reset Kafka consumer-group offsets safely (dry run by default). Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(ReplayOffsets);
    return notImplemented('replay-offsets');
  }
}
