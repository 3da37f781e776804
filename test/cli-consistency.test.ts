import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../src/core/errors.js';
import { runCli } from './helpers/run-cli.js';

const homes: string[] = [];
function tempHome(): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-consistency-'));
  homes.push(home);
  return home;
}
afterAll(() => homes.forEach((home) => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })));

describe('cli > consistency across commands', () => {
  it('an invalid setting has one hint, whether it came from a flag or from the environment', async () => {
    const home = tempHome();
    const byFlag = await runCli(['preprocess', '--home', home, '--sample-strategy', 'sideways', '--json']);
    const byEnv = await runCli(['preprocess', '--home', home, '--json'], { env: { SAMPLE_STRATEGY: 'sideways' } });
    expect(byFlag.json.error.code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(byEnv.json.error.code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(byFlag.json.error.message).toMatch(/--sample-strategy/);
    expect(byFlag.json.error.hint).toBe(ERROR_CATALOGUE.FLTS_CONFIG_INVALID_VALUE.hint);
    expect(byEnv.json.error.hint).toBe(byFlag.json.error.hint);
  });
});
