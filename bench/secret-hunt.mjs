#!/usr/bin/env node
// Secrets must never be printed. Sets a distinctive canary in every setting the specs mark secret (and in the
// credentials URLs and broker lists carry), runs every command of the built CLI in text and --json at the trace log
// level, on success and failure paths (wrong credentials, endpoints nobody answers at, malformed URLs holding the
// secret, secrets of special characters, a space beside a slash, 2,000 characters of / ? # @), reads serve's and the
// daemon's HTTP routes, and greps everything printed, every file the home holds afterwards and every HTTP body for
// each canary: as written, URL-encoded and in base64 (alone and as a basic-auth user:password pair).
// Usage: npm run build && node bench/secret-hunt.mjs [scenario-regex]
//   FLTS_HUNT_S3=host:port      an S3 server whose credentials are FLTS_HUNT_S3_USER / FLTS_HUNT_S3_PASSWORD (success paths on S3)
//   FLTS_HUNT_MLFLOW=http://..  an MLflow server (the mirror's params and tags are read back and grepped too)
//   FLTS_HUNT_KAFKA=host:port   a PLAINTEXT Kafka broker
//   FLTS_HUNT_BIN=path/run.js   another build's CLI (an older one, to see what it printed)
// Without them, the S3, MLflow and Kafka cases run their failure paths only. Prints one line per leak; exit 1 on any.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { modelPath, servedModelName } from './served-model-name.mjs';

const here = import.meta.dirname;
/** The model name the serve started here answers for (the inference protocol's routes and gRPC calls name it). */
const MODEL = await servedModelName();
const BIN = process.env.FLTS_HUNT_BIN ?? path.resolve(here, '../bin/run.js');
const EXAMPLE = path.resolve(here, '../examples/data');
const filter = new RegExp(process.argv[2] ?? '.');
const S3 = process.env.FLTS_HUNT_S3;
const MLFLOW = process.env.FLTS_HUNT_MLFLOW;
const KAFKA = process.env.FLTS_HUNT_KAFKA;

/** Each secret a distinctive value; the special-character ones are where an encoder or a URL parser would show them. */
const C = {
  apiToken: 'cnryApiTokZQ1',
  adminToken: 'cnryAdmTokZQ2',
  s3Secret: 'cnry S3/sec:@%#?é✓ZQ3',
  s3Session: 'cnrySessTokZQ4',
  containerToken: 'cnryContTokZQ5',
  mlflowToken: 'cnryMlTokZQ6',
  mlflowPassword: 'cnry:ml@pw/%#? ünïZQ7',
  uriPassword: 'cnryUriPwZQ8',
  saslPassword: 'cnrySasl:Pw@ZQ9',
  brokerPassword: 'cnryBrokPwZQA',
  keyPassword: 'cnryKeyPwZQB',
  configPassword: 'cnryCfgPwZQC',
  badUriPassword: 'cnryBadUriPwZQD',
  // Unencoded in a URL or a broker list: `/`, `?` and `#` make the URL invalid (quoted in its refusal), `@` moves its host.
  rawUriPassword: 'cnry/Uri#Pw@?ZQE',
  rawBrokerPassword: 'cnry/Brok#Pw@ZQF',
  // A space and a slash together: neither the bounded userinfo (no space) nor a whole value's (no slash) took it whole.
  spaceSlashPassword: 'cnry Sp/aceZQG',
  // Past the 1,024 characters a userinfo with / ? # @ was bounded to for linear time; its tail ends the value.
  longPassword: `cnryLong${'ab/cd?ef#gh@'.repeat(166)}LongTailZQH`,
};
const USER = 'huntuser';
if (process.env.FLTS_HUNT_S3_PASSWORD) C.s3ServerSecret = process.env.FLTS_HUNT_S3_PASSWORD;

