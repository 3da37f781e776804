import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from './helpers/scratch-folders.js';

/** Temporary folders of this file, removed when it ends. */
const mkdtemp = scratchFolders();

const BIN = path.resolve(__dirname, '../bin/run.js');

async function flts(args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cli > base command', () => {
  it('lists every command in --help', async () => {
    const { code, stdout } = await flts(['--help'], os.tmpdir());
    expect(code).toBe(0);
    for (const command of ['preprocess', 'train', 'eval', 'promote', 'promote-manual', 'serve', 'bench', 'replay-offsets']) expect(stdout).toContain(command);
  });

  it("lists every model type in train's --model help", async () => {
    const { code, stdout } = await flts(['train', '--help'], os.tmpdir());
    expect(code).toBe(0);
    const model = stdout.slice(stdout.indexOf('--model=')).split(/\n\s*--/)[0].replace(/\s+/g, ' ');
    for (const type of ['LSTM', 'GRU', 'PROPHET', 'NAIVE', 'SNAIVE', 'MSTL']) expect(model).toMatch(new RegExp(`\\b${type}\\b`));
  });

  it('reports an unreadable config file as a usage error with a JSON envelope', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-'));
    await writeFile(path.join(dir, 'bad.json'), '{ not json');
    const { code, stdout } = await flts(['preprocess', '--config', 'bad.json', '--json'], dir);
    expect(code).toBe(2);
    const body = JSON.parse(stdout);
    expect(body.status).toBe('error');
    expect(body.error.code).toBe('FLTS_CONFIG_FILE_UNREADABLE');
    expect(body.error.message).toContain('bad.json');
  });

  it('refuses a config file larger than 16 MiB before reading it, where it was read whole', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-'));
    // Valid JSON, so only its size refuses it: before, it was read and taken.
    await writeFile(path.join(dir, 'big.json'), JSON.stringify({ $comment: 'x'.repeat(16 * 1024 * 1024) }));
    const { code, stdout } = await flts(['config', 'show', '--config', 'big.json', '--json'], dir);
    expect(code).toBe(2);
    expect(JSON.parse(stdout).error).toMatchObject({ code: 'FLTS_CONFIG_FILE_UNREADABLE', message: 'Cannot read config file big.json: larger than 16777216 bytes' });
  });

  it('reads a config file that begins with a byte order mark, as Windows editors save it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-'));
    await writeFile(path.join(dir, 'bom.json'), `\uFEFF${JSON.stringify({ training: { epochs: 3 } })}`);
    const { code, stdout } = await flts(['config', 'show', '--config', 'bom.json', '--json'], dir);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).result.settings.find((setting: { path: string }) => setting.path === 'training.epochs')).toMatchObject({ value: 3, source: 'file' });
  });

  it('rejects an unknown key in flts.config.json, found in the working directory', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-'));
    await writeFile(path.join(dir, 'flts.config.json'), JSON.stringify({ preprocess: { scalling: { method: 'x' } } }));
    const { code, stderr } = await flts(['preprocess'], dir);
    expect(code).toBe(2);
    expect(stderr).toContain('FLTS_CONFIG_UNKNOWN_KEY');
    expect(stderr).toContain('preprocess.scalling.method');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an invalid reference env value naming the variable, without a stack trace', async () => {
    const { code, stderr } = await flts(['preprocess'], os.tmpdir(), { SCALER: 'ZScaler' });
    expect(code).toBe(2);
    expect(stderr).toContain('SCALER');
    expect(stderr).toContain('"MinMaxScaler"');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('answers an unknown flag with exit code 2', async () => {
    const { code, stderr } = await flts(['eval', '--no-such-flag'], os.tmpdir());
    expect(code).toBe(2);
    expect(stderr).toContain('--no-such-flag');
  });

  it('answers a missing required flag with one plain sentence naming the flag as typed', async () => {
    const { code, stdout } = await flts(['predict', '--json'], os.tmpdir());
    expect(code).toBe(2);
    expect(JSON.parse(stdout).error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: 'Missing required flag --data' });
  });

  it('reports the data predict is named that is not there before the missing promotion', async () => {
    // Before, with no promoted run, a mistyped --data was answered FLTS_SERVE_NO_MODEL: the run was looked up first.
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-predict-data-'));
    const [file, object] = await Promise.all([flts(['predict', '--home', home, '--data', 'nope.csv', '--json'], home), flts(['predict', '--home', home, '--data', 'nosuchbucket/nope.csv', '--json'], home)]);
    expect(JSON.parse(file.stdout).error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', message: 'Data to forecast not found: no file nope.csv', details: { file: 'nope.csv' } });
    expect(JSON.parse(object.stdout).error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { file: 'nosuchbucket/nope.csv', bucket: 'nosuchbucket', key: 'nope.csv' } });
    expect([file.code, object.code]).toEqual([4, 4]);
  });

  it('answers an unknown command with a coded usage error: JSON on stdout under --json, readable on stderr without', async () => {
    for (const args of [['frobnicate', '--json'], ['--json']]) {
      const { code, stdout } = await flts(args, os.tmpdir());
      expect(code).toBe(2);
      const body = JSON.parse(stdout);
      expect(body).toMatchObject({ status: 'error', error: { code: 'FLTS_USAGE_UNKNOWN_COMMAND', kind: 'usage' } });
      expect(body.error.message).toContain(args[0]);
      expect(body.error.details.commands).toContain('train');
    }
    const { code, stdout, stderr } = await flts(['frobnicate'], os.tmpdir());
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Error FLTS_USAGE_UNKNOWN_COMMAND: Unknown command "frobnicate".');
  });

  it('says so when a scope has no promotion history yet, rather than printing nothing', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-history-'));
    const { code, stdout } = await flts(['promote', '--history', '--home', home], home);
    expect(code).toBe(0);
    expect(stdout).toContain('No promotions in scope global yet');
    const json = await flts(['promote', '--history', '--home', home, '--json'], home);
    expect(JSON.parse(json.stdout)).toEqual({ status: 'ok', result: { history: [] } });
  });

  it('refuses --reason and --force with promote --history, which writes nothing to keep them in', async () => {
    // Before, `flts promote --history --reason "..."` listed the history and dropped the reason without a word.
    for (const flag of [['--reason', 'why'], ['--force']]) {
      const { code, stdout } = await flts(['promote', '--history', ...flag, '--json'], os.tmpdir());
      expect(code).toBe(2);
      expect(JSON.parse(stdout).error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining(`--history cannot also be provided when using ${flag[0]}`) });
    }
  });

  it('shows help for -h and for `flts help [command]`, as for --help, and names the command a typo after help meant', async () => {
    const root = await flts(['--help'], os.tmpdir());
    for (const args of [['-h'], ['help']]) expect(await flts(args, os.tmpdir())).toMatchObject({ code: 0, stdout: root.stdout });
    const train = await flts(['train', '--help'], os.tmpdir());
    for (const args of [['train', '-h'], ['help', 'train']]) expect(await flts(args, os.tmpdir())).toMatchObject({ code: 0, stdout: train.stdout });
    expect(await flts(['help', 'config', 'show'], os.tmpdir())).toMatchObject({ code: 0, stdout: (await flts(['config', 'show', '--help'], os.tmpdir())).stdout });
    const typo = await flts(['help', 'trian', '--json'], os.tmpdir());
    expect(typo.code).toBe(2);
    expect(JSON.parse(typo.stdout).error).toMatchObject({ code: 'FLTS_USAGE_UNKNOWN_COMMAND', message: 'Unknown command "trian"; did you mean "train"?' });
  });

  it('points `flts version` and `flts -v`, as other CLIs are asked, to --version', async () => {
    for (const word of ['version', '-v', '-V']) {
      const { code, stdout } = await flts([word, '--json'], os.tmpdir());
      expect(code, word).toBe(2);
      expect(JSON.parse(stdout).error, word).toMatchObject({ code: 'FLTS_USAGE_UNKNOWN_COMMAND', message: expect.stringContaining('`flts --version` prints the version.') });
    }
    expect((await flts(['versoin'], os.tmpdir())).stderr).not.toContain('--version');
  });

  it('answers a topic without its command under --json with one JSON usage error naming the commands, and with help otherwise', async () => {
    // Before, `flts config --json` printed the topic's help text (oclif shows it before any hook or command runs).
    for (const [args, env] of [[['config', '--json'], {}], [['config'], { FLTS_CONTENT_TYPE: 'json' }]] as const) {
      const { code, stdout } = await flts([...args], os.tmpdir(), env);
      expect(code).toBe(2);
      expect(JSON.parse(stdout)).toMatchObject({ status: 'error', error: { code: 'FLTS_USAGE_UNKNOWN_COMMAND', kind: 'usage', details: { command: 'config', commands: ['config show'] } } });
    }
    const help = await flts(['config'], os.tmpdir());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('config show');
    expect(await flts(['config', '--json', '--help'], os.tmpdir())).toMatchObject({ code: 0, stdout: help.stdout });
  });

  it('prints the version as a JSON object under --json, in either order or with FLTS_CONTENT_TYPE=json, and as one plain line without', async () => {
    const version = (JSON.parse(await readFile(path.resolve(__dirname, '../package.json'), 'utf8')) as { version: string }).version;
    const plain = await flts(['--version'], os.tmpdir());
    expect(plain).toMatchObject({ code: 0, stdout: `flts/${version} ${process.platform}-${process.arch} node-${process.version}\n` });
    // Before, --version --json printed the plain line and --json --version was refused as a line without a command.
    for (const [args, env] of [[['--version', '--json'], {}], [['--json', '--version'], {}], [['--version'], { FLTS_CONTENT_TYPE: 'json' }]] as const) {
      const { code, stdout } = await flts([...args], os.tmpdir(), env);
      expect(code, args.join(' ')).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ status: 'ok', result: { name: 'flts', version, node: process.version, platform: process.platform, arch: process.arch, user_agent: plain.stdout.trim() } });
    }
  });

  it('calls a word after a command an unexpected argument of that command, not an unknown command', async () => {
    // Before, `flts promote <run_id>` (--run forgotten) said: Unknown command "promote <run_id>".
    const json = await flts(['promote', '0123abcd', '--json'], os.tmpdir());
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'FLTS_USAGE_INVALID_FLAG',
      message: 'Unexpected argument: 0123abcd; flts promote takes flags only.',
      hint: '`flts promote --help` lists its flags.',
      details: { command: 'promote', argument: '0123abcd' },
    });
    const text = await flts(['config', 'show', 'extra'], os.tmpdir());
    expect(text).toMatchObject({ code: 2, stdout: '' });
    expect(text.stderr).toContain('Error FLTS_USAGE_INVALID_FLAG: Unexpected argument: extra; flts config show takes flags only.');
    // A topic's unknown command is still one.
    expect((await flts(['config', 'frobnicate'], os.tmpdir())).stderr).toContain('Error FLTS_USAGE_UNKNOWN_COMMAND: Unknown command "config frobnicate".');
  });

  it('shows the help of a command asked for with a word after it, as without the word', async () => {
    // Before, `flts promote 0123abcd --help` answered "Error: Command promote:0123abcd not found." with exit code 2.
    for (const [args, plain] of [[['promote', '0123abcd', '--help'], ['promote', '--help']], [['config', 'show', 'extra', '-h'], ['config', 'show', '--help']]]) {
      const help = await flts(plain, os.tmpdir());
      expect(help.code).toBe(0);
      expect(await flts(args, os.tmpdir())).toEqual({ code: 0, stdout: help.stdout, stderr: '' });
    }
  });

  it('answers --help after words naming no command nor topic with the coded unknown command, as without --help', async () => {
    // Before, `flts config foo --help` answered oclif's uncoded "Error: Command config:foo not found." (exit 2).
    for (const words of [['config', 'foo'], ['trian']]) {
      const plain = await flts([...words, '--json'], os.tmpdir());
      const asked = await flts([...words, '--help', '--json'], os.tmpdir());
      expect(asked.code, words.join(' ')).toBe(2);
      expect(JSON.parse(asked.stdout)).toEqual(JSON.parse(plain.stdout));
      const text = await flts([...words, '-h'], os.tmpdir());
      expect(text).toMatchObject({ code: 2, stdout: '' });
      expect(text.stderr).toContain(`Error FLTS_USAGE_UNKNOWN_COMMAND: ${JSON.parse(plain.stdout).error.message}`);
    }
  });

  it('names the command or flag a typo most likely meant', async () => {
    const command = await flts(['trian', '--json'], os.tmpdir());
    expect(command.code).toBe(2);
    expect(JSON.parse(command.stdout).error).toMatchObject({ code: 'FLTS_USAGE_UNKNOWN_COMMAND', message: 'Unknown command "trian"; did you mean "train"?', details: { suggestion: 'train' } });
    const flag = await flts(['train', '--modle', 'LSTM', '--json'], os.tmpdir());
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stdout).error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: 'Nonexistent flag: --modle; did you mean --model?' });
  });
});
