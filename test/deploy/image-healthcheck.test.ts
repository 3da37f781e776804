import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { currentPidNamespace, processStartOf } from '../../src/core/proc-stat.js';
import { startFltsProcess, type FltsProcess } from '../helpers/flts-process.js';
import { freePort } from '../helpers/free-port.js';
import { cleanEnvironment, REPO_ROOT } from '../helpers/run-cli.js';

// The image's HEALTHCHECK, run as Docker runs it in the container (no Docker engine needed): the Dockerfile's command
// with the runtime stage's ENV, /app being this checkout, against a real `flts serve` or `flts daemon`. In a container
// the process checked is PID 1 (tini); here it is the one the test started, given as the check's argument.
const DOCKERFILE = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const runtimeStage = DOCKERFILE.slice(DOCKERFILE.indexOf(' AS runtime')).replace(/\\\n/g, ' ');
const IMAGE_ENV = Object.fromEntries(
  [...runtimeStage.matchAll(/^ENV (.*)$/gm)].flatMap(([, pairs]) => [...pairs.matchAll(/(\w+)=(\S+)/g)].map(([, name, value]) => [name, value])),
);
const HEALTHCHECK = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(runtimeStage)![1]) as string[];

const handedOut = new Set<number>();
/**
 * A free port on 127.0.0.1 not handed out before (a server may not listen on it yet); within FLTS_TEST_PORTS
 * ("first-last") when set, so parallel runs can keep to their own.
 */
