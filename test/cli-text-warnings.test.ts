import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

describe('cli > a warning of a one-shot command is a plain line in text mode, a JSON log line for a program', () => {
  const scratch = scratchFolders();
  let home: string;
  const env = { FLTS_EPOCS: '40' };
  const said = "FLTS_EPOCS names no flts setting and is ignored; did you mean EPOCHS? docs/config.md lists every setting's variable";

  beforeAll(async () => {
    home = await scratch(path.join(os.tmpdir(), 'flts-cli-text-warnings-'));
  });

  // Before, text mode printed {"level":40,...,"msg":"settings_env_unknown",...} among the command's report.
  it('text mode at the default level: one plain line naming the variable and the event, no JSON', async () => {
    const run = await runCli(['promote', '--history', '--home', home], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('No promotions in scope global yet');
    expect(run.stderr).toBe(`warning: ${said} (settings_env_unknown)\n`);
  });

  it('--json, an explicit level and a service keep the JSON log line', async () => {
    const [json, level, levelEnv, daemon] = await Promise.all([
      runCli(['promote', '--history', '--home', home, '--json'], { env }),
      runCli(['promote', '--history', '--home', home, '--log-level', 'warn'], { env }),
      runCli(['promote', '--history', '--home', home], { env: { ...env, FLTS_LOG_LEVEL: 'warn' } }),
      // Refused as soon as it has its settings (no bus), after their warnings.
      runCli(['daemon', '--home', home, '--port', '0'], { env }),
    ]);
    expect(json.json?.status).toBe('ok');
    expect(daemon.stderr).toContain('Error FLTS_CONFIG_INVALID_VALUE');
    for (const run of [json, level, levelEnv, daemon]) {
      const lines = run.stderr.split('\n').filter((line) => line.includes('settings_env_unknown'));
      expect(lines.map((line) => JSON.parse(line)), run.stderr).toEqual([expect.objectContaining({ level: 40, msg: 'settings_env_unknown', variable: 'FLTS_EPOCS', reason: said })]);
    }
  });
});
