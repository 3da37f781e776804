import { redactSecrets } from '../redact.js';
import { FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { parseLenientJson } from '../storage/json-objects.js';
import { maxTotalBackoffMs, retryWithBackoff, type RetryPolicy } from '../retry.js';

export interface MlflowHttpOptions {
  /** Tracking server base URL, e.g. http://127.0.0.1:5000. */
  readonly uri: string;
  /** Limit of one attempt: connect, headers and body together. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export interface MlflowRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly json?: unknown;
  readonly body?: Uint8Array;
}

export type MlflowHttp = <T>(req: MlflowRequest) => Promise<T>;

/** A failure worth another attempt: the network, a timeout, 429, 5xx or a write that lost a race (`WRITE_RACE`). */
class TransientFailure extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/**
 * MLflow's database refusing a row another writer inserted first (two replicas tagging the same run at once):
 * SQLite, PostgreSQL and MySQL word it differently, and MLflow answers it as a 400. The same call again finds
 * the row and updates it.
 */
const WRITE_RACE = /IntegrityError|UNIQUE constraint failed|duplicate key value violates unique constraint|Duplicate entry/i;

export function assertTrackingUri(uri: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(uri);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `MLFLOW_TRACKING_URI (setting tracking.uri) = ${JSON.stringify(redactSecrets(uri))} is not valid: expected an http:// or https:// URL of an MLflow tracking server.`, {
      details: { setting: 'tracking.uri', accepted: 'http(s) URL' },
    });
  }
  return uri.replace(/\/+$/, '');
}

function authorization(options: MlflowHttpOptions): string | undefined {
  if (options.token) return `Bearer ${options.token}`;
  if (options.username) return `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  return undefined;
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer within the time limit';
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * One function for every MLflow call: a time limit on each attempt, retries with backoff on transient
 * failures, MLflow's `{error_code, message}` turned into FLTS_TRACKING_REJECTED, and exhaustion into
 * FLTS_TRACKING_UNAVAILABLE that says how long it tried. No call can wait longer than
 * (retries + 1) * timeoutMs plus the backoff, which is what keeps a dead server from stalling training (F4).
 */
export function createMlflowHttp(options: MlflowHttpOptions): MlflowHttp {
  const base = assertTrackingUri(options.uri);
  const auth = authorization(options);
  const shownBase = redactSecrets(base);

  async function attempt<T>(req: MlflowRequest): Promise<T> {
    const url = new URL(`${base}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) headers.authorization = auth;
    let body: string | Uint8Array | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.body !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = req.body;
    }
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let status: number;
    let text: string;
    try {
      // undici (~110 modules) loads on the first request, not with every command that reaches this module.
      const { request } = await import('undici');
      const response = await request(url, { method: req.method, headers, body, signal, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new TransientFailure(describeCause(error));
    }
    const parsed = text.trim() === '' ? {} : safeParse(text);
    if (status === 429 || status >= 500 || (status === 400 && WRITE_RACE.test(text))) throw new TransientFailure(`HTTP ${status}: ${messageOf(parsed, text)}`, status);
    if (status >= 400) {
      const mlflowErrorCode = (parsed as { error_code?: string } | undefined)?.error_code;
      throw new FltsError('FLTS_TRACKING_REJECTED', `MLflow rejected ${req.method} ${req.path} (HTTP ${status}${mlflowErrorCode ? ` ${mlflowErrorCode}` : ''}): ${messageOf(parsed, text)}`, {
        details: { uri: base, path: req.path, status, mlflowErrorCode },
      });
    }
    return parsed as T;
  }

  return async function call<T>(req: MlflowRequest): Promise<T> {
    const started = Date.now();
    let attempts = 0;
    try {
      return await retryWithBackoff(
        () => {
          attempts += 1;
          return attempt<T>(req);
        },
        options.retry,
        {
          isRetriable: (error) => error instanceof TransientFailure,
          signal: options.signal,
          onRetry: ({ attempt: n, delayMs, error }) =>
            options.logger.warn({ uri: shownBase, path: req.path, attempt: n, delayMs, reason: (error as Error).message }, 'mlflow call failed; retrying'),
        },
      );
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      const elapsedMs = Date.now() - started;
      throw new FltsError('FLTS_TRACKING_UNAVAILABLE', `MLflow tracking server ${shownBase} failed ${req.method} ${req.path} after ${attempts} attempt(s) in ${(elapsedMs / 1000).toFixed(1)} s: ${error.message}`, {
        cause: error,
        details: { uri: base, path: req.path, attempts, elapsedMs, status: error.status, budgetMs: trackingCallBudgetMs(options) },
      });
    }
  };
}

/** The most one call may take before it reports the server unavailable. */
export function trackingCallBudgetMs(options: { timeoutMs: number; retry: RetryPolicy }): number {
  return (options.retry.retries + 1) * options.timeoutMs + maxTotalBackoffMs(options.retry);
}

function safeParse(text: string): unknown {
  try {
    return parseLenientJson(text);
  } catch {
    return undefined;
  }
}

function messageOf(parsed: unknown, text: string): string {
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : text.slice(0, 200) || '(empty body)';
}