async function port(): Promise<number> {
  const range = /^(\d+)-(\d+)$/.exec(process.env.FLTS_TEST_PORTS ?? '');
  if (!range) {
    let candidate = await freePort();
    while (handedOut.has(candidate)) candidate = await freePort();
    handedOut.add(candidate);
    return candidate;
  }
  for (let candidate = Number(range[1]); candidate <= Number(range[2]); candidate += 1) {
    if (handedOut.has(candidate)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer().once('error', () => resolve(false));
      server.listen(candidate, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(candidate);
      return candidate;
    }
  }
  throw new Error(`no free port in FLTS_TEST_PORTS ${process.env.FLTS_TEST_PORTS}`);
}

describe('deploy > the image HEALTHCHECK', () => {
  const home = mkdtempSync(join(tmpdir(), 'flts-healthcheck-'));
  /**
   * The container's environment: the image's ENV, a local store and bus, servers bound to loopback only. The image's
   * ready file is in /tmp, which every run on this host shares: a test that wants one names its own, the others
   * check the port worked out without it.
   */
  const containerEnv = (extra: Record<string, string>): Record<string, string> => ({
    ...IMAGE_ENV, FLTS_HOME: home, HOME: home, FLTS_STORE: 'fs', FLTS_BUS: 'fs', FLTS_LOG_LEVEL: 'warn', FLTS_READY_FILE: '',
    FLTS_SERVE_HOST: '127.0.0.1', FLTS_DAEMON_HOST: '127.0.0.1', FLTS_DAEMON_ROLES: 'trainer', FLTS_TRAINER_MODELS: 'NAIVE', ...extra,
  });
  const started: FltsProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.stop()));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  function start(args: string[], env: Record<string, string>): FltsProcess {
    const server = startFltsProcess(args, containerEnv(env));
    started.push(server);
    return server;
  }

  /** The HEALTHCHECK command's exit code and stderr, checking process `pid`, with the container's environment. */
  function healthcheck(pid: number, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    const [command, ...args] = HEALTHCHECK.map((arg) => (arg === 'node' ? process.execPath : arg.replace(/^\/app\//, `${REPO_ROOT}/`)));
    return new Promise((resolve) => {
      execFile(command, [...args, String(pid)], { env: cleanEnvironment(containerEnv(env)), timeout: 30_000 }, (error, _stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
      });
    });
  }

  it('runs a script the image ships (package.json "files", which npm pack puts in /app)', () => {
    const script = HEALTHCHECK.find((arg) => arg.startsWith('/app/'))!;
    const files = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
    expect(files).toContain(script.split('/')[2]);
  });

  it('checks `flts serve` on the port of FLTS_SERVE_PORT, and fails once it stops', async () => {
    const env = { FLTS_SERVE_PORT: String(await port()) };
    const serve = start(['serve'], env);
    await serve.waitForOutput(new RegExp(`Listening on http://127\\.0\\.0\\.1:${env.FLTS_SERVE_PORT}`));
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    await serve.stop();
    const after = await healthcheck(serve.child.pid!, env);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`127.0.0.1:${env.FLTS_SERVE_PORT}/livez`);
  });

  it('has the image give its servers a ready file', () => {
    expect(IMAGE_ENV.FLTS_READY_FILE).toMatch(/^\/tmp\/[\w.-]+\.json$/);
  });

  it('checks `flts serve` where its ready file says it listens (--port 0, which no flag or setting tells), and fails once it stops and removed the file', async () => {
    const readyFile = join(home, 'serve-ready.json');
    const env = { FLTS_READY_FILE: readyFile };
    const serve = start(['serve', '--port', '0'], env);
    const [, url] = await serve.waitForOutput(/Listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(JSON.parse(readFileSync(readyFile, 'utf8'))).toMatchObject({ command: 'serve', url, health_url: `${url}/livez`, pid: serve.child.pid });
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    expect(await serve.stop()).toBe(0);
    expect(existsSync(readyFile)).toBe(false);
    const after = await healthcheck(serve.child.pid!, env);
    expect(after.code).toBe(1);
  });

  it.each([
    ['a config file of the user\'s', '{\n  "serve": { "port": 8000 }\n}\n'],
    ['an empty file', ''],
  ])('leaves %s at the ready file\'s path byte for byte through a start and a stop, and checks the port worked out instead', async (_case, contents) => {
    const readyFile = join(home, 'users-own.json');
    writeFileSync(readyFile, contents);
    const env = { FLTS_READY_FILE: readyFile, FLTS_SERVE_PORT: String(await port()) };
    const serve = start(['serve'], env);
    await serve.waitForOutput(new RegExp(`Listening on http://127\\.0\\.0\\.1:${env.FLTS_SERVE_PORT}`));
    expect((await serve.waitForLogs(/^.*ready_file_foreign.*$/m))[0]).toContain(readyFile);
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    expect(await serve.stop()).toBe(0);
    expect(readFileSync(readyFile, 'utf8')).toBe(contents);
    rmSync(readyFile);
  });

  it('replaces the ready file a killed server left, and removes its own at stop', async () => {
    const readyFile = join(home, 'stale-ready.json');
    const env = { FLTS_READY_FILE: readyFile };
    const killed = start(['serve', '--port', '0'], env);
    await killed.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(await killed.stop('SIGKILL')).toBe(-1);
    expect(JSON.parse(readFileSync(readyFile, 'utf8'))).toMatchObject({ pid: killed.child.pid });
    const serve = start(['serve', '--port', '0'], env);
    const [, url] = await serve.waitForOutput(/Listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(JSON.parse(readFileSync(readyFile, 'utf8'))).toMatchObject({ url, pid: serve.child.pid });
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    expect(await serve.stop()).toBe(0);
    expect(existsSync(readyFile)).toBe(false);
  });

  it('leaves a FIFO planted at the path as it is, rather than blocking on it before it listens or putting a file in its place', async () => {
    const readyFile = join(home, 'fifo-ready.json');
    await promisify(execFile)('mkfifo', [readyFile]);
    const env = { FLTS_READY_FILE: readyFile, FLTS_SERVE_PORT: String(await port()) };
    const serve = start(['serve'], env);
    try {
      await serve.waitForOutput(new RegExp(`Listening on http://127\\.0\\.0\\.1:${env.FLTS_SERVE_PORT}`), 20_000);
    } catch (error) {
      // Blocked in open(2), the event loop never runs the SIGTERM handler that stop() counts on.
      serve.child.kill('SIGKILL');
      throw error;
    }
    expect(lstatSync(readyFile).isFIFO()).toBe(true);
    await serve.waitForLogs(/ready_file_foreign/);
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    expect(await serve.stop()).toBe(0);
    expect(lstatSync(readyFile).isFIFO()).toBe(true);
  });

  it('asks no other host than this one, whatever URL its ready file names, and waits on no FIFO there', async () => {
    const readyFile = join(home, 'hostile-ready.json');
    const env = { FLTS_READY_FILE: readyFile };
    const serve = start(['serve', '--port', '0'], env);
    await serve.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/);
    // fetch stubbed in the check's process: a request to another host is seen, and never sent.
    const stub = join(home, 'fetch-stub.mjs');
    writeFileSync(stub, 'globalThis.fetch = async (url) => { process.stderr.write(`fetched ${url}\\n`); return new Response("{}"); };\n');
    const check = (): Promise<{ code: number; stderr: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['--import', stub, join(REPO_ROOT, 'bin/healthcheck.js'), String(serve.child.pid)], { env: cleanEnvironment(containerEnv(env)), timeout: 10_000 }, (error, _stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
        });
      });
    const written = JSON.parse(readFileSync(readyFile, 'utf8')) as Record<string, unknown>;
    for (const elsewhere of ['http://203.0.113.7:8000/healthz', 'http://[2001:db8::1]:8000/healthz', 'file:///etc/passwd']) {
      writeFileSync(readyFile, JSON.stringify({ ...written, health_url: elsewhere }));
      const result = await check();
      expect(result.code).toBe(1);
      expect(result.stderr).not.toContain('fetched');
      expect(result.stderr).toContain('not an HTTP server of this host');
    }
    rmSync(readyFile);
    await promisify(execFile)('mkfifo', [readyFile]);
    // Without a file to read, the port is worked out (0 here, which the check cannot know): refused, not waited on.
    expect(await check()).toMatchObject({ code: 1, stderr: expect.stringContaining('any free port') });
  });

  it('keeps checking the container\'s `flts serve` while a second one (`docker exec`) given its ready file runs and stops', async () => {
    const readyFile = join(home, 'shared-ready.json');
    const env = { FLTS_READY_FILE: readyFile };
    const serve = start(['serve', '--port', '0'], env);
    const [, url] = await serve.waitForOutput(/Listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const second = start(['serve', '--port', '0'], env);
    await second.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/);
    await second.waitForLogs(/ready_file_taken/);
    expect(JSON.parse(readFileSync(readyFile, 'utf8'))).toMatchObject({ url, pid: serve.child.pid });
    expect(await second.stop()).toBe(0);
    expect(JSON.parse(readFileSync(readyFile, 'utf8'))).toMatchObject({ url, pid: serve.child.pid });
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    expect(await serve.stop()).toBe(0);
    expect(existsSync(readyFile)).toBe(false);
  });

  describe('a ready file some other server wrote', () => {
    // The container's main process (tini in the image, here a stand-in) and its child (tini's flts); the check's fetch
    // is stubbed, so which URL it asks is seen and no server is needed.
    const readyFile = join(home, 'whose-ready.json');
    const env = { FLTS_READY_FILE: readyFile, FLTS_SERVE_PORT: '8000' };
    const PORT_URL = 'http://127.0.0.1:8000/livez';
    const FILE_URL = 'http://127.0.0.1:8001/livez';
    let main: ChildProcess;
    let childPid: number;
    let endedPid: number;
    beforeAll(async () => {
      const keepAlive = 'setInterval(() => {}, 1e9)';
      main = spawn(process.execPath, ['-e', `const c = require('node:child_process').spawn(process.execPath, ['-e', '${keepAlive}'], { stdio: 'ignore' }); console.log(c.pid); ${keepAlive}`], {
        env: cleanEnvironment(containerEnv(env)),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const [line] = (await once(main.stdout!, 'data')) as [Buffer];
      childPid = Number(line.toString().trim());
      const ended = spawn(process.execPath, ['-e', '']);
      await once(ended, 'exit');
      endedPid = ended.pid!;
    });
    afterAll(() => {
      process.kill(childPid);
      main.kill();
    });
    const writer = (pid: number): Record<string, unknown> => ({ pid, process_start: processStartOf(pid), pid_namespace: currentPidNamespace(), token: 't' });
    const stub = join(home, 'fetch-stub-ok.mjs');

    it.each([
      ['the container\'s main process', () => writer(main.pid!), FILE_URL],
      ['a process the main process started (tini\'s flts)', () => writer(childPid), FILE_URL],
      ['an older flts, which recorded no writer', () => ({}), FILE_URL],
      ['a live process outside the main process\'s tree (a `flts serve` run with docker exec)', () => writer(process.pid), PORT_URL],
      ['a process that has ended', () => writer(endedPid), PORT_URL],
      ['a process of another pid namespace (another container sharing the file)', () => ({ ...writer(main.pid!), pid_namespace: '1' }), PORT_URL],
      ['an earlier process of the main process\'s pid', () => ({ ...writer(main.pid!), process_start: 'an-earlier-boot:1' }), PORT_URL],
    ])('written by %s', async (_case, holder, asked) => {
      writeFileSync(stub, 'globalThis.fetch = async (url) => { process.stderr.write(`fetched ${url}\\n`); return new Response("{}"); };\n');
      writeFileSync(readyFile, JSON.stringify({ command: 'serve', url: FILE_URL.replace('/livez', ''), health_url: FILE_URL, ...holder() }));
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', stub, join(REPO_ROOT, 'bin/healthcheck.js'), String(main.pid)], { env: cleanEnvironment(containerEnv(env)), timeout: 10_000 }, (error, _stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
        });
      });
      expect(result).toEqual({ code: 0, stderr: `fetched ${asked}\n` });
    });
  });

  it('checks the container\'s `flts serve` on its port while a `docker exec` one that started first holds the ready file', async () => {
    const readyFile = join(home, 'first-ready.json');
    const env = { FLTS_READY_FILE: readyFile, FLTS_SERVE_PORT: String(await port()) };
    const exec = start(['serve', '--port', '0'], env);
    await exec.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/);
    const serve = start(['serve'], env);
    await serve.waitForOutput(new RegExp(`Listening on http://127\\.0\\.0\\.1:${env.FLTS_SERVE_PORT}`));
    await serve.waitForLogs(/ready_file_taken/);
    expect(await healthcheck(serve.child.pid!, env)).toEqual({ code: 0, stderr: '' });
    // The container's server down, the exec'd one still up: the container is unhealthy.
    expect(await serve.stop()).toBe(0);
    const after = await healthcheck(serve.child.pid!, env);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`127.0.0.1:${env.FLTS_SERVE_PORT}/livez`);
  });

  it('checks `flts daemon` where its ready file says its health server listens, and the file is gone once it stopped', async () => {
    const readyFile = join(home, 'daemon-ready.json');
    const env = { FLTS_READY_FILE: readyFile };
    const daemon = start(['daemon', '--port', '0'], env);
    const [, url] = await daemon.waitForOutput(/Daemon listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(JSON.parse(readFileSync(readyFile, 'utf8'))).toMatchObject({ command: 'daemon', url, health_url: `${url}/livez`, pid: daemon.child.pid });
    const result = await healthcheck(daemon.child.pid!, env);
    expect(result, result.stderr).toEqual({ code: 0, stderr: '' });
    expect(await daemon.stop()).toBe(0);
    expect(existsSync(readyFile)).toBe(false);
  });

  it('checks `flts daemon` on the port of FLTS_DAEMON_PORT, not serve\'s', async () => {
    const env = { FLTS_DAEMON_PORT: String(await port()) };
    const daemon = start(['daemon'], env);
    await daemon.waitForOutput(new RegExp(`Daemon listening on http://127\\.0\\.0\\.1:${env.FLTS_DAEMON_PORT}`));
    const result = await healthcheck(daemon.child.pid!, env);
    expect(result, result.stderr).toEqual({ code: 0, stderr: '' });
  });

  it('follows a --port flag, which wins over the environment as in the command', async () => {
    const env = { FLTS_DAEMON_PORT: String(await port()), FLTS_SERVE_PORT: String(await port()) };
    const flagPort = String(await port());
    const daemon = start(['daemon', '--port', flagPort], env);
    await daemon.waitForOutput(new RegExp(`Daemon listening on http://127\\.0\\.0\\.1:${flagPort}`));
    const serve = start(['serve', `--port=${await port()}`], env);
    const [, servePort] = await serve.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:(\d+)/);
    expect(servePort).not.toBe(env.FLTS_SERVE_PORT);
    for (const { child } of [daemon, serve]) {
      const result = await healthcheck(child.pid!, env);
      expect(result, result.stderr).toEqual({ code: 0, stderr: '' });
    }
  });
});
