import { FltsError } from '../errors.js';
import { clip } from '../clip-text.js';
import { credentialsIn, MASK, redactSecrets, rememberSecrets } from '../redact.js';
import { ALL_SPECS } from '../config/specs/index.js';
import { SERVE_ENGINE_CHOICES } from '../models/inference-thread/serving-forward.js';
import { BENCH_PROTOCOLS, type BenchProtocol } from './bench-types.js';

/**
 * --target as given, once it is an http(s) URL without credentials, query or fragment: anything else would only
 * fail after a minute of readiness retries (fetch refuses a URL with credentials; a query would end up before
 * the route). A path is kept as the prefix the service is served under.
 */
export function parseTargetUrl(text: string): string {
  // Refused below, its credentials are secrets all the same: known from here on, wherever the text is quoted again.
  rememberSecrets(credentialsIn(text));
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    // Not a URL at all: refused below with the same message.
  }
  const shown = clip(redactSecrets(text));
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--target must be the http:// or https:// URL of a running flts serve, such as http://127.0.0.1:8000; got "${shown}".`, { details: { flag: 'target', value: shown } });
  }
  if (url.username || url.password) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--target cannot carry credentials ("${shown}"): a server protected by a bearer token gets it from FLTS_SERVE_API_TOKEN.`, { details: { flag: 'target', value: shown } });
  }
  if (url.search || url.hash) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--target must be the service's base URL, without a query or fragment; got "${shown}".`, { details: { flag: 'target', value: shown } });
  }
  return text.trim();
}

/**
 * "1,2,4,8" -> [1, 2, 4, 8]: whole numbers from 1 to `max`, in the given order. An empty entry ("1,,2", "1,2,"), a
 * repeated one or one that is not written as a whole number ("1.5", "0x10", "1e1") is refused rather than read
 * past: "1,,2" read as 1,2 ran a matrix other than the one typed, and a repeated count only measured a cell twice.
 */
export function parseCountList(text: string, name: string, max = 4096): number[] {
  const entries = text.split(',').map((part) => part.trim());
  const refuse = (problem: string, entry?: string): never => {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${name} must be a comma-separated list of distinct integers from 1 to ${max}, such as 1,2,4; ${problem} in "${clip(text)}".`, {
      details: { flag: name, value: clip(text), ...(entry !== undefined ? { entry: clip(entry) } : {}) },
    });
  };
  const seen = new Set<number>();
  for (const entry of entries) {
    if (entry === '') refuse(entries.length === 1 ? 'got nothing' : 'an entry is empty');
    const count = /^\d+$/.test(entry) ? Number(entry) : Number.NaN;
    if (!(count >= 1 && count <= max)) refuse(`"${clip(entry)}" is not one`, entry);
    if (seen.has(count)) refuse(`${count} is given twice`, entry);
    seen.add(count);
  }
  return [...seen];
}

/** One configuration compared in a bench run: its label and the environment its replicas start with. */
export interface BenchVariant {
  label: string;
  env: Record<string, string>;
  /**
   * The bearer token this group's replicas require, when the variant sets it (--compare FLTS_SERVE_API_TOKEN=a,b):
   * the environment wins over the config file, so bench's own token would be refused by every replica of the group.
   */
  apiToken?: string;
}

/** Most replicas per CPU bench starts: past it the replicas only take turns on the cores, which measures the thrashing. */
export const REPLICAS_PER_CPU = 4;
/** Most replicas on any machine (the cluster's round robin and each replica's model are not made for more). */
export const MAX_REPLICAS = 64;

/**
 * The largest --replicas count for a machine with `cpus` CPUs: REPLICAS_PER_CPU per CPU, at most MAX_REPLICAS, and never
 * under 8, so the default matrix (1,2,4,8) runs on any machine, oversubscribed as its rows show on a small one.
 */
export function maxReplicasFor(cpus: number): number {
  const known = Number.isSafeInteger(cpus) && cpus > 0 ? cpus : 1;
  return Math.min(MAX_REPLICAS, Math.max(8, REPLICAS_PER_CPU * known));
}

/**
 * --replicas as parseCountList reads it, bounded by the machine: on 2 CPUs 64 replicas only thrash. The refusal
 * names the CPU count and the bound, so the user sees why a count the help allows elsewhere is refused here.
 */
export function parseReplicaList(text: string, cpus: number): number[] {
  const max = maxReplicasFor(cpus);
  const counts = parseCountList(text, 'replicas', MAX_REPLICAS);
  const over = counts.find((count) => count > max);
  if (over !== undefined) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--replicas ${over} is more than the ${cpus} CPU${cpus === 1 ? '' : 's'} usable here (the cores, or the container's CPU limit when lower) can run side by side: at most ${max} (${REPLICAS_PER_CPU} per CPU, at most ${MAX_REPLICAS}); beyond it the replicas only take turns on the cores.`, {
      details: { flag: 'replicas', value: clip(text), entry: String(over), max, cpus },
    });
  }
  return counts;
}

