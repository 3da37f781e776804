#!/usr/bin/env node
// The image's HEALTHCHECK: GET /livez of the server the container runs, `flts serve` (serve.port) or `flts daemon`
// (daemon.port), on the port that process was given. Which command, its flags and environment are read from the
// container's main process (/proc/1: tini, whose command line and environment are the command's), and the port is
// resolved from them as the command resolves it (defaults < config file < environment < flags), so `docker run ...
// daemon`, `-e FLTS_DAEMON_PORT=9200` or `serve --port 8080` need no healthcheck of their own. A server given a ready file
// (FLTS_READY_FILE, which the image sets) says in it where it listens, --port 0 included: its health_url is checked
// then, and the port is worked out only while there is no file that server wrote (none yet, a file of the user's at
// the path, or one a `flts serve` run with `docker exec` took first, see readyFileUrl). A file naming another host than
// this one is refused, never asked: the file sits in a shared directory, and no server writes such a URL.
// FLTS_HEALTH_URL, when set, is checked instead of either. Exit 0 = healthy, 1 = not (with the reason on stderr).
//   node bin/healthcheck.js [pid]    (pid of the flts process to check; default 1, the container's main process)
import { existsSync, readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';

const TIMEOUT_MS = 4000;
/** The config file a command reads from its working directory without --config (src/cli/base-command.ts). */
const DEFAULT_CONFIG_FILE = 'flts.config.json';

function fail(reason) {
  process.stderr.write(`unhealthy: ${reason}\n`);
  process.exit(1);
}

/** NUL-separated /proc file of the process, or undefined when it cannot be read. */
function procList(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter((entry) => entry !== '');
  } catch {
    return undefined;
  }
}

/** The flts command of a command line (`tini -- flts daemon -p 9200`, `node bin/run.js serve`, `flts-daemon`) and its arguments. */
function fltsCommand(argv) {
  for (let index = 0; index < argv.length; index += 1) {
    const entry = argv[index];
    const base = path.basename(entry);
    if (base === 'flts-daemon' || entry.endsWith('daemon/main.js')) return { command: 'daemon', args: argv.slice(index + 1) };
    if (base === 'flts' || entry.endsWith('bin/run.js')) return { command: argv[index + 1] ?? 'serve', args: argv.slice(index + 2) };
  }
  // The image's default command is serve.
  return { command: 'serve', args: [] };
}

/** Value of a command's flag (`--port 1`, `--port=1`, `-p 1`, `-p1`), the last one given winning as with oclif. */
function flagValue(args, long, short) {
  let value;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    if (arg === '--') break;
    if (arg === `--${long}` || (short && arg === `-${short}`)) value = args[index + 1];
    else if (arg.startsWith(`--${long}=`)) value = arg.slice(long.length + 3);
    else if (short && arg.startsWith(`-${short}`) && !arg.startsWith('--')) value = arg.slice(2).replace(/^=/, '');
  }
  return value;
}

