import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';

// Before, each named the flag by its own name alone (`--plot`, `--port`), a word the user never typed.
describe('cli > a refused flag given by another name', () => {
  it('is named as typed, beside its own name', async () => {
    const plot = await runCli(['backtest', '--plot-out', 'errors.png', '--json'], { cwd: os.tmpdir() });
    expect(plot.exitCode, plot.stdout + plot.stderr).toBe(2);
    expect(plot.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringMatching(/^--plot-out \(--plot\) "errors\.png"/) });

    const port = await runCli(['serve', '-p', 'abc', '--json'], { cwd: os.tmpdir() });
    expect(port.exitCode, port.stdout + port.stderr).toBe(2);
    expect(port.json.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/^-p \(--port, setting serve\.port\) = "abc"/), details: { flag: 'port' } });

    const missing = await runCli(['train', '-m', '--json'], { cwd: os.tmpdir() });
    expect(missing.json.error.message).toBe('Flag -m (--model) expects a value');
  });
});