interface ListRules {
  /** Why an entry is not accepted; undefined when it is. */
  problemOf?: (entry: string) => string | undefined;
  /** What makes two entries the same (e.g. case); the entry itself by default. */
  sameAs?: (entry: string) => string;
  /** Shown in refusals instead of the flag's text and its entries, for values that must not be echoed. */
  shownAs?: string;
}

/**
 * The entries of a comma-separated flag, trimmed and checked. An empty entry ("http,", "a,,b") or a repeated one is
 * refused as parseCountList refuses them: read past, the run measured another matrix than the one typed, or the
 * same configuration twice.
 */
function listEntries(text: string, flag: string, expected: string, rules: ListRules = {}): string[] {
  const { problemOf = () => undefined, sameAs = (entry: string) => entry, shownAs } = rules;
  const entries = text.split(',').map((part) => part.trim());
  const shown = shownAs ?? clip(text);
  const refuse = (problem: string): never => {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${flag} must be ${expected}; ${problem} in "${shown}".`, { details: { flag, value: shown } });
  };
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry === '') refuse(entries.length === 1 ? 'got nothing' : 'an entry is empty');
    const problem = problemOf(entry);
    if (problem) refuse(problem);
    if (seen.has(sameAs(entry))) refuse(shownAs === undefined ? `"${clip(entry)}" is given twice` : 'a value is given twice');
    seen.add(sameAs(entry));
  }
  return entries;
}

/** "FLTS_SERVE_PREDICTION_LOG_DURABILITY=buffered,sync" -> one variant per value of that variable, in the given order. */
export function parseCompareFlag(text: string): BenchVariant[] {
  const expected = 'NAME=value1,value2 (one environment variable and its values)';
  const match = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(text);
  if (!match) {
    // The name is at fault: its values, which may be a secret's, are not echoed.
    const shown = text.includes('=') ? `${clip(text.slice(0, text.indexOf('=')))}=...` : clip(text);
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--compare must be ${expected}; got "${shown}".`, { details: { flag: 'compare', value: shown } });
  }
  const name = match[1];
  const secret = SECRET_ENV_NAMES.has(name);
  // A secret's values are not echoed: refusals name the variable alone, labels number its values.
  // The values of a secret, and the credentials a URL or broker list carries, are known from here on (the replicas'
  // output this process relays quotes them as it will).
  rememberSecrets(secret ? match[2].split(',').map((value) => value.trim()) : credentialsIn(match[2]));
  const values = listEntries(match[2], 'compare', `${expected}, each value once`, secret ? { shownAs: `${name}=${MASK}` } : {});
  if (values.length === 1) {
    // One value compares nothing: most often the second was left out (a shell variable unset). Run as a plain bench
    // it would be labelled a comparison; the replicas inherit bench's environment, so the value is set there instead.
    const shown = `${name}=${secret ? MASK : clip(values[0])}`;
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--compare needs two or more values of ${name} to compare; got one ("${shown}"). To bench with that value alone, set ${name} in bench's environment (its replicas inherit it) and leave --compare out.`, {
      details: { flag: 'compare', value: shown },
    });
  }
  const token = API_TOKEN_ENV_NAMES.has(name);
  // Labels go to the log, the progress lines and every report file: a URL or broker list loses its credentials there,
  // and values that differ in their credentials alone are told apart by their place.
  const shown = values.map((value) => redactSecrets(value));
  const label = (index: number): string => (secret ? `${MASK}${index + 1}` : shown.indexOf(shown[index]) === shown.lastIndexOf(shown[index]) ? shown[index] : `${shown[index]} (${index + 1})`);
  return values.map((value, index) => ({ label: `${name}=${label(index)}`, env: { [name]: value }, ...(token ? { apiToken: value } : {}) }));
}

