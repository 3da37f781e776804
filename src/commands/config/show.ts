import { FltsCommand } from '../../cli/base-command.js';
import { describeSettings, type SettingRow } from '../../core/config/describe-settings.js';

export interface ConfigShowResult {
  settings: SettingRow[];
}

export default class ConfigShow extends FltsCommand<ConfigShowResult> {
  static override summary = 'Print every resolved setting and the layer it came from (default, file, env, flag).';
  static override description =
    'Layers are defaults < config file (--config or ./flts.config.json) < environment < flags. Secrets (tokens, passwords, keys) are shown as *** and credentials inside URLs are masked. docs/config.md describes every setting.';
  static override examples = ['<%= config.bin %> <%= command.id %>', 'MLFLOW_TRACKING_URI=http://mlflow:5000 <%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<ConfigShowResult> {
    const { flags } = await this.parse(ConfigShow);
    const settings = describeSettings(this.loadSettings(flags));
    const width = Math.max(...settings.map((row) => row.path.length));
    for (const row of settings) {
      const origin = row.source === 'env' ? `env ${row.env}` : row.profile ? `${row.source}, profile ${row.profile}` : row.source;
      this.say(`${row.path.padEnd(width)}  ${JSON.stringify(row.value)}  (${origin})`);
    }
    return { settings };
  }
}
