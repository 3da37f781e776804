import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class Train extends FltsCommand<never> {
  static override summary = 'Train models (LSTM, GRU, PROPHET, NAIVE) on processed data. Not implemented yet.';

  async run(): Promise<never> {
    await this.parse(Train);
    return notImplemented('train');
  }
}