function forms(value) {
  const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
  const out = new Set([value, encodeURIComponent(value), encodeURI(value), b64(value), b64(`${USER}:${value}`)]);
  // The part that ends the value, should it be cut at one of its special characters.
  out.add(value.split(/[\s:@/%#?]/).at(-1));
  return [...out].filter((form) => form.length >= 6);
}
const NEEDLES = Object.entries(C).flatMap(([name, value]) => forms(value).map((form) => ({ name, form })));

const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-secret-hunt-'));
const leaks = [];
let checked = 0;

function scan(where, text) {
  checked++;
  for (const { name, form } of NEEDLES) {
    const at = text.indexOf(form);
    if (at < 0) continue;
    const leak = { where, name, form, context: text.slice(Math.max(0, at - 120), at + form.length + 60).replace(/\s+/g, ' ') };
    leaks.push(leak);
    console.log(`LEAK ${leak.name} (${JSON.stringify(leak.form)}) in ${leak.where}: ...${leak.context}...`);
  }
}

function scanTree(where, dir) {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (file.startsWith(inputs)) continue;
    if (statSync(file).size > 32 << 20) continue;
    scan(`${where}:${path.relative(dir, file)}`, readFileSync(file).toString('latin1') + readFileSync(file, 'utf8'));
  }
}

function run(argv, env, timeout = 60_000) {
  return new Promise((resolve) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(FLTS_|MLFLOW_|AWS_|MINIO_|KAFKA_)/.test(name)));
    const child = execFile(process.execPath, [BIN, ...argv], { env: { ...base, ...env }, timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20, cwd: scratch }, (error, stdout, stderr) => {
      resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** A port nobody listens at: bound, then closed. */
async function deadPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A tracking server that refuses everything and quotes the request's Authorization header and target back, as an
 * auth proxy's error page may.
 */
async function echoingServer() {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="x"' });
    res.end(`denied ${req.method} ${req.url} authorization=${req.headers.authorization ?? ''}`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

const dead = await deadPort();
const echo = await echoingServer();
const inputs = path.join(scratch, 'inputs');
mkdirSync(inputs);
const keyFile = path.join(inputs, 'client.key');
writeFileSync(keyFile, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nnot a key\n-----END ENCRYPTED PRIVATE KEY-----\n');
const configFile = path.join(inputs, 'flts.config.json');
writeFileSync(configFile, JSON.stringify({ tracking: { password: C.configPassword, uri: `http://${USER}:${C.uriPassword}@127.0.0.1:${dead}/` }, serve: { apiToken: C.apiToken } }, null, 2));
const badConfig = path.join(inputs, 'bad.config.json');
writeFileSync(badConfig, `{"tracking": {"password": "${C.configPassword}", "uri": "x" "y"}}`);
const badTypeConfig = path.join(inputs, 'badtype.config.json');
writeFileSync(badTypeConfig, JSON.stringify({ tracking: { password: { nested: C.configPassword } }, serve: { adminToken: 42 } }));

/** Every secret setting and credential-carrying address, on paths that reach nothing unless a server is given. */
function secretEnv(overrides = {}) {
  return {
    FLTS_SERVE_API_TOKEN: C.apiToken,
    FLTS_SERVE_ADMIN_TOKEN: C.adminToken,
    AWS_SECRET_ACCESS_KEY: C.s3Secret,
    AWS_ACCESS_KEY_ID: 'ASIAHUNTACCESSKEY',
    AWS_SESSION_TOKEN: C.s3Session,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: C.containerToken,
    MLFLOW_TRACKING_TOKEN: C.mlflowToken,
    MLFLOW_TRACKING_USERNAME: USER,
    MLFLOW_TRACKING_PASSWORD: C.mlflowPassword,
    MLFLOW_TRACKING_URI: `http://${USER}:${C.uriPassword}@127.0.0.1:${dead}/`,
    FLTS_KAFKA_SASL_USERNAME: USER,
    FLTS_KAFKA_SASL_PASSWORD: C.saslPassword,
    FLTS_KAFKA_SSL_KEY_PASSWORD: C.keyPassword,
    FLTS_KAFKA_SSL_KEY_FILE: keyFile,
    FLTS_DATA_DIR: EXAMPLE,
    ...overrides,
  };
}

const home = path.join(scratch, 'home');
const plainEnv = { FLTS_HOME: home, FLTS_DATA_DIR: EXAMPLE };
for (const argv of [['preprocess', '--dataset', 'example'], ['train', '--model', 'NAIVE'], ['promote', '--best']]) {
  const result = await run(argv, plainEnv, 180_000);
  if (result.exitCode !== 0) throw new Error(`seeding failed: ${argv.join(' ')}\n${result.stderr}`);
}

const onS3 = (extra = {}) => ({ FLTS_STORE: 's3', FLTS_S3_ENDPOINT: `http://127.0.0.1:${dead}`, FLTS_S3_IDLE_TIMEOUT_MS: '500', FLTS_S3_REQUEST_TIMEOUT_MS: '1000', ...extra });
const onKafka = (extra = {}) => ({ FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: `${USER}:${C.brokerPassword}@127.0.0.1:${dead}`, FLTS_KAFKA_CONNECTION_TIMEOUT_MS: '300', FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '1000', ...extra });
const mlflowAt = (uri) => ({ MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_TIMEOUT_MS: '2000' });

const COMMANDS = [
  ['preprocess', '--dataset', 'example'],
  ['train', '--model', 'NAIVE'],
  ['eval'],
  ['promote', '--best'],
  ['promote', '--rollback'],
  ['promote-manual', '--run', 'nope', '--reason', 'hunt', '--yes'],
  ['predict', '--data', path.join(EXAMPLE, 'example_test.csv')],
  ['backtest', '--models', 'NAIVE', '--folds', '1'],
  ['export', '--run', 'nope'],
  ['bench', '--target', `http://${USER}:${C.uriPassword}@127.0.0.1:${dead}/`, '--duration', '1', '--warmup', '0'],
  ['replay-offsets', '--group', 'flts-trainer', '--all-topics', '--to-earliest'],
  ['config', 'show'],
  // Secrets typed in flags flts does not have, which oclif refuses quoting them before any setting is read.
  ['train', `--mlflow-password=${C.mlflowPassword}`],
  ['train', '--store-s3-secret-key', C.s3Secret],
  ['--help'],
  ['train', '--help'],
  ['--version'],
  ['nonexistent-command'],
];

const VARIANTS = [
  { label: 'local', env: {} },
  { label: 'mlflow-dead', env: mlflowAt(`http://${USER}:${C.uriPassword}@127.0.0.1:${dead}/`) },
  { label: 'mlflow-echo', env: mlflowAt(echo.url) },
  { label: 'mlflow-echo-password', env: { ...mlflowAt(echo.url), MLFLOW_TRACKING_TOKEN: '' } },
  { label: 'mlflow-echo-uri-creds', env: { ...mlflowAt(`http://${USER}:${C.uriPassword}@${echo.url.slice(7)}`), MLFLOW_TRACKING_TOKEN: '' } },
  { label: 'mlflow-malformed', env: mlflowAt(`http://${USER}:${C.badUriPassword}@[bad`) },
  { label: 'mlflow-malformed-space', env: mlflowAt(`http://${USER}:${C.badUriPassword} x@127.0.0.1:${dead}`) },
  { label: 'mlflow-unencoded-password', env: mlflowAt(`http://${USER}:${C.rawUriPassword}@127.0.0.1:${dead}/`) },
  { label: 'mlflow-query-token', env: mlflowAt(`http://127.0.0.1:${dead}/?token=${C.badUriPassword}`) },
  { label: 's3-dead', env: onS3() },
  { label: 's3-creds-in-endpoint', env: onS3({ FLTS_S3_ENDPOINT: `http://${USER}:${C.uriPassword}@127.0.0.1:${dead}` }) },
  { label: 's3-malformed-endpoint', env: onS3({ FLTS_S3_ENDPOINT: `http://${USER}:${C.badUriPassword}@[bad` }) },
  { label: 's3-aws-container', env: onS3({ FLTS_S3_CREDENTIALS: 'aws', AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${dead}/creds?token=${C.badUriPassword}` }) },
  { label: 's3-aws-container-echo', env: onS3({ FLTS_S3_CREDENTIALS: 'aws', AWS_CONTAINER_CREDENTIALS_FULL_URI: `${echo.url}/creds` }) },
  { label: 'kafka-dead', env: onKafka() },
  { label: 'kafka-sasl-dead', env: onKafka({ FLTS_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', FLTS_KAFKA_SASL_MECHANISM: 'PLAIN' }) },
  { label: 'kafka-ssl-keyfile', env: onKafka({ FLTS_KAFKA_SECURITY_PROTOCOL: 'SSL', FLTS_KAFKA_SSL_CERT_FILE: keyFile }) },
  { label: 'kafka-malformed-broker', env: onKafka({ KAFKA_BOOTSTRAP_SERVERS: `${USER}:${C.badUriPassword}@` }) },
  { label: 'kafka-unencoded-password', env: onKafka({ KAFKA_BOOTSTRAP_SERVERS: `${USER}:${C.rawBrokerPassword}@127.0.0.1:${dead}` }) },
  { label: 's3-unencoded-password', env: onS3({ FLTS_S3_ENDPOINT: `http://${USER}:${C.rawUriPassword}@127.0.0.1:${dead}` }) },
  { label: 'mlflow-space-slash-password', env: mlflowAt(`http://${USER}:${C.spaceSlashPassword}@127.0.0.1:${dead}/`) },
  { label: 'mlflow-long-password', env: mlflowAt(`http://${USER}:${C.longPassword}@127.0.0.1:${dead}/`) },
  { label: 's3-space-slash-password', env: onS3({ FLTS_S3_ENDPOINT: `http://${USER}:${C.spaceSlashPassword}@127.0.0.1:${dead}` }) },
  { label: 's3-long-password', env: onS3({ FLTS_S3_ENDPOINT: `http://${USER}:${C.longPassword}@127.0.0.1:${dead}` }) },
  { label: 'kafka-space-slash-password', env: onKafka({ KAFKA_BOOTSTRAP_SERVERS: `${USER}:${C.spaceSlashPassword}@127.0.0.1:${dead}` }) },
  { label: 'kafka-long-password', env: onKafka({ KAFKA_BOOTSTRAP_SERVERS: `${USER}:${C.longPassword}@127.0.0.1:${dead}` }) },
  { label: 'config-file', env: {}, argv: ['--config', configFile] },
  { label: 'config-file-malformed', env: {}, argv: ['--config', badConfig] },
  { label: 'config-file-wrong-types', env: {}, argv: ['--config', badTypeConfig] },
  { label: 'token-invalid', env: { FLTS_SERVE_API_TOKEN: `${C.apiToken} with space`, FLTS_SERVE_ADMIN_TOKEN: `${C.adminToken}\n` } },
];
if (S3) VARIANTS.push(
  { label: 's3-ok', env: { FLTS_STORE: 's3', FLTS_S3_ENDPOINT: S3, AWS_ACCESS_KEY_ID: process.env.FLTS_HUNT_S3_USER, AWS_SECRET_ACCESS_KEY: process.env.FLTS_HUNT_S3_PASSWORD, AWS_SESSION_TOKEN: '' } },
  { label: 's3-wrong-secret', env: { FLTS_STORE: 's3', FLTS_S3_ENDPOINT: S3, AWS_ACCESS_KEY_ID: process.env.FLTS_HUNT_S3_USER, AWS_SESSION_TOKEN: '' } },
);
if (MLFLOW) VARIANTS.push({ label: 'mlflow-ok', env: { MLFLOW_TRACKING_URI: MLFLOW } });
if (KAFKA) VARIANTS.push(
  { label: 'kafka-ok', env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: KAFKA } },
  { label: 'kafka-sasl-refused', env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: KAFKA, FLTS_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', FLTS_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', FLTS_KAFKA_CONNECTION_TIMEOUT_MS: '1000', FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '3000' } },
);

/** The commands every variant runs; the local one runs them all. */
const SUBSET = new Set(['preprocess', 'train', 'promote', 'predict', 'eval', 'config']);
const queue = [];
const seeded = new Map();
const s3Secret = (variant) => (variant.label === 's3-ok' ? process.env.FLTS_HUNT_S3_PASSWORD : C.s3Secret);
for (const variant of VARIANTS) {
  for (const command of COMMANDS) {
    for (const mode of [['--json'], []]) {
      for (const level of ['trace']) {
        const label = `${variant.label} | ${command.join(' ')} ${mode.join(' ')}`;
        if (!filter.test(label)) continue;
        if (!['local', 'config-file'].includes(variant.label) && !SUBSET.has(command[0])) continue;
        const caseHome = path.join(scratch, `home-${variant.label}`);
        const argv = [...command, ...(command[0].startsWith('-') || command[0] === 'nonexistent-command' ? [] : ['--log-level', level, '--debug', ...mode]), ...(variant.argv ?? [])];
        const env = secretEnv({ FLTS_HOME: caseHome, ...variant.env, AWS_SECRET_ACCESS_KEY: s3Secret(variant) });
        if (variant.label === 's3-wrong-secret') env.AWS_SECRET_ACCESS_KEY = C.s3Secret;
        queue.push(async () => {
          if (!['preprocess', 'config', '--help', '--version', 'nonexistent-command', 'train'].includes(command[0])) await seed(caseHome, env);
          const result = await run(argv, env, 30_000);
          scan(`${label} stdout`, result.stdout);
          scan(`${label} stderr`, result.stderr);
        });
      }
    }
  }
}
const started = Date.now();
await Promise.all([0, 1].map(async () => {
  while (queue.length) await queue.shift()();
}));
console.error(`commands: ${Date.now() - started} ms`);

async function seed(caseHome, env) {
  if (seeded.has(caseHome)) return seeded.get(caseHome);
  const done = (async () => {
  for (const argv of [['preprocess', '--dataset', 'example'], ['train', '--model', 'NAIVE'], ['promote', '--best']]) await run([...argv, '--json'], env, 120_000);
  })();
  seeded.set(caseHome, done);
  return done;
}

// serve and the daemon: every read route, guarded routes without and with wrong tokens, and error bodies.
let answered = 0;
async function service(kind, extraEnv) {
  const port = await deadPort();
  const grpcPort = kind === 'serve' ? await deadPort() : undefined;
  const env = secretEnv({ FLTS_HOME: home, ...extraEnv, ...(grpcPort ? { FLTS_SERVE_GRPC_PORT: String(grpcPort) } : {}) });
  const argv = kind === 'serve' ? ['serve', '--port', String(port), '--log-level', 'trace'] : ['daemon', '--port', String(port), '--roles', 'serving', '--log-level', 'trace'];
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(FLTS_|MLFLOW_|AWS_|MINIO_|KAFKA_)/.test(name)));
  const child = spawn(process.execPath, [BIN, ...argv], { env: { ...base, ...env, ...(kind === 'daemon' ? { FLTS_BUS: 'fs' } : {}) }, cwd: scratch });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`${url}/livez`);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const routes = ['/livez', '/healthz', '/readyz', '/ready', '/status', '/metrics', '/prometheus', '/stats', '/openapi.json', '/docs', '/v2', modelPath(MODEL), `${modelPath(MODEL)}/ready`, '/v2/health/ready', '/nope', `/predict?token=${C.apiToken}`];
  const wrong = { authorization: `Bearer ${C.apiToken}x` };
  for (const route of routes) {
    for (const headers of [{}, { authorization: `Bearer ${C.adminToken}` }]) {
      const res = await fetch(url + route, { headers }).catch((error) => ({ status: 0, text: async () => String(error), headers: new Headers() }));
      if (res.status) answered++;
      scan(`${kind} GET ${route} ${Object.keys(headers).length ? '(admin token)' : ''}`, `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    }
  }
  for (const [route, body, headers] of [
    ['/predict', '{}', wrong],
    ['/predict', '{"data":', { authorization: `Bearer ${C.apiToken}` }],
    ['/predict', JSON.stringify({ data: { time: [1], down: [1] }, note: C.apiToken }), { authorization: `Bearer ${C.apiToken}` }],
    [`${modelPath(MODEL)}/infer`, '{"inputs":[{"name":"x"}]}', { authorization: `Bearer ${C.apiToken}` }],
    ['/reload_latest', '', { authorization: `Bearer ${C.adminToken}x` }],
    ['/prune_logs?retention_days=x', '', { authorization: `Bearer ${C.adminToken}` }],
    ['/actuals', 'x', { authorization: `Bearer ${C.apiToken}`, 'content-type': 'application/json' }],
  ]) {
    const res = await fetch(url + route, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }).catch((error) => ({ status: 0, text: async () => String(error), headers: new Headers() }));
    scan(`${kind} POST ${route}`, `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
  }
  if (grpcPort) await grpcCalls(kind, grpcPort);
  child.kill('SIGTERM');
  await exited;
  scan(`${kind} ${JSON.stringify(extraEnv)} output`, out);
}
/** gRPC: every method, ModelInfer with no, a wrong, two and the right token, and a request it refuses. */
async function grpcCalls(kind, port) {
  const grpc = await import('@grpc/grpc-js');
  const { createInferenceClient } = await import(path.resolve(path.dirname(BIN), '../dist/core/serve/oip-grpc-service.js'));
  const client = createInferenceClient(`127.0.0.1:${port}`);
  const call = (method, request, tokens) =>
    new Promise((resolve) => {
      const metadata = new grpc.Metadata();
      for (const token of tokens) metadata.add('authorization', `Bearer ${token}`);
      client[method](request, metadata, { deadline: Date.now() + 10_000 }, (error, answer) => resolve({ error, answer }));
    });
  const request = { model_name: MODEL, inputs: [{ name: 'x', datatype: 'FP64', shape: [1], contents: { fp64_contents: [1] } }] };
  const calls = [
    ['ServerLive', {}, []], ['ServerReady', {}, []], ['ServerMetadata', {}, []], ['ModelMetadata', { name: MODEL }, []], ['ModelReady', { name: MODEL }, []],
    ['ModelInfer', request, []], ['ModelInfer', request, [`${C.apiToken}x`]], ['ModelInfer', request, [C.apiToken, C.adminToken]], ['ModelInfer', request, [C.apiToken]],
    ['RepositoryModelLoad', { model_name: C.apiToken }, [C.apiToken]],
  ];
  for (const [method, body, tokens] of calls) {
    const { error, answer } = await call(method, body, tokens);
    if (error?.code !== grpc.status.UNAVAILABLE) answered++;
    scan(`${kind} gRPC ${method} (${tokens.length} tokens)`, JSON.stringify({ code: error?.code, details: error?.details, metadata: error?.metadata?.getMap(), answer }));
  }
  client.close();
}

if (filter.test('serve')) {
  await service('serve', {});
  await service('serve', mlflowAt(echo.url));
  await service('serve', onS3());
  await service('serve', onKafka());
}
if (filter.test('daemon')) {
  await service('daemon', {});
  await service('daemon', onKafka());
}

// bench writes a report file; its settings (tokens included) must not be in it.
if (filter.test('bench')) {
  const report = path.join(scratch, 'bench-report');
  mkdirSync(report, { recursive: true });
  for (const mode of [['--json'], []]) {
    const result = await run(['bench', '--duration', '1', '--warmup', '0', '--replicas', '1', '--connections', '1', '--out', path.join(report, `r${mode.length}.json`), '--log-level', 'trace', ...mode], secretEnv({ FLTS_HOME: home }), 120_000);
    scan(`bench ${mode.join(' ')} stdout`, result.stdout);
    scan(`bench ${mode.join(' ')} stderr`, result.stderr);
  }
  // --compare of settings that carry credentials: the variant labels go to the log, the progress and every report file.
  for (const compare of [
    `MLFLOW_TRACKING_URI=http://${USER}:${C.uriPassword}@127.0.0.1:${dead}/,http://${USER}:${C.rawUriPassword}@127.0.0.1:${dead}/`,
    `KAFKA_BOOTSTRAP_SERVERS=${USER}:${C.brokerPassword}@127.0.0.1:${dead},127.0.0.1:${dead}`,
    `FLTS_SERVE_API_TOKEN=${C.apiToken},${C.apiToken}2`,
    `AWS_SECRET_ACCESS_KEY=${C.s3Secret},${C.s3Secret}2`,
  ]) {
    const out = path.join(report, compare.split('=')[0]);
    const result = await run(['bench', '--compare', compare, '--duration', '300ms', '--baseline-duration', '300ms', '--warmup', '0', '--replicas', '1', '--connections', '1', '--out', out, '--log-level', 'trace', '--json'], secretEnv({ FLTS_HOME: home, MLFLOW_TRACKING_URI: '', FLTS_MLFLOW_TIMEOUT_MS: '500' }), 180_000);
    scan(`bench --compare ${compare.split('=')[0]} stdout`, result.stdout);
    scan(`bench --compare ${compare.split('=')[0]} stderr`, result.stderr);
  }
  scanTree('bench report', report);
}

if (MLFLOW) {
  // What the mirror wrote: every run's params and tags, read back.
  const res = await fetch(`${MLFLOW}/api/2.0/mlflow/runs/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ experiment_ids: ['0', '1', '2', '3', '4', '5'], max_results: 1000 }) }).catch(() => null);
  if (res) scan('mlflow runs/search', await res.text());
}

if (process.env.FLTS_HUNT_MLFLOW_STATE) scanTree('mlflow server state', process.env.FLTS_HUNT_MLFLOW_STATE);

// Every file the commands left: run.json, promotion records, logs, bus messages, the processed data's sidecars.
scanTree('files', scratch);

echo.server.close();
console.log(`${answered} HTTP answers from serve and the daemon`);
console.log(`${checked} outputs and files checked for ${Object.keys(C).length} canaries in ${NEEDLES.length} forms: ${leaks.length} leaks`);
rmSync(scratch, { recursive: true, force: true });
process.exit(leaks.length ? 1 : 0);
