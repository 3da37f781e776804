#!/usr/bin/env node
// What a log line costs through the CLI's logger (createCliLogger: pino, every line masked of secrets on its way out),
// in this build and, given its root, another one (a build before the masking), side by side in one process, rounds
// alternating so that both see the same machine. Lines are written to a sink that keeps nothing. Each build's
// settings are resolved first with five secrets set, as a command's are, so that its masker knows them.
// Lines: `info` (a served request's fields: no secret, no @, no =), `debug-error` (an error with its stack and a
// tracking URI with credentials in its message), `below-level` (a debug line at info: pino drops it), and the masking
// of one long line (1 and 4 MB of hostile text, which must cost in proportion).
// With --short-secrets, two of the secrets are short words the lines hold (masked as whole tokens only): "served",
// inside the event name request_served, and "admin", in no line.
// Usage: npm run build && node bench/log-lines.bench.mjs [other build root] [lines per round, default 200000] [--short-secrets]
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2).filter((arg) => arg !== '--short-secrets');
const shortSecrets = process.argv.includes('--short-secrets');
const other = args[0] ? path.resolve(args[0]) : undefined;
const perRound = Number(args[1] ?? 200_000);
const ROUNDS = 7;

const env = {
  FLTS_SERVE_API_TOKEN: 'benchApiToken0123456789',
  FLTS_SERVE_ADMIN_TOKEN: 'benchAdminToken0123456789',
  MLFLOW_TRACKING_TOKEN: 'benchMlflowToken0123',
  MLFLOW_TRACKING_URI: 'http://bench:benchUriPassword@127.0.0.1:5000/',
  FLTS_KAFKA_SASL_PASSWORD: 'benchSaslPassword',
  ...(shortSecrets ? { FLTS_KAFKA_SASL_PASSWORD: 'served', FLTS_SERVE_ADMIN_TOKEN: 'admin' } : {}),
};

async function loggerOf(build) {
  const { createCliLogger } = await import(pathToFileURL(path.join(build, 'dist/cli/cli-logger.js')).href);
  const { resolveSettings } = await import(pathToFileURL(path.join(build, 'dist/core/config/settings.js')).href);
  resolveSettings({ env });
  let bytes = 0;
  const sink = { write: (line) => void (bytes += line.length) };
  return { info: createCliLogger('info', 'flts-serve', sink), debug: createCliLogger('debug', 'flts-serve', sink), bytes: () => bytes };
}

const builds = [{ name: 'this build', root }, ...(other ? [{ name: `build at ${other}`, root: other }] : [])];
for (const build of builds) build.loggers = await loggerOf(build.root);

const failure = new Error('MLflow at http://bench:benchUriPassword@127.0.0.1:5000/ refused: 401');
const CASES = {
  info: (l, i) => l.info.info({ req_id: `req-${i}`, route: '/predict', status: 200, duration_ms: 1.25, rows: 24, run_id: 'r-20260101-abcdef', model_type: 'LSTM' }, 'request_served'),
  'debug-error': (l, i) => l.debug.debug({ req_id: `req-${i}`, code: 'FLTS_TRACKING_UNAVAILABLE', err: failure }, 'request_failed'),
  'below-level': (l, i) => l.info.debug({ req_id: `req-${i}`, route: '/predict' }, 'request_detail'),
};

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, write] of Object.entries(CASES)) {
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) {
      const count = name === 'debug-error' ? perRound / 4 : perRound;
      const started = process.hrtime.bigint();
      for (let i = 0; i < count; i++) write(build.loggers, i);
      const ns = Number(process.hrtime.bigint() - started) / count;
      const key = `${name}|${build.name}`;
      results.set(key, [...(results.get(key) ?? []), ns]);
    }
  }
}
console.log(`${perRound} lines per round (debug-error: a quarter), median of ${ROUNDS} rounds, ns per line call`);
for (const name of Object.keys(CASES)) console.log(`${name.padEnd(12)} ${builds.map((build) => `${build.name}: ${median(results.get(`${name}|${build.name}`)).toFixed(0)} ns`).join('   ')}`);

// One long line: time in proportion to its length, in each build.
for (const size of [1, 4]) {
  const text = `${'a://x=a:b "c:d e/'.repeat((size << 20) / 17)}`;
  for (const build of builds) {
    const started = process.hrtime.bigint();
    build.loggers.info.info({ note: text }, 'long_line');
    console.log(`long line ${size} MB  ${build.name}: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)} ms`);
  }
}
