import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

describe('cli > an identifier or a role list that could never work is refused where it is given', () => {
  const scratch = scratchFolders();
  let home: string;

  beforeAll(async () => {
    home = await scratch(path.join(os.tmpdir(), 'flts-cli-ids-'));
  });

  // Before, `z:1` passed the settings and the store refused its scope's key as absolute (FLTS_STORE_KEY_OUTSIDE_ROOT, exit 3).
  it('refuses --identifier z:1 and IDENTIFIER=z:1 as a setting, saying what an identifier may be', async () => {
    const [flag, env] = await Promise.all([
      runCli(['promote', '--history', '--identifier', 'z:1', '--home', home, '--json']),
      runCli(['promote', '--history', '--home', home, '--json'], { env: { IDENTIFIER: 'z:1' } }),
    ]);
    for (const run of [flag, env]) {
      expect(run.exitCode).toBe(2);
      expect(run.json?.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'identifier' } });
      expect(run.json.error.message).toContain('not opening with a drive letter');
    }
    expect(flag.json.error.details.flag).toBe('identifier');
    expect(env.json.error.message).toContain('IDENTIFIER (setting identifier)');
  });

  it('refuses a bidirectional control in --identifier, and keeps "cell:7"', async () => {
    const [bidi, kept] = await Promise.all([
      runCli(['promote', '--history', '--identifier', 'site\u202e7', '--home', home, '--json']),
      runCli(['promote', '--history', '--identifier', 'cell:7', '--home', home, '--json']),
    ]);
    expect(bidi.exitCode).toBe(2);
    expect(bidi.json?.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'identifier', flag: 'identifier' } });
    expect(kept.exitCode).toBe(0);
  });

  // Before, each made a scope of its own that lists as "site7" or "site 7" without a word; 128 emoji (256 UTF-16 units) were refused.
  it('warns of an invisible character in --identifier and IDENTIFIER alike, naming it, keeps the scope, and takes 128 emoji', async () => {
    const [zeroWidth, noBreak, emoji] = await Promise.all([
      runCli(['promote', '--history', '--identifier', 'site\u200b7', '--home', home, '--json']),
      runCli(['promote', '--history', '--home', home, '--json'], { env: { IDENTIFIER: 'site\u00a07' } }),
      runCli(['promote', '--history', '--identifier', '\u{1F600}'.repeat(128), '--home', home, '--json']),
    ]);
    expect([zeroWidth.exitCode, noBreak.exitCode, emoji.exitCode]).toEqual([0, 0, 0]);
    const warning = (run: typeof zeroWidth) => run.stderr.split('\n').filter((line) => line.includes('settings_identifier_lookalike')).map((line) => JSON.parse(line));
    expect(warning(zeroWidth)).toEqual([expect.objectContaining({ setting: 'identifier', reason: expect.stringMatching(/^--identifier \(setting identifier\) = "site\\u200b7" holds U\+200B ZERO WIDTH SPACE at position 5, /) })]);
    expect(warning(noBreak)).toEqual([expect.objectContaining({ variable: 'IDENTIFIER', reason: expect.stringMatching(/^IDENTIFIER \(setting identifier\) = "site\\u00a07" holds U\+00A0 NO-BREAK SPACE at position 5, /) })]);
    expect(warning(emoji)).toEqual([]);
  });

  // Before, trainer,trainer ran one trainer without a word, while --targets down,down was refused.
  it('refuses a role given twice in --roles, naming the flag and the role, before the daemon starts', async () => {
    const run = await runCli(['daemon', '--roles', 'trainer,promoter,trainer', '--port', '0', '--home', home, '--json'], { env: { FLTS_BUS: 'fs' } });
    expect(run.exitCode).toBe(2);
    expect(run.json?.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'daemon.roles', flag: 'roles' } });
    expect(run.json.error.message).toContain('"trainer" is given more than once');
  });
});