/** The environment names of serve.apiToken: a variant that sets one is sent with its own token. */
const API_TOKEN_ENV_NAMES = new Set(ALL_SPECS.filter((spec) => spec.path === 'serve.apiToken').flatMap((spec) => spec.env ?? []));

/** The environment names of secret settings (tokens, passwords), whose values no report, label or message shows. */
const SECRET_ENV_NAMES = new Set(ALL_SPECS.filter((spec) => spec.secret).flatMap((spec) => spec.env ?? []));

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60 };

/** Longest load per cell: a day (a timer past about 24.8 days would fire at once, ending the cell as it starts). */
export const MAX_DURATION_SECONDS = 24 * 60 * 60;

/** "30s", "500ms", "2m" or a bare number of seconds -> seconds; with `allowZero`, "0", "0s" or "0ms" is 0 (none). */
export function parseDurationSeconds(text: string, name: string, options: { allowZero?: boolean } = {}): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] ?? 's'] : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 0 || (seconds === 0 && !options.allowZero) || seconds > MAX_DURATION_SECONDS) {
    const what = options.allowZero ? 'a duration of 0 (none) up to 1440m (a day)' : 'a positive duration of at most 1440m (a day)';
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${name} must be ${what}, such as 30s, 500ms or 2m; got "${text}".`, { details: { flag: name, value: text, maxSeconds: MAX_DURATION_SECONDS } });
  }
  return seconds;
}

/** "onnx,wasm" -> one variant per serving engine (FLTS_SERVE_ENGINE), in the given order. */
export function parseEngineList(text: string): BenchVariant[] {
  const known: readonly string[] = SERVE_ENGINE_CHOICES;
  const normal = (entry: string): string => entry.toLowerCase();
  const values = listEntries(text, 'engine', `a comma-separated list of ${SERVE_ENGINE_CHOICES.join(', ')}, each once`, { problemOf: (entry) => (known.includes(normal(entry)) ? undefined : `"${clip(entry)}" is not one`), sameAs: normal });
  return values.map((value) => ({ label: `FLTS_SERVE_ENGINE=${normal(value)}`, env: { FLTS_SERVE_ENGINE: normal(value) } }));
}

/** "http,oip-grpc" -> ['http', 'oip-grpc']: known protocols, in the given order. */
export function parseProtocolList(text: string): BenchProtocol[] {
  const known: readonly string[] = BENCH_PROTOCOLS;
  return listEntries(text, 'protocol', `a comma-separated list of ${BENCH_PROTOCOLS.join(', ')}, each once`, { problemOf: (entry) => (known.includes(entry) ? undefined : `"${clip(entry)}" is not one`) }) as BenchProtocol[];
}

/**
 * --grpc-target as given, checked against the protocols: a running service's gRPC port cannot be guessed from its
 * HTTP URL, so measuring oip-grpc against --target without it is a usage error, said before any call to the target.
 * Given where nothing would use it (without --target the replicas bench starts are measured on ports of their own;
 * without oip-grpc no gRPC is measured), it is refused too, rather than accepted and ignored.
 */
export function checkGrpcTarget(grpcTarget: string | undefined, target: string | undefined, protocols: readonly BenchProtocol[]): string | undefined {
  if (grpcTarget !== undefined && target === undefined) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--grpc-target is the gRPC address of the --target service: the replicas bench starts are measured on their own ports; give --target too, or leave --grpc-target out.', { details: { flag: 'grpc-target' } });
  }
  if (grpcTarget !== undefined && !protocols.includes('oip-grpc')) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--grpc-target is used by --protocol oip-grpc alone: add oip-grpc to --protocol, or leave --grpc-target out.', { details: { flag: 'grpc-target' } });
  }
  if (protocols.includes('oip-grpc') && target && !grpcTarget) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', 'Measuring oip-grpc against --target needs the gRPC address as well (--grpc-target host:port).', { details: { flag: 'grpc-target' } });
  }
  if (grpcTarget !== undefined) {
    // host:port as grpc-js dials it; anything else (no port, port 99999, ":::") only failed at the probe, as an
    // internal FLTS_BENCH_FAILED saying UNAVAILABLE.
    const match = /^\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\s*$/.exec(grpcTarget);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      const shown = clip(redactSecrets(grpcTarget));
      throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--grpc-target must be host:port of the --target service's gRPC port (port 1 to 65535), such as 127.0.0.1:8001; got "${shown}".`, { details: { flag: 'grpc-target', value: shown } });
    }
    return grpcTarget.trim();
  }
  return grpcTarget;
}