/** The address a client on the same host reaches a server bound to `host` at. */
function localAddress(host) {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The text of a ready file, undefined while there is none. Only a regular file is read, without following a symlink
 * or blocking (src/core/read-regular-file.ts): a FIFO at the path would hold the check until Docker's timeout, a link
 * to /dev/zero read without end.
 */
async function readyFileText(file) {
  const [{ readRegularFile }, { MAX_READY_FILE_BYTES }] = await Promise.all([import('../dist/core/read-regular-file.js'), import('../dist/core/ready-file.js')]);
  try {
    return readRegularFile(file, { noFollow: true, maxBytes: MAX_READY_FILE_BYTES });
  } catch (error) {
    // Not there, a symlink, or no regular file of a ready file's size (a plain Error): no ready file.
    if (error.code === undefined || error.code === 'ENOENT' || error.code === 'ELOOP') return undefined;
    throw error;
  }
}

/** Whether `address` (an IP) is a loopback one or one of this host's interfaces. */
function isLocalAddress(address) {
  const plain = address.replace(/^::ffff:(?=\d)/i, '');
  if (isIP(plain) === 4 && plain.startsWith('127.')) return true;
  if (plain === '::1') return true;
  return Object.values(networkInterfaces()).some((entries) => (entries ?? []).some((entry) => entry.address === plain));
}

/**
 * Whether `hostname` names this host: every address it resolves to is loopback or one of its interfaces. A server
 * writes the host it listens on, so anything else was not written by one, and the check asks no other host.
 */
async function namesThisHost(hostname) {
  if (hostname === 'localhost') return true;
  if (isIP(hostname)) return isLocalAddress(hostname);
  try {
    const addresses = await lookup(hostname, { all: true });
    return addresses.length > 0 && addresses.every(({ address }) => isLocalAddress(address));
  } catch {
    return false;
  }
}

/** Parents followed from a ready file's writer up to the process checked: far more than a container's tree is deep. */
const MAX_ANCESTORS = 64;

/**
 * Whether `writer` (a ready file's, src/core/ready-file.ts) is the server of process `pid`: that process or one it
 * started (tini's flts), running now as the same process that wrote the file. A server run with `docker exec` is no
 * child of the container's pid 1, and a writer of another pid namespace (another container given the same file on a
 * shared volume) names no process here: their files are not this container's server's, which is then found by its port.
 * Where there is no /proc to ask, the file is taken as it is.
 */
async function writtenByServerOf(writer, pid) {
  const { currentPidNamespace, processStartOf, procStatFields } = await import('../dist/core/proc-stat.js');
  if (procStatFields(process.pid) === undefined) return true;
  if (writer.pid_namespace !== currentPidNamespace()) return false;
  const started = processStartOf(writer.pid);
  if ((started !== undefined || writer.process_start !== undefined) && started !== writer.process_start) return false;
  let current = writer.pid;
  for (let hop = 0; hop < MAX_ANCESTORS && current > 0; hop += 1) {
    if (current === Number(pid)) return true;
    // Field 4 of /proc/<pid>/stat, the parent; 0 for a process started from outside the namespace (docker exec).
    current = Number(procStatFields(current)?.[1] ?? 0);
  }
  return false;
}

/**
 * The health URL the server of process `pid` wrote to its ready file, undefined while there is none. A file that is no
 * ready file (the setting pointed at a file of the user's, which servers leave alone and write no ready file over), or
 * the ready file of another server, is not one: the port is worked out instead.
 */
async function readyFileUrl(file, pid) {
  const text = await readyFileText(file);
  if (text === undefined) return undefined;
  const { parseReadyFile } = await import('../dist/core/ready-file.js');
  const ready = parseReadyFile(text);
  if (ready === undefined || (ready.writer && !(await writtenByServerOf(ready.writer, pid)))) return undefined;
  const url = new URL(ready.contents.health_url);
  // Written as the server listens: a wildcard host is reached on loopback.
  url.hostname = localAddress(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol !== 'http:' || !(await namesThisHost(host))) fail(`the ready file ${file} names ${url.origin}, not an HTTP server of this host`);
  return url.href;
}

async function healthUrl(pid) {
  const argv = procList(pid, 'cmdline') ?? [];
  const environ = procList(pid, 'environ');
  const env = environ ? Object.fromEntries(environ.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)])) : process.env;
  const explicit = process.env.FLTS_HEALTH_URL || env.FLTS_HEALTH_URL;
  if (explicit) return explicit;
  const readyFile = (env.FLTS_READY_FILE ?? '').trim();
  const ready = readyFile ? await readyFileUrl(readyFile, pid) : undefined;
  if (ready) return ready;
  const { command, args } = fltsCommand(argv);
  const area = command === 'daemon' ? 'daemon' : 'serve';
  // The process's working directory, through its /proc link: a relative --config is relative to it.
  const cwd = environ ? `/proc/${pid}/cwd` : process.cwd();
  const configPath = flagValue(args, 'config');
  const candidate = configPath ? path.resolve(cwd, configPath) : path.join(cwd, DEFAULT_CONFIG_FILE);
  const file = configPath || existsSync(candidate) ? JSON.parse(readFileSync(candidate, 'utf8')) : undefined;
  const { resolveSettings } = await import('../dist/core/config/settings.js');
  const { settings } = resolveSettings({
    file,
    env,
    flags: { profile: flagValue(args, 'profile'), [`${area}.port`]: flagValue(args, 'port', 'p'), [`${area}.host`]: flagValue(args, 'host') },
  });
  const { port, host } = settings[area];
  if (port === 0) fail(`flts ${command} listens on any free port (${area}.port 0), which this check cannot know: set FLTS_READY_FILE or FLTS_HEALTH_URL`);
  return `http://${localAddress(host)}:${port}/livez`;
}

const pid = process.argv[2] ?? '1';
let url;
try {
  url = await healthUrl(pid);
} catch (error) {
  fail(`cannot tell where the server of process ${pid} listens: ${error instanceof Error ? error.message : String(error)}`);
}
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) fail(`${url} answered HTTP ${response.status}`);
} catch (error) {
  fail(`${url}: ${error instanceof Error ? (error.cause?.message ?? error.message) : String(error)}`);
}
