import { FltsError } from '../../errors.js';
import type { SettingSpec } from './setting-spec.js';

/**
 * The aliases MLflow takes (its _validate_model_alias_name and _validate_model_alias_name_reserved): checked with the
 * other settings, since a promotion meeting MLflow's refusal only falls back to tagging the run, and the alias a user
 * meant is never set.
 */
const MLFLOW_ALIAS_PATTERN = {
  regex: /^(?!latest$)(?![vV]\d+$)[\w-]{1,255}$/i,
  text: 'an MLflow alias: up to 255 letters, digits, "_" or "-", and not "latest" or v<number>, which MLflow reserves',
};

/** The registered-model names MLflow takes (its _validate_model_name): no "/" or ":", and not "." or a name opening with "..". */
const MLFLOW_MODEL_NAME_PATTERN = {
  regex: /^(?!\.$)(?!\.\.)(?=.*\S)[^/:]+$/,
  text: 'an MLflow registered-model name: not blank, without "/" or ":", and neither "." nor opening with ".."',
};

/**
 * What keeps a tracking URI from reaching MLflow's API, or undefined when nothing does. MLflow's own client (its
 * rest_utils.http_request) appends each API path to the URI as text, so a query or a fragment takes the path in and
 * every call reaches the server's root: no client of MLflow sends a query with its calls. A token goes in
 * tracking.token (MLFLOW_TRACKING_TOKEN), which is sent as a header; a path (a reverse proxy's /mlflow) is kept.
 */
export function trackingUriProblem(uri: string): string | undefined {
  const query = uri.indexOf('?');
  const fragment = uri.indexOf('#');
  if (query < 0 && fragment < 0) return undefined;
  const what = query >= 0 && (fragment < 0 || query < fragment) ? 'a query string' : 'a fragment';
  return `has ${what}, which MLflow's API paths would be appended after, so that every call would reach the server's root; give a token in MLFLOW_TRACKING_TOKEN (setting tracking.token), which is sent as a header`;
}

