import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { createStateDir, stopOrphanedServers } from './test-servers.js';

/** A PATH with every command of the given directories except the named ones (here: Java and Maven). */
function pathWithout(commands: string[]): { dir: string; path: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-path-'));
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const source of dirs) {
    let names: string[];
    try {
      names = readdirSync(source);
    } catch {
      continue;
    }
    for (const name of names) {
      if (commands.includes(name)) continue;
      try {
        symlinkSync(path.join(source, name), path.join(dir, name));
      } catch {
        // An earlier directory already provides this name, as it would on the real PATH.
      }
    }
  }
  return { dir, path: [path.dirname(process.execPath), dir].join(path.delimiter) };
}

function vitest(file: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', file], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') });
    });
  });
}

describe('test servers: a missing toolchain', () => {
  const noJava = pathWithout(['java', 'mvn']);
  afterAll(() => rmSync(noJava.dir, { recursive: true, force: true }));
  const env = { PATH: noJava.path, KAFKA_BOOTSTRAP_SERVERS: '', MINIO_ENDPOINT: '' };

  it('skips the tests that need it, named in one line', async () => {
    const { code, output } = await vitest('test/integration/s3-store.test.ts', { ...env, CI: 'false' });
    expect(code, output).toBe(0);
    expect(output.match(/java, mvn not found/g) ?? [], output).toHaveLength(1);
    expect(output).toMatch(/^\[test servers\] infra: tests that need it are skipped: java, mvn not found, so Kafka and S3Proxy/m);
    expect(output).toMatch(/Tests {2}1 skipped \(1\)/);
  });

  it('fails them instead under CI=true', async () => {
    const { code, output } = await vitest('test/integration/s3-store.test.ts', { ...env, CI: 'true' });
    expect(code).not.toBe(0);
    expect(output).toContain('CI=true and java, mvn not found');
  });
});

const IDLE = ['-e', 'setInterval(() => {}, 1000)'];

/** A process that runs until signalled, detached from this one like a server whose start script has exited. */
async function detachedProcess(args: string[]): Promise<number> {
  const { stdout } = await promisify(execFile)('sh', ['-c', 'setsid "$@" </dev/null >/dev/null 2>&1 & echo $!', 'sh', process.execPath, ...IDLE, ...args]);
  return Number(stdout.trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test servers: a run killed without its teardown', () => {
  let root: string;
  const pids: number[] = [];
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'flts-orphans-'));
  });
  afterAll(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('leaves its servers to the next run, which stops only the processes it can prove were started there', async () => {
    const owner = spawn(process.execPath, IDLE, { stdio: 'ignore' });
    const orphaned = createStateDir('infra', owner.pid, root);
    // The broker runs with its state directory on the command line; the pid in s3.pid is now another process's.
    const server = await detachedProcess([path.join(orphaned, 'kafka/server.properties')]);
    const stranger = await detachedProcess([]);
    writeFileSync(path.join(orphaned, 'kafka.pid'), `${server}\n`);
    writeFileSync(path.join(orphaned, 's3.pid'), `${stranger}\n`);
    const ownedByThisRun = createStateDir('infra', process.pid, root);
    const running = await detachedProcess([path.join(ownedByThisRun, 'kafka/server.properties')]);
    writeFileSync(path.join(ownedByThisRun, 'kafka.pid'), `${running}\n`);
    pids.push(server, stranger, running);

    expect(stopOrphanedServers(root), 'the owner is still alive').toEqual([]);
    expect(alive(server)).toBe(true);

    const exited = new Promise((resolve) => owner.once('exit', resolve));
    owner.kill('SIGKILL');
    await exited;
    expect(stopOrphanedServers(root)).toEqual([{ kind: 'infra', dir: orphaned, owner: owner.pid }]);
    expect(alive(server), 'the orphaned server').toBe(false);
    expect(alive(stranger), 'a process whose pid was recorded but that does not run in the state directory').toBe(true);
    expect(existsSync(orphaned)).toBe(false);
    expect(alive(running), 'the server of a live run').toBe(true);
    expect(existsSync(ownedByThisRun)).toBe(true);
  });
});

describe('test files and their workers', () => {
  // A worker whose event loop is blocked for over a minute misses vitest's reply to its progress report
  // ("Timeout calling onTaskUpdate") and the run fails although every test passed: starting a server or an
  // install can take that long, so tests wait for child processes asynchronously. These files run only short
  // commands synchronously (a helm template, a `command -v`), or run in vitest's main process before any worker.
  const SHORT_SYNC_CALLS = ['test/deploy/deploy-tools.ts', 'test/setup/test-servers.ts'];

  function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(file);
      return /\.tsx?$/.test(entry.name) ? [file] : [];
    });
  }

  it('wait for child processes without blocking the event loop', () => {
    const test = sourceFiles(path.join(REPO_ROOT, 'test')).concat(sourceFiles(path.join(REPO_ROOT, 'src')).filter((file) => /\.test\.tsx?$/.test(file)));
    const blocking = test
      .map((file) => path.relative(REPO_ROOT, file).split(path.sep).join('/'))
      .filter((file) => !SHORT_SYNC_CALLS.includes(file) && file !== 'test/setup/test-servers.test.ts')
      .filter((file) => /\b(spawnSync|execSync|execFileSync)\(/.test(readFileSync(path.join(REPO_ROOT, file), 'utf8')));
    expect(blocking).toEqual([]);
  });
});
