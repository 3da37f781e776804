import type { Settings } from '../config/settings.js';
import { SERVE_SPECS } from '../config/specs/serve.js';
import { listNames } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { TIME_FEATURE_COLUMNS } from '../preprocess/time-features.js';
import { resolveServedRunId } from '../registry/pointers.js';
import { readRunRecord } from '../registry/run-store.js';
import { requestRowsNeeded } from '../serve/request-frame.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { BenchVariant } from './parse-matrix.js';
import type { BenchPayloadFile } from './payload-file.js';

/** The environment variables that pin the run a replica serves (serve.runId). */
const SERVE_RUN_VARIABLES: readonly string[] = SERVE_SPECS.find((spec) => spec.path === 'serve.runId')?.env ?? [];

/** The input window of the run a benchmark sends its requests to. */
export interface ServedWindow {
  runId: string | null;
  inputSeqLen: number;
  /** The test file the run was trained with, by name, as its processed data recorded it (absent when unknown). */
  testFile?: string;
  /** The columns each request must carry: the run's features but the time features it computes (absent when unknown). */
  requestColumns?: string[];
}

/**
 * The window of the run the replicas will serve (`runId`, else the pinned, else the promoted run), read from the
 * registry; undefined when the compared variants pin runs of their own (each group is checked once it is ready).
 */
export async function servedRunWindow(store: ObjectStore, settings: Settings, runId?: string, variants: readonly BenchVariant[] = []): Promise<ServedWindow | undefined> {
  if (!runId && variants.some((variant) => SERVE_RUN_VARIABLES.some((name) => Object.hasOwn(variant.env, name)))) return undefined;
  const record = await readRunRecord(store, settings, await resolveServedRunId(store, settings, runId));
  const timeFeatures: readonly string[] = TIME_FEATURE_COLUMNS;
  return {
    runId: record.run_id,
    inputSeqLen: record.window.inputSeqLen,
    ...(record.data.test_source_object ? { testFile: record.data.test_source_object } : {}),
    requestColumns: record.window.features.filter((feature) => !timeFeatures.includes(feature)),
  };
}

/** Raw rows per request body when none are asked for: a short body, as most forecast requests are. */
export const DEFAULT_PAYLOAD_ROWS = 16;

/** DEFAULT_PAYLOAD_ROWS, or as many rows as a request of the run to serve needs when that is more (a --target's run is known only once it answers). */
export function defaultPayloadRows(window: ServedWindow | undefined): number {
  return Math.max(DEFAULT_PAYLOAD_ROWS, window ? requestRowsNeeded(window.inputSeqLen) : 0);
}

/**
 * Every request body must hold the model's window: a shorter one is answered 400 by each replica, which would
 * end the run only after the servers started, as a failure of the benchmark instead of a wrong flag.
 */
export function assertPayloadCoversWindow(payloadRows: number, window: ServedWindow): void {
  const needed = requestRowsNeeded(window.inputSeqLen);
  if (payloadRows >= needed) return;
  const run = window.runId ? `run ${window.runId}` : 'the served run';
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--payload-rows ${payloadRows} is too few for ${run}: its input window is ${window.inputSeqLen} rows, so each request needs at least ${needed}; pass --payload-rows ${needed} or more.`, {
    details: { flag: 'payload-rows', value: payloadRows, needed, input_seq_len: window.inputSeqLen, run_id: window.runId },
  });
}

/** How long one readiness check of the service under test may take before it counts as not answering. */
export const READY_CHECK_TIMEOUT_MS = 5_000;

/** The window of the model a running server has loaded (GET /predict_ping); undefined when it does not say. */
export async function windowAt(url: string, runId: string | null): Promise<ServedWindow | undefined> {
  try {
    const response = await fetch(`${url}/predict_ping`, { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
    const body = (await response.json()) as { input_seq_len?: unknown };
    return response.ok && typeof body.input_seq_len === 'number' ? { runId, inputSeqLen: body.input_seq_len } : undefined;
  } catch {
    // The probe request that follows reports an unreachable or broken server with the server's own message.
    return undefined;
  }
}

/**
 * The request rows must carry every column the served run reads: a file without them (the default dataset's, taken
 * because the run's own is not here, or another dataset named) is answered 400 by every replica, which would end the
 * run only after the servers started, as a failure of the benchmark instead of a wrong data file.
 */
export function assertPayloadHasColumns(payloadFile: BenchPayloadFile, columns: readonly string[], window: ServedWindow): void {
  const missing = (window.requestColumns ?? []).filter((column) => !columns.includes(column));
  if (missing.length === 0) return;
  const { path: file, origin, why, hint } = payloadFile;
  const run = window.runId ? `run ${window.runId}` : 'the served run';
  throw new FltsError('FLTS_DATA_MISSING_COLUMNS', `Request rows: ${file} lacks column(s) ${listNames(missing)} that ${run} reads; it has ${listNames(columns)}.`, {
    details: { file, origin, why, missing, run_id: window.runId },
    hint: hint ?? 'Request bodies are cut from a test file with the served run\'s columns: name one (--dataset NAME for NAME_test.csv, or TEST_FILE), or serve a run trained on this data (--run).',
  });
}
