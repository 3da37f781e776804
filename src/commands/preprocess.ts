import { FltsCommand } from '../cli/base-command.js';
import { notImplemented } from '../cli/not-implemented.js';

export default class Preprocess extends FltsCommand<never> {
  static override summary = 'Turn raw CSV/Parquet into versioned, hashed training data.';

  async run(): Promise<never> {
    await this.parse(Preprocess);
    return notImplemented('preprocess');
  }
}