const TRACKING_URI_PATTERN = {
  regex: /^[^?#]*$/,
  text: 'the http:// or https:// URL of an MLflow tracking server, with a path if it has one (a reverse proxy\'s /mlflow) and no query string or fragment',
  problem: trackingUriProblem,
};

/**
 * MLflow experiment tracking. Off unless MLFLOW_TRACKING_URI is set: the run registry in the object store
 * stays the source of truth, MLflow is a mirror that may lag behind and catch up.
 */
export const TRACKING_SPECS: readonly SettingSpec[] = [
  { path: 'tracking.uri', type: 'string', carriesCredentials: true, default: '', envCase: 'trim', env: ['MLFLOW_TRACKING_URI'], pattern: TRACKING_URI_PATTERN, description: 'MLflow tracking server (http or https URL, with a path if it has one, as behind a reverse proxy; no query string or fragment, which MLflow\'s client would put its API paths after); empty = tracking off. A user:password@ in it is sent as basic auth, as MLflow\'s own client sends it, when neither tracking.token nor tracking.username is set (masked wherever the URI is shown).' },
  { path: 'tracking.experiments.neural', type: 'string', default: 'Default', env: ['FLTS_MLFLOW_EXPERIMENT_NEURAL', 'EXPERIMENT_NAME'], description: 'MLflow experiment of LSTM/GRU runs (the reference NN trainers used "Default").' },
  { path: 'tracking.experiments.statistical', type: 'string', default: 'NonML', env: ['FLTS_MLFLOW_EXPERIMENT_STATISTICAL'], description: 'MLflow experiment of PROPHET, NAIVE, SNAIVE and MSTL runs (the reference non-ML trainer used "NonML").' },
  { path: 'tracking.timeoutMs', type: 'integer', default: 10_000, min: 100, max: 600_000, env: ['FLTS_MLFLOW_TIMEOUT_MS'], description: 'Time limit of one MLflow HTTP call (connect, headers and body).' },
  { path: 'tracking.retries', type: 'integer', default: 3, min: 0, max: 10, env: ['FLTS_MLFLOW_RETRIES'], description: 'Retries of a failed MLflow call (network error, timeout, 429 or 5xx), with exponential backoff and jitter; a 429, 502, 503 or 504 with Retry-After waits what it asks, unless that ends past the budget of the call, which ends the call at once.' },
  { path: 'tracking.backoffMs', type: 'integer', default: 500, min: 0, max: 60_000, env: ['FLTS_MLFLOW_BACKOFF_MS'], description: 'First retry delay; doubles per retry (capped at 20x), with jitter.' },
  {
    path: 'tracking.maxResponseMb',
    type: 'integer',
    default: 32,
    min: 1,
    max: 1024,
    env: ['FLTS_MLFLOW_MAX_RESPONSE_MB'],
    description:
      'Largest MLflow answer read, in MB: a body past it is left unread and the call fails (FLTS_TRACKING_UNAVAILABLE, reason too_large) instead of being held in memory. A search page of 1000 runs of flts stays far below the default; raise it only for runs with very many params, metrics or tags. A search page holding more runs than max_results asked for is refused as it arrives whatever its size (reason oversized_page). A page past 1 MB is parsed run by run over event-loop turns, so a daemon keeps answering /healthz and metrics while it reads one.',
  },
  {
    path: 'tracking.alias',
    type: 'string',
    default: 'champion',
    emptyIsUnset: true,
    env: ['FLTS_MLFLOW_ALIAS'],
    pattern: MLFLOW_ALIAS_PATTERN,
    description: 'Registered-model alias set on the promoted run\'s model version; empty is the same as unset.',
  },
  { path: 'tracking.registeredModel', type: 'string', default: '', env: ['FLTS_MLFLOW_REGISTERED_MODEL'], pattern: MLFLOW_MODEL_NAME_PATTERN, description: 'Registered model that promotions version ("" = flts-<identifier>, or flts-global without one). MLflow refuses "/" and ":" in the name, so an identifier holding one (cell:7) gets the promoted=true run tag instead of a model version until this names a model (docs/promotion.md).' },
  { path: 'tracking.token', type: 'string', default: '', secret: true, env: ['MLFLOW_TRACKING_TOKEN'], description: 'Bearer token for the tracking server; sent in place of any basic auth.' },
  { path: 'tracking.username', type: 'string', default: '', env: ['MLFLOW_TRACKING_USERNAME'], description: 'Basic-auth user for the tracking server.' },
  { path: 'tracking.password', type: 'string', default: '', secret: true, env: ['MLFLOW_TRACKING_PASSWORD'], description: 'Basic-auth password for the tracking server.' },
  {
    path: 'tracking.caFile',
    type: 'string',
    default: '',
    envCase: 'trim',
    env: ['MLFLOW_TRACKING_SERVER_CERT_PATH', 'FLTS_MLFLOW_CA_FILE'],
    description: 'PEM file of the CA certificate(s) that signed an https tracking server\'s certificate (a private CA), trusted instead of Node\'s public CAs, as MLflow\'s own client trusts it; empty = the public CAs plus NODE_EXTRA_CA_CERTS. Refused together with tracking.insecureTls, as MLflow refuses the two.',
  },
  {
    path: 'tracking.clientCertFile',
    type: 'string',
    default: '',
    envCase: 'trim',
    env: ['MLFLOW_TRACKING_CLIENT_CERT_PATH'],
    description: 'PEM file holding the client certificate (its chain may follow) and its unencrypted private key, sent to an https tracking server that asks for one (mutual TLS), as MLflow\'s own client sends it; empty = none. Read when the client is made: a file without a key, or whose key is not the first certificate\'s, is refused then.',
  },
  {
    path: 'tracking.user',
    type: 'string',
    default: '',
    description:
      'The `mlflow.user` tag (and user_id) of the runs flts creates in MLflow, who created them in its UI and its searches (`tags.mlflow.user`). Empty = the user the process runs as, found as MLflow\'s own clients find it (Python\'s getpass.getuser()): LOGNAME, USER, LNAME or USERNAME, else the name of its uid in the user database, else "unknown" (a container under a uid with no entry). Kept in the run.json of each run trained, and used when the run\'s mirror is created, even later by another process\'s sync (runs recorded before it was kept get the syncing process\'s); a sync completing a run another process began leaves that one\'s. Set it in the config file to name a service account instead.',
  },
  {
    path: 'tracking.insecureTls',
    type: 'boolean',
    default: false,
    env: ['MLFLOW_TRACKING_INSECURE_TLS'],
    description: 'INSECURE: accept any certificate from an https tracking server, whoever signed it and whatever host it names, as MLflow\'s own client does with it; a warning says so once per server and process. Only for a test server with a certificate nobody signed; a private CA is trusted with tracking.caFile instead, and the two together are refused, as MLflow refuses them.',
  },
];

/**
 * MLflow refuses MLFLOW_TRACKING_INSECURE_TLS with MLFLOW_TRACKING_SERVER_CERT_PATH (MlflowHostCreds): a CA to verify
 * against and no verification contradict each other, and taking either one would act on a setting the user did not mean.
 */
export function trackingTlsConflict(tracking: Pick<TrackingSettings, 'insecureTls' | 'caFile'>): FltsError | undefined {
  if (!tracking.insecureTls || !tracking.caFile) return undefined;
  return new FltsError(
    'FLTS_CONFIG_INVALID_VALUE',
    `MLFLOW_TRACKING_INSECURE_TLS (setting tracking.insecureTls) is true and MLFLOW_TRACKING_SERVER_CERT_PATH (setting tracking.caFile) = ${tracking.caFile} is set: one skips verifying the tracking server's certificate, the other verifies it against that CA, and MLflow's own client refuses the two together. Unset one of them.`,
    { details: { setting: 'tracking.insecureTls', conflictsWith: 'tracking.caFile' } },
  );
}

export interface TrackingSettings {
  uri: string;
  experiments: { neural: string; statistical: string };
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxResponseMb: number;
  alias: string;
  registeredModel: string;
  token: string;
  username: string;
  password: string;
  caFile: string;
  clientCertFile: string;
  user: string;
  insecureTls: boolean;
}
